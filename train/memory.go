package train

import (
	"errors"
	"fmt"
	"strings"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/atomicfile"
)

// ErrCheckpointBusy is wrapped when another process trains into the same
// checkpoint.
var ErrCheckpointBusy = errors.New("another process is writing this checkpoint")

// LockCheckpoint takes the advisory lock that makes one process at a time
// write the checkpoint at path (Train takes it for its whole run). A second
// writer gets an error wrapping ErrCheckpointBusy at once.
func LockCheckpoint(path string) (*atomicfile.FileLock, error) {
	l, err := atomicfile.Lock(path)
	if errors.Is(err, atomicfile.ErrLocked) {
		return nil, fmt.Errorf("train: %s: %w (another onnxdigits train holds it; wait for it or choose another --checkpoint)", path, ErrCheckpointBusy)
	}
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return l, nil
}

// optimizerSlots is how many moment vectors per parameter kind keeps.
func optimizerSlots(kind Optimizer) int {
	switch kind {
	case Adam, Nadam, Adadelta:
		return 2
	}
	return 1
}

// SetBytes is the memory a loaded data set holds.
func SetBytes(s *digits.Set) int64 {
	if s == nil {
		return 0
	}
	return int64(len(s.Images))*4 + int64(len(s.Pixels)) + int64(len(s.Labels)) + int64(len(s.Angles))*4
}

// DataBytes estimates the memory digits.Load(spec) would hold before it is
// loaded: synthetic and MNIST sizes follow from the spec, a folder's from its
// listing (digits.SpecImages). False when the spec or the folder is not valid.
func DataBytes(spec string) (int64, bool) {
	n, ok := digits.SpecImages(spec)
	if !ok {
		return 0, false
	}
	const px = digits.Height * digits.Width
	switch {
	case spec == "mnist" || strings.HasPrefix(spec, "mnist:"): // 8-bit pixels, no angles
		return int64(n) * (px + 1), true
	case spec == "synthetic" || strings.HasPrefix(spec, "synthetic:"): // float32 images, angles
		return int64(n) * (px*4 + 1 + 4), true
	}
	return int64(n) * (px + 1 + 4), true // a folder: 8-bit pixels, angles if labels.csv has them
}

// CheckMemory plans training cfg before anything is allocated: the model
// (m, or cfg.Arch's when m is nil) at cfg.BatchSize with gradients and
// optimizer state, the validation graph at cfg.ValBatch, the data set
// (dataBytes) and the checkpoint being encoded (about the parameters and
// optimizer state once more). Over cfg.MaxMemory it returns an error wrapping
// a *graph.MemoryError that names the largest tensor.
func CheckMemory(cfg Config, m *graph.Model, classes int, dataBytes int64) error {
	cfg = cfg.withDefaults()
	if cfg.MaxMemory < 0 {
		return nil
	}
	if m == nil {
		in := graph.DigitsInput()
		in.Classes = make([]string, max(classes, 1))
		var err error
		if m, err = graph.ArchModel(cfg.Arch, in); err != nil {
			return err
		}
	}
	p, err := m.Plan(graph.PlanOptions{Batch: cfg.BatchSize, Train: true, OptimizerSlots: optimizerSlots(cfg.Optimizer)})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	v, err := m.Plan(graph.PlanOptions{Batch: cfg.ValBatch})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	total := *p
	for _, b := range []int64{v.Activations, v.Workspace, v.Overhead, dataBytes, p.Params, p.Optimizer} {
		total.Total = addSat(total.Total, b)
	}
	if err := total.Check(cfg.MaxMemory); err != nil {
		if dataBytes > p.Total {
			limit := cfg.MaxMemory
			if limit == 0 {
				limit = graph.DefaultMaxMemory
			}
			return fmt.Errorf("train: the data set %q needs %s, over the limit of %s (--max-memory) with the model's %s",
				cfg.Dataset, graph.FormatBytes(dataBytes), graph.FormatBytes(limit), graph.FormatBytes(total.Total-dataBytes))
		}
		return fmt.Errorf("train: %w (with validation at batch %d and the data set, %s)", err, cfg.ValBatch, graph.FormatBytes(dataBytes))
	}
	return nil
}

func addSat(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return 1<<63 - 1
}
