// Package onnx holds the ONNX protobuf messages (ModelProto, GraphProto, NodeProto,
// TensorProto, ...) that package export writes and package onnximport reads: one
// message set for both directions, generated for google.golang.org/protobuf and
// depending on nothing else.
//
// onnx.proto3 is ONNX 1.12's schema as Debian's python3-onnx ships it
// (onnx/gen_proto.py applied to onnx.in.proto, Apache-2.0, (c) ONNX Project
// Contributors), with one change: its protobuf package is "onnxdigits.onnx"
// instead of "onnx". The wire format does not depend on the package name, and
// the distinct name (and the file's registered path, "onnx/onnx.proto3") keep
// these messages from colliding in the global protobuf registry with the copy
// that onnx-go (linked by package verify) registers as "onnx.ModelProto" from
// "onnx.proto3". onnx.proto3.pb.go is generated, never edited:
//
//	apt-get install protobuf-compiler python3-onnx
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.31.0
//	go generate ./onnx
package onnx

//go:generate sh gen.sh
