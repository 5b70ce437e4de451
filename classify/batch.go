package classify

import (
	"fmt"
	"math"
	"math/rand"
	"slices"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/graph"
)

// rebatch returns a copy of m (exported with a fixed batch b, as PyTorch does
// without dynamic_axes and the ONNX model zoo's mnist-8 is) whose batch is
// symbolic: the input's first dim becomes graph.Batch, and every Reshape whose
// constant shape starts with b while its data input starts with b (the batch
// it carries: PyTorch's view(1, -1), mnist-8's [1,256]) copies that dim instead
// (0). It is the IR form of onnximport.Options.DynamicBatch plus the Reshape
// constants that option leaves alone, so that it also serves New's callers.
//
// The copy must pass shape inference with the scores output batched, and two
// images run as one batch must give what each gives alone at the fixed batch
// (within float32 rounding): otherwise an error wrapping errNotRebatched.
func rebatch(m *graph.Model, b int, in *input, scores graph.ClassScores) (*graph.Model, error) {
	shapes, err := m.Shapes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotRebatched, err)
	}
	r := batchedCopy(m)
	for i, n := range r.Nodes {
		nn := *n
		nn.Inputs = slices.Clone(n.Inputs)
		r.Nodes[i] = &nn
	}
	for _, n := range r.Nodes {
		if n.Op.Type() != "Reshape" || len(n.Inputs) < 2 {
			continue
		}
		shape := m.Param(n.Inputs[1])
		x := shapes[n.Inputs[0]]
		if shape == nil || len(shape.Int64) == 0 || shape.Int64[0] != int64(b) || len(x) == 0 || x[0] != b {
			continue
		}
		t := shape.Clone()
		t.Name = uniqueName(r, n.Name+"/batched_shape")
		t.Int64[0] = 0 // copy the batch dim
		r.Params = append(r.Params, t)
		n.Inputs[1] = t.Name
	}
	after, err := r.Shapes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotRebatched, err)
	}
	if s := after[scores.Output]; len(s) == 0 || s[0] != graph.Batch {
		return nil, fmt.Errorf("%w: output %q would be %s", errNotRebatched, scores.Output, graph.FormatDims(s))
	}
	if err := sameAtTwoBatches(m, r, b, in); err != nil {
		return nil, fmt.Errorf("%w: %v", errNotRebatched, err)
	}
	return r, nil
}

// sameAtTwoBatches runs two seeded random images through the fixed model, one
// at a time (padded to b), and through the re-batched one as a batch of 2, and
// compares every float output within |a-b| <= 1e-4 + 1e-4*|b| (float32
// rounding of a different summation order; a wrongly re-batched graph mixes
// images and is off by far more) and every int64 output exactly.
func sameAtTwoBatches(fixed, rebatched *graph.Model, b int, in *input) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("running it panicked: %v", p)
		}
	}()
	per := in.perImage()
	rng := rand.New(rand.NewSource(1))
	x := make([]float32, 2*per)
	for i := range x {
		x[i] = in.pixelRange.FromUnit(rng.Float32())
	}
	rf := backend.NewRunner(batchedCopy(fixed))
	defer rf.Close()
	rf.MaxBatch = b
	var want []backend.Result
	for i := range 2 {
		xi := make([]float32, b*per)
		copy(xi, x[i*per:(i+1)*per])
		res, err := rf.Run(b, xi)
		if err != nil {
			return err
		}
		for j := range res {
			if want == nil || len(want) < len(res) {
				want = append(want, backend.Result{Name: res[j].Name})
			}
			if d := len(res[j].Float) / b; d > 0 {
				want[j].Float = append(want[j].Float, res[j].Float[:d]...)
			}
			if d := len(res[j].Int64) / b; d > 0 {
				want[j].Int64 = append(want[j].Int64, res[j].Int64[:d]...)
			}
		}
	}
	rr := backend.NewRunner(rebatched)
	defer rr.Close()
	got, err := rr.Run(2, x)
	if err != nil {
		return err
	}
	for j := range got {
		if len(got[j].Float) != len(want[j].Float) || !slices.Equal(got[j].Int64, want[j].Int64) {
			return fmt.Errorf("output %q: %d values at batch 2, %d one by one", got[j].Name, len(got[j].Float)+len(got[j].Int64), len(want[j].Float)+len(want[j].Int64))
		}
		for i, v := range got[j].Float {
			w := want[j].Float[i]
			if d := math.Abs(float64(v - w)); !(d <= 1e-4+1e-4*math.Abs(float64(w))) {
				return fmt.Errorf("output %q value %d: %g at batch 2, %g one by one", got[j].Name, i, v, w)
			}
		}
	}
	return nil
}

// batchedCopy returns a shallow copy of m (nodes and parameters shared) whose
// input's first dim is graph.Batch.
func batchedCopy(m *graph.Model) *graph.Model {
	c := *m
	c.Inputs = slices.Clone(m.Inputs)
	c.Inputs[0].Shape = slices.Clone(c.Inputs[0].Shape)
	c.Inputs[0].Shape[0] = graph.Batch
	c.Nodes = slices.Clone(m.Nodes)
	c.Params = slices.Clone(m.Params)
	return &c
}

// uniqueName returns base, or base with a number, that names nothing in m.
func uniqueName(m *graph.Model, base string) string {
	taken := func(s string) bool {
		if m.Param(s) != nil {
			return true
		}
		for _, v := range m.Inputs {
			if v.Name == s {
				return true
			}
		}
		return m.Producer(s) != nil
	}
	name := base
	for i := 2; taken(name); i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name
}
