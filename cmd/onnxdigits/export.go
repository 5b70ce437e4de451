package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/onnxdigits/onnxdigits/export"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/atomicfile"
	"github.com/onnxdigits/onnxdigits/serve"
	"github.com/onnxdigits/onnxdigits/train"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "export a trained checkpoint to an ONNX file",
		ArgsUsage: "model.onnx",
		Description: `Writes the checkpoint's model as ONNX (opset 13, IR version 7, unless --opset
   says otherwise: 11 to 21, each with the IR version of its ONNX release): input "image"
   float32 [N,1,28,28] with pixels in [0,1] (the mean image is subtracted inside the
   graph), outputs "probabilities" float32 [N,10] and "label" int64 [N], with the
   class names and training settings as metadata. The file is written atomically.
   --fold-bn folds batch normalization into the convolution before it: a smaller,
   faster file for inference only.

   Examples:
     onnxdigits export model.onnx
     onnxdigits export --checkpoint run1.ckpt --fold-bn model.onnx
     onnxdigits export --opset 11 model.onnx     # for onnxruntime 1.0-1.2 and older tools
     onnxdigits inspect model.onnx
     onnxdigits export --model-repository models digits.onnx

   --model-repository DIR also writes the model the way Triton and KServe load
   it: DIR/NAME/1/model.onnx, DIR/NAME/config.pbtxt (platform onnxruntime_onnx,
   max_batch_size 64, dynamic batching) and DIR/NAME/labels.txt, NAME being
   the ONNX file's name without .onnx ("model" when no file is given).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "checkpoint", Value: "onnxdigits.ckpt", Usage: "checkpoint written by onnxdigits train"},
			&cli.BoolFlag{Name: "fold-bn", Usage: "fold batch normalization into the preceding convolution (inference-only file)"},
			&cli.IntFlag{Name: "opset", Value: export.Opset, Usage: fmt.Sprintf("ONNX opset to write, %d to %d", export.MinOpset, export.MaxOpset)},
			maxMemoryFlag(),
			&cli.StringFlag{Name: "model-repository", Usage: "also write a Triton/KServe model repository in `DIR`"},
		},
		Action: runExport,
	}
}

func runExport(c *cli.Context) error {
	repo := c.String("model-repository")
	if c.NArg() != 1 && (repo == "" || c.NArg() != 0) {
		return badUsage("export takes one argument, the ONNX file to write (got %d)", c.NArg())
	}
	opset := c.Int("opset")
	if opset < export.MinOpset || opset > export.MaxOpset {
		return badUsage("--opset %d: %d to %d are supported", opset, export.MinOpset, export.MaxOpset)
	}
	maxMem, err := maxMemory(c)
	if err != nil {
		return err
	}
	ck, err := train.LoadCheckpoint(c.String("checkpoint"))
	if err != nil {
		return err
	}
	// What the file's users will need to run it at batch 1.
	plan, err := ck.Model.Plan(graph.PlanOptions{Batch: 1})
	if err == nil {
		err = plan.Check(maxMem)
	}
	if err != nil {
		return fmt.Errorf("export: %s: %w", c.String("checkpoint"), err)
	}
	opts := export.Options{FoldBN: c.Bool("fold-bn"), Opset: opset}
	if repo == "" {
		return export.WriteFile(c.Args().First(), ck.Model, opts)
	}
	data, err := export.Marshal(ck.Model, opts)
	if err != nil {
		return err
	}
	name := "model"
	if c.NArg() == 1 {
		if err := atomicfile.WriteFile(c.Args().First(), data); err != nil {
			return err
		}
		name = strings.TrimSuffix(filepath.Base(c.Args().First()), ".onnx")
	}
	return serve.WriteRepository(repo, name, data, 64)
}
