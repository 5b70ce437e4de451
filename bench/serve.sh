#!/bin/sh
# bench/serve.sh: `onnxdigits serve` under load (issue 14), on 127.0.0.1.
#
#   sh bench/serve.sh                  1, 16 and 64 clients, batching on and off, 10 s each; 60 s soak
#   RUN=5 SOAK=0 sh bench/serve.sh     shorter runs, no soak
#   BINARY=1 sh bench/serve.sh         binary tensor data instead of JSON
#
# Prints the in-process batch-256 throughput (onnxdigits bench) first, then one
# JSON line per run from bench/serveload: requests/s, p50/p99 latency, errors,
# 503s, the server's peak RSS (VmHWM) and the load average. The clients run on
# the same machine as the server. Not part of CI.
set -eu
cd "$(dirname "$0")/.."
RUN=${RUN:-10}
SOAK=${SOAK:-60}
BINARY=${BINARY:-0}
model=testdata/torch/mnist_ce_adam.onnx
addr=127.0.0.1:18080
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/onnxdigits" ./cmd/onnxdigits
go build -o "$bin/serveload" ./bench/serveload
binflag=
[ "$BINARY" = 1 ] && binflag=-binary

echo "# $(uptime)"
echo "# in process:"
"$bin/onnxdigits" bench --batch 256 --seconds "$RUN" "$model"

serve() { # serve LABEL CLIENTS... ; the server's flags come from $flags
	"$bin/onnxdigits" serve --addr "$addr" $flags --name "mnist=$model" >/dev/null 2>&1 &
	pid=$!
	label=$1
	shift
	for c in "$@"; do
		"$bin/serveload" -url "http://$addr/v2/models/mnist/infer" -clients "$c" -duration "${RUN}s" -pid "$pid" -label "$label" $binflag
	done
	kill -TERM "$pid"
	wait "$pid"
}
flags="--dynamic-batching=true"; serve "batching on" 1 16 64
flags="--dynamic-batching=false"; serve "batching off" 1 16 64
if [ "$SOAK" -gt 0 ]; then
	RUN=$SOAK; flags=""; serve "soak ${SOAK}s" 64
fi
echo "# $(uptime)"
