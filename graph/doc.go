// Package graph is the one representation of a network in onnxdigits and the only
// place that knows layer math.
//
// A Model is a small directed acyclic graph in the spirit of ONNX: named values flow
// between Nodes, each Node applies one Op (Conv, BatchNormalization, Relu, Gemm, ...)
// whose attributes are Go fields, and named parameter Tensors (weights, running
// statistics, the normalization image) feed them. The paper's network is a chain
// (New builds it from an architecture spec such as "conv5x5x20,bn,relu,fc10"), but
// imported models may branch. Tensors are NCHW, float32, row-major.
//
// Build turns a Model into a Gorgonia expression graph for a fixed batch size, in
// training mode (batch statistics, dropout active, parameters as learnable nodes that
// share memory with the Model's tensors) or inference mode (running statistics). The
// export and onnximport packages only translate between Model and ONNX.
package graph
