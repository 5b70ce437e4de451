// Package backend runs graph Models: it lowers the IR to a Gorgonia expression
// graph for a fixed batch size and is the only package that computes.
//
// Build makes that graph in training mode (batch statistics, dropout active,
// trainable parameters as learnable nodes that share memory with the Model's
// tensors; the trainer adds its loss head and asks Gorgonia for gradients) or in
// inference mode (running statistics). Runner evaluates a Model's outputs at any
// batch size on an executor that calls each node's op in order. Conv, batch norm,
// ReLU, Gemm and a few elementwise ops run as our own Gorgonia ops
// (kernels_*.go) over the slice kernels of internal/kernels (AVX-512 assembly
// on amd64, portable Go elsewhere or with the purego build tag), each made by
// the one adapter in adapter.go (kernelOp: data and closures; diffOp adds the
// gradient). Before lowering, planFusion (plan.go) decides which op applies the
// ReLU after it and, at inference, which Conv applies the BatchNormalization
// (and ReLU) after it.
//
// Adding an ONNX op takes two steps here and in graph:
//
//  1. In graph, declare the op as a struct whose fields are its attributes, with
//     Type() returning the ONNX op type and InferShapes checking the inputs and
//     returning the output shapes (errors wrap graph.ErrShape); register it in
//     graph/gob.go so checkpoints can hold it.
//  2. Here, add one case to the switch in lower.go (Builder.lower) that calls a
//     short lowering function: read the inputs with b.Input, take output shapes
//     from b.outShapes(n) (the op's own InferShapes on this build's shapes, so
//     shapes are never checked twice), and return the op's Gorgonia nodes.
//
// export and onnximport then need one translation each way.
package backend
