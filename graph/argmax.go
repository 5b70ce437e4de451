package graph

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ArgMax is the index of the largest element along Axis as int64
// (https://onnx.ai/onnx/operators/onnx__ArgMax.html). ONNX's defaults are axis 0
// and keepdims 1; our heads use Axis 1 with KeepDims false. Ties go to the first
// index unless SelectLastIndex. It has no gradient.
type ArgMax struct {
	Axis            int
	KeepDims        bool
	SelectLastIndex bool
}

func (*ArgMax) Type() string { return "ArgMax" }

func (a *ArgMax) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	axis, err := normAxis(a.Axis, len(x))
	if err != nil {
		return nil, err
	}
	return [][]int{reducedShape(x, axis, a.KeepDims)}, nil
}

func reducedShape(x []int, axis int, keep bool) []int {
	out := make([]int, 0, len(x))
	for i, d := range x {
		switch {
		case i != axis:
			out = append(out, d)
		case keep:
			out = append(out, 1)
		}
	}
	return out
}

// ArgMaxNode adds the int64 index of the largest value along axis of x (the
// axis dropped), as ONNX ArgMax with keepdims 0. The trainer reads its
// predictions from it: an int64 result is never reused as scratch by the tape
// machine, unlike a float value whose last use in the graph has passed.
func ArgMaxNode(x *G.Node, axis int) (*G.Node, error) {
	axis, err := normAxis(axis, x.Dims())
	if err != nil {
		return nil, err
	}
	return G.ApplyOp(&argmaxOp{axis: axis, dims: x.Dims()}, x)
}

func (a *ArgMax) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	axis, err := normAxis(a.Axis, x.Dims())
	if err != nil {
		return nil, err
	}
	return one(G.ApplyOp(&argmaxOp{axis: axis, keep: a.KeepDims, last: a.SelectLastIndex, dims: x.Dims()}, x))
}

// argmaxOp is a Gorgonia op (forward only) returning an int64 tensor.
type argmaxOp struct {
	axis       int
	keep, last bool
	dims       int
}

func (op *argmaxOp) Arity() int { return 1 }

func (op *argmaxOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	in := G.TensorType{Dims: op.dims, Of: a}
	od := op.dims
	if !op.keep {
		od--
	}
	var out hm.Type = G.TensorType{Dims: od, Of: tensor.Int64}
	if od == 0 {
		out = tensor.Int64
	}
	return hm.NewFnType(in, out)
}

func (op *argmaxOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("argmax: input shape is %T", in[0])
	}
	return tensor.Shape(reducedShape(s, op.axis, op.keep)), nil
}

func (op *argmaxOp) Do(vals ...G.Value) (G.Value, error) {
	t, ok := vals[0].(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("argmax: input is %T", vals[0])
	}
	shape := t.Shape()
	outer, inner := 1, 1
	for i := 0; i < op.axis; i++ {
		outer *= shape[i]
	}
	for i := op.axis + 1; i < len(shape); i++ {
		inner *= shape[i]
	}
	k := shape[op.axis]
	out := make([]int64, outer*inner)
	at := func(i int) float64 { return 0 }
	switch d := t.Data().(type) {
	case []float32:
		at = func(i int) float64 { return float64(d[i]) }
	case []float64:
		at = func(i int) float64 { return d[i] }
	default:
		return nil, fmt.Errorf("argmax: unsupported dtype %v", t.Dtype())
	}
	for o := range outer {
		for in := range inner {
			best, bi := 0.0, 0
			for j := range k {
				v := at((o*k+j)*inner + in)
				if j == 0 || v > best || (op.last && v == best) {
					best, bi = v, j
				}
			}
			out[o*inner+in] = int64(bi)
		}
	}
	os := reducedShape(shape, op.axis, op.keep)
	if len(os) == 0 {
		return tensor.New(tensor.FromScalar(out[0])), nil
	}
	return tensor.New(tensor.WithShape(os...), tensor.WithBacking(out)), nil
}

func (op *argmaxOp) ReturnsPtr() bool     { return false }
func (op *argmaxOp) CallsExtern() bool    { return false }
func (op *argmaxOp) OverwritesInput() int { return -1 }
func (op *argmaxOp) String() string       { return fmt.Sprintf("ArgMax(axis=%d)", op.axis) }
func (op *argmaxOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "argmax-%d-%v-%v-%d", op.axis, op.keep, op.last, op.dims)
}
func (op *argmaxOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
