package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/atomicfile"
)

// checkpointVersion is the format: 2 added the header (body length and
// CRC-32C), the data set's identity and the field checks.
const checkpointVersion = 2

// checkpointMagic starts every checkpoint file so that other files are rejected
// with a clear error rather than a gob decoding message.
const checkpointMagic = "onnxdigits-checkpoint\n"

// The header after the magic: format version (uint32), body length (uint64)
// and the body's CRC-32C (uint32), little-endian. The body is the gob of the
// Checkpoint.
const headerLen = len(checkpointMagic) + 4 + 8 + 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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
	// Data identifies the training and validation sets; --resume checks it.
	Data DataIdentity
}

// DataIdentity tells data sets apart: the spec they were loaded from, their
// sizes and classes, and a SHA-256 of the training set's mean image (which
// depends on every training image).
type DataIdentity struct {
	Spec       string
	Train, Val int
	Classes    []string
	MeanSHA256 string
}

// Identify computes the DataIdentity of a training and validation set loaded
// from spec. mean is digits.MeanImage(trainSet) when the caller has it, else nil.
func Identify(spec string, trainSet, valSet *digits.Set, mean []float32) DataIdentity {
	id := DataIdentity{Spec: spec}
	if trainSet != nil {
		id.Train = trainSet.Len()
		id.Classes = slices.Clone(trainSet.Classes)
		if mean == nil {
			mean = digits.MeanImage(trainSet)
		}
		h := sha256.New()
		var b [4]byte
		for _, v := range mean {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
		id.MeanSHA256 = hex.EncodeToString(h.Sum(nil))
	}
	if valSet != nil {
		id.Val = valSet.Len()
	}
	return id
}

// differs describes how id differs from other ("" when they are the same data).
func (id DataIdentity) differs(other DataIdentity) string {
	var d []string
	if id.Spec != other.Spec {
		d = append(d, fmt.Sprintf("spec %q, now %q", id.Spec, other.Spec))
	}
	if id.Train != other.Train || id.Val != other.Val {
		d = append(d, fmt.Sprintf("%d+%d images, now %d+%d", id.Train, id.Val, other.Train, other.Val))
	}
	if !slices.Equal(id.Classes, other.Classes) {
		d = append(d, fmt.Sprintf("classes %v, now %v", id.Classes, other.Classes))
	}
	if id.MeanSHA256 != other.MeanSHA256 {
		d = append(d, "a different mean image (SHA-256)")
	}
	return strings.Join(d, "; ")
}

// Save writes the checkpoint atomically (internal/atomicfile). A model or
// optimizer state holding NaN or Inf is refused: a non-finite model is never
// saved.
func (c *Checkpoint) Save(path string) error {
	if err := c.finite(); err != nil {
		return fmt.Errorf("train: not saving %s: %w", path, err)
	}
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(c); err != nil {
		return fmt.Errorf("train: encoding checkpoint: %w", err)
	}
	buf := make([]byte, headerLen, headerLen+body.Len())
	copy(buf, checkpointMagic)
	h := buf[len(checkpointMagic):]
	binary.LittleEndian.PutUint32(h[0:], checkpointVersion)
	binary.LittleEndian.PutUint64(h[4:], uint64(body.Len()))
	binary.LittleEndian.PutUint32(h[12:], crc32.Checksum(body.Bytes(), castagnoli))
	buf = append(buf, body.Bytes()...)
	if err := atomicfile.WriteFile(path, buf); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// MaxCheckpointBytes bounds the size of a checkpoint LoadCheckpoint reads.
const MaxCheckpointBytes = 1 << 30

// LoadCheckpoint reads a checkpoint written by Save. The cheap checks come
// first: the file size (Stat), the magic, version and body length of the
// header; then the body is read (exactly its length) and its CRC-32C
// checked before it is decoded; then every field is validated.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("train: %s is not a regular file", path)
	}
	if st.Size() > MaxCheckpointBytes+int64(headerLen) {
		return nil, fmt.Errorf("train: %s is %d bytes, larger than a checkpoint may be (%d)", path, st.Size(), MaxCheckpointBytes)
	}
	var hdr [headerLen]byte
	n, err := io.ReadFull(f, hdr[:])
	if !bytes.HasPrefix(hdr[:n], []byte(checkpointMagic)) {
		return nil, fmt.Errorf("train: %s is not an onnxdigits checkpoint", path)
	}
	if err != nil {
		return nil, fmt.Errorf("train: %s: truncated checkpoint header", path)
	}
	h := hdr[len(checkpointMagic):]
	if v := binary.LittleEndian.Uint32(h[0:]); v != checkpointVersion {
		if v > 0xffff {
			// Format 1 had no header: gob bytes follow the magic.
			v = 1
		}
		return nil, fmt.Errorf("train: %s has checkpoint format %d, this build reads %d (resume it with the build that wrote it, or start again)", path, v, checkpointVersion)
	}
	size := binary.LittleEndian.Uint64(h[4:])
	if size != uint64(st.Size())-uint64(headerLen) {
		return nil, fmt.Errorf("train: %s: corrupt checkpoint: header says %d body bytes, the file has %d (truncated?)", path, size, st.Size()-int64(headerLen))
	}
	// The checksum is computed streaming before the body is held in memory,
	// so a corrupt file costs a read, not an allocation of its size.
	crc := crc32.New(castagnoli)
	if _, err := io.Copy(crc, io.LimitReader(f, int64(size))); err != nil {
		return nil, fmt.Errorf("train: reading %s: %w", path, err)
	}
	if crc.Sum32() != binary.LittleEndian.Uint32(h[12:]) {
		return nil, fmt.Errorf("train: %s: corrupt checkpoint: CRC-32C mismatch", path)
	}
	body := make([]byte, size)
	if _, err := f.ReadAt(body, int64(headerLen)); err != nil {
		return nil, fmt.Errorf("train: reading %s: %w", path, err)
	}
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(h[12:]) {
		return nil, fmt.Errorf("train: %s: changed while it was read", path)
	}
	var c Checkpoint
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&c); err != nil {
		return nil, fmt.Errorf("train: %s: corrupt checkpoint: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("train: %s: invalid checkpoint: %w", path, err)
	}
	return &c, nil
}

// validate checks every field a resumed run relies on. The optimizer state
// against the parameter sizes needs the training graph; the trainer checks it
// (checkOptimizer).
func (c *Checkpoint) validate() error {
	if c.Version != checkpointVersion {
		return fmt.Errorf("version field %d, header %d", c.Version, checkpointVersion)
	}
	if c.Model == nil {
		return errors.New("no model")
	}
	if err := c.Model.Validate(); err != nil {
		return err
	}
	if err := c.Config.withDefaults().Validate(); err != nil {
		return err
	}
	bs := c.Config.withDefaults().BatchSize
	switch {
	case c.Epoch < 0:
		return fmt.Errorf("negative epoch %d", c.Epoch)
	case len(c.History) != c.Epoch:
		return fmt.Errorf("%d history rows for %d epochs", len(c.History), c.Epoch)
	case c.Batch < 0:
		return fmt.Errorf("negative batch position %d", c.Batch)
	case c.Data.Train > 0 && c.Batch > c.Data.Train/bs:
		return fmt.Errorf("batch position %d beyond the %d batches of an epoch", c.Batch, c.Data.Train/bs)
	case c.Correct < 0 || c.Correct > c.Batch*bs:
		return fmt.Errorf("%d correct predictions in %d batches of %d", c.Correct, c.Batch, bs)
	case !isFinite(c.LossSum) || c.LossSum < 0 || !isFinite(c.Seconds) || c.Seconds < 0:
		return fmt.Errorf("running loss %v or seconds %v out of range", c.LossSum, c.Seconds)
	case c.Opt.Step < 0:
		return fmt.Errorf("negative optimizer step %d", c.Opt.Step)
	case len(c.Opt.V) != 0 && len(c.Opt.V) != len(c.Opt.M):
		return fmt.Errorf("optimizer state has %d first and %d second moments", len(c.Opt.M), len(c.Opt.V))
	}
	return c.finite()
}

// checkOptimizer checks the optimizer state against the sizes of the
// parameters it updates, in the trainer's order.
func (c *Checkpoint) checkOptimizer(sizes []int, names []string, second bool) error {
	if len(c.Opt.M) != len(sizes) {
		return fmt.Errorf("optimizer state for %d parameters, the model has %d", len(c.Opt.M), len(sizes))
	}
	if second != (len(c.Opt.V) > 0) {
		return fmt.Errorf("optimizer state has %d second-moment vectors, %s needs them: %v", len(c.Opt.V), c.Config.Optimizer, second)
	}
	for i, n := range sizes {
		if len(c.Opt.M[i]) != n || (second && len(c.Opt.V[i]) != n) {
			return fmt.Errorf("optimizer state for %q has %d values, the parameter %d", names[i], len(c.Opt.M[i]), n)
		}
	}
	return nil
}

// finite reports the first parameter or optimizer value that is NaN or Inf.
func (c *Checkpoint) finite() error {
	if c.Model != nil {
		if err := FiniteModel(c.Model); err != nil {
			return err
		}
	}
	for _, vs := range [][][]float32{c.Opt.M, c.Opt.V} {
		for i, v := range vs {
			if j := nonFinite(v); j >= 0 {
				return fmt.Errorf("optimizer state #%d holds %v at %d", i, v[j], j)
			}
		}
	}
	return nil
}

// FiniteModel returns an error naming the first parameter of m that holds NaN
// or Inf.
func FiniteModel(m *graph.Model) error {
	for _, p := range m.Params {
		if j := nonFinite(p.Data); j >= 0 {
			return fmt.Errorf("parameter %q holds %v at index %d", p.Name, p.Data[j], j)
		}
	}
	return nil
}

func nonFinite(v []float32) int {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i
		}
	}
	return -1
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

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
