package backend

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Gorgonia v0.9.18's AveragePool2D has a wrong gradient (central differences
// disagree completely) and GlobalAveragePool2D has none (Grad panics). Average
// pooling whose windows tile the input (stride = kernel, no padding) is written
// here instead with differentiable built-ins: reshape (N,C,oH,k,oW,k), sum the
// window axes, scale by 1/k². TestGradients in package train checks it.

// tiledAvgPool averages non-overlapping kh x kw windows of x (N,C,H,W); rows and
// columns that do not fill a window are dropped (floor mode, as ONNX).
//
// Gorgonia's Sum (gorgonia.org/tensor v0.9.24) also miscounts when a size-1 axis
// follows the reduced one, so every reduction here runs over the last axis of a
// view without size-1 axes: (M*kh*ow, kw) -> sum -> (M, kh, ow) -> transpose to
// (M, ow, kh) -> (M*ow, kh) -> sum, with M = N*C*oH.
func tiledAvgPool(b *Builder, x *G.Node, kh, kw int) (*G.Node, error) {
	s := x.Shape()
	n, c, h, w := s[0], s[1], s[2], s[3]
	oh, ow := h/kh, w/kw
	if oh == 0 || ow == 0 {
		return nil, fmt.Errorf("window %dx%d is larger than the input %dx%d", kh, kw, h, w)
	}
	var err error
	if oh*kh != h || ow*kw != w {
		if x, err = G.Slice(x, nil, nil, G.S(0, oh*kh), G.S(0, ow*kw)); err != nil {
			return nil, err
		}
	}
	m := n * c * oh
	if x, err = G.Reshape(x, tensor.Shape{m * kh * ow, kw}); err != nil {
		return nil, err
	}
	if x, err = G.Sum(x, 1); err != nil {
		return nil, err
	}
	if ow > 1 {
		if x, err = G.Reshape(x, tensor.Shape{m, kh, ow}); err != nil {
			return nil, err
		}
		if x, err = G.Transpose(x, 0, 2, 1); err != nil {
			return nil, err
		}
	}
	if x, err = G.Reshape(x, tensor.Shape{m * ow, kh}); err != nil {
		return nil, err
	}
	if x, err = G.Sum(x, 1); err != nil {
		return nil, err
	}
	if x, err = G.Reshape(x, tensor.Shape{n, c, oh, ow}); err != nil {
		return nil, err
	}
	return G.Mul(x, b.scalar(1/float64(kh*kw)))
}

// meanOverSpace is global average pooling: (N,C,H,W) -> (N,C,1,1), summing a
// (N*C, H*W) view over its last axis (see tiledAvgPool for why).
func meanOverSpace(b *Builder, x *G.Node) (*G.Node, error) {
	s := x.Shape()
	y, err := G.Reshape(x, tensor.Shape{s[0] * s[1], s[2] * s[3]})
	if err != nil {
		return nil, err
	}
	if y, err = G.Sum(y, 1); err != nil {
		return nil, err
	}
	if y, err = G.Reshape(y, tensor.Shape{s[0], s[1], 1, 1}); err != nil {
		return nil, err
	}
	return G.Mul(y, b.scalar(1/float64(s[2]*s[3])))
}
