#!/bin/sh
# Regenerates onnx.proto3 and onnx.proto3.pb.go from the ONNX schema that Debian's
# python3-onnx ships (see doc.go). Needs protoc and protoc-gen-go v1.31.0 on PATH.
set -eu
src=/usr/lib/python3/dist-packages/onnx
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src/gen_proto.py" "$src/onnx.in.proto" "$tmp/"
/usr/bin/python3 "$tmp/gen_proto.py" -o "$tmp/out" onnx >/dev/null
sed -e 's/^package onnx;/package onnxdigits.onnx;/' "$tmp/out/onnx.proto3" >onnx.proto3
# Compiled from the module root so that the file registers as "onnx/onnx.proto3",
# not as the "onnx.proto3" that onnx-go's copy registers.
cd ..
protoc --go_out=. --go_opt=paths=source_relative \
	--go_opt=Monnx/onnx.proto3=github.com/onnxdigits/onnxdigits/onnx onnx/onnx.proto3
