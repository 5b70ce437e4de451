package serve

import (
	"context"
	"image"

	"github.com/onnxdigits/onnxdigits/classify"
)

// Model is a loaded classifier as the server uses it; *classify.Model is one.
// It must be safe for concurrent use.
//
// Tensor runs data laid out as the model's input with shape
// (N, Info().InputDims[1:]...), N >= 1, and returns every model output and one
// prediction per example; the server reuses data once Tensor has returned, so
// neither Tensor nor its results may keep it. Images classifies images of any
// size, adapting each to the model's input.
type Model interface {
	Info() classify.Info
	Tensor(ctx context.Context, data []float32, shape []int) ([]classify.Output, []classify.Prediction, error)
	Images(ctx context.Context, images []image.Image) ([]classify.Prediction, error)
}
