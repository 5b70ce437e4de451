package graph

import (
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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
	if op := g.denseOp(b, n, in); op != nil {
		children := in[:2]
		if len(in) > 2 && in[2] != nil {
			children = in[:3]
		}
		return one(G.ApplyOp(op, children...))
	}
	// Shapes the dense op does not cover (a rank-0 or rank > 2 C) take
	// Gorgonia's built-ins.
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

// denseOp returns our fused op for A, B and C (or nil when it cannot take them).
func (g *Gemm) denseOp(b *Builder, n *Node, in []*G.Node) *denseOp {
	a, w := in[0], in[1]
	if a.Dims() != 2 || w.Dims() != 2 {
		return nil
	}
	as, ws := a.Shape(), w.Shape()
	m, k := as[0], as[1]
	if g.TransA {
		m, k = k, m
	}
	kb, nn := ws[0], ws[1]
	if g.TransB {
		kb, nn = nn, kb
	}
	if k != kb {
		return nil
	}
	geom := denseGeom{m: m, k: k, n: nn, transA: g.TransA, transB: g.TransB, alpha: orOne(g.Alpha), beta: orOne(g.Beta)}
	op := &denseOp{opBase: newOpBase(), g: geom}
	if len(in) > 2 && in[2] != nil {
		c := in[2]
		cs := c.Shape()
		switch c.Dims() {
		case 1:
			geom.cm, geom.cn = 1, cs[0]
		case 2:
			geom.cm, geom.cn = cs[0], cs[1]
		default:
			return nil
		}
		if (geom.cm != 1 && geom.cm != m) || (geom.cn != 1 && geom.cn != nn) {
			return nil
		}
		geom.cRank = c.Dims()
		op.needC = b.needsGrad(c)
	}
	op.g = geom
	op.relu = b.reluConsumer(n)
	op.needA, op.needB = b.needsGrad(a), b.needsGrad(w)
	return op
}

func (b *Builder) scalar(v float64) *G.Node {
	if b.Opts.Float64 {
		return G.NewConstant(v)
	}
	return G.NewConstant(float32(v))
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

func (*MatMul) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	in, err := inputs(b, n)
	if err != nil {
		return nil, err
	}
	x, y := in[0], in[1]
	as, bs := []int(x.Shape()), []int(y.Shape())
	out, err := matmulShape(as, bs)
	if err != nil {
		return nil, err
	}
	if len(as) == 1 {
		if x, err = G.Reshape(x, tensor.Shape{1, as[0]}); err != nil {
			return nil, err
		}
	}
	if len(bs) == 1 {
		if y, err = G.Reshape(y, tensor.Shape{bs[0], 1}); err != nil {
			return nil, err
		}
	}
	as, bs = x.Shape(), y.Shape()
	var z *G.Node
	switch {
	case len(as) == 2 && len(bs) == 2:
		z, err = G.Mul(x, y)
	case len(bs) == 2:
		// Fold the stack into the rows: (S*M,K)x(K,N).
		k := as[len(as)-1]
		if x, err = G.Reshape(x, tensor.Shape{shapeSize(as) / k, k}); err != nil {
			return nil, err
		}
		z, err = G.Mul(x, y)
	default:
		r := len(as)
		s := shapeSize(as[:r-2])
		if x, err = G.Reshape(x, tensor.Shape{s, as[r-2], as[r-1]}); err != nil {
			return nil, err
		}
		if y, err = G.Reshape(y, tensor.Shape{s, bs[r-2], bs[r-1]}); err != nil {
			return nil, err
		}
		z, err = G.BatchedMatMul(x, y)
	}
	if err != nil {
		return nil, err
	}
	if !slices.Equal([]int(z.Shape()), out) {
		return one(G.Reshape(z, tensor.Shape(out)))
	}
	return []*G.Node{z}, nil
}
