#!/bin/sh
# bench/run.sh: onnxdigits against PyTorch 1.13 and onnxruntime 1.30 on this
# machine, side by side in one run (see bench/README.md).
#
#   sh bench/run.sh              Go benchmarks, then the peer table
#   sh bench/run.sh -epochs 3    fewer measured epochs per training run
#   sh bench/run.sh -skip torch  leave out rows: torch, openblas, ort, avx2, purego, lenet
#   sh bench/run.sh -rounds 3    rounds over all systems (best of them; default 2)
#   BENCH_GO=0 sh bench/run.sh   skip the go test benchmarks
#
# Installs, if missing, libopenblas0-pthread (restoring the reference BLAS as
# the system default afterwards, so PyTorch "as installed" stays what Debian
# ships) and onnxruntime-node (interop/setup.sh). Not part of CI: the figures
# only mean something on an otherwise idle machine; the load is printed.
set -eu
cd "$(dirname "$0")/.."

if [ ! -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ]; then
	SUDO=
	if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
	echo "bench: apt-get install libopenblas0-pthread"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libopenblas0-pthread >/dev/null
	$SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/blas/libblas.so.3
	$SUDO update-alternatives --set liblapack.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3
fi
[ -d interop/node_modules/onnxruntime-node ] || sh interop/setup.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/bench" ./bench

if [ "${BENCH_GO:-1}" != 0 ]; then
	echo "== go test benchmarks (load: $(cut -d' ' -f1-3 /proc/loadavg))"
	go test -run '^$' -bench 'TrainStep|TrainEpoch' -benchtime 3x -count 3 ./train | grep -E '^Benchmark'
	go test -run '^$' -bench 'Forward' -count 3 ./graph | grep -E '^Benchmark'
	echo
fi
echo "== side by side (load: $(cut -d' ' -f1-3 /proc/loadavg))"
"$tmp/bench" -root . "$@"
