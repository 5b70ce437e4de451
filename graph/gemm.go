package graph

import (
	"fmt"
	"slices"
)

// Gemm is Y = Alpha*A'*B' + Beta*C (https://onnx.ai/onnx/operators/onnx__Gemm.html),
// A' = A or its transpose (TransA), likewise B'. A (M,K), B (K,N), C broadcastable
// to (M,N). Our dense layer is Gemm with B the (in,out) weight and C the (out) bias.
type Gemm struct {
	Alpha, Beta    float64 // 0 means 1 (use Beta with no C input for "no bias")
	TransA, TransB bool
}

func (*Gemm) Type() string { return "Gemm" }

// WithDefaults returns g with a zero Alpha or Beta set to 1.
func (g *Gemm) WithDefaults() Gemm {
	d := *g
	if d.Alpha == 0 {
		d.Alpha = 1
	}
	if d.Beta == 0 {
		d.Beta = 1
	}
	return d
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

// MatMul is the matrix product (https://onnx.ai/onnx/operators/onnx__MatMul.html)
// with numpy semantics for the cases built from Gorgonia's differentiable ops:
// (M,K)x(K,N); stacks (...,M,K)x(...,K,N) with equal leading dims; a stack times a
// matrix (...,M,K)x(K,N); a 1-D operand is a row (left) or column (right) vector
// whose dim is dropped from the result. Broadcasting leading dims of different
// sizes is not supported.
type MatMul struct{}

func (*MatMul) Type() string { return "MatMul" }

func (*MatMul) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 2, 2); err != nil {
		return nil, err
	}
	s, err := matmulShape(in[0], in[1])
	if err != nil {
		return nil, err
	}
	return [][]int{s}, nil
}

func matmulShape(a, b []int) ([]int, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, fmt.Errorf("scalar operands: %w", ErrShape)
	}
	a2, b2 := a, b
	if len(a) == 1 {
		a2 = []int{1, a[0]}
	}
	if len(b) == 1 {
		b2 = []int{b[0], 1}
	}
	ra, rb := len(a2), len(b2)
	if !dimEq(a2[ra-1], b2[rb-2]) {
		return nil, fmt.Errorf("(%s x %s): %w", fmtShape(a), fmtShape(b), ErrShape)
	}
	var out []int
	switch {
	case rb == 2:
		out = append(slices.Clone(a2[:ra-1]), b2[1])
	case ra == rb && slices.Equal(a2[:ra-2], b2[:rb-2]):
		out = append(slices.Clone(a2[:ra-1]), b2[rb-1])
	default:
		return nil, fmt.Errorf("(%s x %s): leading dims must be equal, or B a matrix (no broadcasting)", fmtShape(a), fmtShape(b))
	}
	if len(b) == 1 {
		out = out[:len(out)-1]
	}
	if len(a) == 1 {
		out = slices.Delete(out, len(out)-2, len(out)-1)
	}
	return out, nil
}
