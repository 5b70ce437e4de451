// Package classify is the public classification API that predict, eval,
// verify and the server share: it opens an ONNX model (or takes a
// graph.Model), reads how its image input is laid out (NCHW with 1 or 3
// channels, NHWC, NHW or flat; any H x W; a symbolic or fixed batch) and its
// pixel range, finds the output holding the class scores with the
// classifier-output rule (graph.Model.ClassScores), and classifies images,
// grey pixel arrays or tensors in the model's own layout, returning class
// probabilities whatever the model emits (probabilities, log-probabilities or
// logits).
//
// A Model is safe for concurrent use: calls share a pool of runners.
package classify
