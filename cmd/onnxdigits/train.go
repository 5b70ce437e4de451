package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
	"github.com/onnxdigits/onnxdigits/study"
	"github.com/onnxdigits/onnxdigits/train"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// dataFlag is shared by the commands that read a data set.
func dataFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "data", Value: "synthetic",
		Usage: `data set: "synthetic" (built in, 10,000 images, 75/25 split), "synthetic:N" (N per class), "mnist" (the GoMNIST module's files), "mnist:DIR" (IDX files), or DIR/<label>/*.png`}
}

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "train a CNN on digits and save a checkpoint",
		Description: `Trains the paper's network (or --arch) with Gorgonia, validating every epoch and
   writing a checkpoint after each one. Ctrl-C saves a checkpoint; --resume continues it.

   Examples:
     onnxdigits train                                   # synthetic digits, cross-entropy, Adam, 20 epochs
     onnxdigits train --loss sse --optimizer sgdm --epochs 25 --batch-size 128
     onnxdigits train --data mnist --epochs 6 --batch-size 128 --curves curves/
     onnxdigits train --arch conv3x3x16p1,bn,relu,maxpool2,fc64,relu,fc10
     onnxdigits train --init model.onnx --epochs 2      # fine-tune an imported ONNX model
     onnxdigits train --loss mae --remedies none        # the paper's plain recipe (see --remedies)`,
		Flags: []cli.Flag{
			dataFlag(),
			&cli.StringFlag{Name: "arch", Value: graph.DefaultArch, Usage: "network: " + graph.ArchHelp},
			&cli.StringFlag{Name: "loss", Value: string(train.CrossEntropy), Usage: "classification layer: crossentropy, mae, sse (the paper's) or huber, tukey, welch, cauchy (robust)"},
			&cli.Float64Flag{Name: "loss-scale", Usage: "scale c of the robust losses (0: huber 1.345, tukey 4.685, welch 2.9846, cauchy 2.3849)"},
			&cli.StringFlag{Name: "optimizer", Value: string(train.Adam), Usage: "sgdm, adam (the paper's) or rmsprop, adagrad, adadelta, nadam"},
			&cli.IntFlag{Name: "epochs", Value: 20, Usage: "epochs to train (with --resume: the total)"},
			&cli.IntFlag{Name: "batch-size", Value: 43, Usage: "mini-batch size; the last incomplete batch of an epoch is dropped"},
			&cli.Float64Flag{Name: "learn-rate", Value: 0.01, Usage: "learning rate"},
			&cli.Float64Flag{Name: "momentum", Value: 0.9, Usage: "sgdm momentum"},
			&cli.Float64Flag{Name: "l2", Value: 1e-4, Usage: "L2 regularization (0 for none)"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed for the synthetic data, split, initialization, shuffling and dropout"},
			&cli.StringFlag{Name: "checkpoint", Value: "onnxdigits.ckpt", Usage: "checkpoint written after every epoch"},
			&cli.BoolFlag{Name: "resume", Usage: "continue training from --checkpoint"},
			&cli.StringFlag{Name: "curves", Usage: "write history.csv, accuracy.png and loss.png into this folder"},
			&cli.StringFlag{Name: "init", Usage: "start from this ONNX model instead of a fresh network (fine-tuning)"},
			&cli.StringFlag{Name: "remedies", Value: train.DefaultSpec, Usage: "recipe changes that keep the softmax out of saturation: " + train.RemedyHelp},
		},
		Action: runTrain,
	}
}

func runTrain(c *cli.Context) error {
	if c.NArg() > 0 {
		return badUsage("train takes no arguments, got %q", c.Args().Slice())
	}
	if err := oneOf("loss", c.String("loss"), names(train.Losses)...); err != nil {
		return err
	}
	if err := oneOf("optimizer", c.String("optimizer"), names(train.Optimizers)...); err != nil {
		return err
	}
	if c.Float64("loss-scale") < 0 {
		return badUsage("--loss-scale must be positive")
	}
	l2 := c.Float64("l2")
	if l2 == 0 {
		l2 = -1 // Hyper treats 0 as "default"; negative means none
	}
	cfg := train.Config{
		Arch:       c.String("arch"),
		Loss:       train.Loss(c.String("loss")),
		LossScale:  c.Float64("loss-scale"),
		Optimizer:  train.Optimizer(c.String("optimizer")),
		Epochs:     c.Int("epochs"),
		BatchSize:  c.Int("batch-size"),
		Hyper:      train.Hyper{LearnRate: c.Float64("learn-rate"), Momentum: c.Float64("momentum"), L2: l2},
		Seed:       c.Int64("seed"),
		Dataset:    c.String("data"),
		Checkpoint: c.String("checkpoint"),
		Resume:     c.Bool("resume"),
	}
	rem, err := train.ParseRemedies(c.String("remedies"), cfg.Optimizer)
	if err != nil {
		return usageError{err}
	}
	cfg.Remedies = rem
	if cfg.Resume && !c.IsSet("remedies") {
		// Continue with the checkpoint's recipe, even one saved before the
		// default changed; an explicit --remedies must match it.
		if ck, err := train.LoadCheckpoint(cfg.Checkpoint); err == nil {
			cfg.Remedies = ck.Config.Remedies
		}
	}
	if cfg.Epochs < 1 || cfg.BatchSize < 1 {
		return badUsage("--epochs and --batch-size must be at least 1")
	}
	if p := c.String("init"); p != "" {
		if cfg.Resume {
			return badUsage("--init and --resume exclude each other")
		}
		m, err := onnximport.ReadFile(p, onnximport.Options{})
		if err != nil {
			return err
		}
		cfg.Init = m
		cfg.Arch = ""
	}
	w := c.App.Writer
	trainSet, valSet, err := digits.Load(cfg.Dataset, cfg.Seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "data %s: %d training, %d validation images\n", cfg.Dataset, trainSet.Len(), valSet.Len())
	fmt.Fprintf(w, "training %s with %s loss, %s, %d epochs, batch %d, learn rate %g, remedies %s\n",
		orDefault(cfg.Arch, "the --init model"), cfg.Loss, cfg.Optimizer, cfg.Epochs, cfg.BatchSize, cfg.Hyper.LearnRate, cfg.Remedies)

	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := train.Train(ctx, cfg, trainSet, valSet, &memoryLimiter{Recorder: &train.Printer{W: w, Terminal: isTerminal(w)}})
	if err != nil {
		return err
	}
	last := res.History[len(res.History)-1]
	fmt.Fprintf(w, "validation accuracy %.2f%% after %d epochs; checkpoint %s\n", 100*last.ValAcc, last.Epoch, cfg.Checkpoint)
	if dir := c.String("curves"); dir != "" {
		title := fmt.Sprintf("%s %s", cfg.Loss, strings.ToUpper(string(cfg.Optimizer)))
		if err := study.WriteCurves(dir, title, res.History); err != nil {
			return err
		}
		fmt.Fprintf(w, "curves written to %s\n", dir)
	}
	return nil
}

// names converts a list of string-like values for oneOf.
func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// isTerminal reports whether w is a terminal (progress bars redraw in place).
// A character device that is not a terminal (/dev/null) is not.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
