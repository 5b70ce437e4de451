package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// small returns a quick stratified synthetic split (perClass images per digit).
func small(t *testing.T, perClass int) (*digits.Set, *digits.Set) {
	t.Helper()
	return digits.Split(digits.Synthetic(perClass, 1), 0.75, 1)
}

func quick(epochs int) Config {
	return Config{Arch: "conv5x5x4,bn,relu,fc10", Epochs: epochs, BatchSize: 25, Seed: 3}
}

func paramsOf(m *graph.Model) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range m.Params {
		out[p.Name] = slices.Clone(p.Data)
	}
	return out
}

func sameParams(t *testing.T, a, b *graph.Model) {
	t.Helper()
	pa, pb := paramsOf(a), paramsOf(b)
	for name, va := range pa {
		if !slices.Equal(va, pb[name]) {
			t.Errorf("parameter %s differs", name)
		}
	}
}

// TestTrainLearns trains a small network (8 filters, max pooling) on 2,000
// synthetic digits for four epochs. Measured here: 85% validation accuracy
// (chance is 10%); the bound of 75% leaves room for other machines and fails
// only when learning is broken.
func TestTrainLearns(t *testing.T) {
	tr, va := small(t, 200)
	cfg := quick(4)
	cfg.Arch = "conv5x5x8,bn,relu,maxpool2,fc10"
	log := &Log{}
	res, err := Train(context.Background(), cfg, tr, va, log)
	if err != nil {
		t.Fatal(err)
	}
	last := res.History[len(res.History)-1]
	t.Logf("history: %+v", res.History)
	if last.ValAcc < 0.75 {
		t.Errorf("validation accuracy %.3f after %d epochs, want >= 0.75", last.ValAcc, last.Epoch)
	}
	if len(log.Epochs) != 4 || len(log.Batches) != 4*(tr.Len()/25) {
		t.Errorf("recorder saw %d epochs and %d batches", len(log.Epochs), len(log.Batches))
	}
	if res.History[0].TrainLoss <= last.TrainLoss {
		t.Errorf("training loss did not fall: %v -> %v", res.History[0].TrainLoss, last.TrainLoss)
	}
	for _, k := range []string{"loss", "optimizer", "epochs", "batch_size", "learn_rate", "seed", "validation_accuracy", "normalization"} {
		if res.Model.Meta[k] == "" {
			t.Errorf("metadata %q missing", k)
		}
	}
	// The mean image was set from the training data (zerocenter).
	mean := res.Model.Param(graph.MeanParam).Data
	if want := digits.MeanImage(tr); !slices.Equal(mean, want) {
		t.Error("the normalization is not the training mean image")
	}
}

// With the logit penalty in the objective the trainer still reports the
// classification loss and the accuracy of the batch's predictions: training
// accuracy once read ~30% against 99% validation, because the penalty's
// backward pass reused the logits' memory before they were read.
func TestTrainStatsWithLogitPenalty(t *testing.T) {
	tr, va := small(t, 200)
	cfg := quick(3)
	cfg.Remedies = DefaultRemedies(cfg.Optimizer)
	res, err := Train(context.Background(), cfg, tr, va, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := res.History[len(res.History)-1]
	t.Logf("last epoch: %+v", last)
	if last.TrainAcc < last.ValAcc-0.1 {
		t.Errorf("training accuracy %.3f, validation %.3f: the training statistics are wrong", last.TrainAcc, last.ValAcc)
	}
	// The first step's loss is computed before any update, so the penalty,
	// which changes only the gradient, must leave it exactly as without.
	first := func(rem Remedies) Progress {
		c := quick(1)
		c.Remedies = rem
		log := &Log{}
		if _, err := Train(context.Background(), c, tr, nil, log); err != nil {
			t.Fatal(err)
		}
		return log.Batches[0]
	}
	plain, pen := first(Remedies{}), first(Remedies{LogitPenalty: 0.1})
	if plain.Loss != pen.Loss || plain.Accuracy != pen.Accuracy {
		t.Errorf("first step: loss %v accuracy %v without the penalty, %v %v with it", plain.Loss, plain.Accuracy, pen.Loss, pen.Accuracy)
	}
}

func TestDeterministic(t *testing.T) {
	tr, va := small(t, 20)
	cfg := quick(2)
	cfg.Arch = "conv3x3x4,bn,relu,maxpool2,dropout0.3,fc10"
	a, err := Train(context.Background(), cfg, tr, va, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(context.Background(), cfg, tr, va, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, a.Model, b.Model)
	cfg.Seed++
	c, err := Train(context.Background(), cfg, tr, va, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a.Model.Param("conv1.weight").Data, c.Model.Param("conv1.weight").Data) {
		t.Error("another seed gave the same weights")
	}
}

// cancelAfter cancels a context after n batches.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Batch(p Progress) {
	c.n--
	if c.n == 0 {
		c.cancel()
	}
}
func (c *cancelAfter) Epoch(EpochStats, int) {}

// TestResumeIsExact interrupts a run mid-epoch, resumes it from the checkpoint
// and expects bit-identical weights to an uninterrupted run.
func TestResumeIsExact(t *testing.T) {
	tr, va := small(t, 20)
	dir := t.TempDir()
	cfg := quick(3)
	cfg.Arch = "conv3x3x4,bn,relu,dropout0.2,fc10"
	want, err := Train(context.Background(), cfg, tr, va, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Checkpoint = filepath.Join(dir, "run.ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	// 150 images / 25 = 6 batches per epoch: stop in the middle of epoch 2.
	_, err = Train(ctx, cfg, tr, va, &cancelAfter{n: 8, cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run returned %v, want context.Canceled", err)
	}
	ck, err := LoadCheckpoint(cfg.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 1 || ck.Batch != 2 {
		t.Fatalf("checkpoint at epoch %d batch %d, want 1 and 2", ck.Epoch, ck.Batch)
	}
	cfg.Resume = true
	got, err := Train(context.Background(), cfg, tr, va, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, want.Model, got.Model)
	if len(got.History) != 3 || got.History[2].ValAcc != want.History[2].ValAcc {
		t.Errorf("history after resume %+v, want %+v", got.History, want.History)
	}
	// Resuming a finished run asks for more epochs.
	if _, err := Train(context.Background(), cfg, tr, va, nil); err == nil {
		t.Error("resuming a finished run succeeded")
	}
	cfg.Loss = SSE
	cfg.Epochs = 5
	if _, err := Train(context.Background(), cfg, tr, va, nil); err == nil {
		t.Error("resuming with another loss succeeded")
	}
}

// TestNaNGuard drives the loss to infinity with an absurd learning rate and
// expects ErrNaN, with the last good checkpoint still loadable.
func TestNaNGuard(t *testing.T) {
	tr, va := small(t, 20)
	cfg := quick(30)
	cfg.Hyper.LearnRate = 1e12
	cfg.Optimizer = SGDM
	cfg.Checkpoint = filepath.Join(t.TempDir(), "nan.ckpt")
	_, err := Train(context.Background(), cfg, tr, va, nil)
	if !errors.Is(err, ErrNaN) {
		t.Fatalf("got %v, want ErrNaN", err)
	}
	if _, statErr := os.Stat(cfg.Checkpoint); statErr == nil {
		ck, err := LoadCheckpoint(cfg.Checkpoint)
		if err != nil {
			t.Fatalf("checkpoint after NaN is unreadable: %v", err)
		}
		for _, p := range ck.Model.Params {
			for _, v := range p.Data {
				if math.IsNaN(float64(v)) {
					t.Fatalf("checkpoint holds NaN in %s", p.Name)
				}
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tr, va := small(t, 5)
	for _, cfg := range []Config{
		{Loss: "hinge"}, {Optimizer: "lbfgs"}, {Epochs: -1}, {BatchSize: 1000}, {Hyper: Hyper{LearnRate: math.Inf(1)}},
		{Resume: true}, {Arch: "conv5x5x20,fc9"},
	} {
		if _, err := Train(context.Background(), cfg, tr, va, nil); err == nil {
			t.Errorf("Train(%+v) succeeded", cfg)
		}
	}
	if _, err := LoadCheckpoint(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("loading a missing checkpoint succeeded")
	}
	bad := filepath.Join(t.TempDir(), "bad.ckpt")
	os.WriteFile(bad, []byte(checkpointMagic+"garbage"), 0o644)
	if _, err := LoadCheckpoint(bad); err == nil {
		t.Error("loading a corrupt checkpoint succeeded")
	}
}

// TestLossValueMatchesNode checks the Go loss used for validation against the
// Gorgonia loss head on the same probabilities.
func TestLossValueMatchesNode(t *testing.T) {
	logits := []float32{1, 2, 3, 0.5, -1, 2, 0, 0, 0}
	labels := []uint8{2, 0, 1}
	probs := make([]float32, len(logits))
	for i := range 3 {
		row := logits[i*3 : i*3+3]
		s := 0.0
		for _, v := range row {
			s += math.Exp(float64(v))
		}
		for j, v := range row {
			probs[i*3+j] = float32(math.Exp(float64(v)) / s)
		}
	}
	for _, tc := range []struct {
		l     Loss
		scale float64
	}{{CrossEntropy, 0}, {MAE, 0}, {SSE, 0}, {Huber, 0}, {Huber, 0.3}, {Tukey, 0}, {Tukey, 0.3}, {Welch, 0}, {Welch, 0.3}, {Cauchy, 0}, {Cauchy, 0.3}} {
		l := tc.l
		g := G.NewGraph()
		x := G.NewMatrix(g, G.Float32, G.WithShape(3, 3), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(3, 3), tensor.WithBacking(slices.Clone(logits)))))
		oh := make([]float32, 9)
		for i, lab := range labels {
			oh[i*3+int(lab)] = 1
		}
		tg := G.NewMatrix(g, G.Float32, G.WithShape(3, 3), G.WithName("t"), G.WithValue(tensor.New(tensor.WithShape(3, 3), tensor.WithBacking(oh))))
		n, err := l.Node(x, tg, tc.scale)
		if err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		got := float64(n.Value().Data().(float32))
		want := l.Value(probs, labels, 3, tc.scale)
		vm.Close()
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s (scale %g): graph %v, Go %v", l, tc.scale, got, want)
		}
	}
}

// TestSoftmaxBesideLogSoftmax guards against gorgonia issue #569 (DESIGN §9): a
// plain softmax and the cross-entropy's log-softmax of the same logits in one
// graph must stay two different nodes.
func TestSoftmaxBesideLogSoftmax(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, G.Float32, G.WithShape(2, 3), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 3, 0, 0, 0}))))
	tg := G.NewMatrix(g, G.Float32, G.WithShape(2, 3), G.WithName("t"), G.WithValue(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{0, 0, 1, 1, 0, 0}))))
	probs := G.Must(G.SoftMax(x, 1))
	if _, err := CrossEntropy.Node(x, tg, 0); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for _, v := range probs.Value().Data().([]float32) {
		if v <= 0 || v >= 1 {
			t.Fatalf("softmax output %v holds log-probabilities", probs.Value().Data())
		}
	}
}
