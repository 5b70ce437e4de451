#!/usr/bin/python3
"""Rewrites one trained classifier (NCHW [N,1,28,28] input in [0,1], a Flatten
before its classifier head, Softmax output) into the shapes published digit
models come in, with the same weights, so that each must score what the
original scores when its input is adapted right:

  nhwc_0255    [N,28,28,1], pixels 0-255 (Transpose, then *1/255), no metadata:
               keras2onnx's Keras-on-0-255 case; needs --pixel-range 0-255
  nhwc_meta    the same with Image.NominalPixelRange = NominalRange_0_255
  nhw          [N,28,28] (Reshape [-1,1,28,28]); log-probabilities (LogSoftmax)
  flat_11      [N,784] in [-1,1] ((x+1)/2, Reshape), Normalized_1_1; logits
  rgb          [N,3,28,28] (a 1x1 Conv averaging the channels)
  fixed1       [1,1,28,28], Flatten replaced by Reshape [1,-1], logits:
               PyTorch's x.view(1, -1) exported without dynamic_axes

  /usr/bin/python3 variants.py MODEL.onnx OUTDIR
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def load(path):
    m = onnx.load(path)
    del m.metadata_props[:]
    return m


def set_input(m, shape):
    inp = m.graph.input[0]
    dims = inp.type.tensor_type.shape.dim
    del dims[:]
    for d in shape:
        dim = dims.add()
        if isinstance(d, str):
            dim.dim_param = d
        else:
            dim.dim_value = d


def rename_input(m, new):
    """Graph input becomes `new`; consumers of the old name read 'x'."""
    old = m.graph.input[0].name
    for n in m.graph.node:
        for i, v in enumerate(n.input):
            if v == old:
                n.input[i] = "x"
    m.graph.input[0].name = new
    return old


def prepend(m, nodes, inits=()):
    for n in reversed(nodes):
        m.graph.node.insert(0, n)
    m.graph.initializer.extend(inits)


def head(m, op):
    """Replace the final Softmax by op (LogSoftmax) or drop it (None: logits)."""
    sm = [n for n in m.graph.node if n.op_type == "Softmax"][0]
    if op is None:
        out = sm.output[0]
        m.graph.node.remove(sm)
        for n in m.graph.node:
            for i, v in enumerate(n.output):
                if v == sm.input[0]:
                    n.output[i] = out
    else:
        sm.op_type = op


def meta(m, k, v):
    e = m.metadata_props.add()
    e.key, e.value = k, v


def save(m, path):
    del m.graph.value_info[:]
    onnx.checker.check_model(m)
    onnx.shape_inference.infer_shapes(m, strict_mode=True)
    onnx.save(m, path)


def main(src, out):
    f32 = lambda a: np.asarray(a, dtype=np.float32)

    for name, with_meta in (("nhwc_0255", False), ("nhwc_meta", True)):
        m = load(src)
        rename_input(m, "image")
        set_input(m, ["N", 28, 28, 1])
        prepend(m, [helper.make_node("Transpose", ["image"], ["t"], perm=[0, 3, 1, 2]),
                    helper.make_node("Mul", ["t", "inv255"], ["x"])],
                [numpy_helper.from_array(f32(1 / 255), "inv255")])
        if with_meta:
            meta(m, "Image.NominalPixelRange", "NominalRange_0_255")
        save(m, f"{out}/{name}.onnx")

    m = load(src)
    rename_input(m, "image")
    set_input(m, ["N", 28, 28])
    prepend(m, [helper.make_node("Reshape", ["image", "to_nchw"], ["x"])],
            [numpy_helper.from_array(np.array([-1, 1, 28, 28], np.int64), "to_nchw")])
    head(m, "LogSoftmax")
    save(m, f"{out}/nhw.onnx")

    m = load(src)
    rename_input(m, "image")
    set_input(m, ["N", 784])
    prepend(m, [helper.make_node("Add", ["image", "one"], ["p1"]),
                helper.make_node("Mul", ["p1", "half"], ["p2"]),
                helper.make_node("Reshape", ["p2", "to_nchw"], ["x"])],
            [numpy_helper.from_array(f32(1), "one"), numpy_helper.from_array(f32(0.5), "half"),
             numpy_helper.from_array(np.array([-1, 1, 28, 28], np.int64), "to_nchw")])
    head(m, None)
    meta(m, "Image.NominalPixelRange", "Normalized_1_1")
    save(m, f"{out}/flat_11.onnx")

    m = load(src)
    rename_input(m, "image")
    set_input(m, ["N", 3, 28, 28])
    prepend(m, [helper.make_node("Conv", ["image", "avg3"], ["x"], kernel_shape=[1, 1])],
            [numpy_helper.from_array(f32(np.full((1, 3, 1, 1), 1 / 3)), "avg3")])
    save(m, f"{out}/rgb.onnx")

    m = load(src)
    set_input(m, [1, 1, 28, 28])
    fl = [n for n in m.graph.node if n.op_type == "Flatten"][0]
    fl.op_type = "Reshape"
    del fl.attribute[:]
    fl.input.append("view_shape")
    m.graph.initializer.append(numpy_helper.from_array(np.array([1, -1], np.int64), "view_shape"))
    head(m, None)
    for o in m.graph.output:
        o.type.tensor_type.shape.dim[0].ClearField("dim_param")
        o.type.tensor_type.shape.dim[0].dim_value = 1
    save(m, f"{out}/fixed1.onnx")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
