package main

import (
	"fmt"
	"path/filepath"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/train"
	"github.com/urfave/cli/v2"
)

// digitsCommand is `onnxdigits digits`: write the synthetic data set as
// PNG folders plus labels.csv (DESIGN §3, §6).
func digitsCommand() *cli.Command {
	return &cli.Command{
		Name:      "digits",
		Usage:     "write the synthetic digit set as DIR/<digit>/<index>.png plus DIR/labels.csv",
		UsageText: "onnxdigits digits --out DIR [--per-class 1000] [--seed 1]",
		Description: `Renders the built-in synthetic digits (28x28 grey, white on black, each
rotated by a whole-degree angle in -45..45) and writes them as 8-bit PNG
files, one folder per digit, plus labels.csv with the columns
file,label,angle. The same seed always gives the same images, and
"train --data DIR" reads the folder back.

Example:
   onnxdigits digits --out digits-synthetic --per-class 1000 --seed 1`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (created if missing; existing files of the same name are replaced)"},
			&cli.IntFlag{Name: "per-class", Value: digits.DefaultPerClass, Usage: "images per digit (10 digits)"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "random seed"},
			maxMemoryFlag(),
		},
		Action: func(c *cli.Context) error {
			out, perClass, seed := c.String("out"), c.Int("per-class"), c.Int64("seed")
			if out == "" {
				return cli.Exit("--out DIR is required", 2)
			}
			if perClass <= 0 || perClass > digits.MaxImages/10 {
				return cli.Exit(fmt.Sprintf("--per-class %d: want 1..%d", perClass, digits.MaxImages/10), 2)
			}
			maxMem, err := maxMemory(c)
			if err != nil {
				return err
			}
			// The set is rendered whole before it is written.
			spec := fmt.Sprintf("synthetic:%d", perClass)
			if n, _ := train.DataBytes(spec); n > maxMem {
				return fmt.Errorf("digits: %d images per class need %s, over the limit of %s (--max-memory)", perClass, graph.FormatBytes(n), graph.FormatBytes(maxMem))
			}
			s := digits.Synthetic(perClass, seed)
			if err := digits.WriteFolder(s, out); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote %d images (%d per digit, seed %d) to %s/<digit>/<index>.png and %s\n",
				s.Len(), perClass, seed, out, filepath.Join(out, "labels.csv"))
			return nil
		},
	}
}
