// Package verify checks that an ONNX file computes what the model it came from
// does: Run feeds the same images through the native model (in Gorgonia), the
// file decoded by package onnximport, and onnx-go with its Gorgonia backend (an
// independent importer, github.com/owulveryck/onnx-go), and compares class
// probabilities pair by pair with numpy's allclose bound |a-b| <= atol +
// rtol*|b| (Tolerance) and labels exactly.
//
// This is the only package that links onnx-go. onnx-go carries its own copy of
// the ONNX protobuf messages, which clash with the importer's at start-up; the
// workaround (internal/pbconflict) lives here too, so the importer, the
// exporter and every command that does not verify stay free of both.
package verify
