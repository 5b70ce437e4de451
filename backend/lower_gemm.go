package backend

import (
	"fmt"
	"slices"

	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func (b *Builder) lowerGemm(g *graph.Gemm, n *graph.Node) ([]*G.Node, error) {
	in, err := inputs(b, n)
	if err != nil {
		return nil, err
	}
	a, w := in[0], in[1]
	if op := b.denseOp(g, n, in, n); op != nil {
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
	if alpha := g.WithDefaults().Alpha; alpha != 1 {
		if y, err = G.Mul(y, b.scalar(alpha)); err != nil {
			return nil, err
		}
	}
	if len(in) < 3 || in[2] == nil {
		return []*G.Node{y}, nil
	}
	c := in[2]
	if beta := g.WithDefaults().Beta; beta != 1 {
		if c, err = G.Mul(c, b.scalar(beta)); err != nil {
			return nil, err
		}
	}
	return one(broadcastBinary(G.BroadcastAdd, y, c))
}

// denseOp returns our fused op for A, B and C (or nil when it cannot take
// them). last is the node whose output the op computes: n, or the Add after
// a MatMul n it applies; a ReLU after last is fused as the plan says.
func (b *Builder) denseOp(g *graph.Gemm, n *graph.Node, in []*G.Node, last *graph.Node) G.Op {
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
	geom := denseGeom{m: m, k: k, n: nn, transA: g.TransA, transB: g.TransB, alpha: g.WithDefaults().Alpha, beta: g.WithDefaults().Beta}
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
	op.relu = b.fuse.relu[last.Name]
	if last != n {
		op.add = last.Name
	}
	op.needA, op.needB = b.needsGrad(a), b.needsGrad(w)
	return op.gorgonia()
}

func (b *Builder) scalar(v float64) *G.Node {
	if b.Opts.Float64 {
		return G.NewConstant(v)
	}
	return G.NewConstant(float32(v))
}

func (b *Builder) lowerBinary(o *graph.Binary, n *graph.Node) ([]*G.Node, error) {
	f, err := broadcastFn(o.Kind)
	if err != nil {
		return nil, err
	}
	in, err := inputs(b, n)
	if err != nil {
		return nil, err
	}
	if x := fusedInto(n, in...); x != nil {
		return []*G.Node{x}, nil // the MatMul before added this bias
	}
	if op := newRepeatBinaryOp(b, o.Kind, in[0], in[1]); op != nil {
		return one(G.ApplyOp(op, in[0], in[1]))
	}
	return one(broadcastBinary(f, in[0], in[1]))
}

// broadcastBinary applies a Gorgonia broadcast op with numpy semantics: the
// lower-rank side gets leading 1s, then every dim of size 1 facing a larger one
// is broadcast.
func broadcastBinary(f func(a, b *G.Node, l, r []byte) (*G.Node, error), a, b *G.Node) (*G.Node, error) {
	as, bs := a.Shape(), b.Shape()
	n := max(len(as), len(bs))
	var err error
	if len(as) < n {
		if a, err = G.Reshape(a, padShape(as, n)); err != nil {
			return nil, err
		}
	}
	if len(bs) < n {
		if b, err = G.Reshape(b, padShape(bs, n)); err != nil {
			return nil, err
		}
	}
	as, bs = a.Shape(), b.Shape()
	var left, right []byte
	for i := range n {
		switch {
		case as[i] == bs[i]:
		case as[i] == 1:
			left = append(left, byte(i))
		case bs[i] == 1:
			right = append(right, byte(i))
		default:
			return nil, fmt.Errorf("%v and %v do not broadcast", as, bs)
		}
	}
	return f(a, b, left, right)
}

func padShape(s tensor.Shape, n int) tensor.Shape {
	out := make(tensor.Shape, n)
	for i := range out {
		out[i] = 1
	}
	copy(out[n-len(s):], s)
	return out
}

func (b *Builder) lowerMatMul(n *graph.Node) ([]*G.Node, error) {
	in, err := inputs(b, n)
	if err != nil {
		return nil, err
	}
	x, y := in[0], in[1]
	as, bs := []int(x.Shape()), []int(y.Shape())
	outs, err := b.outShapes(n)
	if err != nil {
		return nil, err
	}
	out := outs[0]
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
	// A plain product as a Gemm without C: our dense op (blocked kernels on
	// all cores) instead of Gorgonia's gonum-backed Mul.
	mul := func(x, y *G.Node) (*G.Node, error) {
		if op := b.denseOp(&graph.Gemm{}, n, []*G.Node{x, y}, n); op != nil {
			return G.ApplyOp(op, x, y)
		}
		return G.Mul(x, y)
	}
	switch {
	case len(as) == 2 && len(bs) == 2 && b.fuse.add[n.Name] != nil && len(out) == 2:
		// MatMul then Add of a bias: one dense op with C (and the ReLU after).
		add := b.fuse.add[n.Name]
		var c *G.Node
		if c, err = b.Input(add, slices.Index(add.Inputs, addend(add, n))); err != nil {
			return nil, err
		}
		if op := b.denseOp(&graph.Gemm{}, n, []*G.Node{x, y, c}, add); op != nil {
			return one(G.ApplyOp(op, x, y, c))
		}
		z, err = mul(x, y)
	case len(bs) == 2:
		// Fold the stack into the rows: (S*M,K)x(K,N).
		k := as[len(as)-1]
		if x, err = G.Reshape(x, tensor.Shape{shapeSize(as) / k, k}); err != nil {
			return nil, err
		}
		z, err = mul(x, y)
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

// broadcastFn is the Gorgonia broadcasting op of an elementwise kind.
func broadcastFn(kind string) (func(a, b *G.Node, l, r []byte) (*G.Node, error), error) {
	switch kind {
	case "Add":
		return G.BroadcastAdd, nil
	case "Sub":
		return G.BroadcastSub, nil
	case "Mul":
		return G.BroadcastHadamardProd, nil
	case "Div":
		return G.BroadcastHadamardDiv, nil
	}
	return nil, fmt.Errorf("unknown elementwise op %q", kind)
}
