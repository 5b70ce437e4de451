package backend

import (
	"fmt"

	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/kernels"
	G "gorgonia.org/gorgonia"
)

func (b *Builder) lowerConv(c *graph.Conv, n *graph.Node) ([]*G.Node, error) {
	a := c.WithDefaults()
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	w, err := b.Input(n, 1)
	if err != nil {
		return nil, err
	}
	bias, err := b.Input(n, 2)
	if err != nil {
		return nil, err
	}
	xs, ws := x.Shape(), w.Shape()
	in := [][]int{xs, ws}
	if bias != nil {
		in = append(in, bias.Shape())
	}
	out, err := c.InferShapes(in, nil)
	if err != nil {
		return nil, err
	}
	oh, ow := out[0][2], out[0][3]
	op := newConvOp(kernels.ConvGeom{
		N: xs[0], C: xs[1], H: xs[2], W: xs[3], M: ws[0], KH: ws[2], KW: ws[3], OH: oh, OW: ow,
		SH: a.Strides[0], SW: a.Strides[1], PT: a.Pads[0], PL: a.Pads[1], DH: a.Dilations[0], DW: a.Dilations[1],
	}, bias != nil)
	op.relu = b.fuse.relu[n.Name]
	op.needX, op.needW = b.needsGrad(x), b.needsGrad(w)
	children := []*G.Node{x, w}
	if bias != nil {
		op.needB = b.needsGrad(bias)
		children = append(children, bias)
	}
	if bn := b.fuse.bn[n.Name]; bn != nil && b.bnFits(bn, ws[0]) {
		// Inference: the batch norm after the conv scales and shifts its
		// output channels, so the op applies it (and a ReLU after it) in the
		// conv's epilogue, as graph.FoldBatchNorm does to the weights.
		scale, err := b.Input(bn, 1)
		if err != nil {
			return nil, err
		}
		shift, err := b.Input(bn, 2)
		if err != nil {
			return nil, err
		}
		op.bn = newConvBN(bn.Name, bn.Op.(*graph.BatchNorm).WithDefaults().Epsilon, op.g.M, b.dtype())
		op.relu = b.fuse.relu[bn.Name]
		children = append(children, scale, shift)
		b.bns = append(b.bns, bnState{op: op, mean: b.Tensor(bn, 3), vr: b.Tensor(bn, 4), node: bn.Name})
	} else if p := b.fuse.pool[n.Name]; p != nil && op.g.OH >= 2 && op.g.OW >= 2 {
		op.pool = p.Name // inference: the max pool after it (and its ReLU)
	}
	return one(G.ApplyOp(op.gorgonia(), children...))
}

func (b *Builder) lowerBatchNorm(bn *graph.BatchNorm, n *graph.Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	if c, ok := stateOf(x.Op()).(*convOp); ok && c.bn != nil && c.bn.node == n.Name {
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
			return nil, fmt.Errorf("scale and bias must be (%d) vectors: %w", xs[1], graph.ErrShape)
		}
	}
	mean, vr := b.Tensor(n, 3), b.Tensor(n, 4)
	if mean == nil || vr == nil || mean.Int64 != nil || vr.Int64 != nil {
		return nil, fmt.Errorf("running mean and variance must be float parameters")
	}
	// The op's momentum weights the new batch (PyTorch's convention).
	gm := 1 - bn.WithDefaults().Momentum
	op := newBNOp(xs, bn.WithDefaults().Epsilon, gm, b.dtype())
	op.training = b.Opts.Mode == Train
	op.relu = b.fuse.relu[n.Name]
	op.needX, op.needS, op.needB = b.needsGrad(x), b.needsGrad(scale), b.needsGrad(bias)
	y, err := G.ApplyOp(op.gorgonia(), x, scale, bias)
	if err != nil {
		return nil, err
	}
	b.bns = append(b.bns, bnState{op: op, mean: mean, vr: vr, node: n.Name, gorgoniaM: gm})
	return []*G.Node{y}, nil
}
