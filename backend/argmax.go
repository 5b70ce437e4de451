package backend

import (
	"fmt"
	"slices"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// argmaxOp is a forward-only op returning an int64 tensor: the index of the
// largest value along axis (the last of equal ones with last), the axis kept
// with keep.
func argmaxOp(axis int, keep, last bool, dims int) *kernelOp {
	a := &argmax{axis: axis, keep: keep, last: last}
	return &kernelOp{
		name:  fmt.Sprintf("ArgMax(axis=%d)", axis),
		key:   fmt.Sprintf("argmax-%d-%v-%v-%d", axis, keep, last, dims),
		arity: 1,
		typ: func() hm.Type {
			in := G.TensorType{Dims: dims, Of: hm.TypeVariable('a')}
			od := dims
			if !keep {
				od--
			}
			var out hm.Type = G.TensorType{Dims: od, Of: tensor.Int64}
			if od == 0 {
				out = tensor.Int64
			}
			return hm.NewFnType(in, out)
		},
		shape: func(in []G.DimSizer) (tensor.Shape, error) {
			s, ok := in[0].(tensor.Shape)
			if !ok {
				return nil, fmt.Errorf("argmax: input shape is %T", in[0])
			}
			out, err := a.outShape(s)
			return tensor.Shape(slices.Clone(out)), err
		},
		do: a.do,
	}
}

// argmax is an argmaxOp's attributes and the last shapes outShape computed, so
// that Do does not allocate them again.
type argmax struct {
	axis       int
	keep, last bool
	in, out    []int
}

// outShape is graph.ArgMax's shape inference for input shape s.
func (op *argmax) outShape(s []int) ([]int, error) {
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

func (op *argmax) do(vals []G.Value) (G.Value, error) {
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
