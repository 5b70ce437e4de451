package backend

import (
	"fmt"
	"hash"
	"slices"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// argmaxOp is a Gorgonia op (forward only) returning an int64 tensor.
type argmaxOp struct {
	axis       int
	keep, last bool
	dims       int
	in, out    []int // the last shapes outShape computed, so that Do does not allocate them again
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
	out, err := op.outShape(s)
	return tensor.Shape(slices.Clone(out)), err
}

// outShape is graph.ArgMax's shape inference for input shape s.
func (op *argmaxOp) outShape(s []int) ([]int, error) {
	if op.in != nil && slices.Equal(op.in, s) {
		return op.out, nil
	}
	out, err := (&graph.ArgMax{Axis: op.axis, KeepDims: op.keep}).InferShapes([][]int{s}, nil)
	if err != nil {
		return nil, fmt.Errorf("argmax: %w", err)
	}
	op.in, op.out = slices.Clone(s), out[0]
	return out[0], nil
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
	os, err := op.outShape(shape)
	if err != nil {
		return nil, err
	}
	if len(os) == 0 {
		return tensor.New(tensor.FromScalar(out[0])), nil
	}
	return tensor.New(tensor.WithShape(os...), tensor.WithBacking(out)), nil
}

func (op *argmaxOp) ReturnsPtr() bool { return false }

func (op *argmaxOp) CallsExtern() bool { return false }

func (op *argmaxOp) OverwritesInput() int { return -1 }

func (op *argmaxOp) String() string { return fmt.Sprintf("ArgMax(axis=%d)", op.axis) }

func (op *argmaxOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "argmax-%d-%v-%v-%d", op.axis, op.keep, op.last, op.dims)
}

func (op *argmaxOp) Hashcode() uint32 { return opHash(op) }
