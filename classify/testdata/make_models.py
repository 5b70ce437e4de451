#!/usr/bin/python3
"""Writes the small classifiers classify's tests read, one per input layout and
output kind, with onnx.helper (onnx 1.12, opset 13, ir_version 7) and seeded
random weights:

  nchw1.onnx     [N,1,28,28] -> Conv -> Relu -> Flatten -> Gemm -> logits
  nchw3.onnx     [N,3,20,20] -> Conv -> Relu -> Flatten -> Gemm -> Softmax
                 (probabilities) and ArgMax (label); class names in metadata
  nhwc.onnx      [N,28,28,1] -> Transpose -> Conv -> ... -> Softmax, trained
                 (so to speak) on 0-255 pixels: NominalRange_0_255 metadata
  nhw.onnx       [N,28,28] -> Reshape [-1,1,28,28] -> Conv -> ... -> LogSoftmax
  flat.onnx      [N,784] -> Gemm -> Relu -> Gemm -> logits; Normalized_1_1
  fixed1.onnx    [1,1,28,28] -> Conv -> Relu -> Reshape [1,-1] -> Gemm ->
                 Softmax: a fixed batch of 1 carried by a Reshape constant
                 (PyTorch's view(1, -1) without dynamic_axes, mnist-8's [1,256])
  fixed1_flat0.onnx  [1,1,28,28] -> Conv -> Relu -> Flatten(axis=0) -> Gemm:
                 the batch folded into one row, so it cannot be re-batched

Run from this folder: /usr/bin/python3 make_models.py
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)


def init(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


def conv_body(x, c_in, h, w, tail):
    """Conv 5x5 stride 2 (4 filters) -> Relu -> tail (flatten) -> Gemm 10."""
    oh, ow = (h - 5) // 2 + 1, (w - 5) // 2 + 1
    inits = [
        init("conv.weight", rng.normal(0, 0.3, (4, c_in, 5, 5)).astype(np.float32)),
        init("conv.bias", rng.normal(0, 0.1, 4).astype(np.float32)),
        init("fc.weight", rng.normal(0, 0.2, (10, 4 * oh * ow)).astype(np.float32)),
        init("fc.bias", rng.normal(0, 0.1, 10).astype(np.float32)),
    ]
    nodes = [
        helper.make_node("Conv", [x, "conv.weight", "conv.bias"], ["c"], kernel_shape=[5, 5], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"]),
    ]
    flat_nodes, flat_inits = tail("r")
    nodes += flat_nodes
    inits += flat_inits
    nodes.append(helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], transB=1))
    return nodes, inits


def flatten(axis=1):
    return lambda r: ([helper.make_node("Flatten", [r], ["f"], axis=axis)], [])


def reshape(shape):
    return lambda r: ([helper.make_node("Reshape", [r, "flat_shape"], ["f"])],
                      [init("flat_shape", np.array(shape, dtype=np.int64))])


def save(name, nodes, inits, inp, outs, meta=None):
    g = helper.make_graph(nodes, name, [inp], outs, inits)
    m = helper.make_model(g, producer_name="classify/testdata/make_models.py",
                          opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    for k, v in (meta or {}).items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(m)
    onnx.shape_inference.infer_shapes(m, strict_mode=True)
    onnx.save(m, name + ".onnx")


def fin(shape):
    return helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)


def fout(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


# nchw1: logits.
nodes, inits = conv_body("image", 1, 28, 28, flatten())
save("nchw1", nodes, inits, fin(["N", 1, 28, 28]), [fout("logits", ["N", 10])])

# nchw3: 20x20 RGB, probabilities and label, class names.
nodes, inits = conv_body("image", 3, 20, 20, flatten())
nodes += [helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
          helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0)]
save("nchw3", nodes, inits, fin(["N", 3, 20, 20]),
     [fout("probabilities", ["N", 10]), fout("label", ["N"], TensorProto.INT64)],
     {"classes": '["zero","one","two","three","four","five","six","seven","eight","nine"]'})

# nhwc: Keras order, 0-255 pixels (the weights are scaled down to match).
nodes, inits = conv_body("x", 1, 28, 28, flatten())
inits[0] = init("conv.weight", (numpy_helper.to_array(inits[0]) / 255).astype(np.float32))
nodes = [helper.make_node("Transpose", ["image"], ["x"], perm=[0, 3, 1, 2])] + nodes
nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=-1))
save("nhwc", nodes, inits, fin(["batch", 28, 28, 1]), [fout("probs", ["batch", 10])],
     {"Image.NominalPixelRange": "NominalRange_0_255", "Image.BitmapPixelFormat": "Gray8"})

# nhw: no channel dim; log-probabilities.
nodes, inits = conv_body("x", 1, 28, 28, flatten())
nodes = [helper.make_node("Reshape", ["image", "in_shape"], ["x"])] + nodes
inits.append(init("in_shape", np.array([-1, 1, 28, 28], dtype=np.int64)))
nodes.append(helper.make_node("LogSoftmax", ["logits"], ["log_probs"], axis=1))
save("nhw", nodes, inits, fin(["N", 28, 28]), [fout("log_probs", ["N", 10])])

# flat: an MLP on [N,784] in [-1,1].
inits = [
    init("fc1.weight", rng.normal(0, 0.05, (784, 8)).astype(np.float32)),
    init("fc1.bias", rng.normal(0, 0.1, 8).astype(np.float32)),
    init("fc2.weight", rng.normal(0, 0.3, (8, 10)).astype(np.float32)),
    init("fc2.bias", rng.normal(0, 0.1, 10).astype(np.float32)),
]
nodes = [
    helper.make_node("Gemm", ["image", "fc1.weight", "fc1.bias"], ["h"]),
    helper.make_node("Relu", ["h"], ["r"]),
    helper.make_node("Gemm", ["r", "fc2.weight", "fc2.bias"], ["h2"]),
    helper.make_node("Identity", ["h2"], ["scores"]),
]
save("flat", nodes, inits, fin(["N", 784]), [fout("scores", ["N", 10])],
     {"Image.NominalPixelRange": "Normalized_1_1"})

# fixed1: batch 1 in the input and in a Reshape constant.
nodes, inits = conv_body("image", 1, 28, 28, reshape([1, -1]))
nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1))
save("fixed1", nodes, inits, fin([1, 1, 28, 28]), [fout("probabilities", [1, 10])])

# fixed1_flat0: Flatten(axis=0) puts the whole batch in one row.
nodes, inits = conv_body("image", 1, 28, 28, flatten(axis=0))
save("fixed1_flat0", nodes, inits, fin([1, 1, 28, 28]), [fout("logits", [1, 10])])
