package graph

import "fmt"

// Pool is max or average pooling over one or more spatial dims
// (https://onnx.ai/onnx/operators/onnx__MaxPool.html,
// https://onnx.ai/onnx/operators/onnx__AveragePool.html): X (N,C,S1,...,Sk) ->
// (N,C,O1,...,Ok) for a KernelShape of k dims; the paper's layers are 2-D,
// (N,C,H,W) -> (N,C,oH,oW).
//
// Pads are as in ONNX, all begin pads then all end pads ([top, left, bottom,
// right] in 2-D); nil means no padding. Nil Strides and Dilations, or zero
// entries, mean 1. Dilations spread the window (MaxPool, opset >= 10).
// CountIncludePad makes average pooling divide by the full window even where it
// overlaps padding (ONNX count_include_pad).
type Pool struct {
	Average         bool
	KernelShape     []int
	Strides         []int
	Pads            []int
	CeilMode        bool
	CountIncludePad bool
	Dilations       []int
}

func (p *Pool) Type() string {
	if p.Average {
		return "AveragePool"
	}
	return "MaxPool"
}

// Normalized returns a copy of p with every list filled in to one entry per
// spatial dim (two for Pads): strides and dilations 1 where nil or zero, pads 0
// where nil. A list of the wrong length is an error.
func (p *Pool) Normalized() (*Pool, error) {
	k := len(p.KernelShape)
	if k == 0 {
		return nil, fmt.Errorf("kernel_shape is empty")
	}
	fill := func(v []int, n, def int, what string) ([]int, error) {
		if v == nil {
			v = make([]int, n)
		}
		if len(v) != n {
			return nil, fmt.Errorf("%s %v does not match kernel %v", what, v, p.KernelShape)
		}
		out := make([]int, n)
		for i, x := range v {
			if x == 0 {
				x = def
			}
			out[i] = x
		}
		return out, nil
	}
	n := *p
	var err error
	if n.Strides, err = fill(p.Strides, k, 1, "strides"); err != nil {
		return nil, err
	}
	if n.Dilations, err = fill(p.Dilations, k, 1, "dilations"); err != nil {
		return nil, err
	}
	if n.Pads, err = fill(p.Pads, 2*k, 0, "pads"); err != nil {
		return nil, err
	}
	return &n, nil
}

// PadsBegin and PadsEnd split the Pads of a normalized Pool.
func (p *Pool) PadsBegin() []int { return p.Pads[:len(p.KernelShape)] }

// PadsEnd: see PadsBegin.
func (p *Pool) PadsEnd() []int { return p.Pads[len(p.KernelShape):] }

func (p *Pool) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	w, err := p.Normalized()
	if err != nil {
		return nil, err
	}
	if err := needRank(in[0], len(w.KernelShape)+2, "X"); err != nil {
		return nil, err
	}
	out, err := w.OutShape(in[0])
	if err != nil {
		return nil, err
	}
	return [][]int{out}, nil
}

// OutShape is the output shape of the normalized p for input shape in
// (N,C,spatial...); Batch stays Batch.
func (p *Pool) OutShape(in []int) ([]int, error) {
	if len(in) != len(p.KernelShape)+2 {
		return nil, fmt.Errorf("pool: input rank %d, want %d", len(in), len(p.KernelShape)+2)
	}
	begin, end := p.PadsBegin(), p.PadsEnd()
	out := []int{in[0], in[1]}
	for i := range p.KernelShape {
		o, err := convOut(in[2+i], p.KernelShape[i], p.Strides[i], begin[i], end[i], p.Dilations[i], p.CeilMode)
		if err != nil {
			return nil, err
		}
		if p.CeilMode && in[2+i] != Batch && (o-1)*p.Strides[i] >= in[2+i]+begin[i] {
			o-- // the last window would start in the end padding (ONNX, PyTorch rule)
		}
		out = append(out, o)
	}
	return out, nil
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
