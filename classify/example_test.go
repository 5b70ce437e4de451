package classify_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"log"

	"github.com/onnxdigits/onnxdigits/classify"
)

// Open a model, read how it takes its input and classify a drawing: dark ink
// on a white page of any size becomes a light digit on black at the model's
// H x W. The model is the paper's net trained by PyTorch on MNIST (a shared
// fixture, ../testdata/torch); the same code serves any layout.
func Example() {
	m, err := classify.Open("../testdata/torch/mnist_ce_adam.onnx", classify.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	info := m.Info()
	fmt.Printf("input %q %v: layout %v, channels %d, %dx%d, pixel range %v (%s)\n",
		info.Input, info.InputDims, info.Layout, info.Channels, info.Width, info.Height, info.PixelRange, info.PixelRangeFrom)
	fmt.Printf("output %q: %v of %d classes\n", info.Output, info.Kind, info.K)

	// A "1": a black stroke on a white 40x60 page.
	page := image.NewGray(image.Rect(0, 0, 40, 60))
	draw.Draw(page, page.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(page, image.Rect(17, 8, 23, 52), image.NewUniform(color.Black), image.Point{}, draw.Src)

	preds, err := m.Images(context.Background(), []image.Image{page})
	if err != nil {
		log.Fatal(err)
	}
	p := preds[0]
	fmt.Printf("class %q (index %d), probability %.2f; the model emitted %v\n", p.Class, p.Label, p.Probabilities[p.Label], p.Output)
	// Output:
	// input "image" [-1 1 28 28]: layout NCHW, channels 1, 28x28, pixel range 0-1 (default)
	// output "probabilities": probabilities of 10 classes
	// class "1" (index 1), probability 1.00; the model emitted probabilities
}

// Tensor takes input already in the model's layout and pixel range (here a
// Keras-style NHWC model on 0-255 pixels, from testdata/make_models.py) and
// returns every model output as well as the predictions; a server answers
// tensor requests this way.
func ExampleModel_Tensor() {
	m, err := classify.Open("testdata/nhwc.onnx", classify.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	info := m.Info()
	fmt.Printf("input %v %v, pixel range %v (%s)\n", info.InputDims, info.Layout, info.PixelRange, info.PixelRangeFrom)

	// Two blank (black) images, (2,28,28,1).
	x := make([]float32, 2*28*28*1)
	outs, preds, err := m.Tensor(context.Background(), x, []int{2, 28, 28, 1})
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range outs {
		fmt.Printf("output %q shape %v\n", o.Name, o.Shape)
	}
	fmt.Printf("%d predictions of %d probabilities; the model emitted %v\n", len(preds), len(preds[0].Probabilities), preds[0].Output)
	// Output:
	// input [-1 28 28 1] NHWC, pixel range 0-255 (metadata)
	// output "probs" shape [2 10]
	// 2 predictions of 10 probabilities; the model emitted probabilities
}
