package graph

import (
	"fmt"
)

// Conv is a 2-D convolution (https://onnx.ai/onnx/operators/onnx__Conv.html):
// inputs X (N,C,H,W), W (M,C,kH,kW) and optional bias B (M); output (N,M,oH,oW).
// Pads are [top, left, bottom, right]; zero Strides/Dilations mean 1.
type Conv struct {
	KernelShape [2]int
	Strides     [2]int
	Pads        [4]int
	Dilations   [2]int
	Group       int // 0 means 1
}

func (*Conv) Type() string { return "Conv" }

// WithDefaults returns c with zero Strides and Dilations set to 1 and a zero
// Group set to 1.
func (c *Conv) WithDefaults() Conv {
	n := *c
	for i := range 2 {
		if n.Strides[i] == 0 {
			n.Strides[i] = 1
		}
		if n.Dilations[i] == 0 {
			n.Dilations[i] = 1
		}
	}
	if n.Group == 0 {
		n.Group = 1
	}
	return n
}

func (c *Conv) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 2, 3); err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	if err := needRank(x, 4, "X"); err != nil {
		return nil, err
	}
	if err := needRank(w, 4, "W"); err != nil {
		return nil, err
	}
	a := c.WithDefaults()
	if a.Group != 1 {
		return nil, fmt.Errorf("group %d is not supported (only 1)", a.Group)
	}
	if !dimEq(x[1], w[1]) {
		return nil, fmt.Errorf("X has %d channels but W expects %d: %w", x[1], w[1], ErrShape)
	}
	if (a.KernelShape != [2]int{}) && (a.KernelShape[0] != w[2] || a.KernelShape[1] != w[3]) {
		return nil, fmt.Errorf("kernel_shape %v does not match W %s: %w", a.KernelShape, fmtShape(w), ErrShape)
	}
	if len(in) == 3 && in[2] != nil && (len(in[2]) != 1 || in[2][0] != w[0]) {
		return nil, fmt.Errorf("bias %s does not match %d filters: %w", fmtShape(in[2]), w[0], ErrShape)
	}
	oh, err := convOut(x[2], w[2], a.Strides[0], a.Pads[0], a.Pads[2], a.Dilations[0], false)
	if err != nil {
		return nil, err
	}
	ow, err := convOut(x[3], w[3], a.Strides[1], a.Pads[1], a.Pads[3], a.Dilations[1], false)
	if err != nil {
		return nil, err
	}
	return [][]int{{x[0], w[0], oh, ow}}, nil
}

// convOut is the output size of a window sweep (floor, or ceil when ceil is set).
func convOut(in, k, stride, padA, padB, dil int, ceil bool) (int, error) {
	if in == Batch {
		return Batch, nil
	}
	span := dil*(k-1) + 1
	free := in + padA + padB - span
	if free < 0 || k <= 0 || stride <= 0 {
		return 0, fmt.Errorf("window %d (dilation %d) does not fit input %d with pads %d,%d: %w", k, dil, in, padA, padB, ErrShape)
	}
	if ceil {
		return (free+stride-1)/stride + 1, nil
	}
	return free/stride + 1, nil
}
