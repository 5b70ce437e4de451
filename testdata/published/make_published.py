#!/usr/bin/python3
"""onnxruntime reference outputs for ONNX digit models published by others.

The models themselves are not in this repository (they are other people's
files; README.md says where each comes from and under which licence). Put
them in one folder under the names of published.json's "files" and run

    /usr/bin/python3 testdata/published/make_published.py DIR [--node-path interop/node_modules]

For each model NAME it writes here NAME.input.f32 (the first 7 MNIST test
images in the model's layout and pixel range, raw little-endian float32) and
NAME.ort.f32 (onnxruntime-node 1.30's first output for them), and records in
published.json each file's sha256 and onnxruntime's accuracy on the 10,000
MNIST test images fed the same pixels. TestPublished (import/foreign_test.go)
reads the models from $ONNXDIGITS_PUBLISHED.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "foreign"))
from make_foreign import find_mnist, read_idx, write_f32, write_json, ort_run, ROWS, ROOT  # noqa: E402


def layout(x, kind):
    """x is (K,28,28) in the model's pixel range; returns it in layout kind."""
    k = len(x)
    return {
        "NCHW": lambda: x.reshape(k, 1, 28, 28),
        "NCHW3": lambda: np.repeat(x.reshape(k, 1, 28, 28), 3, axis=1),
        "NHWC": lambda: x.reshape(k, 28, 28, 1),
        "NHW": lambda: x.reshape(k, 28, 28),
        "flat": lambda: x.reshape(k, 784),
    }[kind]()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--node-path", default=os.path.join(ROOT, "interop", "node_modules"))
    args = ap.parse_args()
    manifest_path = os.path.join(HERE, "published.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    d = find_mnist()
    x_u8 = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    for m in manifest["models"]:
        path = os.path.join(args.dir, m["files"][0])
        m["sha256"] = {f: hashlib.sha256(open(os.path.join(args.dir, f), "rb").read()).hexdigest() for f in m["files"]}
        if m.get("layout") is None:
            continue  # not an image classifier (see note)
        scale = {"0-1": 1 / 255, "0-255": 1.0}[m["pixel_range"]]
        x = layout(x_u8.astype(np.float32) * np.float32(scale), m["layout"])
        per = list(x.shape[1:])
        batch = 1 if m["fixed_batch"] else ROWS
        base = os.path.join(HERE, m["name"])
        write_f32(base + ".input.f32", x[:ROWS])
        info = ort_run(args.node_path, path, base + ".input.f32", per, batch, base + ".ort.f32")
        tmp = "/tmp/make_published_all.f32"
        write_f32(tmp, x)
        ort_run(args.node_path, path, tmp, per, 1 if m["fixed_batch"] else 500, tmp + ".out")
        out = np.fromfile(tmp + ".out", "<f4").reshape(len(x), -1)
        os.remove(tmp)
        os.remove(tmp + ".out")
        m["ort_mnist_test_accuracy"] = float((out.argmax(1) == y).mean())
        m["onnxruntime"] = info["onnxruntime"]
        m["fixture"] = {"input": m["name"] + ".input.f32", "input_shape": [ROWS] + per,
                        "ort_output": m["name"] + ".ort.f32", "output_shape": [ROWS, out.shape[1]]}
        print(f"{m['name']}: ort accuracy {m['ort_mnist_test_accuracy']:.4f}", flush=True)
    manifest["input_rows"] = "the first 7 MNIST test images"
    manifest["input_labels"] = y[:ROWS].tolist()
    write_json(manifest_path, manifest)


if __name__ == "__main__":
    main()
