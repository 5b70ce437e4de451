#!/usr/bin/python3
"""Exports a small LeNet-style net with PyTorch 1.13 the way most published
digit models were made: a fixed batch of 1 (no dynamic_axes), flattening with
x.view(x.size(0), -1) (a Shape/Gather/Unsqueeze/Concat subgraph that the
importer folds to the constant [1,-1]) at opsets 9, 11, 13 and 17, and with
torch.flatten + log_softmax at 13. Random weights, seed 0.

  /usr/bin/python3 torch_fixed.py OUTDIR
"""
import sys
import warnings

import torch
import torch.nn as nn

warnings.filterwarnings("ignore")
torch.manual_seed(0)


class View(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 5)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 12 * 12, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return self.fc(x.view(x.size(0), -1))


class Flatten(View):
    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return torch.log_softmax(self.fc(torch.flatten(x, 1)), 1)


out = sys.argv[1]
x = torch.rand(1, 1, 28, 28)
view = View().eval()
for opset in (9, 11, 13, 17):
    torch.onnx.export(view, x, f"{out}/view_op{opset}.onnx", opset_version=opset,
                      input_names=["input"], output_names=["logits"])
torch.onnx.export(Flatten().eval(), x, f"{out}/flatten_op13.onnx", opset_version=13,
                  input_names=["input"], output_names=["log_probs"])
