package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// BatchNorm is batch normalization (https://onnx.ai/onnx/operators/onnx__BatchNormalization.html):
// inputs X (N,C,H,W) or (N,C), scale (C), B (C), running mean (C), running var (C).
// Inference: y = scale*(x-mean)/sqrt(var+Epsilon) + B. Training normalizes with the
// batch's own statistics and updates the running ones as
// running = running*Momentum + batch*(1-Momentum) (ONNX convention; PyTorch's
// momentum is 1-Momentum), the variance unbiased.
type BatchNorm struct {
	Epsilon  float64 // 0 means 1e-5
	Momentum float64 // 0 means 0.9
}

func (*BatchNorm) Type() string { return "BatchNormalization" }

func (bn *BatchNorm) eps() float64 {
	if bn.Epsilon == 0 {
		return 1e-5
	}
	return bn.Epsilon
}

func (bn *BatchNorm) momentum() float64 {
	if bn.Momentum == 0 {
		return 0.9
	}
	return bn.Momentum
}

func (bn *BatchNorm) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 5, 5); err != nil {
		return nil, err
	}
	x := in[0]
	if len(x) < 2 {
		return nil, fmt.Errorf("X has shape %s, want rank >= 2: %w", fmtShape(x), ErrShape)
	}
	for i, name := range []string{"scale", "B", "mean", "var"} {
		s := in[i+1]
		if len(s) != 1 || !dimEq(s[0], x[1]) {
			return nil, fmt.Errorf("%s has shape %s, want [%d]: %w", name, fmtShape(s), x[1], ErrShape)
		}
	}
	return [][]int{x}, nil
}

func (bn *BatchNorm) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	if c, ok := x.Op().(*convOp); ok && c.bn != nil && c.bn.node == n.Name {
		return []*G.Node{x}, nil // the conv before applies this batch norm (inference)
	}
	xs := x.Shape()
	if len(xs) != 4 && len(xs) != 2 {
		return nil, fmt.Errorf("input rank %d is not supported (2 or 4)", len(xs))
	}
	scale, err := b.Input(n, 1)
	if err != nil {
		return nil, err
	}
	bias, err := b.Input(n, 2)
	if err != nil {
		return nil, err
	}
	for _, p := range []*G.Node{scale, bias} {
		if p == nil || p.Dims() != 1 || p.Shape()[0] != xs[1] {
			return nil, fmt.Errorf("scale and bias must be (%d) vectors: %w", xs[1], ErrShape)
		}
	}
	mean, vr := b.Tensor(n, 3), b.Tensor(n, 4)
	if mean == nil || vr == nil || mean.Int64 != nil || vr.Int64 != nil {
		return nil, fmt.Errorf("running mean and variance must be float parameters")
	}
	// The op's momentum weights the new batch (PyTorch's convention).
	gm := 1 - bn.momentum()
	op := newBNOp(xs, bn.eps(), gm, b.dtype())
	op.training = b.Opts.Mode == Train
	op.relu = b.reluConsumer(n)
	op.needX, op.needS, op.needB = b.needsGrad(x), b.needsGrad(scale), b.needsGrad(bias)
	y, err := G.ApplyOp(op, x, scale, bias)
	if err != nil {
		return nil, err
	}
	b.bns = append(b.bns, bnState{op: op, mean: mean, vr: vr, node: n.Name, gorgoniaM: gm})
	return []*G.Node{y}, nil
}
