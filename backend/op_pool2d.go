package backend

import (
	"fmt"
	"slices"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// pool2DOp is 2-D max or average pooling at inference on float32, any window,
// stride, dilation, padding and ceil mode: kernels.Pool2D on all cores into a
// buffer it reuses. Other ranks and float64 take poolKernel (the reference).
// w is normalized, with two spatial dims.
func pool2DOp(w *graph.Pool) *kernelOp {
	id := nextOpID()
	name := fmt.Sprintf("pool2D(%s)", poolName(w))
	p := &pool2D{w: w}
	return &kernelOp{
		name:  name,
		key:   fmt.Sprint(name, id),
		arity: 1,
		ptr:   true,
		typ:   func() hm.Type { return fnType(4, 4) },
		shape: func(in []G.DimSizer) (tensor.Shape, error) {
			s, ok := in[0].(tensor.Shape)
			if !ok {
				return nil, fmt.Errorf("pool: input shape is %T", in[0])
			}
			out, err := w.OutShape(s)
			return tensor.Shape(out), err
		},
		do: p.do,
	}
}

// pool2D is a pool2DOp's window, the output buffer it reuses and the shapes
// of its last run.
type pool2D struct {
	w       *graph.Pool
	out     buffer
	in, res []int
}

func (op *pool2D) do(vals []G.Value) (G.Value, error) {
	t, ok := vals[0].(*tensor.Dense)
	if !ok || t.Dtype() != tensor.Float32 || t.Dims() != 4 {
		return nil, fmt.Errorf("pool: want a float32 (N,C,H,W) tensor, have %v", vals[0])
	}
	in := t.Shape()
	if !slices.Equal(in, op.in) {
		out, err := op.w.OutShape(in)
		if err != nil {
			return nil, err
		}
		op.in, op.res = slices.Clone(in), out
	}
	out := op.res
	w := op.w
	g := &kernels.PoolGeom{N: in[0], C: in[1], H: in[2], W: in[3], OH: out[2], OW: out[3],
		KH: w.KernelShape[0], KW: w.KernelShape[1], SH: w.Strides[0], SW: w.Strides[1],
		DH: w.Dilations[0], DW: w.Dilations[1], PT: w.Pads[0], PL: w.Pads[1], PB: w.Pads[2], PR: w.Pads[3],
		Average: w.Average, CountIncludePad: w.CountIncludePad}
	x, err := dataOf[float32](t)
	if err != nil {
		return nil, fmt.Errorf("pool: %w", err)
	}
	y := get[float32](&op.out, shapeSize(out))
	kernels.Pool2D(g, x, y)
	return output(&op.out, y, out), nil
}
