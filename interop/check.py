#!/usr/bin/python3
"""Runs the official ONNX checks on exported files, for export/interop_test.go.

    /usr/bin/python3 check.py MODEL.onnx...

For each file: onnx.checker.check_model(full_check=True) (which includes shape
inference), then onnx.shape_inference.infer_shapes(check_type=True,
strict_mode=True), so a value_info or output shape that disagrees with what
ONNX infers is an error. Run it with Debian's /usr/bin/python3 and its
python3-onnx 1.12 (the version DESIGN §5 measures), not a pyenv python3.
Prints one line per file; exits 1 if any file fails.
"""
import sys

import onnx
import onnx.checker
import onnx.shape_inference


def check(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    opsets = ",".join("%s:%d" % (o.domain or "ai.onnx", o.version) for o in model.opset_import)
    return "ir_version %d, opset %s, %d nodes, %d value_info after inference" % (
        model.ir_version, opsets, len(model.graph.node), len(inferred.graph.value_info))


def main(paths):
    if not paths:
        print("usage: check.py MODEL.onnx...", file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        try:
            print("ok %s (onnx %s): %s" % (path, onnx.__version__, check(path)))
        except Exception as e:  # report every file, then fail
            failed += 1
            print("FAIL %s (onnx %s): %s: %s" % (path, onnx.__version__, type(e).__name__, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
