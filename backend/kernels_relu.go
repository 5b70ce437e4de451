package backend

// ReLU as custom ops. Most ReLUs are fused into the op before them (conv,
// batch norm, dense: see reluConsumer); these serve the others.

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

type reluOp struct {
	opBase
	shape tensor.Shape
	out   buffer
}

func newReluOp(shape tensor.Shape) *reluOp {
	return &reluOp{opBase: newOpBase(), shape: shape.Clone()}
}

func (op *reluOp) Arity() int       { return 1 }
func (op *reluOp) Type() hm.Type    { return fnType(len(op.shape), len(op.shape)) }
func (op *reluOp) String() string   { return "Relu" }
func (op *reluOp) Hashcode() uint32 { return opHash(op) }
func (op *reluOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "onnxdigits.relu#%d%v", op.id, op.shape)
}
func (op *reluOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }

func (op *reluOp) Do(vals ...G.Value) (G.Value, error) {
	if vals[0].Dtype() == tensor.Float64 {
		return reluForward[float64](op, vals)
	}
	return reluForward[float32](op, vals)
}

func reluForward[T float](op *reluOp, vals []G.Value) (G.Value, error) {
	x, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("relu: %w", err)
	}
	y := get[T](&op.out, len(x))
	kernels.ParallelRange(len(x), func(lo, hi int) { kernels.Relu(x[lo:hi], y[lo:hi]) })
	return wrap(y, op.shape), nil
}

func (op *reluOp) DiffWRT(int) []bool { return []bool{true} }

func (op *reluOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(newReluGradOp(), output, grad)
	return G.Nodes{dx}, err
}

// reluGradOp is dx = dy where y > 0, else 0, from the ReLU's output y.
type reluGradOp struct {
	opBase
	out buffer
}

func newReluGradOp() *reluGradOp { return &reluGradOp{opBase: newOpBase()} }

func (op *reluGradOp) Arity() int { return 2 }
func (op *reluGradOp) Type() hm.Type {
	return hm.NewFnType(hm.TypeVariable('a'), hm.TypeVariable('a'), hm.TypeVariable('a'))
}
func (op *reluGradOp) String() string   { return "ReluGrad" }
func (op *reluGradOp) Hashcode() uint32 { return opHash(op) }
func (op *reluGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "onnxdigits.relugrad#%d", op.id)
}
func (op *reluGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("relu gradient: input shape is %T", in[0])
	}
	return s.Clone(), nil
}

func (op *reluGradOp) Do(vals ...G.Value) (G.Value, error) {
	if vals[0].Dtype() == tensor.Float64 {
		return reluBackward[float64](op, vals)
	}
	return reluBackward[float32](op, vals)
}

func reluBackward[T float](op *reluGradOp, vals []G.Value) (G.Value, error) {
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
	dx := get[T](&op.out, len(y))
	kernels.ParallelRange(len(y), func(lo, hi int) { kernels.ReluMask(y[lo:hi], dy[lo:hi], dx[lo:hi]) })
	return wrap(dx, vals[1].Shape()), nil
}
