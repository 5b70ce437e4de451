// Package export translates a graph.Model into an ONNX model (opset 13, IR version
// 7) using the protobuf messages of package onnx.
//
// The file takes pixels in [0,1]: input "image" float32 (N,1,28,28) with the
// symbolic batch "N"; the training mean image is subtracted inside the graph
// (node "normalize"). It produces "probabilities" float32 (N,K) from a Softmax
// over axis 1 and "label" int64 (N) from an ArgMax over axis 1 with keepdims 0.
// Each op kind of package graph has one exporter function (see ops.go); any other
// op is an *UnsupportedLayerError. Node and initializer names are the model's own
// ("conv1", "conv1.weight", "bn1.running_mean"), every intermediate value has a
// value_info with its shape, and the class names and training metadata go into
// metadata_props. Output bytes are deterministic for a given model, and WriteFile
// replaces its target atomically.
//
// Describe prints a Netron-like summary of any ONNX ModelProto (onnxdigits
// inspect reads the file with onnximport.ReadProtoFile: one reader, one size cap).
package export
