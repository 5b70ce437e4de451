package backend

import (
	"fmt"
	"hash"
	"slices"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fnOp is the generic adapter from a plain forward kernel to a Gorgonia op: the
// ops imported from other producers' models (Pad, Concat, Slice, Expand, Tile,
// Reduce*, Resize, the Unary functions, Max/Min/Pow) run as simple pure-Go loops
// over their inputs' backing arrays (see kernels_more.go). They have no gradient:
// a training build through one is an error when Gorgonia asks for it.
type fnOp struct {
	opBase
	name   string
	params string // attributes, for String and the hash
	ranks  []int
	out    []int
	f32    func(in [][]float32, shapes [][]int, out []float32)
	f64    func(in [][]float64, shapes [][]int, out []float64)
}

// kernel is a forward kernel over one element type.
type kernel[T float] func(in [][]T, shapes [][]int, out []T)

// applyFn adds an fnOp computing k on xs with output shape out.
func applyFn(name, params string, out []int, k32 kernel[float32], k64 kernel[float64], xs ...*G.Node) ([]*G.Node, error) {
	op := &fnOp{opBase: newOpBase(), name: name, params: params, out: slices.Clone(out), f32: k32, f64: k64}
	for _, x := range xs {
		op.ranks = append(op.ranks, x.Dims())
	}
	return one(G.ApplyOp(op, xs...))
}

func (op *fnOp) Arity() int     { return len(op.ranks) }
func (op *fnOp) Type() hm.Type  { return fnType(len(op.out), op.ranks...) }
func (op *fnOp) String() string { return op.name + "{" + op.params + "}" }

func (op *fnOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(slices.Clone(op.out)), nil
}

func (op *fnOp) Do(vals ...G.Value) (G.Value, error) {
	shapes := make([][]int, len(vals))
	for i, v := range vals {
		shapes[i] = []int(v.Shape())
	}
	n := shapeSize(op.out)
	if len(vals) > 0 && vals[0].Dtype() == tensor.Float64 {
		return doFn(op, vals, shapes, op.f64, make([]float64, n))
	}
	return doFn(op, vals, shapes, op.f32, make([]float32, n))
}

func doFn[T float](op *fnOp, vals []G.Value, shapes [][]int, k kernel[T], out []T) (G.Value, error) {
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
			return nil, fmt.Errorf("%s input #%d: %w", op.name, i, err)
		}
		in[i] = d
	}
	k(in, shapes, out)
	if len(op.out) == 0 {
		return tensor.New(tensor.FromScalar(out[0])), nil
	}
	return wrap(out, op.out), nil
}

func (op *fnOp) ReturnsPtr() bool { return false }

func (op *fnOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "fn-%d-%s-%s-%v", op.id, op.name, op.params, op.out)
}

func (op *fnOp) Hashcode() uint32 { return opHash(op) }
