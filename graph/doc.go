// Package graph is the one representation of a network in onnxdigits: the IR.
//
// A Model is a small directed acyclic graph in the spirit of ONNX: named values flow
// between Nodes, each Node applies one Op (Conv, BatchNormalization, Relu, Gemm, ...)
// whose attributes are Go fields, and named parameter Tensors (weights, running
// statistics, the normalization image) feed them. The paper's network is a chain
// (New builds it from an architecture spec such as "conv5x5x20,bn,relu,fc10"), but
// imported models may branch. Tensors are NCHW, float32, row-major.
//
// An Op is a Go struct with Type (the ONNX op type) and InferShapes; Model.Validate
// and Model.Shapes check a whole model once. FoldBatchNorm rewrites Conv +
// BatchNormalization pairs for inference. The package computes no activations and
// imports no engine: the backend package lowers a Model to Gorgonia for training
// and inference, and the export and onnximport packages only translate between
// Model and ONNX.
package graph
