package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/onnxdigits/onnxdigits/classify"
	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
	"github.com/onnxdigits/onnxdigits/onnx"
	onnxgo "github.com/owulveryck/onnx-go"
	"github.com/owulveryck/onnx-go/backend/x/gorgonnx"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"
)

// Tolerance is numpy's allclose bound: a probability a passes against the
// reference b (the second source of a pair) when |a-b| <= Atol + Rtol*|b|.
// Atol bounds differences of small probabilities, Rtol those of large ones.
type Tolerance struct {
	Atol, Rtol float64
}

// DefaultTolerance passes float32 reorderings of one computation and nothing
// else. Atol is DESIGN §5's 1e-5. Rtol 1e-4 is about 800 float32 ulps (2^-23
// ≈ 1.2e-7): an engine that sums the 2880 products of the paper's fully
// connected layer in another order moves a logit by a few ulps of the largest
// partial sums, and a probability p moves by p times that logit error, so a
// sharp model's large probabilities differ by a relative amount, not a fixed
// one. Measured (issue 10): a good MAE+Adam model differs from onnx-go by
// 1.04e-5 absolute at 4e-5 relative (failing a 1e-5 absolute bound) while
// onnxruntime agrees with us to 1.9e-6; that is within 1e-5 + 1e-4*|b| (the
// worst element, at p >= 0.26, is allowed 3.6e-5). A wrong weight or op
// moves probabilities by far more (TestVerifyDetectsDifference: 0.01 on
// one bias).
var DefaultTolerance = Tolerance{Atol: 1e-5, Rtol: 1e-4}

// Allows reports whether a passes against the reference b. NaN never passes.
func (t Tolerance) Allows(a, b float64) bool {
	return math.Abs(a-b) <= t.Atol+t.Rtol*math.Abs(b)
}

func (t Tolerance) String() string {
	return fmt.Sprintf("atol %.3g, rtol %.3g", t.Atol, t.Rtol)
}

// Names of the three sources Run compares.
const (
	SourceNative = "native"  // the model as trained (a checkpoint), run in Gorgonia
	SourceImport = "import"  // the ONNX bytes decoded by this package, run in Gorgonia
	SourceOnnxGo = "onnx-go" // the ONNX bytes run by github.com/owulveryck/onnx-go (gorgonnx backend)
)

// Options configure Run. The zero value is ready to use.
type Options struct {
	// Import is passed to onnximport.Decode.
	Import onnximport.Options
	// Tolerance decides which pairs pass; nil means DefaultTolerance.
	Tolerance *Tolerance
	// OnnxGoBatch is the number of images per onnx-go run; 0 means 50. onnx-go
	// builds a graph for one fixed input shape, so the images go in chunks of this
	// size (the last padded with blank images), one freshly decoded model each.
	OnnxGoBatch int
	// SkipOnnxGo leaves the onnx-go reference out (its pairs are reported as not
	// available).
	SkipOnnxGo bool
}

// Comparison holds the differences between the outputs of two sources on the
// same images.
type Comparison struct {
	A, B string // source names, e.g. SourceNative and SourceImport
	// Available is false when one side could not run; Reason says why.
	Available bool
	Reason    string
	// MaxAbs is max |a-b| over all probabilities, at image WorstImage.
	MaxAbs     float64
	WorstImage int
	// MaxRel is max |a-b| / max(|a|,|b|) over the probabilities of at least
	// RelFloor (smaller ones are dominated by float32 rounding of exp).
	MaxRel float64
	// Outside counts the probabilities outside the report's Tolerance (b is
	// this pair's B side).
	Outside int
	// Agree counts images whose labels are equal, out of N.
	Agree, N int
}

// RelFloor is the smallest probability MaxRel considers.
const RelFloor = 1e-6

// OK reports whether every probability of the pair is within the tolerance and
// all labels agree. A pair that is not available is OK: it was not compared.
func (c *Comparison) OK() bool {
	return !c.Available || (c.Outside == 0 && c.Agree == c.N)
}

// Report is the result of Run.
type Report struct {
	N         int       // images compared
	Classes   int       // K, the width of the compared output
	Output    string    // name of the compared output
	Tolerance Tolerance // the bound the pairs were checked against
	// Kind is what the output holds: log-probabilities are exponentiated and
	// logits go through a softmax before comparison.
	Kind graph.ScoreKind
	// Pairs are native vs import, native vs onnx-go, import vs onnx-go, in that
	// order.
	Pairs []Comparison
	// Notes explain unavailable sources and adjustments made for onnx-go.
	Notes []string
}

// Compared counts the available pairs.
func (r *Report) Compared() int {
	n := 0
	for _, p := range r.Pairs {
		if p.Available {
			n++
		}
	}
	return n
}

// OK reports whether every available pair has probabilities within the
// tolerance and all labels equal. With no pair available it is true (nothing
// disagreed); check Compared for that case.
func (r *Report) OK() bool {
	for i := range r.Pairs {
		if !r.Pairs[i].OK() {
			return false
		}
	}
	return true
}

// Format writes the report as a table, followed by the notes and the verdict.
func (r *Report) Format(w io.Writer) error {
	var b strings.Builder
	what := "probabilities"
	switch r.Kind {
	case graph.LogProbabilities:
		what = "exp(log-probabilities)"
	case graph.Logits:
		what = "softmax(logits)"
	}
	fmt.Fprintf(&b, "%d images, output %q (%s, N x %d)\n", r.N, r.Output, what, r.Classes)
	fmt.Fprintf(&b, "tolerance: |a-b| <= atol + rtol*|b| for every probability, %s; labels 100%% equal\n", r.Tolerance)
	fmt.Fprintf(&b, "%-20s %12s %12s %10s %18s  %s\n", "pair (a vs b)", "max |Δprob|", "max rel Δ", "outside", "labels agree", "result")
	for _, p := range r.Pairs {
		name := p.A + " vs " + p.B
		if !p.Available {
			fmt.Fprintf(&b, "%-20s %12s %12s %10s %18s  n/a: %s\n", name, "-", "-", "-", "-", p.Reason)
			continue
		}
		verdict := "ok"
		if !p.OK() {
			verdict = "FAIL"
		}
		agree := fmt.Sprintf("%d/%d", p.Agree, p.N)
		if p.N > 0 {
			agree += fmt.Sprintf(" (%.2f%%)", 100*float64(p.Agree)/float64(p.N))
		}
		fmt.Fprintf(&b, "%-20s %12.3g %12.3g %10d %18s  %s\n", name, p.MaxAbs, p.MaxRel, p.Outside, agree, verdict)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	switch {
	case r.Compared() == 0:
		b.WriteString("nothing compared: only the imported model ran\n")
	case r.OK():
		fmt.Fprintf(&b, "parity ok (%d of %d pairs compared)\n", r.Compared(), len(r.Pairs))
	default:
		b.WriteString("parity FAILED\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// outputs of one source: probabilities (N,K) and labels (N).
type outputs struct {
	probs  []float32
	labels []int64
	err    error // why the source is not available
}

// Run runs n images through up to three implementations of one model and
// compares their class probabilities and labels:
//
//   - native: the model as trained (nil to leave it out), in Gorgonia;
//   - import: data decoded by onnximport.Decode, in Gorgonia;
//   - onnx-go: data run by github.com/owulveryck/onnx-go with its Gorgonia backend,
//     an independent importer, given the graph up to the probabilities (it has no
//     ArgMax: the other outputs and the nodes only they need are removed).
//
// images is n images in the layout and pixel range the model's input expects
// (classify.Model.Adapt makes them from grey pixels). The import and the
// native model run through classify (a fixed batch re-batched where the graph
// allows it); the compared output is the one the classifier-output rule picks
// (graph.Model.ClassScores), turned into probabilities (exp of
// log-probabilities, softmax of logits); labels are its argmax.
//
// onnx-go handles only some graphs and can fail silently (DESIGN §5: a wrong
// [10] tensor of ones on a LeNet); a panic, error, wrong output shape, non-finite
// value or probability row not summing to 1 makes its pairs "not available"
// with the reason, never an error. Decode and run failures of the import or the
// native model are errors.
func Run(data []byte, native *graph.Model, images []float32, n int, opts Options) (*Report, error) {
	if n <= 0 {
		return nil, errors.New("verify: no images")
	}
	tol := DefaultTolerance
	if opts.Tolerance != nil {
		tol = *opts.Tolerance
	}
	if !(tol.Atol >= 0 && tol.Rtol >= 0) || math.IsInf(tol.Atol, 0) || math.IsInf(tol.Rtol, 0) {
		return nil, fmt.Errorf("verify: tolerance atol %g, rtol %g: want finite values >= 0", tol.Atol, tol.Rtol)
	}
	imported, err := onnximport.Decode(data, opts.Import)
	if err != nil {
		return nil, err
	}
	imp, err := classify.New(imported, classify.Options{})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	info := imp.Info()
	probsName, kind, k := info.Output, info.Kind, info.K
	per := info.Channels * info.Height * info.Width
	if len(images) != n*per {
		return nil, fmt.Errorf("verify: got %d values for %d images of %s", len(images), n, graph.FormatDims(info.InputDims[1:]))
	}
	r := &Report{N: n, Classes: k, Output: probsName, Kind: kind, Tolerance: tol}

	shape := slices.Clone(info.InputDims)
	shape[0] = n
	ctx := context.Background()
	impOut := runModel(ctx, imp, images, shape)
	if impOut.err != nil {
		return nil, fmt.Errorf("verify: running the imported model: %w", impOut.err)
	}
	var nat outputs
	if native == nil {
		nat.err = errors.New("no native model given")
	} else {
		nm, err := classify.New(native, classify.Options{})
		if err != nil {
			return nil, fmt.Errorf("verify: native model: %w", err)
		}
		if nk := nm.Info().K; nk != k {
			return nil, fmt.Errorf("verify: the native model has %d classes, the ONNX model %d", nk, k)
		}
		if nat = runModel(ctx, nm, images, shape); nat.err != nil {
			return nil, fmt.Errorf("verify: running the native model: %w", nat.err)
		}
	}
	var ogo outputs
	if opts.SkipOnnxGo {
		ogo.err = errors.New("skipped")
	} else {
		var notes []string
		batch := opts.OnnxGoBatch
		if b := info.InputDims[0]; b != graph.Batch {
			batch = b // a fixed batch: onnx-go runs it as declared
		}
		ogo, notes = runOnnxGo(data, imported, probsName, kind, k, images, n, per, batch)
		r.Notes = append(r.Notes, notes...)
		if ogo.err != nil {
			r.Notes = append(r.Notes, "onnx-go could not run this graph: "+ogo.err.Error()+
				"; onnx-go is a reference only for the ops it handles (DESIGN §5), so its pairs were not compared")
			ogo.err = errors.New("could not run this graph (see note)")
		}
	}
	r.Pairs = []Comparison{
		comparePair(SourceNative, SourceImport, nat, impOut, n, k, tol),
		comparePair(SourceNative, SourceOnnxGo, nat, ogo, n, k, tol),
		comparePair(SourceImport, SourceOnnxGo, impOut, ogo, n, k, tol),
	}
	return r, nil
}

// runModel runs x (the model's layout, shape) through m and returns the
// probabilities and labels of its predictions.
func runModel(ctx context.Context, m *classify.Model, x []float32, shape []int) (out outputs) {
	_, preds, err := m.Tensor(ctx, x, shape)
	if err != nil {
		out.err = err
		return out
	}
	for _, p := range preds {
		out.probs = append(out.probs, p.Probabilities...)
		out.labels = append(out.labels, int64(p.Label))
	}
	return out
}

func argmax(p []float32, n, k int) []int64 {
	labels := make([]int64, n)
	for i := range n {
		row := p[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		labels[i] = int64(best)
	}
	return labels
}

func comparePair(a, b string, x, y outputs, n, k int, tol Tolerance) Comparison {
	c := Comparison{A: a, B: b, N: n}
	switch {
	case x.err != nil:
		c.Reason = a + ": " + x.err.Error()
		return c
	case y.err != nil:
		c.Reason = b + ": " + y.err.Error()
		return c
	}
	c.Available = true
	for i := range n {
		if x.labels[i] == y.labels[i] {
			c.Agree++
		}
		for j := range k {
			u, v := float64(x.probs[i*k+j]), float64(y.probs[i*k+j])
			d := math.Abs(u - v)
			if !tol.Allows(u, v) {
				c.Outside++
			}
			if d > c.MaxAbs || math.IsNaN(d) {
				c.MaxAbs, c.WorstImage = d, i
				if math.IsNaN(d) {
					c.MaxAbs = math.Inf(1)
				}
			}
			if s := max(math.Abs(u), math.Abs(v)); s >= RelFloor && d/s > c.MaxRel {
				c.MaxRel = d / s
			}
		}
	}
	return c
}

// onnxGoBatch picks the chunk size for onnx-go: want (default 50), lowered
// while it equals a dim of some parameter. gorgonnx broadcasts a 1-D operand
// along the first axis of the other one whose size matches ("an educated
// guess", broadcast.go reshapeNode), so a batch equal to, say, a bias length
// would silently broadcast along the batch axis.
func onnxGoBatch(m *graph.Model, want, n int) int {
	if want <= 0 {
		want = 50
	}
	want = min(want, n)
	dims := map[int]bool{}
	for _, p := range m.Params {
		for _, d := range p.Dims {
			dims[d] = true
		}
	}
	shapes, _ := m.Shapes()
	for _, s := range shapes {
		for _, d := range s {
			dims[d] = true
		}
	}
	for b := want; b > 1; b-- {
		if !dims[b] {
			return b
		}
	}
	return 1
}

// onnxGoModel returns the ONNX bytes onnx-go runs: only the nodes needed for
// output probs, no value_info, and parameters of shape (1,...) that an Add, Sub,
// Mul or Div broadcasts against a batch tiled to batch (gorgonnx broadcasts
// (N,1,28,28) - (1,1,28,28) only for N = 1: "broadcast not yet implemented").
func onnxGoModel(data []byte, imported *graph.Model, probs string, batch int) ([]byte, []string, error) {
	var mp onnx.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, nil, err
	}
	g := mp.GetGraph()
	producer := map[string]*onnx.NodeProto{}
	for _, nd := range g.GetNode() {
		for _, o := range nd.GetOutput() {
			producer[o] = nd
		}
	}
	// Keep the nodes probs depends on, in their original order.
	keep := map[*onnx.NodeProto]bool{}
	stack := []string{probs}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nd := producer[v]
		if nd == nil || keep[nd] {
			continue
		}
		keep[nd] = true
		stack = append(stack, nd.GetInput()...)
	}
	var notes []string
	var dropped []string
	nodes := g.GetNode()[:0:0]
	for _, nd := range g.GetNode() {
		if keep[nd] {
			nodes = append(nodes, nd)
		} else {
			dropped = append(dropped, nd.GetOpType())
		}
	}
	if len(dropped) > 0 {
		notes = append(notes, fmt.Sprintf("onnx-go was given the graph up to %q (removed: %s)", probs, strings.Join(dropped, ", ")))
	}
	g.Node = nodes
	var outs []*onnx.ValueInfoProto
	for _, o := range g.GetOutput() {
		if o.GetName() == probs {
			outs = append(outs, o)
		}
	}
	g.Output = outs
	g.ValueInfo = nil

	if batch > 1 {
		shapes, err := imported.Shapes()
		if err != nil {
			return nil, nil, err
		}
		inits := map[string]*onnx.TensorProto{}
		for _, t := range g.GetInitializer() {
			inits[t.GetName()] = t
		}
		tiled := map[string]string{}
		for _, nd := range g.Node {
			switch nd.GetOpType() {
			case "Add", "Sub", "Mul", "Div":
			default:
				continue
			}
			if len(nd.Input) != 2 {
				continue
			}
			for i, name := range nd.Input {
				other := shapes[nd.Input[1-i]]
				p := imported.Param(name)
				if inits[name] == nil || p == nil || p.Data == nil || len(p.Dims) < 2 || p.Dims[0] != 1 ||
					len(other) != len(p.Dims) || other[0] != graph.Batch {
					continue
				}
				if t, ok := tiled[name]; ok {
					nd.Input[i] = t
					continue
				}
				t := &onnx.TensorProto{
					Name:      name + "/tiled_for_onnx_go",
					Dims:      append([]int64{int64(batch)}, int64s(p.Dims[1:])...),
					DataType:  int32(onnx.TensorProto_FLOAT),
					FloatData: slices.Repeat(p.Data, batch),
				}
				g.Initializer = append(g.Initializer, t)
				tiled[name] = t.Name
				nd.Input[i] = t.Name
				notes = append(notes, fmt.Sprintf("for onnx-go, %s's operand %q %v was tiled to the batch of %d (gorgonnx cannot broadcast it)", nd.GetOpType(), name, p.Dims, batch))
			}
		}
	}
	out, err := proto.Marshal(&mp)
	return out, notes, err
}

func int64s(d []int) []int64 {
	s := make([]int64, len(d))
	for i, v := range d {
		s[i] = int64(v)
	}
	return s
}

// runOnnxGo runs the images through onnx-go, one freshly decoded model per
// chunk: a second Run of the same onnx-go v0.5.0 model returns different
// probabilities for the same input (measured on the paper's net), so models
// are never reused.
func runOnnxGo(data []byte, imported *graph.Model, probs string, kind graph.ScoreKind, k int, images []float32, n, per, want int) (out outputs, notes []string) {
	batch := onnxGoBatch(imported, want, n)
	model, notes, err := onnxGoModel(data, imported, probs, batch)
	if err != nil {
		out.err = fmt.Errorf("preparing its graph: %w", err)
		return out, notes
	}
	inShape := append([]int{batch}, imported.Inputs[0].Shape[1:]...)
	out.probs = make([]float32, 0, n*k)
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		chunk := make([]float32, batch*per) // the tail stays blank (zero) padding
		copy(chunk, images[lo*per:hi*per])
		p, err := onnxGoRun(model, chunk, inShape, k)
		if err != nil {
			out.err = err
			out.probs = nil
			return out, notes
		}
		for i := range batch {
			classify.ToProbabilities(p[i*k:(i+1)*k], p[i*k:(i+1)*k], kind)
		}
		if err := checkProbs(p[:(hi-lo)*k], k); err != nil {
			out.err = err
			out.probs = nil
			return out, notes
		}
		out.probs = append(out.probs, p[:(hi-lo)*k]...)
	}
	out.labels = argmax(out.probs, n, k)
	return out, notes
}

// onnxGoRun decodes model with onnx-go and runs it once on x, turning panics
// into errors. It checks that the output is (batch,k).
func onnxGoRun(model []byte, x []float32, shape []int, k int) (p []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	backend := gorgonnx.NewGraph()
	m := onnxgo.NewModel(backend)
	if err := m.UnmarshalBinary(model); err != nil {
		return nil, err
	}
	if len(m.Input) != 1 {
		return nil, fmt.Errorf("it sees %d inputs, want 1", len(m.Input))
	}
	if err := m.SetInput(0, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x))); err != nil {
		return nil, err
	}
	if err := backend.Run(); err != nil {
		return nil, err
	}
	outs, err := m.GetOutputTensors()
	if err != nil {
		return nil, err
	}
	if len(outs) != 1 || outs[0] == nil {
		return nil, fmt.Errorf("it returned %d outputs, want 1", len(outs))
	}
	t := outs[0]
	if got := t.Shape(); len(got) != 2 || got[0] != shape[0] || got[1] != k {
		return nil, fmt.Errorf("it returned an output of shape %v, want (%d, %d)", []int(got), shape[0], k)
	}
	d, ok := t.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("it returned %T, want []float32", t.Data())
	}
	return slices.Clone(d), nil
}

// checkProbs rejects rows that are not probability distributions: non-finite,
// negative or not summing to 1 within 1e-3 (float32 softmax rows sum to 1
// within ~1e-6; a tensor of ones sums to K).
func checkProbs(p []float32, k int) error {
	for i := 0; i < len(p)/k; i++ {
		s := 0.0
		for _, v := range p[i*k : (i+1)*k] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v < 0 {
				return fmt.Errorf("it returned %v in row %d, not a probability", v, i)
			}
			s += float64(v)
		}
		if math.Abs(s-1) > 1e-3 {
			return fmt.Errorf("its row %d sums to %.6g, not 1", i, s)
		}
	}
	return nil
}
