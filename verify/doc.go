// Package verify checks that an ONNX file computes what the model it came from
// does: Run feeds the same images through the native model (in Gorgonia), the
// file decoded by package onnximport, and onnx-go with its Gorgonia backend (an
// independent importer, github.com/owulveryck/onnx-go), and compares class
// probabilities pair by pair with numpy's allclose bound |a-b| <= atol +
// rtol*|b| (Tolerance) and labels exactly.
//
// This is the only package that links onnx-go, so the importer, the exporter and
// every command that does not verify stay free of it. onnx-go registers its own
// copy of the ONNX messages as "onnx.ModelProto" etc.; ours (package onnx) are
// registered as "onnxdigits.onnx.ModelProto", so the two sets live in one binary
// without GOLANG_PROTOBUF_REGISTRATION_CONFLICT.
package verify
