package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/onnxdigits/onnxdigits/classify"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:      "eval",
		Usage:     "accuracy and confusion matrix of an ONNX model on held-out digits",
		ArgsUsage: "model.onnx",
		Description: `Imports the model and classifies the validation split of --data (for mnist the
   10,000 test images); prints the accuracy, the confusion matrix and per-class recall
   and precision. By default the data set and seed come from the model's metadata
   (how it was trained), else --data's default. The 28x28 grey images are fed in the
   model's own layout, size and pixel range (see predict).

   Examples:
     onnxdigits eval model.onnx
     onnxdigits eval --data mnist testdata/torch/mnist_ce_adam.onnx
     onnxdigits eval --data mnist --pixel-range 0-255 keras_mnist.onnx
     onnxdigits eval --data digits/ model.onnx     # a folder DIR/<label>/*.png`,
		Flags: []cli.Flag{
			dataFlag(),
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of the synthetic data and split (default: the model's)"},
			pixelRangeFlag(),
			maxMemoryFlag(),
		},
		Action: runEval,
	}
}

func runEval(c *cli.Context) error {
	if err := checkArgsOrder(c); err != nil {
		return err
	}
	if c.NArg() != 1 {
		return badUsage("eval takes one argument, the ONNX file (got %d)", c.NArg())
	}
	pr, err := pixelRange(c)
	if err != nil {
		return err
	}
	maxMem, err := maxMemory(c)
	if err != nil {
		return err
	}
	path := c.Args().First()
	m, err := classify.Open(path, classifyOptions(pr, maxMem))
	if err != nil {
		return withFile(err, path)
	}
	defer m.Close()
	val, desc, err := loadEvalSet(c, m.Info().Meta)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "model: %s; images: %s\n%s\n", path, desc, describeInput(m.Info()))
	e, err := m.Evaluate(c.Context, val)
	if err != nil {
		return err
	}
	return e.Format(c.App.Writer)
}
