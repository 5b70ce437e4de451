package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// Gemm is Y = Alpha*A'*B' + Beta*C (https://onnx.ai/onnx/operators/onnx__Gemm.html),
// A' = A or its transpose (TransA), likewise B'. A (M,K), B (K,N), C broadcastable
// to (M,N). Our dense layer is Gemm with B the (in,out) weight and C the (out) bias.
type Gemm struct {
	Alpha, Beta    float64 // 0 means 1 (use Beta with no C input for "no bias")
	TransA, TransB bool
}

func (*Gemm) Type() string { return "Gemm" }

func orOne(v float64) float64 {
	if v == 0 {
		return 1
	}
	return v
}

func (g *Gemm) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 2, 3); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if err := needRank(a, 2, "A"); err != nil {
		return nil, err
	}
	if err := needRank(b, 2, "B"); err != nil {
		return nil, err
	}
	m, ka := a[0], a[1]
	if g.TransA {
		m, ka = ka, m
	}
	kb, n := b[0], b[1]
	if g.TransB {
		kb, n = n, kb
	}
	if !dimEq(ka, kb) {
		return nil, fmt.Errorf("A' is (%d,%d) but B' is (%d,%d): %w", m, ka, kb, n, ErrShape)
	}
	if len(in) == 3 && in[2] != nil {
		if err := broadcastsTo(in[2], []int{m, n}); err != nil {
			return nil, fmt.Errorf("C: %w", err)
		}
	}
	return [][]int{{m, n}}, nil
}

// broadcastsTo checks that s broadcasts (numpy rules) to t without changing t.
func broadcastsTo(s, t []int) error {
	if len(s) > len(t) {
		return fmt.Errorf("%s does not broadcast to %s: %w", fmtShape(s), fmtShape(t), ErrShape)
	}
	off := len(t) - len(s)
	for i, d := range s {
		if d != 1 && !dimEq(d, t[off+i]) {
			return fmt.Errorf("%s does not broadcast to %s: %w", fmtShape(s), fmtShape(t), ErrShape)
		}
	}
	return nil
}

func (g *Gemm) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	in, err := inputs(b, n)
	if err != nil {
		return nil, err
	}
	a, w := in[0], in[1]
	if g.TransA {
		if a, err = G.Transpose(a, 1, 0); err != nil {
			return nil, err
		}
	}
	if g.TransB {
		if w, err = G.Transpose(w, 1, 0); err != nil {
			return nil, err
		}
	}
	y, err := G.Mul(a, w)
	if err != nil {
		return nil, err
	}
	if alpha := orOne(g.Alpha); alpha != 1 {
		if y, err = G.Mul(y, b.scalar(alpha)); err != nil {
			return nil, err
		}
	}
	if len(in) < 3 || in[2] == nil {
		return []*G.Node{y}, nil
	}
	c := in[2]
	if beta := orOne(g.Beta); beta != 1 {
		if c, err = G.Mul(c, b.scalar(beta)); err != nil {
			return nil, err
		}
	}
	return one(broadcastBinary(G.BroadcastAdd, y, c))
}

func (b *Builder) scalar(v float64) *G.Node {
	if b.Opts.Float64 {
		return G.NewConstant(v)
	}
	return G.NewConstant(float32(v))
}

// MatMul is the matrix product (https://onnx.ai/onnx/operators/onnx__MatMul.html) of
// two rank-2 tensors, or rank-3 batches of equal size.
type MatMul struct{}

func (*MatMul) Type() string { return "MatMul" }

func (*MatMul) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 2, 2); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	switch {
	case len(a) == 2 && len(b) == 2:
		if !dimEq(a[1], b[0]) {
			return nil, fmt.Errorf("(%s x %s): %w", fmtShape(a), fmtShape(b), ErrShape)
		}
		return [][]int{{a[0], b[1]}}, nil
	case len(a) == 3 && len(b) == 3:
		if !dimEq(a[0], b[0]) || !dimEq(a[2], b[1]) {
			return nil, fmt.Errorf("(%s x %s): %w", fmtShape(a), fmtShape(b), ErrShape)
		}
		return [][]int{{a[0], a[1], b[2]}}, nil
	}
	return nil, fmt.Errorf("ranks %d and %d are not supported (2x2 or 3x3)", len(a), len(b))
}

func (*MatMul) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	in, err := inputs(b, n)
	if err != nil {
		return nil, err
	}
	if in[0].Dims() == 3 {
		return one(G.BatchedMatMul(in[0], in[1]))
	}
	return one(G.Mul(in[0], in[1]))
}
