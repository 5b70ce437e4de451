package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/onnxdigits/onnxdigits/digits"
	onnximport "github.com/onnxdigits/onnxdigits/import"
	"github.com/onnxdigits/onnxdigits/train"
)

func predictCommand() *cli.Command {
	return &cli.Command{
		Name:      "predict",
		Usage:     "classify images with an ONNX model",
		ArgsUsage: "model.onnx IMAGE...",
		Description: `Reads PNG or JPEG images of any size, makes each a 28x28 grey input (padded to a
   square, resized, inverted when the background is light, so dark ink on paper
   works) and prints the predicted class with the most probable classes.

   Examples:
     onnxdigits predict model.onnx seven.png photo.jpg
     onnxdigits predict --json --top 10 model.onnx seven.png`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array: file, label, class index, top classes and all probabilities"},
			&cli.IntFlag{Name: "top", Value: 3, Usage: "how many of the most probable classes to list"},
		},
		Action: runPredict,
	}
}

// prediction is one image's result (the --json form).
type prediction struct {
	File          string      `json:"file"`
	Label         string      `json:"label"`
	Index         int         `json:"class_index"`
	Top           []classProb `json:"top"`
	Probabilities []float32   `json:"probabilities"`
}

type classProb struct {
	Class       string  `json:"class"`
	Probability float32 `json:"probability"`
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
	m, err := onnximport.ReadFile(c.Args().First(), onnximport.Options{})
	if err != nil {
		return err
	}
	if len(m.Inputs) != 1 || !slices.Equal(m.Inputs[0].Shape[1:], []int{1, digits.Height, digits.Width}) {
		return fmt.Errorf("predict: the model's input is not (N,1,28,28)")
	}
	files := c.Args().Slice()[1:]
	images := make([]float32, 0, len(files)*digits.Height*digits.Width)
	for _, f := range files {
		x, err := readImageFile(f)
		if err != nil {
			return err
		}
		images = append(images, x...)
	}
	probs, labels, err := train.Predict(m, images, len(files))
	if err != nil {
		return err
	}
	k := len(probs) / len(files)
	classes := m.Classes
	if len(classes) != k {
		classes = make([]string, k)
		for i := range classes {
			classes[i] = fmt.Sprint(i)
		}
	}
	out := make([]prediction, len(files))
	for i, f := range files {
		p := probs[i*k : (i+1)*k]
		order := make([]int, k)
		for j := range order {
			order[j] = j
		}
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case p[a] > p[b]:
				return -1
			case p[a] < p[b]:
				return 1
			}
			return 0
		})
		pr := prediction{File: f, Label: classes[labels[i]], Index: int(labels[i]), Probabilities: slices.Clone(p)}
		for _, j := range order[:min(c.Int("top"), k)] {
			pr.Top = append(pr.Top, classProb{classes[j], p[j]})
		}
		out[i] = pr
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

func readImageFile(path string) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x, err := digits.ReadImage(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}
