package main

import (
	"context"
	"fmt"
	"io"
	"math"
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
			&cli.StringFlag{Name: "init", Usage: "start from this ONNX model instead of a fresh network (fine-tuning); any classifier of 28x28 images whose output is K scores"},
			&cli.StringFlag{Name: "pixel-range", Usage: "with --init: the pixel range the model takes, 0-1, 0-255 or -1-1 (default: its Image.NominalPixelRange metadata, else 0-1)"},
			&cli.StringFlag{Name: "remedies", Value: train.DefaultSpec, Usage: "recipe changes that keep the softmax out of saturation: " + train.RemedyHelp},
			&cli.BoolFlag{Name: "resume-on-other-data", Usage: "let --resume continue on a data set other than the checkpoint's (its mean image is kept)"},
			maxMemoryFlag(),
		},
		Action: runTrain,
	}
}

// maxEpochs and maxBatch bound --epochs and --batch-size (the memory plan
// bounds what a batch costs).
const (
	maxEpochs = 1_000_000
	maxBatch  = 1 << 16
)

func runTrain(c *cli.Context) error {
	cfg, err := trainConfig(c)
	if err != nil {
		return err
	}
	w := c.App.Writer
	// Cheap runtime checks before the data loads: the memory plan (with the
	// data set's size, from the spec or a folder's listing) and the checkpoint's lock.
	dataBytes, _ := train.DataBytes(cfg.Dataset)
	if cfg.Resume {
		ck, err := train.LoadCheckpoint(cfg.Checkpoint)
		if err != nil {
			return err
		}
		if !c.IsSet("remedies") {
			// Continue with the checkpoint's recipe, even one saved before the
			// default changed; an explicit --remedies must match it.
			cfg.Remedies = ck.Config.Remedies
		}
		if err := train.CheckMemory(cfg, ck.Model, len(ck.Model.Classes), dataBytes); err != nil {
			return err
		}
	} else if err := train.CheckMemory(cfg, cfg.Init, classCount(cfg.Dataset), dataBytes); err != nil {
		return err
	}
	if cfg.Checkpoint != "" {
		lock, err := train.LockCheckpoint(cfg.Checkpoint)
		if err != nil {
			return err
		}
		lock.Unlock() // Train takes it again for the run
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	trainSet, valSet, err := loadData(ctx, cfg.Dataset, cfg.Seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "data %s: %d training, %d validation images\n", cfg.Dataset, trainSet.Len(), valSet.Len())
	warnClasses(c.App.ErrWriter, cfg.Dataset, trainSet, valSet)
	fmt.Fprintf(w, "training %s with %s loss, %s, %d epochs, batch %d, learn rate %g, remedies %s\n",
		orDefault(cfg.Arch, "the --init model"), cfg.Loss, cfg.Optimizer, cfg.Epochs, cfg.BatchSize, cfg.Hyper.LearnRate, cfg.Remedies)
	res, err := train.Train(ctx, cfg, trainSet, valSet, &memoryLimiter{Recorder: &train.Printer{W: w, Terminal: isTerminal(w)}})
	if err != nil {
		return err
	}
	last := res.History[len(res.History)-1]
	if last.ValImages == 0 {
		fmt.Fprintf(w, "no validation images; %d epochs trained; checkpoint %s\n", last.Epoch, cfg.Checkpoint)
	} else {
		fmt.Fprintf(w, "validation accuracy %.2f%% after %d epochs; checkpoint %s\n", 100*last.ValAcc, last.Epoch, cfg.Checkpoint)
	}
	if dir := c.String("curves"); dir != "" {
		title := fmt.Sprintf("%s %s", cfg.Loss, strings.ToUpper(string(cfg.Optimizer)))
		if err := study.WriteCurves(dir, title, res.History); err != nil {
			return err
		}
		fmt.Fprintf(w, "curves written to %s\n", dir)
	}
	return nil
}

// trainConfig reads and checks every train flag (usage errors, exit 2)
// without loading data: zero is a value (--momentum 0 is plain SGD, --l2 0
// none); NaN, Inf, negative and out-of-range values are refused with their
// range; --arch and --data are parsed.
func trainConfig(c *cli.Context) (train.Config, error) {
	var cfg train.Config
	if c.NArg() > 0 {
		return cfg, badUsage("train takes no arguments, got %q", c.Args().Slice())
	}
	if err := oneOf("loss", c.String("loss"), names(train.Losses)...); err != nil {
		return cfg, err
	}
	if err := oneOf("optimizer", c.String("optimizer"), names(train.Optimizers)...); err != nil {
		return cfg, err
	}
	epochs, err := intIn(c, "epochs", 1, maxEpochs)
	if err != nil {
		return cfg, err
	}
	batch, err := intIn(c, "batch-size", 1, maxBatch)
	if err != nil {
		return cfg, err
	}
	lr, err := floatIn(c, "learn-rate", 0, math.Inf(1), true, true)
	if err != nil {
		return cfg, err
	}
	momentum, err := floatIn(c, "momentum", 0, 1, false, true)
	if err != nil {
		return cfg, err
	}
	l2, err := floatIn(c, "l2", 0, math.Inf(1), false, true)
	if err != nil {
		return cfg, err
	}
	lossScale, err := floatIn(c, "loss-scale", 0, math.Inf(1), false, true)
	if err != nil {
		return cfg, err
	}
	maxMem, err := maxMemory(c)
	if err != nil {
		return cfg, err
	}
	// train.Hyper takes 0 as "the default" and a negative value as zero.
	if momentum == 0 {
		momentum = -1
	}
	if l2 == 0 {
		l2 = -1
	}
	cfg = train.Config{
		Arch:              c.String("arch"),
		Loss:              train.Loss(c.String("loss")),
		LossScale:         lossScale,
		Optimizer:         train.Optimizer(c.String("optimizer")),
		Epochs:            epochs,
		BatchSize:         batch,
		Hyper:             train.Hyper{LearnRate: lr, Momentum: momentum, L2: l2},
		Seed:              c.Int64("seed"),
		Dataset:           c.String("data"),
		Checkpoint:        c.String("checkpoint"),
		Resume:            c.Bool("resume"),
		ResumeOnOtherData: c.Bool("resume-on-other-data"),
		MaxMemory:         maxMem,
	}
	rem, err := train.ParseRemedies(c.String("remedies"), cfg.Optimizer)
	if err != nil {
		return cfg, usageError{err}
	}
	cfg.Remedies = rem
	if err := digits.CheckSpec(cfg.Dataset); err != nil {
		return cfg, usageError{fmt.Errorf("--data: %w", err)}
	}
	if p := c.String("init"); p != "" {
		if cfg.Resume {
			return cfg, badUsage("--init and --resume exclude each other")
		}
		// A classifier's first input dim is its batch, also when the file fixed it.
		m, err := onnximport.ReadFile(p, onnximport.Options{MaxBytes: modelBytes(maxMem), DynamicBatch: true})
		if err != nil {
			return cfg, err
		}
		pr := c.String("pixel-range")
		if pr == "" {
			pr = map[string]string{"NominalRange_0_255": "0-255", "Normalized_1_1": "-1-1"}[m.Meta["Image.NominalPixelRange"]]
		}
		if m, err = train.Adopt(m, pr); err != nil {
			return cfg, err
		}
		cfg.Init = m
		cfg.Arch = ""
	} else if !cfg.Resume {
		in := graph.DigitsInput()
		in.Classes = make([]string, classCount(cfg.Dataset))
		if _, err := graph.ArchModel(cfg.Arch, in); err != nil {
			return cfg, usageError{fmt.Errorf("--arch: %w", err)}
		}
	}
	return cfg, nil
}

// classCount is the number of classes spec's data has, from the spec alone:
// 10 digits, or the subfolders of a folder.
func classCount(spec string) int {
	entries, err := os.ReadDir(spec)
	if err != nil {
		return 10
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return max(n, 1)
}

// loadData loads spec; Ctrl-C while it loads returns at once with an error
// (nothing has been written yet).
func loadData(ctx context.Context, spec string, seed int64) (*digits.Set, *digits.Set, error) {
	type loaded struct {
		tr, va *digits.Set
		err    error
	}
	done := make(chan loaded, 1)
	go func() {
		tr, va, err := digits.Load(spec, seed)
		done <- loaded{tr, va, err}
	}()
	select {
	case l := <-done:
		return l.tr, l.va, l.err
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("interrupted while loading %s; nothing was written", spec)
	}
}

// warnClasses warns about data sets a classifier cannot learn from well:
// one class, a class without training images, no validation images.
func warnClasses(w io.Writer, spec string, tr, va *digits.Set) {
	counts := make([]int, len(tr.Classes))
	for _, l := range tr.Labels {
		counts[l]++
	}
	var empty []string
	for k, n := range counts {
		if n == 0 {
			empty = append(empty, tr.Classes[k])
		}
	}
	switch {
	case len(counts)-len(empty) < 2:
		fmt.Fprintf(w, "warning: data %s has training images of %d class(es) only: the classifier cannot learn to tell classes apart\n", spec, len(counts)-len(empty))
	case len(empty) > 0:
		fmt.Fprintf(w, "warning: data %s has no training images of class(es) %s\n", spec, strings.Join(empty, ", "))
	}
	if va.Len() == 0 {
		fmt.Fprintf(w, "warning: data %s has no validation images: accuracy is not measured\n", spec)
	}
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
