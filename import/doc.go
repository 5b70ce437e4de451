// Package onnximport reads ONNX models (https://onnx.ai/onnx/repo-docs/IR.html) into
// the graph package's Model, for the op set our networks use: Conv,
// BatchNormalization, Relu, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape,
// Gemm, MatMul, Add, Sub, Mul, Div, Softmax, LogSoftmax, ArgMax, Dropout, Identity,
// Constant and Transpose at default-domain opsets 7 to 17 (SupportedOps lists them).
//
// The package lives in the folder import/ but is named onnximport because import
// is a Go keyword; call sites read onnximport.ReadFile(path, opts).
//
// Decoding is defensive: the input is capped (Options.MaxBytes), every initializer's
// dims are checked against the bytes present and graph.MaxElements before anything
// is allocated, and attributes are checked strictly (an unknown attribute or one of
// the wrong type is an error). A malformed file gives a *FormatError, an op, attribute
// value or opset outside what we can represent an *UnsupportedOpError naming the op,
// node and opset; the decoder never panics on input bytes (FuzzDecode checks this).
//
// Names are kept: initializers become graph parameters under their ONNX names and
// nodes keep their names, so importing a file written by package export gives back
// the same parameter names and values.
package onnximport
