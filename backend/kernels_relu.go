package backend

// ReLU as kernel ops. Most ReLUs are fused into the op before them (conv,
// batch norm, dense: see planFusion); these serve the others.

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func newReluOp(shape tensor.Shape) *diffOp {
	shape = shape.Clone()
	var out buffer
	return &diffOp{
		kernelOp: &kernelOp{
			name:  "Relu",
			key:   fmt.Sprintf("onnxdigits.relu#%d%v", nextOpID(), shape),
			arity: 1,
			ptr:   true,
			typ:   func() hm.Type { return fnType(len(shape), len(shape)) },
			shape: fixedShape(shape),
			do: func(vals []G.Value) (G.Value, error) {
				if vals[0].Dtype() == tensor.Float64 {
					return reluForward[float64](&out, shape, vals)
				}
				return reluForward[float32](&out, shape, vals)
			},
		},
		diff: always,
		grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			dx, err := G.ApplyOp(newReluGradOp(), output, grad)
			return G.Nodes{dx}, err
		},
	}
}

func reluForward[T float](out *buffer, shape tensor.Shape, vals []G.Value) (G.Value, error) {
	x, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("relu: %w", err)
	}
	y := get[T](out, len(x))
	kernels.ParallelRange(len(x), func(lo, hi int) { kernels.Relu(x[lo:hi], y[lo:hi]) })
	return output(out, y, shape), nil
}

// newReluGradOp is dx = dy where y > 0, else 0, from the ReLU's output y.
func newReluGradOp() *kernelOp {
	var out buffer
	return &kernelOp{
		name:  "ReluGrad",
		key:   fmt.Sprintf("onnxdigits.relugrad#%d", nextOpID()),
		arity: 2,
		ptr:   true,
		typ: func() hm.Type {
			return hm.NewFnType(hm.TypeVariable('a'), hm.TypeVariable('a'), hm.TypeVariable('a'))
		},
		shape: inputShape("relu gradient"),
		do: func(vals []G.Value) (G.Value, error) {
			if vals[0].Dtype() == tensor.Float64 {
				return reluBackward[float64](&out, vals)
			}
			return reluBackward[float32](&out, vals)
		},
	}
}

func reluBackward[T float](out *buffer, vals []G.Value) (G.Value, error) {
	y, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("relu gradient: y: %w", err)
	}
	dy, err := dataOf[T](vals[1])
	if err != nil {
		return nil, fmt.Errorf("relu gradient: dy: %w", err)
	}
	if len(dy) != len(y) {
		return nil, fmt.Errorf("relu gradient: y has %d values, dy %d", len(y), len(dy))
	}
	dx := get[T](out, len(y))
	kernels.ParallelRange(len(y), func(lo, hi int) { kernels.ReluMask(y[lo:hi], dy[lo:hi], dx[lo:hi]) })
	return wrap(dx, vals[1].Shape()), nil
}
