package serve

import (
	"context"
	"image"
)

// Model is a loaded classifier as the server uses it: safe for concurrent use.
//
// Tensor classifies data laid out as the model's input with shape
// (N, Info().Dims[1:]...), N >= 1; Images classifies images of any size,
// adapting each to the model's input. Both return one Prediction per example.
type Model interface {
	Info() Info
	Tensor(ctx context.Context, data []float32, shape []int) ([]Prediction, error)
	Images(ctx context.Context, images []image.Image) ([]Prediction, error)
}

// Info describes a model's input and classifier output.
type Info struct {
	Input      string     // input tensor name
	Dims       []int      // input shape, -1 for the batch
	Layout     string     // "NCHW", "NHWC", "NHW" or "NF" (flat)
	Channels   int        // C
	Height     int        // H
	Width      int        // W
	PixelRange [2]float32 // the input values of a black and a white pixel
	Output     string     // output tensor name
	OutputKind string     // "probabilities", "log-probabilities" or "logits"
	K          int        // number of classes
	Classes    []string   // K class labels
	Metadata   map[string]string
}

// Prediction is one example's result.
type Prediction struct {
	Index         int       // the most probable class
	Label         string    // its label
	Probabilities []float32 // K probabilities
	Scores        []float32 // K values of the output as the model emits them
}
