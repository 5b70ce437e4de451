#!/bin/sh
# Installs, idempotently, what the full test suite needs beyond Go:
#   - Debian's python3-onnx (the official ONNX checker, for /usr/bin/python3) and
#     libonnx-testdata (the ONNX backend conformance cases);
#   - Debian's chromium (serve's page test drives it with chromedp);
#   - onnxruntime-node 1.30.0 from npm into interop/ (CPU build).
set -eu
cd "$(dirname "$0")/.."

need=""
/usr/bin/python3 -c 'import onnx' 2>/dev/null || need="$need python3-onnx"
[ -d /usr/share/libonnx-testdata/data/node ] || need="$need libonnx-testdata"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
if [ -n "$need" ]; then
	SUDO=
	if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
	echo "setup: apt-get install$need"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
fi
sh interop/setup.sh
go mod download
