package backend

import (
	"fmt"
	"slices"

	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gorgoniaCan reports whether Gorgonia's built-in 2-D pooling computes the
// normalized pool w exactly.
func gorgoniaCan(w *graph.Pool) bool {
	symmetric := slices.Equal(w.PadsBegin(), w.PadsEnd())
	padded := slices.ContainsFunc(w.Pads, isNonzero)
	undilated := !slices.ContainsFunc(w.Dilations, func(d int) bool { return d != 1 })
	return len(w.KernelShape) == 2 && symmetric && !w.CeilMode && undilated && (!padded || !w.Average || w.CountIncludePad)
}

func isNonzero(v int) bool { return v != 0 }

// useKernel reports whether lowerPool runs poolKernel instead of Gorgonia's
// pooling: whenever Gorgonia cannot express w (any pooling that is not 2-D
// among others), and for all average pooling at inference, since Gorgonia
// v0.9.18's AveragePool2D returns wrong values (the ONNX averagepool
// conformance cases are off by factors up to 8; TestAveragePoolMatchesNaive
// pins it).
func useKernel(w *graph.Pool, mode Mode) bool {
	return !gorgoniaCan(w) || (w.Average && mode == Infer)
}

// lowerPool runs 2-D pooling that Gorgonia can differentiate on Gorgonia's
// MaxPool2D or a tiled average (training), everything else on poolKernel,
// which is forward-only and so serves imported inference graphs.
func (b *Builder) lowerPool(p *graph.Pool, n *graph.Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	if x := fusedInto(n, x); x != nil {
		return []*G.Node{x}, nil // the conv before pooled its output already
	}
	w, err := p.Normalized()
	if err != nil {
		return nil, err
	}
	if op := b.pool2D(w); op != nil {
		return one(G.ApplyOp(op, x))
	}
	if useKernel(w, b.Opts.Mode) {
		k := poolKernel(w)
		if b.Opts.Mode == Train {
			if len(w.KernelShape) != 2 {
				return nil, fmt.Errorf("%s cannot be trained (no gradient)", k)
			}
			return nil, fmt.Errorf("%s with %s cannot be trained (no gradient)", p.Type(), k)
		}
		return one(G.ApplyOp(k, x))
	}
	s := w.Strides
	k := tensor.Shape{w.KernelShape[0], w.KernelShape[1]}
	// Gorgonia's explicit pads are [north, south, west, east].
	pads := []int{w.Pads[0], w.Pads[2], w.Pads[1], w.Pads[3]}
	if w.Average {
		if !slices.ContainsFunc(pads, isNonzero) && slices.Equal(s, []int(k)) {
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
func (b *Builder) pool2D(w *graph.Pool) G.Op {
	if b.Opts.Mode != Infer || b.Opts.Float64 || len(w.KernelShape) != 2 {
		return nil
	}
	return pool2DOp(w)
}

func (b *Builder) lowerGlobalAveragePool(n *graph.Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	return one(meanOverSpace(b, x))
}
