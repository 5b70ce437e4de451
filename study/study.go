package study

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/export"
	"github.com/onnxdigits/onnxdigits/internal/atomicfile"
	"github.com/onnxdigits/onnxdigits/train"
	"github.com/onnxdigits/onnxdigits/verify"
)

// Setting is one configuration of the study: a loss and an optimizer with the
// epochs and mini-batch size to train them, and the paper's validation accuracy
// for it (0 when the paper has no such row).
type Setting struct {
	Loss      train.Loss
	Optimizer train.Optimizer
	Epochs    int
	BatchSize int
	Paper     float64
	Remedies  train.Remedies
	// Variant is the spec Remedies came from ("default" resolves per optimizer).
	Variant string
}

// Name is "loss-optimizer", followed by "+remedies" when any are on.
func (s Setting) Name() string { return string(s.Loss) + "-" + string(s.Optimizer) + s.remedyTag() }

func (s Setting) remedyTag() string {
	if r := s.Remedies.String(); r != "none" {
		return "+" + r
	}
	return ""
}

// Table1 is the paper's Table 1 (validation accuracy on MATLAB's Digits set).
var Table1 = []Setting{
	{Loss: train.CrossEntropy, Optimizer: train.SGDM, Epochs: 25, BatchSize: 64, Paper: 0.9965},
	{Loss: train.CrossEntropy, Optimizer: train.Adam, Epochs: 25, BatchSize: 64, Paper: 0.9952},
	{Loss: train.MAE, Optimizer: train.SGDM, Epochs: 60, BatchSize: 43, Paper: 0.9944},
	{Loss: train.MAE, Optimizer: train.Adam, Epochs: 40, BatchSize: 100, Paper: 0.9960},
	{Loss: train.SSE, Optimizer: train.SGDM, Epochs: 25, BatchSize: 128, Paper: 0.9968},
	{Loss: train.SSE, Optimizer: train.Adam, Epochs: 20, BatchSize: 43, Paper: 0.9972},
}

// Options configure Run. Zero fields take the defaults noted.
type Options struct {
	Data        string            // data spec for digits.Load; "" is "synthetic"
	Out         string            // output folder; "" is "study"
	EpochsScale float64           // multiplies every setting's epochs (at least 1 remains); 0 is 1
	Losses      []train.Loss      // nil: the paper's three
	Optimizers  []train.Optimizer // nil: the paper's two
	// Epochs and BatchSize apply to settings the paper has no row for; 0 is 20
	// and 43 (the paper's best configuration).
	Epochs, BatchSize int
	Seeds             []int64 // nil: {1}
	Arch              string  // "" is the paper's network
	LearnRate         float64 // 0 is 0.01
	LossScale         float64 // robust losses' scale, 0 for their defaults
	// Remedies lists the recipe variants to compare, as train.ParseRemedies
	// specs: every setting runs once per entry (for every seed). nil is
	// {"default"}, which resolves per optimizer.
	Remedies []string
	// SkipOnnxGo leaves onnx-go out of the parity check (it is slow).
	SkipOnnxGo bool
	Progress   io.Writer // nil for silence
	Terminal   bool      // Progress redraws a bar in place
}

// Result is one trained run.
type Result struct {
	Setting  Setting
	Seed     int64
	History  []train.EpochStats
	Model    string  // ONNX file, relative to Out
	Parity   float64 // max |probability| difference, native vs re-imported ONNX
	OnnxGo   float64 // the same against onnx-go; NaN when it could not run
	Labels   float64 // fraction of equal labels native vs import
	Seconds  float64 // wall time of training
	ImagesPS float64 // median training images/s over epochs
}

// Final returns the last epoch's statistics.
func (r *Result) Final() train.EpochStats { return r.History[len(r.History)-1] }

// Settings lists what Run trains for opts: the paper's rows for the chosen
// losses and optimizers, in Table 1's order, then the other combinations;
// each once per remedy variant.
func Settings(opts Options) []Setting {
	losses, opts2 := opts.Losses, opts.Optimizers
	if losses == nil {
		losses = []train.Loss{train.CrossEntropy, train.MAE, train.SSE}
	}
	if opts2 == nil {
		opts2 = []train.Optimizer{train.SGDM, train.Adam}
	}
	scale := opts.EpochsScale
	if scale == 0 {
		scale = 1
	}
	var out []Setting
	for _, l := range losses {
		for _, o := range opts2 {
			s := Setting{Loss: l, Optimizer: o, Epochs: or(opts.Epochs, 20), BatchSize: or(opts.BatchSize, 43)}
			for _, p := range Table1 {
				if p.Loss == l && p.Optimizer == o {
					s = p
				}
			}
			s.Epochs = max(1, int(math.Round(float64(s.Epochs)*scale)))
			seen := map[train.Remedies]bool{}
			for _, v := range remedyVariants(opts) {
				s.Variant = v
				s.Remedies, _ = train.ParseRemedies(v, o) // Run checks the specs
				// "default" may resolve to another variant's recipe: run it once.
				if !seen[s.Remedies] {
					seen[s.Remedies] = true
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func remedyVariants(opts Options) []string {
	if len(opts.Remedies) == 0 {
		return []string{train.DefaultSpec}
	}
	return opts.Remedies
}

func or(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

// Run trains every setting for every seed, exports and verifies each model, and
// writes the report into opts.Out. Cancelling ctx stops after the current
// epoch's checkpoint with ctx's error.
func Run(ctx context.Context, opts Options) ([]*Result, error) {
	if opts.Data == "" {
		opts.Data = "synthetic"
	}
	if opts.Out == "" {
		opts.Out = "study"
	}
	for _, v := range opts.Remedies {
		if _, err := train.ParseRemedies(v, train.Adam); err != nil {
			return nil, fmt.Errorf("study: %w", err)
		}
	}
	seeds := opts.Seeds
	if len(seeds) == 0 {
		seeds = []int64{1}
	}
	if err := os.MkdirAll(filepath.Join(opts.Out, "models"), 0o755); err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	settings := Settings(opts)
	total := len(settings) * len(seeds)
	start := time.Now()
	var results []*Result
	sets := map[int64][2]*digits.Set{}
	for i, s := range settings {
		for j, seed := range seeds {
			k := i*len(seeds) + j + 1
			if _, ok := sets[seed]; !ok {
				tr, va, err := digits.Load(opts.Data, seed)
				if err != nil {
					return nil, err
				}
				sets[seed] = [2]*digits.Set{tr, va}
			}
			tr, va := sets[seed][0], sets[seed][1]
			fmt.Fprintf(progress, "[%d/%d] %s, %d epochs, batch %d, seed %d (%s elapsed)\n", k, total, s.Name(), s.Epochs, s.BatchSize, seed, time.Since(start).Round(time.Second))
			r, err := runOne(ctx, opts, s, seed, tr, va, fmt.Sprintf("[%d/%d %s s%d] ", k, total, s.Name(), seed))
			if err != nil {
				return results, fmt.Errorf("study: %s seed %d: %w", s.Name(), seed, err)
			}
			results = append(results, r)
		}
	}
	if err := WriteReport(opts, results, time.Since(start)); err != nil {
		return results, err
	}
	return results, nil
}

func runOne(ctx context.Context, opts Options, s Setting, seed int64, tr, va *digits.Set, prefix string) (*Result, error) {
	cfg := train.Config{
		Arch: opts.Arch, Loss: s.Loss, LossScale: opts.LossScale, Optimizer: s.Optimizer,
		Epochs: s.Epochs, BatchSize: s.BatchSize, Seed: seed, Dataset: opts.Data,
		Hyper: train.Hyper{LearnRate: opts.LearnRate}, Remedies: s.Remedies,
		Checkpoint: filepath.Join(opts.Out, "models", fmt.Sprintf("%s-s%d.ckpt", s.Name(), seed)),
	}
	var rec train.Recorder
	if opts.Progress != nil {
		rec = &train.Printer{W: opts.Progress, Terminal: opts.Terminal, Prefix: prefix}
	}
	t0 := time.Now()
	res, err := train.Train(ctx, cfg, tr, va, rec)
	if err != nil {
		return nil, err
	}
	r := &Result{Setting: s, Seed: seed, History: res.History, Seconds: time.Since(t0).Seconds()}
	var rates []float64
	for _, h := range res.History {
		rates = append(rates, h.ImagesPerSec)
	}
	slices.Sort(rates)
	r.ImagesPS = rates[len(rates)/2]

	data, err := export.Marshal(res.Model, export.Options{})
	if err != nil {
		return nil, err
	}
	r.Model = filepath.Join("models", fmt.Sprintf("%s-s%d.onnx", s.Name(), seed))
	if err := atomicfile.WriteFile(filepath.Join(opts.Out, r.Model), data); err != nil {
		return nil, err
	}
	rep, err := verify.Run(data, res.Model, va.AppendImages(nil, 0, va.Len()), va.Len(), verify.Options{SkipOnnxGo: opts.SkipOnnxGo})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	r.OnnxGo = math.NaN()
	for _, c := range rep.Pairs {
		if !c.Available {
			continue
		}
		switch {
		case c.A == verify.SourceNative && c.B == verify.SourceImport:
			r.Parity, r.Labels = c.MaxAbs, float64(c.Agree)/float64(max(c.N, 1))
		case c.A == verify.SourceNative:
			r.OnnxGo = c.MaxAbs
		}
	}
	return r, nil
}

// mean and standard deviation (n-1) of xs.
func meanSD(xs []float64) (float64, float64) {
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	if len(xs) < 2 {
		return m, 0
	}
	v := 0.0
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return m, math.Sqrt(v / float64(len(xs)-1))
}
