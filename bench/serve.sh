#!/bin/sh
# bench/serve.sh: `onnxdigits serve` under load (issue 14), on 127.0.0.1.
#
#   sh bench/serve.sh                  1, 16 and 64 clients, batching on and off, 10 s each; 60 s soak
#   RUN=5 SOAK=0 sh bench/serve.sh     shorter runs, no soak
#   BINARY=1 sh bench/serve.sh         binary tensor data instead of JSON
#   PIN=1 sh bench/serve.sh            the server on CPU 0, the clients on CPU 1 (taskset)
#   RAW=1 sh bench/serve.sh            clients with serveload's minimal HTTP/1.1 client (-raw, as
#                                      wrk) instead of net/http's: a third of the CPU per request
#   PROFILE=1 sh bench/serve.sh        also a 5 s CPU profile of the server at 64 clients
#                                      (serve --pprof) and one of the clients, into bench/out/
#
# Prints the in-process batch-256 throughput (onnxdigits bench, unpinned) first,
# then one JSON line per run from bench/serveload: requests/s and its share of
# the in-process figure (pct_of_reference), p50/p99 latency, errors, 503s, the
# server's peak RSS (VmHWM), the CPU time the server and the clients used per
# request, the mean batch the server ran (from /metrics) and the load average.
# Unless PIN=1 the clients share the cores with the server. Not part of CI.
set -eu
cd "$(dirname "$0")/.."
RUN=${RUN:-10}
SOAK=${SOAK:-60}
BINARY=${BINARY:-0}
PIN=${PIN:-0}
RAW=${RAW:-0}
PROFILE=${PROFILE:-0}
model=testdata/torch/mnist_ce_adam.onnx
addr=127.0.0.1:18080
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/onnxdigits" ./cmd/onnxdigits
go build -o "$bin/serveload" ./bench/serveload
binflag=
[ "$BINARY" = 1 ] && binflag=-binary
[ "$RAW" = 1 ] && binflag="$binflag -raw"
onserver= onclients=
if [ "$PIN" = 1 ]; then
	onserver="taskset -c 0" onclients="taskset -c 1"
fi

echo "# $(uptime)"
echo "# in process:"
"$bin/onnxdigits" bench --batch 256 --seconds "$RUN" "$model" | tee "$bin/inprocess"
ref=$(sed -n 's/.* \([0-9][0-9]*\) images\/s$/\1/p' "$bin/inprocess")

serve() { # serve LABEL CLIENTS... ; the server's flags come from $flags
	pprof=
	[ "$PROFILE" = 1 ] && pprof="--pprof 127.0.0.1:16060"
	$onserver "$bin/onnxdigits" serve --addr "$addr" $flags $pprof --name "mnist=$model" >/dev/null 2>&1 &
	pid=$!
	label=$1
	shift
	for c in "$@"; do
		prof= curlpid=
		if [ "$PROFILE" = 1 ] && [ "$c" = 64 ]; then
			mkdir -p bench/out
			prof="-cpuprofile bench/out/serveload.$c.prof"
			(sleep 3 && curl -s -o bench/out/serve.$c.prof "http://127.0.0.1:16060/debug/pprof/profile?seconds=5") &
			curlpid=$!
		fi
		$onclients "$bin/serveload" -url "http://$addr/v2/models/mnist/infer" -clients "$c" -duration "${RUN}s" \
			-pid "$pid" -label "$label" -reference "$ref" $binflag $prof
		[ -z "$curlpid" ] || wait "$curlpid"
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
