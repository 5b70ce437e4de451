package train

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/digits"
)

// trained returns a checkpoint file of a one-epoch run and its config.
func trained(t *testing.T) (string, Config, *digits.Set, *digits.Set) {
	t.Helper()
	tr, va := small(t, 20)
	cfg := quick(1)
	cfg.Dataset = "synthetic:20"
	cfg.Checkpoint = filepath.Join(t.TempDir(), "run.ckpt")
	if _, err := Train(context.Background(), cfg, tr, va, nil); err != nil {
		t.Fatal(err)
	}
	return cfg.Checkpoint, cfg, tr, va
}

// TestCheckpointByteFlips flips one byte at 400 random offsets of a real
// checkpoint (the experiment, where 182 of 400 loaded silently): each
// must now be rejected, by the header or the CRC-32C.
func TestCheckpointByteFlips(t *testing.T) {
	path, _, _, _ := trained(t)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	bad := filepath.Join(t.TempDir(), "flipped.ckpt")
	for i := range 400 {
		data := append([]byte(nil), good...)
		off := rng.Intn(len(data))
		data[off] ^= byte(1 + rng.Intn(255))
		if err := os.WriteFile(bad, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCheckpoint(bad); err == nil {
			t.Fatalf("flip #%d at byte %d of %d loaded", i, off, len(data))
		}
	}
	// Truncations too.
	for _, n := range []int{0, 10, headerLen - 1, headerLen, len(good) / 2, len(good) - 1} {
		os.WriteFile(bad, good[:n], 0o644)
		if _, err := LoadCheckpoint(bad); err == nil {
			t.Errorf("truncated to %d bytes: loaded", n)
		}
	}
}

// TestCheckpointFieldsValidated saves crafted checkpoints (valid checksum,
// bad fields) and expects each to be refused with a message naming the field.
func TestCheckpointFieldsValidated(t *testing.T) {
	path, cfg, tr, va := trained(t)
	for _, tc := range []struct {
		name   string
		change func(*Checkpoint)
		want   string
	}{
		{"negative batch", func(c *Checkpoint) { c.Batch = -5 }, "negative batch position"},
		{"batch past the epoch", func(c *Checkpoint) { c.Batch = 1000 }, "batch position"},
		{"negative epoch", func(c *Checkpoint) { c.Epoch = -1 }, "negative epoch"},
		{"history", func(c *Checkpoint) { c.Epoch = 3 }, "history rows"},
		{"correct", func(c *Checkpoint) { c.Batch, c.Correct = 1, 1000 }, "correct predictions"},
		{"loss sum", func(c *Checkpoint) { c.LossSum = math.Inf(1) }, "running loss"},
		{"short optimizer state", func(c *Checkpoint) { c.Opt.M[0] = c.Opt.M[0][:1] }, "optimizer state"},
		{"missing optimizer state", func(c *Checkpoint) { c.Opt.M = c.Opt.M[:1] }, "optimizer state"},
		{"second moments", func(c *Checkpoint) { c.Opt.V = c.Opt.V[:1] }, "second moments"},
		{"NaN weight", func(c *Checkpoint) { c.Model.Params[1].Data[0] = float32(math.NaN()) }, "not saving"},
		{"no model", func(c *Checkpoint) { c.Model = nil }, "no model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ck, err := LoadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(ck)
			p := filepath.Join(t.TempDir(), "crafted.ckpt")
			if err := ck.Save(p); err != nil {
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Save: %v, want it to say %q", err, tc.want)
				}
				return
			}
			c := cfg
			c.Checkpoint, c.Resume, c.Epochs = p, true, 5
			_, err = Train(context.Background(), c, tr, va, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("resume: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestResumeChecksData resumes on another data set: an error unless
// ResumeOnOtherData, which keeps the checkpoint's mean image.
func TestResumeChecksData(t *testing.T) {
	path, cfg, _, _ := trained(t)
	tr2, va2 := digits.Split(digits.Synthetic(20, 2), 0.75, 2) // same size, other images
	cfg.Resume, cfg.Epochs = true, 2
	_, err := Train(context.Background(), cfg, tr2, va2, nil)
	if err == nil || !strings.Contains(err.Error(), "mean image") || !strings.Contains(err.Error(), "--resume-on-other-data") {
		t.Fatalf("resume on other data: %v", err)
	}
	before, _ := LoadCheckpoint(path)
	cfg.ResumeOnOtherData = true
	res, err := Train(context.Background(), cfg, tr2, va2, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := before.Model.Param("input.mean").Data
	got := res.Model.Param("input.mean").Data
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("mean image changed at %d", i)
		}
	}
}

// TestSecondWriterFails holds the checkpoint's lock as a running Train does
// and expects a second Train to fail at once, naming the reason.
func TestSecondWriterFails(t *testing.T) {
	tr, va := small(t, 20)
	cfg := quick(1)
	cfg.Checkpoint = filepath.Join(t.TempDir(), "shared.ckpt")
	lock, err := LockCheckpoint(cfg.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Train(context.Background(), cfg, tr, va, nil)
	if !errors.Is(err, ErrCheckpointBusy) {
		t.Fatalf("second writer: %v, want ErrCheckpointBusy", err)
	}
	if _, statErr := os.Stat(cfg.Checkpoint); statErr == nil {
		t.Error("the second writer wrote the checkpoint")
	}
	lock.Unlock()
	if _, err := Train(context.Background(), cfg, tr, va, nil); err != nil {
		t.Fatalf("after the lock is released: %v", err)
	}
}

// TestNaNNeverSaved is the run: learn rate 1e30 with sgdm and one
// batch per epoch, whose first epoch ends with a NaN validation loss. No
// checkpoint may be written, and a resumed run keeps the good one.
func TestNaNNeverSaved(t *testing.T) {
	tr, va := small(t, 20) // 150 training images
	cfg := quick(2)
	cfg.Optimizer, cfg.BatchSize = SGDM, 150
	cfg.Hyper.LearnRate = 1e30
	cfg.Checkpoint = filepath.Join(t.TempDir(), "nan.ckpt")
	_, err := Train(context.Background(), cfg, tr, va, nil)
	if !errors.Is(err, ErrNaN) {
		t.Fatalf("got %v, want ErrNaN", err)
	}
	if _, statErr := os.Stat(cfg.Checkpoint); statErr == nil {
		t.Fatalf("a checkpoint was written after %v", err)
	}
}

// TestMomentumZero: a negative Momentum (the CLI's --momentum 0) is plain
// SGD, a different run from the default 0.9.
func TestMomentumZero(t *testing.T) {
	tr, va := small(t, 10)
	run := func(mom float64) *Result {
		cfg := quick(1)
		cfg.Optimizer = SGDM
		cfg.Hyper.Momentum = mom
		res, err := Train(context.Background(), cfg, tr, va, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	zero, def := run(-1), run(0)
	same := true
	for i, p := range zero.Model.Params {
		for j, v := range p.Data {
			if v != def.Model.Params[i].Data[j] {
				same = false
			}
		}
	}
	if same {
		t.Error("momentum 0 trained the same weights as the default 0.9")
	}
	if h := (Hyper{Momentum: -1, L2: -1}).Defaults().Defaults(); h.Momentum >= 0 || h.L2 >= 0 {
		t.Errorf("Hyper{Momentum: -1, L2: -1}.Defaults() twice = %+v: zero became a default", h)
	}
}

// TestInterruptAtEpochStart cancels right after epoch 1 ends: the error names
// the epoch whose checkpoint is saved.
func TestInterruptAtEpochStart(t *testing.T) {
	tr, va := small(t, 20)
	cfg := quick(3)
	cfg.Checkpoint = filepath.Join(t.TempDir(), "run.ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Train(ctx, cfg, tr, va, &cancelAtEpoch{cancel: cancel})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "start of epoch 2; checkpoint of epoch 1 saved") {
		t.Fatalf("got %v", err)
	}
	ck, err := LoadCheckpoint(cfg.Checkpoint)
	if err != nil || ck.Epoch != 1 || ck.Batch != 0 {
		t.Fatalf("checkpoint %+v, %v", ck, err)
	}
}

type cancelAtEpoch struct{ cancel func() }

func (c *cancelAtEpoch) Batch(Progress)        {}
func (c *cancelAtEpoch) Epoch(EpochStats, int) { c.cancel() }

// TestCheckMemory plans the architectures: over 1 GiB they fail
// naming the tensor, before anything is allocated; the default fits.
func TestCheckMemory(t *testing.T) {
	for _, tc := range []struct {
		arch, want string
	}{
		{"conv5x5x20,fc100000000,fc10", `parameter "fc1.weight"`},
		{"conv3x3x20p100000,fc10", `node "conv1" (Conv)`},
	} {
		err := CheckMemory(Config{Arch: tc.arch}, nil, 10, 0)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--max-memory") {
			t.Errorf("%s: %v, want an error naming %s", tc.arch, err, tc.want)
		}
	}
	if err := CheckMemory(Config{}, nil, 10, 31<<20); err != nil {
		t.Errorf("the default run: %v", err)
	}
	if err := CheckMemory(Config{MaxMemory: 1 << 20}, nil, 10, 31<<20); err == nil {
		t.Error("the default run fits in 1 MiB")
	}
	n, _ := DataBytes("synthetic:1000000")
	if err := CheckMemory(Config{}, nil, 10, n); err == nil {
		t.Error("synthetic:1000000 fits in 1 GiB")
	}
}
