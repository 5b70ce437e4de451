package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Pool is 2-D max or average pooling (https://onnx.ai/onnx/operators/onnx__MaxPool.html,
// https://onnx.ai/onnx/operators/onnx__AveragePool.html): X (N,C,H,W) -> (N,C,oH,oW).
// Pads are [top, left, bottom, right]; zero Strides and Dilations mean 1.
//
// Gorgonia's MaxPool2D and AveragePool2D (differentiable, used for training) cover
// symmetric pads without ceil_mode or dilations; anything else (asymmetric pads,
// CeilMode, Dilations, average pooling over padding without CountIncludePad) runs
// on poolKernel, which is forward-only and so serves imported inference graphs.
type Pool struct {
	Average     bool
	KernelShape [2]int
	Strides     [2]int
	Pads        [4]int
	CeilMode    bool
	// CountIncludePad makes average pooling divide by the full window even where it
	// overlaps padding (ONNX count_include_pad).
	CountIncludePad bool
	// Dilations spread MaxPool's window (ONNX dilations, opset >= 10).
	Dilations [2]int
}

func (p *Pool) Type() string {
	if p.Average {
		return "AveragePool"
	}
	return "MaxPool"
}

func (p *Pool) strides() [2]int {
	s := p.Strides
	for i := range s {
		if s[i] == 0 {
			s[i] = 1
		}
	}
	return s
}

func (p *Pool) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if err := needRank(x, 4, "X"); err != nil {
		return nil, err
	}
	out, err := p.kernel().outShape(x)
	if err != nil {
		return nil, err
	}
	return [][]int{out}, nil
}

func (p *Pool) dilations() [2]int {
	d := p.Dilations
	for i := range d {
		if d[i] == 0 {
			d[i] = 1
		}
	}
	return d
}

func (p *Pool) kernel() *poolKernel {
	s, d := p.strides(), p.dilations()
	return &poolKernel{
		average: p.Average, includePad: p.CountIncludePad, ceil: p.CeilMode,
		kernel: p.KernelShape[:], strides: s[:], dilations: d[:],
		begin: []int{p.Pads[0], p.Pads[1]}, end: []int{p.Pads[2], p.Pads[3]}, rank: 4,
	}
}

// gorgoniaCan reports whether Gorgonia's built-in pooling computes p exactly.
func (p *Pool) gorgoniaCan() bool {
	symmetric := p.Pads[0] == p.Pads[2] && p.Pads[1] == p.Pads[3]
	padded := p.Pads != [4]int{}
	return symmetric && !p.CeilMode && p.dilations() == [2]int{1, 1} && (!padded || !p.Average || p.CountIncludePad)
}

// useKernel reports whether Forward runs poolKernel instead of Gorgonia's pooling:
// whenever Gorgonia cannot express p, and for all average pooling at inference,
// since Gorgonia v0.9.18's AveragePool2D returns wrong values (the ONNX
// averagepool conformance cases are off by factors up to 8;
// TestAveragePoolMatchesNaive pins it).
func (p *Pool) useKernel(mode Mode) bool {
	return !p.gorgoniaCan() || (p.Average && mode == Infer)
}

func (p *Pool) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	if p.useKernel(b.Opts.Mode) {
		if b.Opts.Mode == Train {
			return nil, fmt.Errorf("%s with %s cannot be trained (no gradient)", p.Type(), p.kernel())
		}
		return one(G.ApplyOp(p.kernel(), x))
	}
	s := p.strides()
	k := tensor.Shape{p.KernelShape[0], p.KernelShape[1]}
	// Gorgonia's explicit pads are [north, south, west, east].
	pads := []int{p.Pads[0], p.Pads[2], p.Pads[1], p.Pads[3]}
	if p.Average {
		if p.Pads == [4]int{} && s == p.KernelShape {
			return one(tiledAvgPool(b, x, k[0], k[1]))
		}
		if b.Opts.Mode == Train {
			return nil, fmt.Errorf("average pooling with overlapping windows or padding cannot be trained (Gorgonia's gradient is wrong); use stride = kernel")
		}
		return one(G.AveragePool2D(x, k, pads, s[:]))
	}
	return one(G.MaxPool2D(x, k, pads, s[:]))
}

// GlobalAveragePool averages each channel over H and W
// (https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html): (N,C,H,W) -> (N,C,1,1).
type GlobalAveragePool struct{}

func (*GlobalAveragePool) Type() string { return "GlobalAveragePool" }

func (*GlobalAveragePool) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	if err := needRank(in[0], 4, "X"); err != nil {
		return nil, err
	}
	return [][]int{{in[0][0], in[0][1], 1, 1}}, nil
}

func (*GlobalAveragePool) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	return one(meanOverSpace(b, x))
}

// PoolND is max or average pooling over 1 or 3 spatial dims (inputs (N,C,L) or
// (N,C,D,H,W)), with the semantics of Pool and explicit per-dim begin and end
// pads. It is forward-only (poolKernel): imported inference graphs use it.
type PoolND struct {
	Average         bool
	KernelShape     []int
	Strides         []int // nil means all 1
	Dilations       []int // nil means all 1
	PadsBegin       []int // nil means all 0
	PadsEnd         []int
	CeilMode        bool
	CountIncludePad bool
}

func (p *PoolND) Type() string {
	if p.Average {
		return "AveragePool"
	}
	return "MaxPool"
}

func (p *PoolND) kernel() (*poolKernel, error) {
	k := len(p.KernelShape)
	fill := func(v []int, def int, what string) ([]int, error) {
		if v == nil {
			v = make([]int, k)
			for i := range v {
				v[i] = def
			}
		}
		if len(v) != k {
			return nil, fmt.Errorf("%s %v does not match kernel %v", what, v, p.KernelShape)
		}
		return v, nil
	}
	pk := &poolKernel{average: p.Average, includePad: p.CountIncludePad, ceil: p.CeilMode, kernel: p.KernelShape, rank: k + 2}
	var err error
	if pk.strides, err = fill(p.Strides, 1, "strides"); err != nil {
		return nil, err
	}
	if pk.dilations, err = fill(p.Dilations, 1, "dilations"); err != nil {
		return nil, err
	}
	if pk.begin, err = fill(p.PadsBegin, 0, "pads"); err != nil {
		return nil, err
	}
	if pk.end, err = fill(p.PadsEnd, 0, "pads"); err != nil {
		return nil, err
	}
	return pk, nil
}

func (p *PoolND) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	k, err := p.kernel()
	if err != nil {
		return nil, err
	}
	if err := needRank(in[0], k.rank, "X"); err != nil {
		return nil, err
	}
	out, err := k.outShape(in[0])
	if err != nil {
		return nil, err
	}
	return [][]int{out}, nil
}

func (p *PoolND) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	k, err := p.kernel()
	if err != nil {
		return nil, err
	}
	if b.Opts.Mode == Train {
		return nil, fmt.Errorf("%s cannot be trained (no gradient)", k)
	}
	return one(G.ApplyOp(k, x))
}
