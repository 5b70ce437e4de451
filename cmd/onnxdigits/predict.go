package main

import (
	"encoding/json"
	"fmt"
	"image"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/onnxdigits/onnxdigits/classify"
	"github.com/onnxdigits/onnxdigits/digits"
)

func predictCommand() *cli.Command {
	return &cli.Command{
		Name:      "predict",
		Usage:     "classify images with an ONNX model",
		ArgsUsage: "model.onnx IMAGE...",
		Description: `Reads PNG or JPEG images of any size, makes each a grey input the size of the
   model's (padded to a square, resized, inverted when the background is light, so
   dark ink on paper works) and prints the predicted class with the most probable
   classes. Any image input works: (N,1,H,W), (N,3,H,W) (the grey value in each
   channel), (N,H,W,1), (N,H,W) or flat (N,H*W), with a symbolic or fixed batch.
   Probabilities are always probabilities: a softmax is applied to models that
   emit logits and exp to log-probabilities ("output" in --json says which).

   Examples:
     onnxdigits predict model.onnx seven.png photo.jpg
     onnxdigits predict --json --top 10 model.onnx seven.png
     onnxdigits predict --pixel-range 0-255 keras_mnist.onnx seven.png`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array: file, label, class index, top classes, all probabilities and what the model emitted"},
			&cli.IntFlag{Name: "top", Value: 3, Usage: "how many of the most probable classes to list"},
			pixelRangeFlag(),
			maxMemoryFlag(),
		},
		Action: runPredict,
	}
}

func runPredict(c *cli.Context) error {
	if err := checkArgsOrder(c); err != nil {
		return err
	}
	if c.NArg() < 2 {
		return badUsage("predict takes the ONNX file and at least one image (got %d arguments)", c.NArg())
	}
	if c.Int("top") < 1 {
		return badUsage("--top must be at least 1")
	}
	pr, err := pixelRange(c)
	if err != nil {
		return err
	}
	maxMem, err := maxMemory(c)
	if err != nil {
		return err
	}
	m, err := classify.Open(c.Args().First(), classifyOptions(pr, maxMem))
	if err != nil {
		return withFile(err, c.Args().First())
	}
	defer m.Close()
	// One image at a time: a decoded image can be large (8192 a side is
	// allowed), so only one is held, besides the small model inputs.
	files := c.Args().Slice()[1:]
	out := make([]classify.Report, len(files))
	for i, f := range files {
		img, err := readImageFile(f)
		if err != nil {
			return err
		}
		preds, err := m.Images(c.Context, []image.Image{img})
		if err != nil {
			return fmt.Errorf("%w (model %s, image %s)", err, c.Args().First(), f)
		}
		out[i] = classify.NewReport(f, preds[0], m.Info().Labels, c.Int("top"))
	}
	w := c.App.Writer
	if c.Bool("json") {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, pr := range out {
		var top []string
		for _, t := range pr.Top {
			top = append(top, fmt.Sprintf("%s %.4f", t.Class, t.Probability))
		}
		fmt.Fprintf(w, "%s: %s  (%s)\n", pr.File, pr.Label, strings.Join(top, ", "))
	}
	return nil
}

func readImageFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := digits.DecodeImage(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// pixelRangeFlag is --pixel-range of predict, eval and verify.
func pixelRangeFlag() cli.Flag {
	return &cli.StringFlag{Name: "pixel-range", Usage: "the model's input pixel range: 0-1, 0-255 or -1-1 (default: the model's Image.NominalPixelRange metadata, else 0-1)"}
}

// pixelRange reads --pixel-range (a usage error when it is not one of the
// three).
func pixelRange(c *cli.Context) (classify.PixelRange, error) {
	if !c.IsSet("pixel-range") {
		return classify.PixelRangeModel, nil
	}
	r, err := classify.ParsePixelRange(c.String("pixel-range"))
	if err != nil || r == classify.PixelRangeModel {
		return 0, badUsage("--pixel-range %q is not one of 0-1, 0-255, -1-1", c.String("pixel-range"))
	}
	return r, nil
}

// describeInput says how the adapter feeds a model, for eval and verify.
func describeInput(i classify.Info) string {
	batch := "any batch"
	switch {
	case i.Rebatched:
		batch = fmt.Sprintf("fixed batch %d re-batched", i.InputDims[0])
	case i.Batch > 0:
		batch = fmt.Sprintf("fixed batch %d, run %d at a time", i.Batch, i.Batch)
	}
	return fmt.Sprintf("input %q %v: %v, %d channel(s), %dx%d, pixels %v (%s), %s; output %q: %v, %d classes",
		i.Input, i.InputDims, i.Layout, i.Channels, i.Width, i.Height, i.PixelRange, i.PixelRangeFrom, batch, i.Output, i.Kind, i.K)
}
