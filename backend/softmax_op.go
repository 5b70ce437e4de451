package backend

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SoftmaxNode applies softmax (or log-softmax) along axis with our own Gorgonia
// op. Gorgonia's (gorgonia.org/tensor v0.9.24 softMaxLastDim) takes the row
// maximum from the first element of the whole tensor instead of the row's, so a
// row whose first logit dominates overflows exp to +Inf and the loss becomes NaN
// (MAE with Adam hit it within four epochs); it also starts one goroutine per
// row. This op subtracts each row's own maximum, and its hash includes the axis
// and the log flag, so softmax and log-softmax of one input never merge
// (gorgonia issue #569). TestSoftmaxOp checks values and gradients.
func SoftmaxNode(x *G.Node, axis int, log bool) (*G.Node, error) {
	a, err := graph.NormAxis(axis, x.Dims())
	if err != nil {
		return nil, err
	}
	return G.ApplyOp(softmaxOp(a, log, x.Dims()), x)
}

func softmaxOp(axis int, log bool, dims int) *diffOp {
	name := fmt.Sprintf("Softmax(axis=%d)", axis)
	if log {
		name = fmt.Sprintf("LogSoftmax(axis=%d)", axis)
	}
	var out buffer
	return &diffOp{
		kernelOp: &kernelOp{
			name:  name,
			key:   fmt.Sprintf("onnxdigits-softmax-%d-%v-%d", axis, log, dims),
			arity: 1,
			ptr:   true,
			typ: func() hm.Type {
				t := G.TensorType{Dims: dims, Of: hm.TypeVariable('a')}
				return hm.NewFnType(t, t)
			},
			shape: inputShape("softmax"),
			do:    func(vals []G.Value) (G.Value, error) { return softmaxDo(axis, log, &out, vals) },
		},
		diff: always,
		grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			dx, err := G.ApplyOp(softmaxGradOp(name, axis, log, dims), output, grad)
			if err != nil {
				return nil, err
			}
			return G.Nodes{dx}, nil
		},
	}
}

// layout returns outer, k, inner for reducing over axis of shape s.
func layout(s tensor.Shape, axis int) (outer, k, inner int) {
	outer, inner = 1, 1
	for i := 0; i < axis; i++ {
		outer *= s[i]
	}
	for i := axis + 1; i < len(s); i++ {
		inner *= s[i]
	}
	return outer, s[axis], inner
}

// softmaxDo computes the op into buf, reused from run to run.
func softmaxDo(axis int, log bool, buf *buffer, vals []G.Value) (G.Value, error) {
	x, ok := vals[0].(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("softmax: input is %T", vals[0])
	}
	switch x.Dtype() {
	case tensor.Float32:
		return softmaxInto[float32](x, axis, log, buf)
	case tensor.Float64:
		return softmaxInto[float64](x, axis, log, buf)
	}
	return nil, fmt.Errorf("softmax: unsupported dtype %v", x.Dtype())
}

func softmaxInto[T float](x *tensor.Dense, axis int, log bool, buf *buffer) (G.Value, error) {
	d, err := dataOf[T](x)
	if err != nil {
		return nil, fmt.Errorf("softmax: %w", err)
	}
	outer, k, inner := layout(x.Shape(), axis)
	out := get[T](buf, len(d))
	kernels.SoftmaxRows(d, out, outer, k, inner, log)
	return output(buf, out, x.Shape()), nil
}

// softmaxGradOp maps (y, dy) to dx: for softmax dx = y·(dy − Σ dy·y), for
// log-softmax dx = dy − exp(y)·Σ dy, sums along the axis.
func softmaxGradOp(name string, axis int, log bool, dims int) *kernelOp {
	return &kernelOp{
		name:  "∂" + name,
		key:   fmt.Sprintf("onnxdigits-softmax-grad-%d-%v-%d", axis, log, dims),
		arity: 2,
		typ: func() hm.Type {
			t := G.TensorType{Dims: dims, Of: hm.TypeVariable('a')}
			return hm.NewFnType(t, t, t)
		},
		shape: inputShape("softmax gradient"),
		do:    func(vals []G.Value) (G.Value, error) { return softmaxGradDo(axis, log, vals) },
	}
}

func softmaxGradDo(axis int, log bool, vals []G.Value) (G.Value, error) {
	y, ok1 := vals[0].(*tensor.Dense)
	dy, ok2 := vals[1].(*tensor.Dense)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("softmax gradient: inputs are %T, %T", vals[0], vals[1])
	}
	outer, k, inner := layout(y.Shape(), axis)
	switch yd := y.Data().(type) {
	case []float32:
		out := make([]float32, len(yd))
		kernels.SoftmaxGrad(yd, dy.Data().([]float32), out, outer, k, inner, log)
		return tensor.New(tensor.WithShape(y.Shape().Clone()...), tensor.WithBacking(out)), nil
	case []float64:
		out := make([]float64, len(yd))
		kernels.SoftmaxGrad(yd, dy.Data().([]float64), out, outer, k, inner, log)
		return tensor.New(tensor.WithShape(y.Shape().Clone()...), tensor.WithBacking(out)), nil
	}
	return nil, fmt.Errorf("softmax gradient: unsupported dtype %v", y.Dtype())
}
