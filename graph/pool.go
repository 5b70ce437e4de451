package graph

import (
	"fmt"
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
	out, err := p.Window().OutShape(x)
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

// Window returns p as the equivalent PoolND with strides and dilations filled in.
func (p *Pool) Window() *PoolND {
	s, d := p.strides(), p.dilations()
	return &PoolND{
		Average: p.Average, CountIncludePad: p.CountIncludePad, CeilMode: p.CeilMode,
		KernelShape: p.KernelShape[:], Strides: s[:], Dilations: d[:],
		PadsBegin: []int{p.Pads[0], p.Pads[1]}, PadsEnd: []int{p.Pads[2], p.Pads[3]},
	}
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

// Normalized returns a copy of p with nil Strides, Dilations and pads filled in
// (1, 1 and 0), or an error when a list does not match the kernel's rank.
func (p *PoolND) Normalized() (*PoolND, error) {
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
	pk := &PoolND{Average: p.Average, CountIncludePad: p.CountIncludePad, CeilMode: p.CeilMode, KernelShape: p.KernelShape}
	var err error
	if pk.Strides, err = fill(p.Strides, 1, "strides"); err != nil {
		return nil, err
	}
	if pk.Dilations, err = fill(p.Dilations, 1, "dilations"); err != nil {
		return nil, err
	}
	if pk.PadsBegin, err = fill(p.PadsBegin, 0, "pads"); err != nil {
		return nil, err
	}
	if pk.PadsEnd, err = fill(p.PadsEnd, 0, "pads"); err != nil {
		return nil, err
	}
	return pk, nil
}

// OutShape is the output shape of the normalized p for input shape in
// (N,C,spatial...); Batch stays Batch.
func (p *PoolND) OutShape(in []int) ([]int, error) {
	if len(in) != len(p.KernelShape)+2 {
		return nil, fmt.Errorf("pool: input rank %d, want %d", len(in), len(p.KernelShape)+2)
	}
	out := []int{in[0], in[1]}
	for i := range p.KernelShape {
		o, err := convOut(in[2+i], p.KernelShape[i], p.Strides[i], p.PadsBegin[i], p.PadsEnd[i], p.Dilations[i], p.CeilMode)
		if err != nil {
			return nil, err
		}
		if p.CeilMode && in[2+i] != Batch && (o-1)*p.Strides[i] >= in[2+i]+p.PadsBegin[i] {
			o-- // the last window would start in the end padding (ONNX, PyTorch rule)
		}
		out = append(out, o)
	}
	return out, nil
}

func (p *PoolND) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	k, err := p.Normalized()
	if err != nil {
		return nil, err
	}
	if err := needRank(in[0], len(k.KernelShape)+2, "X"); err != nil {
		return nil, err
	}
	out, err := k.OutShape(in[0])
	if err != nil {
		return nil, err
	}
	return [][]int{out}, nil
}
