package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"time"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Config describes a training run. Zero fields take the defaults noted.
type Config struct {
	Arch       string    // architecture spec (graph.ArchHelp); "" is graph.DefaultArch
	Loss       Loss      // "" is crossentropy
	LossScale  float64   // scale c of the robust losses; 0 takes Loss.DefaultScale
	Optimizer  Optimizer // "" is adam
	Epochs     int       // 0 is 20
	BatchSize  int       // 0 is 43 (the paper's best configuration)
	Hyper      Hyper     // zero fields take MATLAB's defaults (Hyper.Defaults)
	Seed       int64     // drives initialization, shuffling and dropout
	Dataset    string    // description stored in the model's metadata
	Checkpoint string    // path written atomically after every epoch; "" for none
	// Resume continues from Checkpoint (which must exist) exactly where it stopped.
	Resume bool
	// Init starts from this model (for example an imported ONNX file) instead of a
	// freshly initialised Arch; its normalization is kept.
	Init *graph.Model `json:"-"`
	// ValBatch is the inference batch for validation; 0 is 64 (larger batches
	// run little faster here and hold 0.2 MB of activations per image).
	ValBatch int
	// Remedies are optional changes to the recipe (all off by default).
	Remedies Remedies
	// ResumeOnOtherData lets Resume continue on a data set other than the
	// checkpoint's (DataIdentity); without it that is an error. The
	// checkpoint's normalization (mean image) is kept.
	ResumeOnOtherData bool `json:"-"`
	// MaxMemory bounds what the run may plan to hold (CheckMemory): 0 is
	// graph.DefaultMaxMemory (1 GiB), negative is no limit.
	MaxMemory int64 `json:"-"`
}

func (c Config) withDefaults() Config {
	if c.Arch == "" {
		c.Arch = graph.DefaultArch
	}
	if c.Loss == "" {
		c.Loss = CrossEntropy
	}
	if c.Optimizer == "" {
		c.Optimizer = Adam
	}
	if c.Epochs == 0 {
		c.Epochs = 20
	}
	if c.BatchSize == 0 {
		c.BatchSize = 43
	}
	if c.ValBatch == 0 {
		c.ValBatch = 64
	}
	c.Hyper = c.Hyper.Defaults()
	return c
}

// Validate reports the first bad field.
func (c Config) Validate() error {
	if _, err := ParseLoss(string(c.Loss)); err != nil {
		return err
	}
	if _, err := ParseOptimizer(string(c.Optimizer)); err != nil {
		return err
	}
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("train: epochs %d must be at least 1", c.Epochs)
	case c.BatchSize < 1:
		return fmt.Errorf("train: batch size %d must be at least 1", c.BatchSize)
	case c.LossScale < 0 || math.IsNaN(c.LossScale) || math.IsInf(c.LossScale, 0):
		return fmt.Errorf("train: loss scale %g must be positive (0 for the default)", c.LossScale)
	case !(c.Hyper.LearnRate > 0) || math.IsInf(c.Hyper.LearnRate, 0):
		return fmt.Errorf("train: learn rate %g must be positive", c.Hyper.LearnRate)
	case !(c.Hyper.Momentum < 1) || c.Hyper.L2 != c.Hyper.L2 || math.IsInf(c.Hyper.L2, 0):
		return fmt.Errorf("train: momentum %g must be below 1 (negative: 0), L2 %g finite", c.Hyper.Momentum, c.Hyper.L2)
	case c.Hyper.Beta1 < 0 || c.Hyper.Beta1 >= 1 || c.Hyper.Beta2 < 0 || c.Hyper.Beta2 >= 1:
		return fmt.Errorf("train: adam betas %g, %g must be in [0,1)", c.Hyper.Beta1, c.Hyper.Beta2)
	case c.Resume && c.Checkpoint == "":
		return errors.New("train: resume needs a checkpoint path")
	}
	return nil
}

// EpochStats is one row of the training history.
type EpochStats struct {
	Epoch        int
	TrainLoss    float64 // mean mini-batch loss over the epoch
	TrainAcc     float64 // mini-batch accuracy over the epoch, in [0,1]
	ValLoss      float64 // loss of the validation set (inference mode)
	ValAcc       float64
	ValImages    int     // size of the validation set; 0: ValLoss and ValAcc are meaningless
	Seconds      float64 // wall time of the epoch's training steps
	ImagesPerSec float64 // training throughput
}

// Progress reports a finished mini-batch.
type Progress struct {
	Epoch, Epochs   int
	Batch, Batches  int
	Loss, Accuracy  float64 // running means over the epoch so far
	ImagesPerSecond float64
}

// Recorder receives progress. Library code never prints; the CLI passes a Printer.
type Recorder interface {
	Batch(p Progress)
	Epoch(s EpochStats, epochs int)
}

// Result is a trained model and its history.
type Result struct {
	Model   *graph.Model
	History []EpochStats
}

// ErrNaN is wrapped when the loss stops being finite.
var ErrNaN = errors.New("loss is not finite")

// Train fits a model to trainSet, validating on valSet (which may be empty) after
// every epoch. It returns early with ctx's error after saving a checkpoint when
// ctx is cancelled, and with an error wrapping ErrNaN (keeping the last good
// checkpoint) when the loss, the validation loss or a parameter becomes NaN or
// infinite. It holds an advisory lock on cfg.Checkpoint for the whole run (a
// second writer fails at once), checks the memory plan (CheckMemory) before
// allocating, and on Resume checks that the data set is the checkpoint's.
func Train(ctx context.Context, cfg Config, trainSet, valSet *digits.Set, rec Recorder) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if trainSet == nil || trainSet.Len() < cfg.BatchSize {
		n := 0
		if trainSet != nil {
			n = trainSet.Len()
		}
		return nil, fmt.Errorf("train: %d training images, fewer than one batch of %d", n, cfg.BatchSize)
	}
	if cfg.Checkpoint != "" {
		lock, err := LockCheckpoint(cfg.Checkpoint)
		if err != nil {
			return nil, err
		}
		defer lock.Unlock()
	}
	t, err := newTrainer(cfg, trainSet, valSet, rec)
	if err != nil {
		return nil, err
	}
	defer t.close()
	return t.run(ctx)
}

type trainer struct {
	cfg        Config
	trainSet   *digits.Set
	valSet     *digits.Set
	rec        Recorder
	ck         *Checkpoint
	b          *backend.Builder
	vm         G.VM
	image      *G.Node
	target     *G.Node
	logits     *G.Node
	loss       *G.Node // the classification loss (without a logit penalty)
	pred       *G.Node // argmax of the logits, int64
	params     [][]float32
	decay      []bool
	paramNames []string
	opt        *Stepper
	validation *backend.Runner
	k          int

	// Per-step buffers, allocated once: the mini-batch and its one-hot
	// targets (bound to the graph inputs by tensors over the same arrays) and
	// the gradient slices handed to the optimizer.
	images   []float32
	labels   []uint8
	onehot   []float32
	imageT   *tensor.Dense
	targetT  *tensor.Dense
	grads    [][]float32
	valBatch []float32 // one validation batch; the last, partial one padded with blank images
}

func newTrainer(cfg Config, trainSet, valSet *digits.Set, rec Recorder) (*trainer, error) {
	t := &trainer{cfg: cfg, trainSet: trainSet, valSet: valSet, rec: rec}
	var data DataIdentity
	if cfg.Resume {
		ck, err := LoadCheckpoint(cfg.Checkpoint)
		if err != nil {
			return nil, err
		}
		if err := ck.compatible(cfg); err != nil {
			return nil, err
		}
		if d := ck.Data.differs(Identify(cfg.Dataset, trainSet, valSet, nil)); d != "" && !cfg.ResumeOnOtherData {
			return nil, fmt.Errorf("train: cannot resume %s on other data (%s); --resume-on-other-data allows it (the checkpoint's mean image is kept)", cfg.Checkpoint, d)
		}
		if err := CheckMemory(cfg, ck.Model, len(trainSet.Classes), SetBytes(trainSet)+SetBytes(valSet)); err != nil {
			return nil, err
		}
		t.ck = ck
	} else {
		m := cfg.Init
		if err := CheckMemory(cfg, m, len(trainSet.Classes), SetBytes(trainSet)+SetBytes(valSet)); err != nil {
			return nil, err
		}
		if m == nil {
			var err error
			m, err = graph.New(cfg.Arch, graph.Input{Channels: 1, Height: digits.Height, Width: digits.Width, Classes: trainSet.Classes}, rand.New(rand.NewSource(cfg.Seed)))
			if err != nil {
				return nil, err
			}
			mean := m.Param(graph.MeanParam)
			copy(mean.Data, digits.MeanImage(trainSet))
			data = Identify(cfg.Dataset, trainSet, valSet, mean.Data)
			if err := cfg.Remedies.scaleHead(m); err != nil {
				return nil, err
			}
		} else {
			m = m.Clone()
		}
		if data.Spec == "" && data.Train == 0 {
			data = Identify(cfg.Dataset, trainSet, valSet, nil)
		}
		t.ck = &Checkpoint{Version: checkpointVersion, Config: cfg, Model: m, Data: data}
		t.ck.Config.Init = nil // the model itself is saved
	}
	m := t.ck.Model
	if len(m.Classes) != len(trainSet.Classes) {
		return nil, fmt.Errorf("train: model has %d classes, data set %d", len(m.Classes), len(trainSet.Classes))
	}
	t.k = len(m.Classes)
	if err := t.build(); err != nil {
		return nil, err
	}
	sizes := make([]int, len(t.params))
	for i, p := range t.params {
		sizes[i] = len(p)
	}
	opt, err := NewStepper(cfg.Optimizer, cfg.Hyper, sizes)
	if err != nil {
		return nil, err
	}
	if cfg.Resume {
		if err := t.ck.checkOptimizer(sizes, t.paramNames, len(opt.State.V) > 0); err != nil {
			return nil, fmt.Errorf("train: checkpoint %s: %w", cfg.Checkpoint, err)
		}
		if batches := trainSet.Len() / cfg.BatchSize; t.ck.Batch >= batches {
			return nil, fmt.Errorf("train: checkpoint %s: batch position %d, but an epoch has %d batches", cfg.Checkpoint, t.ck.Batch, batches)
		}
		opt.State = t.ck.Opt
	}
	opt.Rates = cfg.Remedies.rates(m, t.paramNames)
	t.opt = opt
	if valSet != nil && valSet.Len() > 0 {
		t.validation = backend.NewRunner(m, graph.ProbsOutput)
		t.validation.MaxBatch = cfg.ValBatch
	}
	return t, nil
}

// build makes the training graph: the model up to the logits, the loss head and
// the gradients of every trainable parameter.
func (t *trainer) build() error {
	m := t.ck.Model
	b, err := backend.Build(m, t.cfg.BatchSize, []string{graph.LogitsValue}, backend.Options{Mode: backend.Train})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	t.b = b
	t.image = b.Value(graph.ImageInput)
	t.logits = b.Value(graph.LogitsValue)
	if t.image == nil || t.logits == nil {
		return fmt.Errorf("train: model must have input %q and value %q", graph.ImageInput, graph.LogitsValue)
	}
	t.target = G.NewMatrix(b.G, G.Float32, G.WithShape(t.cfg.BatchSize, t.k), G.WithName("target"))
	if t.loss, err = t.cfg.Loss.Node(t.logits, t.target, t.cfg.LossScale); err != nil {
		return err
	}
	objective, err := t.cfg.Remedies.objective(t.loss, t.logits)
	if err != nil {
		return err
	}
	if t.pred, err = backend.ArgMaxNode(t.logits, 1); err != nil {
		return err
	}
	learn, tensors := b.Learnables()
	if len(learn) == 0 {
		return errors.New("train: the model has no trainable parameters")
	}
	if _, err := G.Grad(objective, learn...); err != nil {
		return fmt.Errorf("train: gradients: %w", err)
	}
	noDecay := biasInputs(m)
	for _, p := range tensors {
		t.params = append(t.params, p.Data)
		t.decay = append(t.decay, !noDecay[p.Name])
		t.paramNames = append(t.paramNames, p.Name)
	}
	bs := t.cfg.BatchSize
	t.images = make([]float32, bs*digits.Height*digits.Width)
	t.labels = make([]uint8, bs)
	t.onehot = make([]float32, bs*t.k)
	t.imageT = tensor.New(tensor.WithShape(bs, 1, digits.Height, digits.Width), tensor.WithBacking(t.images))
	t.targetT = tensor.New(tensor.WithShape(bs, t.k), tensor.WithBacking(t.onehot))
	t.grads = make([][]float32, len(t.params))
	t.vm, err = b.Machine()
	return err
}

// errStepNaN reports a loss that is not finite; the step made no update.
var errStepNaN = errors.New("train: loss is not finite")

// step trains on the mini-batch in t.images and t.labels: forward, backward
// and one optimizer update. It returns the batch loss and the number of
// correct predictions; with a non-finite loss it returns errStepNaN and leaves
// the parameters alone.
func (t *trainer) step() (loss float64, correct int, err error) {
	clear(t.onehot)
	for i, l := range t.labels {
		t.onehot[i*t.k+int(l)] = 1
	}
	t.b.Prepare()
	if err := G.Let(t.image, t.imageT); err != nil {
		return 0, 0, err
	}
	if err := G.Let(t.target, t.targetT); err != nil {
		return 0, 0, err
	}
	defer t.vm.Reset()
	if err := t.vm.RunAll(); err != nil {
		return 0, 0, err
	}
	loss = float64(t.loss.Value().Data().(float32))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, 0, errStepNaN
	}
	for i, p := range t.pred.Value().Data().([]int64) {
		if p == int64(t.labels[i]) {
			correct++
		}
	}
	learn, _ := t.b.Learnables()
	for i, node := range learn {
		g, err := node.Grad()
		if err != nil {
			return 0, 0, fmt.Errorf("train: gradient of %s: %w", node.Name(), err)
		}
		t.grads[i] = g.Data().([]float32)
	}
	cfg := t.cfg
	cfg.Remedies.adjust(t.grads)
	t.opt.Hyper.LearnRate = cfg.Remedies.learnRate(cfg.Hyper.LearnRate, t.opt.State.Step+1)
	if err := t.opt.Step(t.params, t.grads, t.decay); err != nil {
		return 0, 0, err
	}
	// Gorgonia accumulates into the gradient buffers across runs; its own
	// solvers zero them after each step, and so must we.
	for _, g := range t.grads {
		clear(g)
	}
	return loss, correct, nil
}

// biasInputs names the parameters used as Conv or Gemm biases, which MATLAB
// leaves out of L2 regularization (BiasL2Factor 0).
func biasInputs(m *graph.Model) map[string]bool {
	out := map[string]bool{}
	for _, n := range m.Nodes {
		switch n.Op.(type) {
		case *graph.Conv, *graph.Gemm:
			if len(n.Inputs) > 2 && n.Inputs[2] != "" {
				out[n.Inputs[2]] = true
			}
		}
	}
	return out
}

func (t *trainer) close() {
	if t.vm != nil {
		t.vm.Close()
	}
	if t.validation != nil {
		t.validation.Close()
	}
}

func (t *trainer) run(ctx context.Context) (*Result, error) {
	cfg, ck := t.cfg, t.ck
	n := t.trainSet.Len()
	batches := n / cfg.BatchSize // the last incomplete batch is dropped
	bs := cfg.BatchSize

	for epoch := ck.Epoch + 1; epoch <= cfg.Epochs; epoch++ {
		// Each epoch's order and dropout masks derive from (seed, epoch), so a
		// resumed run replays them exactly.
		order := digits.Shuffle(n, rand.New(rand.NewSource(cfg.Seed*1_000_003+int64(epoch))))
		t.b.SetRand(rand.New(rand.NewSource(cfg.Seed*1_000_033 + int64(epoch) + 7919)))
		start := time.Now()
		for i := 0; i < ck.Batch; i++ {
			t.b.Prepare()
		}
		for bi := ck.Batch; bi < batches; bi++ {
			if err := ctx.Err(); err != nil {
				if ck.Batch == 0 && bi == 0 && ck.Epoch == 0 {
					return nil, fmt.Errorf("train: interrupted before the first step (nothing saved): %w", err)
				}
				return nil, t.interrupted(err)
			}
			t.trainSet.Gather(order[bi*bs:(bi+1)*bs], t.images, t.labels)
			loss, correct, err := t.step()
			if errors.Is(err, errStepNaN) {
				where := ""
				if cfg.Checkpoint != "" && ck.Epoch > 0 {
					where = fmt.Sprintf("; the last good checkpoint (epoch %d) is kept at %s", ck.Epoch, cfg.Checkpoint)
				}
				return nil, fmt.Errorf("train: epoch %d batch %d: %w (%v) with learn rate %g%s", epoch, bi+1, ErrNaN, loss, cfg.Hyper.LearnRate, where)
			}
			if err != nil {
				return nil, fmt.Errorf("train: epoch %d batch %d: %w", epoch, bi+1, err)
			}
			ck.Batch = bi + 1
			ck.LossSum += loss
			ck.Correct += correct
			ck.Seconds += time.Since(start).Seconds()
			start = time.Now()
			if t.rec != nil {
				done := ck.Batch
				t.rec.Batch(Progress{Epoch: epoch, Epochs: cfg.Epochs, Batch: done, Batches: batches,
					Loss: ck.LossSum / float64(done), Accuracy: float64(ck.Correct) / float64(done*bs),
					ImagesPerSecond: float64(done*bs) / ck.Seconds})
			}
		}
		stats := EpochStats{Epoch: epoch, TrainLoss: ck.LossSum / float64(batches),
			TrainAcc: float64(ck.Correct) / float64(batches*bs), Seconds: ck.Seconds,
			ImagesPerSec: float64(batches*bs) / ck.Seconds}
		t.b.SyncStats()
		if t.validation != nil {
			var err error
			stats.ValLoss, stats.ValAcc, err = t.evaluate()
			if err != nil {
				return nil, err
			}
			stats.ValImages = t.valSet.Len()
		}
		// A non-finite model is never saved: the previous epoch's checkpoint stays.
		bad := FiniteModel(ck.Model)
		if bad == nil && !isFinite(stats.ValLoss) {
			bad = fmt.Errorf("validation loss %v", stats.ValLoss)
		}
		if bad == nil && !isFinite(stats.TrainLoss) {
			bad = fmt.Errorf("training loss %v", stats.TrainLoss)
		}
		if bad != nil {
			where := " (no checkpoint written)"
			if cfg.Checkpoint != "" && ck.Epoch > 0 {
				where = fmt.Sprintf("; the last good checkpoint (epoch %d) is kept at %s", ck.Epoch, cfg.Checkpoint)
			} else if cfg.Checkpoint != "" && cfg.Resume {
				where = fmt.Sprintf("; %s is kept as it was", cfg.Checkpoint)
			}
			return nil, fmt.Errorf("train: epoch %d: %w: %v with learn rate %g%s", epoch, ErrNaN, bad, cfg.Hyper.LearnRate, where)
		}
		ck.History = append(ck.History, stats)
		ck.Epoch, ck.Batch, ck.LossSum, ck.Correct, ck.Seconds = epoch, 0, 0, 0, 0
		t.stamp()
		if t.rec != nil {
			t.rec.Epoch(stats, cfg.Epochs)
		}
		if err := t.save(); err != nil {
			return nil, err
		}
	}
	return &Result{Model: ck.Model, History: ck.History}, nil
}

// interrupted saves mid-epoch state so that --resume continues from the next batch.
func (t *trainer) interrupted(cause error) error {
	t.b.SyncStats()
	t.ck.Opt = t.opt.State
	if t.cfg.Checkpoint == "" {
		return fmt.Errorf("train: interrupted at epoch %d batch %d (no checkpoint path): %w", t.ck.Epoch+1, t.ck.Batch, cause)
	}
	if err := t.ck.Save(t.cfg.Checkpoint); err != nil {
		return errors.Join(cause, err)
	}
	if t.ck.Batch == 0 {
		return fmt.Errorf("train: interrupted at the start of epoch %d; checkpoint of epoch %d saved to %s (continue with --resume): %w", t.ck.Epoch+1, t.ck.Epoch, t.cfg.Checkpoint, cause)
	}
	return fmt.Errorf("train: interrupted at epoch %d batch %d; checkpoint saved to %s (continue with --resume): %w", t.ck.Epoch+1, t.ck.Batch, t.cfg.Checkpoint, cause)
}

func (t *trainer) save() error {
	t.ck.Opt = t.opt.State
	if t.cfg.Checkpoint == "" {
		return nil
	}
	return t.ck.Save(t.cfg.Checkpoint)
}

// evaluate runs the validation set in inference mode with the current weights and
// running statistics.
func (t *trainer) evaluate() (loss, acc float64, err error) {
	v := t.valSet
	t.validation.Reset() // re-reads the batch-norm statistics
	// Whole batches, the last one padded with blank images to a whole batch:
	// one compiled graph (and one set of buffers) instead of two. Rows are
	// independent at inference, so the padding does not change the others.
	vb, per := t.cfg.ValBatch, digits.Height*digits.Width
	n := v.Len()
	if t.valBatch == nil {
		t.valBatch = make([]float32, vb*per)
	}
	probs := make([]float32, 0, n*t.k)
	for lo := 0; lo < n; lo += vb {
		hi := min(n, lo+vb)
		// Converted per batch (an 8-bit set is never held as float32 whole).
		clear(t.valBatch[len(v.AppendImages(t.valBatch[:0], lo, hi)):])
		res, err := t.validation.Run(vb, t.valBatch)
		if err != nil {
			return 0, 0, fmt.Errorf("train: validation: %w", err)
		}
		probs = append(probs, res[0].Float[:(hi-lo)*t.k]...)
	}
	return t.cfg.Loss.Value(probs, v.Labels, t.k, t.cfg.LossScale), float64(countCorrect(probs, v.Labels, t.k)) / float64(v.Len()), nil
}

// stamp records how the model was trained in its metadata (exported to ONNX).
func (t *trainer) stamp() {
	m, cfg := t.ck.Model, t.cfg
	if m.Meta == nil {
		m.Meta = map[string]string{}
	}
	last := t.ck.History[len(t.ck.History)-1]
	m.Meta["arch"] = cfg.Arch
	if cfg.Init != nil || (m.Meta["arch"] == "" && cfg.Arch == "") {
		delete(m.Meta, "arch")
	}
	m.Meta["loss"] = string(cfg.Loss)
	if c := cfg.Loss.scale(cfg.LossScale); c != 0 {
		m.Meta["loss_scale"] = strconv.FormatFloat(c, 'g', -1, 64)
	}
	m.Meta["optimizer"] = string(cfg.Optimizer)
	m.Meta["epochs"] = strconv.Itoa(t.ck.Epoch)
	m.Meta["batch_size"] = strconv.Itoa(cfg.BatchSize)
	m.Meta["learn_rate"] = strconv.FormatFloat(cfg.Hyper.LearnRate, 'g', -1, 64)
	m.Meta["l2_regularization"] = strconv.FormatFloat(max(cfg.Hyper.L2, 0), 'g', -1, 64)
	m.Meta["dataset"] = cfg.Dataset
	m.Meta["seed"] = strconv.FormatInt(cfg.Seed, 10)
	if r := cfg.Remedies.String(); r != "none" {
		m.Meta["remedies"] = r
	}
	m.Meta["normalization"] = "zerocenter (input minus the training mean image, inside the graph)"
	if t.validation != nil {
		m.Meta["validation_accuracy"] = strconv.FormatFloat(last.ValAcc, 'f', 6, 64)
		m.Meta["validation_loss"] = strconv.FormatFloat(last.ValLoss, 'g', 6, 64)
	}
	m.Meta["train_accuracy"] = strconv.FormatFloat(last.TrainAcc, 'f', 6, 64)
}

// countCorrect counts rows of scores (n,k) whose argmax equals the label.
func countCorrect(scores []float32, labels []uint8, k int) int {
	c := 0
	for i, l := range labels {
		row := scores[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == int(l) {
			c++
		}
	}
	return c
}
