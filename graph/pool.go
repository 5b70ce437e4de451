package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Pool is 2-D max or average pooling (https://onnx.ai/onnx/operators/onnx__MaxPool.html,
// https://onnx.ai/onnx/operators/onnx__AveragePool.html): X (N,C,H,W) -> (N,C,oH,oW).
// Pads are [top, left, bottom, right]; zero Strides mean 1.
type Pool struct {
	Average     bool
	KernelShape [2]int
	Strides     [2]int
	Pads        [4]int
	CeilMode    bool
	// CountIncludePad makes average pooling divide by the full window even where it
	// overlaps padding (ONNX count_include_pad).
	CountIncludePad bool
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
	s := p.strides()
	oh, err := convOut(x[2], p.KernelShape[0], s[0], p.Pads[0], p.Pads[2], 1, p.CeilMode)
	if err != nil {
		return nil, err
	}
	ow, err := convOut(x[3], p.KernelShape[1], s[1], p.Pads[1], p.Pads[3], 1, p.CeilMode)
	if err != nil {
		return nil, err
	}
	return [][]int{{x[0], x[1], oh, ow}}, nil
}

func (p *Pool) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	if p.CeilMode {
		return nil, fmt.Errorf("ceil_mode is not supported")
	}
	hasPad := p.Pads != [4]int{}
	if p.Average && hasPad && !p.CountIncludePad {
		return nil, fmt.Errorf("average pooling over padding without count_include_pad is not supported")
	}
	s := p.strides()
	k := tensor.Shape{p.KernelShape[0], p.KernelShape[1]}
	// Gorgonia's explicit pads are [north, south, west, east].
	pads := []int{p.Pads[0], p.Pads[2], p.Pads[1], p.Pads[3]}
	if p.Average {
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
	return one(G.GlobalAveragePool2D(x))
}
