package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/onnxdigits/onnxdigits/classify"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
	"github.com/onnxdigits/onnxdigits/train"
	"github.com/onnxdigits/onnxdigits/verify"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check that an ONNX file computes what the trained model does (native, re-imported, onnx-go)",
		ArgsUsage: "model.onnx",
		Description: `Runs the same images through (a) the checkpoint's model in Gorgonia, (b) the ONNX
   file imported back into Gorgonia and (c) onnx-go's Gorgonia backend, an independent
   importer given the graph up to the softmax, and prints for each pair the largest
   difference of probabilities and how many labels agree. A pair passes when every
   probability a is within numpy's allclose bound of the other side's b,
   |a-b| <= atol + rtol*|b|, and all labels agree; exit status 1 otherwise.

   Without --checkpoint, and no onnxdigits.ckpt in the current folder, only the
   import and onnx-go are compared. onnx-go handles only some graphs (no MaxPool
   with Reshape -1, no LogSoftmax, no AveragePool, ...): when it cannot run one, its
   pairs are shown as n/a with the reason.

   The images are the validation set of --data; by default the data set and seed
   the model was trained with (its metadata), so the split is the one training held out.

   Examples:
     onnxdigits verify model.onnx
     onnxdigits verify --checkpoint run1.ckpt --limit 500 model.onnx
     onnxdigits verify --atol 1e-6 --rtol 0 model.onnx
     onnxdigits verify --data mnist testdata/torch/paper_bn.onnx`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "checkpoint", Value: "onnxdigits.ckpt", Usage: "checkpoint of the native model (skipped when the default is absent)"},
			dataFlag(),
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of the synthetic data and split (default: the model's)"},
			&cli.IntFlag{Name: "limit", Usage: "compare only the first N validation images (0: all)"},
			&cli.Float64Flag{Name: "atol", Value: verify.DefaultTolerance.Atol, Usage: "absolute tolerance of a probability: |a-b| <= atol + rtol*|b|"},
			&cli.Float64Flag{Name: "rtol", Value: verify.DefaultTolerance.Rtol, Usage: "relative tolerance of a probability: |a-b| <= atol + rtol*|b|"},
			pixelRangeFlag(),
			maxMemoryFlag(),
		},
		Action: runVerify,
	}
}

func runVerify(c *cli.Context) error {
	if err := checkArgsOrder(c); err != nil {
		return err
	}
	if c.NArg() != 1 {
		return badUsage("verify takes one argument, the ONNX file (got %d)", c.NArg())
	}
	if c.Int("limit") < 0 {
		return badUsage("--limit must be at least 0")
	}
	tol := verify.Tolerance{Atol: c.Float64("atol"), Rtol: c.Float64("rtol")}
	for _, f := range []struct {
		name string
		v    float64
	}{{"atol", tol.Atol}, {"rtol", tol.Rtol}} {
		if !(f.v >= 0) || math.IsInf(f.v, 1) {
			return badUsage("--%s must be a finite number >= 0 (got %g)", f.name, f.v)
		}
	}
	pr, err := pixelRange(c)
	if err != nil {
		return err
	}
	maxMem, err := maxMemory(c)
	if err != nil {
		return err
	}
	w := c.App.Writer
	path := c.Args().First()
	opts := classifyOptions(pr, maxMem/3) // native, re-imported and onnx-go run it
	data, err := onnximport.ReadBytes(path, opts.Import)
	if err != nil {
		return err
	}
	imported, err := onnximport.Decode(data, onnximport.Options{})
	if err != nil {
		return fmt.Errorf("%w (file %s)", err, path)
	}
	adapter, err := classify.New(imported, opts)
	if err != nil {
		return fmt.Errorf("%w (file %s)", err, path)
	}
	var native *graph.Model
	ckpt := c.String("checkpoint")
	ck, err := train.LoadCheckpoint(ckpt)
	switch {
	case err == nil:
		native = ck.Model
		fmt.Fprintf(w, "native model: %s (%d epochs)\n", ckpt, ck.Epoch)
	case !c.IsSet("checkpoint") && errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(w, "native model: none (%s not found; give --checkpoint): comparing the import with onnx-go only\n", ckpt)
	default:
		return err
	}
	meta := imported.Meta
	if native != nil {
		meta = native.Meta
	}
	val, desc, err := loadEvalSet(c, meta)
	if err != nil {
		return err
	}
	n := val.Len()
	if l := c.Int("limit"); l > 0 && l < n {
		n = l
	}
	fmt.Fprintf(w, "model: %s; images: %s\n%s\n", path, desc, describeInput(adapter.Info()))
	x, err := adapter.Adapt(val.AppendImages(nil, 0, n), n, digits.Height, digits.Width)
	if err != nil {
		return err
	}
	rep, err := verify.Run(data, native, x, n, verify.Options{Tolerance: &tol})
	if err != nil {
		return err
	}
	if err := rep.Format(w); err != nil {
		return err
	}
	if !rep.OK() {
		return cli.Exit(fmt.Sprintf("verify: %s: probabilities outside the tolerance (%s) or labels disagree", path, tol), 1)
	}
	return nil
}

// loadEvalSet returns the validation (held-out) split of --data for seed
// --seed; when a flag is not given, the model's metadata ("dataset", "seed")
// decides, so the split is the one its training held out. desc says which.
func loadEvalSet(c *cli.Context, meta map[string]string) (*digits.Set, string, error) {
	spec, seed := c.String("data"), c.Int64("seed")
	from := ""
	if !c.IsSet("data") && meta["dataset"] != "" {
		spec, from = meta["dataset"], " (from the model's metadata)"
	}
	if !c.IsSet("seed") && meta["seed"] != "" {
		if s, err := strconv.ParseInt(meta["seed"], 10, 64); err == nil {
			seed = s
		}
	}
	val, err := digits.LoadValidation(spec, seed)
	if err != nil {
		return nil, "", err
	}
	if val.Len() == 0 {
		return nil, "", fmt.Errorf("data %s has no validation images", spec)
	}
	return val, fmt.Sprintf("%d validation images of %s, seed %d%s", val.Len(), spec, seed, from), nil
}

// checkArgsOrder rejects flags written after the positional arguments
// ("eval model.onnx --data mnist"): urfave/cli v2 stops reading flags at the
// first argument and would take "--data" for a file name. The error shows the
// order that works.
func checkArgsOrder(c *cli.Context) error {
	args := c.Args().Slice()
	for i, a := range args {
		if strings.HasPrefix(a, "-") && a != "-" {
			var flags, rest []string
			for j := i; j < len(args); j++ {
				if strings.HasPrefix(args[j], "-") {
					flags = append(flags, args[j])
					if !strings.Contains(args[j], "=") && j+1 < len(args) && !strings.HasPrefix(args[j+1], "-") && !isBoolFlag(c, args[j]) {
						j++
						flags = append(flags, args[j])
					}
				} else {
					rest = append(rest, args[j])
				}
			}
			return badUsage("flags go before the files: onnxdigits %s %s %s", c.Command.Name,
				strings.Join(flags, " "), strings.Join(append(args[:i:i], rest...), " "))
		}
	}
	return nil
}

func isBoolFlag(c *cli.Context, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	for _, f := range c.Command.Flags {
		if _, ok := f.(*cli.BoolFlag); ok && slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}
