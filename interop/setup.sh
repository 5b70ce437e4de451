#!/bin/sh
# Installs what the ONNX interop check (export/interop_test.go) needs, idempotently:
#   - Debian's python3-onnx (onnx 1.12) for /usr/bin/python3: the official checker;
#   - onnxruntime-node 1.30.0 from npm into interop/node_modules (CPU build only).
# Then run:  ONNXDIGITS_INTEROP=1 go test ./export -run Interop -v
set -eu
cd "$(dirname "$0")"

if ! /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
	SUDO=
	if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
	$SUDO apt-get update
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-onnx
fi
/usr/bin/python3 -c 'import onnx; print("python3-onnx", onnx.__version__)'

# npm ci installs exactly package-lock.json; skip it when that is already there.
# The CUDA variant is not wanted (the CPU binaries ship inside the package).
if ! node -e 'const v = require("onnxruntime-node").env.versions.common; if (v !== "1.30.0") process.exit(1); console.log("onnxruntime-node", v)' 2>/dev/null; then
	ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci --no-audit --no-fund
	node -e 'console.log("onnxruntime-node", require("onnxruntime-node").env.versions.common)'
fi
