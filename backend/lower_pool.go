package backend

import (
	"fmt"
	"slices"

	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gorgoniaCan reports whether Gorgonia's built-in 2-D pooling computes the
// normalized window w exactly.
func gorgoniaCan(w *graph.PoolND) bool {
	symmetric := slices.Equal(w.PadsBegin, w.PadsEnd)
	padded := slices.ContainsFunc(w.PadsBegin, isNonzero) || slices.ContainsFunc(w.PadsEnd, isNonzero)
	undilated := !slices.ContainsFunc(w.Dilations, func(d int) bool { return d != 1 })
	return symmetric && !w.CeilMode && undilated && (!padded || !w.Average || w.CountIncludePad)
}

func isNonzero(v int) bool { return v != 0 }

// useKernel reports whether lowerPool runs poolKernel instead of Gorgonia's
// pooling: whenever Gorgonia cannot express w, and for all average pooling at
// inference, since Gorgonia v0.9.18's AveragePool2D returns wrong values (the
// ONNX averagepool conformance cases are off by factors up to 8;
// TestAveragePoolMatchesNaive pins it).
func useKernel(w *graph.PoolND, mode Mode) bool {
	return !gorgoniaCan(w) || (w.Average && mode == Infer)
}

func (b *Builder) lowerPool(p *graph.Pool, n *graph.Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	w := p.Window()
	if op := b.pool2D(w); op != nil {
		return one(G.ApplyOp(op, x))
	}
	if useKernel(w, b.Opts.Mode) {
		k := &poolKernel{w}
		if b.Opts.Mode == Train {
			return nil, fmt.Errorf("%s with %s cannot be trained (no gradient)", p.Type(), k)
		}
		return one(G.ApplyOp(k, x))
	}
	s := w.Strides
	k := tensor.Shape{w.KernelShape[0], w.KernelShape[1]}
	// Gorgonia's explicit pads are [north, south, west, east].
	pads := []int{w.PadsBegin[0], w.PadsEnd[0], w.PadsBegin[1], w.PadsEnd[1]}
	if w.Average {
		if !slices.ContainsFunc(pads, isNonzero) && slices.Equal(s, k) {
			return one(tiledAvgPool(b, x, k[0], k[1]))
		}
		if b.Opts.Mode == Train {
			return nil, fmt.Errorf("average pooling with overlapping windows or padding cannot be trained (Gorgonia's gradient is wrong); use stride = kernel")
		}
		return one(G.AveragePool2D(x, k, pads, s))
	}
	return one(G.MaxPool2D(x, k, pads, s))
}

// pool2D returns the fast inference op for a 2-D float32 window w, or nil
// (training keeps Gorgonia's pooling, which has a gradient; float64 and other
// ranks take poolKernel).
func (b *Builder) pool2D(w *graph.PoolND) G.Op {
	if b.Opts.Mode != Infer || b.Opts.Float64 || len(w.KernelShape) != 2 {
		return nil
	}
	return &pool2DOp{opBase: newOpBase(), w: w}
}

func (b *Builder) lowerPoolND(p *graph.PoolND, n *graph.Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	w, err := p.Normalized()
	if err != nil {
		return nil, err
	}
	if op := b.pool2D(w); op != nil {
		return one(G.ApplyOp(op, x))
	}
	k := &poolKernel{w}
	if b.Opts.Mode == Train {
		return nil, fmt.Errorf("%s cannot be trained (no gradient)", k)
	}
	return one(G.ApplyOp(k, x))
}

func (b *Builder) lowerGlobalAveragePool(n *graph.Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	return one(meanOverSpace(b, x))
}
