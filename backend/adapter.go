package backend

import (
	"fmt"
	"hash"
	"slices"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// kernelOp is the one adapter from kernels on plain slices to Gorgonia ops: an
// op is data (its name, the text of its hash, its arity, whether it returns a
// pointer into a buffer it keeps) and closures (its type, output shape and
// forward run). The closures own the op's state: buffers reused from run to run
// and cached shapes. An op with a gradient is a diffOp.
type kernelOp struct {
	name  string // String
	key   string // what WriteHash writes; holds an op number unless equal ops may merge
	arity int
	ptr   bool // ReturnsPtr: the result's array is a buffer the op reuses
	state any  // the closures' shared state, for lowering to inspect (nil if none needs to)
	typ   func() hm.Type
	shape func(in []G.DimSizer) (tensor.Shape, error)
	do    func(vals []G.Value) (G.Value, error)
}

func (op *kernelOp) Arity() int            { return op.arity }
func (op *kernelOp) Type() hm.Type         { return op.typ() }
func (op *kernelOp) String() string        { return op.name }
func (op *kernelOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.key) }
func (op *kernelOp) Hashcode() uint32      { return opHash(op) }
func (op *kernelOp) ReturnsPtr() bool      { return op.ptr }
func (op *kernelOp) CallsExtern() bool     { return false }
func (op *kernelOp) OverwritesInput() int  { return -1 }

func (op *kernelOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return op.shape(in) }
func (op *kernelOp) Do(vals ...G.Value) (G.Value, error)               { return op.do(vals) }

// diffOp is a kernelOp with a gradient: diff tells which of its inputs take
// one and grad adds the nodes computing them (Gorgonia's SDOp).
type diffOp struct {
	*kernelOp
	diff func(inputs int) []bool
	grad func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error)
}

func (op *diffOp) DiffWRT(inputs int) []bool { return op.diff(inputs) }
func (op *diffOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	return op.grad(inputs, output, grad)
}

// trainOp is a diffOp whose state follows Gorgonia's training mode (a
// TrainModeOp: a tape machine sets it when it is made): the batch-norm ops.
type trainOp struct {
	*diffOp
	mode func(training bool) error
}

func (op *trainOp) SetTraining(training bool) error { return op.mode(training) }

// byDtype is a forward closure running f32 or f64 on state st by the element
// type of the first input.
func byDtype[S any](st S, f32, f64 func(S, []G.Value) (G.Value, error)) func([]G.Value) (G.Value, error) {
	return func(vals []G.Value) (G.Value, error) {
		if vals[0].Dtype() == tensor.Float64 {
			return f64(st, vals)
		}
		return f32(st, vals)
	}
}

// kernel returns the adapter itself, whichever of the types above wraps it.
func (op *kernelOp) kernel() *kernelOp { return op }

// stateOf returns the state of one of our kernel ops, or nil for another op.
func stateOf(op G.Op) any {
	if k, ok := op.(interface{ kernel() *kernelOp }); ok {
		return k.kernel().state
	}
	return nil
}

// always is a diff for ops whose every input takes a gradient.
func always(inputs int) []bool {
	d := make([]bool, inputs)
	for i := range d {
		d[i] = true
	}
	return d
}

// fixedShape is an InferShape returning a copy of s whatever the inputs.
func fixedShape(s []int) func([]G.DimSizer) (tensor.Shape, error) {
	return func([]G.DimSizer) (tensor.Shape, error) { return tensor.Shape(slices.Clone(s)), nil }
}

// inputShape is an InferShape returning a copy of the first input's shape.
func inputShape(name string) func([]G.DimSizer) (tensor.Shape, error) {
	return func(in []G.DimSizer) (tensor.Shape, error) {
		s, ok := in[0].(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("%s: input shape is %T", name, in[0])
		}
		return s.Clone(), nil
	}
}

// kernel is a forward kernel over one element type.
type kernel[T float] func(in [][]T, shapes [][]int, out []T)

// applyFn adds an op computing k on xs with output shape out: the ops imported
// from other producers' models (Pad, Concat, Slice, Expand, Tile, Reduce*,
// Resize, the Unary functions, Max/Min/Pow) run as simple pure-Go loops over
// their inputs' backing arrays (see kernels_more.go). They have no gradient: a
// training build through one is an error when Gorgonia asks for it.
func applyFn(name, params string, out []int, k32 kernel[float32], k64 kernel[float64], xs ...*G.Node) ([]*G.Node, error) {
	out = slices.Clone(out)
	ranks := make([]int, 0, len(xs))
	for _, x := range xs {
		ranks = append(ranks, x.Dims())
	}
	op := &kernelOp{
		name:  name + "{" + params + "}",
		key:   fmt.Sprintf("fn-%d-%s-%s-%v", nextOpID(), name, params, out),
		arity: len(ranks),
		typ:   func() hm.Type { return fnType(len(out), ranks...) },
		shape: fixedShape(out),
		do: func(vals []G.Value) (G.Value, error) {
			shapes := make([][]int, len(vals))
			for i, v := range vals {
				shapes[i] = []int(v.Shape())
			}
			n := shapeSize(out)
			if len(vals) > 0 && vals[0].Dtype() == tensor.Float64 {
				return doFn(name, out, vals, shapes, k64, make([]float64, n))
			}
			return doFn(name, out, vals, shapes, k32, make([]float32, n))
		},
	}
	return one(G.ApplyOp(op, xs...))
}

func doFn[T float](name string, shape []int, vals []G.Value, shapes [][]int, k kernel[T], out []T) (G.Value, error) {
	in := make([][]T, len(vals))
	for i, v := range vals {
		if t, ok := v.(*tensor.Dense); ok && t.IsScalar() {
			if x, ok := t.ScalarValue().(T); ok {
				in[i] = []T{x}
				continue
			}
		}
		d, err := dataOf[T](v)
		if err != nil {
			return nil, fmt.Errorf("%s input #%d: %w", name, i, err)
		}
		in[i] = d
	}
	k(in, shapes, out)
	if len(shape) == 0 {
		return tensor.New(tensor.FromScalar(out[0])), nil
	}
	return wrap(out, shape), nil
}
