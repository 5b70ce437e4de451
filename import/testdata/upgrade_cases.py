#!/usr/bin/python3
"""Upgrade ONNX backend test cases to a newer opset with onnx's version converter.

    /usr/bin/python3 upgrade_cases.py SRC_DIR DST_DIR OPSET

For every SRC_DIR/<case>/model.onnx whose default-domain opset is below OPSET it
writes DST_DIR/<case>/model.onnx converted to OPSET
(onnx.version_converter.convert_version, onnx 1.12) and links the case's
test_data_set_* folders; cases already at OPSET or above are linked as they
are. One line per case on stdout: "<case> ok" or "<case> failed: <reason>".
Used by import/conformance_test.go (TestPyTorchCases) for libonnx-testdata's
pytorch-converted and pytorch-operator cases, which are at opset 6.
"""

import os
import sys

import onnx
from onnx import version_converter


def main():
    src, dst, opset = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for case in sorted(os.listdir(src)):
        path = os.path.join(src, case, "model.onnx")
        if not os.path.exists(path):
            continue
        out = os.path.join(dst, case)
        os.makedirs(out, exist_ok=True)
        try:
            m = onnx.load(path)
            v = max((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), default=0)
            if v < opset:
                m = version_converter.convert_version(m, opset)
            onnx.save(m, os.path.join(out, "model.onnx"))
        except Exception as e:  # the converter raises many kinds
            print(f"{case} failed: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
            continue
        for d in os.listdir(os.path.join(src, case)):
            if d.startswith("test_data_set_"):
                os.symlink(os.path.join(src, case, d), os.path.join(out, d))
        print(f"{case} ok")


if __name__ == "__main__":
    main()
