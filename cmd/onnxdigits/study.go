package main

import (
	"fmt"
	"math"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/study"
	"github.com/onnxdigits/onnxdigits/train"
	"github.com/urfave/cli/v2"
)

func studyCommand() *cli.Command {
	return &cli.Command{
		Name:  "study",
		Usage: "reproduce the paper's six runs (Table 1, Figs. 4-9) and go beyond them",
		Description: `Trains every loss x optimizer at the paper's epochs and batch sizes (learning rate
   0.01), exports each model to ONNX and verifies it, and writes table.md, table.csv, the
   curves, a bar chart of the best accuracies and report.md into --out.

   Examples:
     onnxdigits study                                  # the paper's six runs on synthetic digits
     onnxdigits study --epochs-scale 0.1               # a quick look (a few minutes)
     onnxdigits study --seeds 1,2,3 --data mnist
     onnxdigits study --losses sse,huber --optimizers adam,nadam
     onnxdigits study --seeds 1,2,3 --remedies "none;default;warmup=500"   # compare recipes`,
		Flags: []cli.Flag{
			dataFlag(),
			&cli.StringFlag{Name: "out", Value: "study", Usage: "output folder"},
			&cli.Float64Flag{Name: "epochs-scale", Value: 1, Usage: "multiply every run's epochs (at least one remains)"},
			&cli.StringFlag{Name: "losses", Value: "crossentropy,mae,sse", Usage: "comma-separated losses: " + strings.Join(names(train.Losses), ", ")},
			&cli.StringFlag{Name: "optimizers", Value: "sgdm,adam", Usage: "comma-separated optimizers: " + strings.Join(names(train.Optimizers), ", ")},
			&cli.StringFlag{Name: "seeds", Value: "1", Usage: "comma-separated seeds; the table gives mean and spread"},
			&cli.IntFlag{Name: "epochs", Value: 20, Usage: "epochs for combinations the paper has no row for"},
			&cli.IntFlag{Name: "batch-size", Value: 43, Usage: "batch size for combinations the paper has no row for"},
			&cli.Float64Flag{Name: "learn-rate", Value: 0.01, Usage: "learning rate"},
			&cli.Float64Flag{Name: "loss-scale", Usage: "scale of the robust losses (0 for their defaults)"},
			&cli.StringFlag{Name: "arch", Value: graph.DefaultArch, Usage: "network: " + graph.ArchHelp},
			&cli.StringFlag{Name: "remedies", Value: train.DefaultSpec, Usage: "recipe changes: " + train.RemedyHelp + "; several variants separated by \";\" are compared (each setting runs once per variant)"},
			&cli.BoolFlag{Name: "skip-onnx-go", Usage: "leave onnx-go out of the parity check"},
		},
		Action: runStudy,
	}
}

func runStudy(c *cli.Context) error {
	if c.NArg() > 0 {
		return badUsage("study takes no arguments, got %q", c.Args().Slice())
	}
	var losses []train.Loss
	for _, s := range splitList(c.String("losses")) {
		if err := oneOf("losses", s, names(train.Losses)...); err != nil {
			return err
		}
		losses = append(losses, train.Loss(s))
	}
	var opts []train.Optimizer
	for _, s := range splitList(c.String("optimizers")) {
		if err := oneOf("optimizers", s, names(train.Optimizers)...); err != nil {
			return err
		}
		opts = append(opts, train.Optimizer(s))
	}
	var seeds []int64
	for _, s := range splitList(c.String("seeds")) {
		var v int64
		if _, err := fmt.Sscan(s, &v); err != nil {
			return badUsage("--seeds: %q is not an integer", s)
		}
		seeds = append(seeds, v)
	}
	if len(losses) == 0 || len(opts) == 0 || len(seeds) == 0 {
		return badUsage("--losses, --optimizers and --seeds need at least one value each")
	}
	scale, err := floatIn(c, "epochs-scale", 0, 100, true, false)
	if err != nil {
		return err
	}
	lr, err := floatIn(c, "learn-rate", 0, math.Inf(1), true, true)
	if err != nil {
		return err
	}
	lossScale, err := floatIn(c, "loss-scale", 0, math.Inf(1), false, true)
	if err != nil {
		return err
	}
	epochs, err := intIn(c, "epochs", 1, maxEpochs)
	if err != nil {
		return err
	}
	batch, err := intIn(c, "batch-size", 1, maxBatch)
	if err != nil {
		return err
	}
	if err := digits.CheckSpec(c.String("data")); err != nil {
		return usageError{fmt.Errorf("--data: %w", err)}
	}
	in := graph.DigitsInput()
	in.Classes = make([]string, classCount(c.String("data")))
	if _, err := graph.ArchModel(c.String("arch"), in); err != nil {
		return usageError{fmt.Errorf("--arch: %w", err)}
	}
	rem := strings.Split(c.String("remedies"), ";")
	for _, spec := range rem {
		if _, err := train.ParseRemedies(spec, train.Adam); err != nil {
			return usageError{err}
		}
	}
	w := c.App.Writer
	o := study.Options{
		Data: c.String("data"), Out: c.String("out"), EpochsScale: scale,
		Losses: losses, Optimizers: opts, Seeds: seeds, Epochs: epochs, BatchSize: batch,
		Arch: c.String("arch"), LearnRate: lr, LossScale: lossScale,
		Remedies: rem, SkipOnnxGo: c.Bool("skip-onnx-go"), Progress: w, Terminal: isTerminal(w),
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, err := study.Run(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d runs written to %s (report.md, table.md, table.csv, figures, models/)\n", len(results), o.Out)
	table, err := os.ReadFile(o.Out + "/table.md")
	if err == nil {
		fmt.Fprintf(w, "\n%s", table)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
