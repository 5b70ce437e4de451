package train

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/atomicfile"
)

const checkpointVersion = 1

// checkpointMagic starts every checkpoint file so that other files are rejected
// with a clear error rather than a gob decoding message.
const checkpointMagic = "onnxdigits-checkpoint\n"

// Checkpoint is everything needed to continue training exactly: the model
// (weights, running statistics, normalization), optimizer state, position in the
// run and the history so far.
type Checkpoint struct {
	Version int
	Config  Config
	Model   *graph.Model
	Opt     State
	Epoch   int // completed epochs
	// Mid-epoch position after an interrupt: batches done in epoch Epoch+1 and the
	// running sums of their loss, correct predictions and seconds.
	Batch   int
	LossSum float64
	Correct int
	Seconds float64
	History []EpochStats
}

// Save writes the checkpoint atomically: a temporary file in the same folder,
// synced, then renamed over path.
func (c *Checkpoint) Save(path string) error {
	var buf bytes.Buffer
	buf.WriteString(checkpointMagic)
	if err := gob.NewEncoder(&buf).Encode(c); err != nil {
		return fmt.Errorf("train: encoding checkpoint: %w", err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// MaxCheckpointBytes bounds what LoadCheckpoint reads.
const MaxCheckpointBytes = 1 << 30

// LoadCheckpoint reads a checkpoint written by Save.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxCheckpointBytes+1))
	if err != nil {
		return nil, fmt.Errorf("train: reading %s: %w", path, err)
	}
	if len(data) > MaxCheckpointBytes {
		return nil, fmt.Errorf("train: %s is larger than %d bytes", path, MaxCheckpointBytes)
	}
	if !bytes.HasPrefix(data, []byte(checkpointMagic)) {
		return nil, fmt.Errorf("train: %s is not an onnxdigits checkpoint", path)
	}
	var c Checkpoint
	if err := gob.NewDecoder(bytes.NewReader(data[len(checkpointMagic):])).Decode(&c); err != nil {
		return nil, fmt.Errorf("train: %s: corrupt checkpoint: %w", path, err)
	}
	if c.Version != checkpointVersion {
		return nil, fmt.Errorf("train: %s has checkpoint version %d, this build reads %d", path, c.Version, checkpointVersion)
	}
	if c.Model == nil {
		return nil, fmt.Errorf("train: %s: checkpoint holds no model", path)
	}
	if err := c.Model.Validate(); err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	return &c, nil
}

// compatible checks that a resumed run asks for the same training as the saved one
// (only the number of epochs may grow).
func (c *Checkpoint) compatible(cfg Config) error {
	s := c.Config
	var diffs []error
	check := func(name string, a, b any) {
		if a != b {
			diffs = append(diffs, fmt.Errorf("%s is %v in the checkpoint, %v now", name, a, b))
		}
	}
	check("loss", s.Loss, cfg.Loss)
	check("loss scale", s.LossScale, cfg.LossScale)
	check("optimizer", s.Optimizer, cfg.Optimizer)
	check("batch size", s.BatchSize, cfg.BatchSize)
	check("seed", s.Seed, cfg.Seed)
	check("arch", s.Arch, cfg.Arch)
	check("hyper-parameters", s.Hyper, cfg.Hyper)
	check("remedies", s.Remedies, cfg.Remedies)
	if len(diffs) > 0 {
		return fmt.Errorf("train: cannot resume %s: %w", cfg.Checkpoint, errors.Join(diffs...))
	}
	if c.Epoch >= cfg.Epochs {
		return fmt.Errorf("train: checkpoint %s already has %d epochs; ask for more with --epochs", cfg.Checkpoint, c.Epoch)
	}
	return nil
}
