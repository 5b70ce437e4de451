#!/usr/bin/python3
"""Writes torch_view_opset{11,13}.onnx: a tiny net whose forward does
x.view(x.size(0), -1), exported by PyTorch with a dynamic batch axis, which
makes the shape subgraph Shape -> Gather -> Unsqueeze -> Concat -> Reshape that
onnximport folds at import time (fold.go). Also writes the fixed input
torch_view_input.f32 (3x1x8x8) and PyTorch's outputs for it,
torch_view_opset{11,13}.out.f32 (3x10), all raw little-endian float32.

Run with Debian's python3-torch and python3-onnx (1.12):
    /usr/bin/python3 import/testdata/make_view_models.py
from the repository root (or anywhere: it writes next to itself).
"""
import os

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


class ViewNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.fc = torch.nn.Linear(2 * 6 * 6, 10)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        x = x.view(x.size(0), -1)
        return self.fc(x)


def main():
    torch.manual_seed(0)
    net = ViewNet().eval()
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    x.numpy().astype("<f4").tofile(os.path.join(HERE, "torch_view_input.f32"))
    with torch.no_grad():
        y = net(x)
    for opset in (11, 13):
        path = os.path.join(HERE, "torch_view_opset%d.onnx" % opset)
        # Exported at batch 2 and run at 3: the batch axis is dynamic.
        torch.onnx.export(net, torch.zeros(2, 1, 8, 8), path, opset_version=opset,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
        model = onnx.load(path)
        onnx.checker.check_model(model)
        ops = [n.op_type for n in model.graph.node]
        assert "Shape" in ops and "Gather" in ops and "Concat" in ops, ops
        y.numpy().astype("<f4").tofile(os.path.join(HERE, "torch_view_opset%d.out.f32" % opset))
        print(path, ops)


if __name__ == "__main__":
    main()
