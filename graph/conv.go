package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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

func (c *Conv) norm() Conv {
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
	a := c.norm()
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

func (c *Conv) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	a := c.norm()
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	if a.Pads[0] != a.Pads[2] || a.Pads[1] != a.Pads[3] {
		// Gorgonia pads symmetrically: pad explicitly with zeros (a differentiable
		// concatenation), then convolve without padding.
		if x, err = zeroPad(b, n, x, a.Pads); err != nil {
			return nil, err
		}
		a.Pads = [4]int{}
	}
	w, err := b.Input(n, 1)
	if err != nil {
		return nil, err
	}
	ws := w.Shape()
	y, err := G.Conv2d(x, w, tensor.Shape{ws[2], ws[3]}, []int{a.Pads[0], a.Pads[1]}, a.Strides[:], a.Dilations[:])
	if err != nil {
		return nil, err
	}
	bias, err := b.ParamAs(n, 2, []int{1, ws[0], 1, 1})
	if err != nil || bias == nil {
		return []*G.Node{y}, err
	}
	return one(G.BroadcastAdd(y, bias, nil, []byte{0, 2, 3}))
}

// zeroPad pads the H and W dims of x (N,C,H,W) with zeros: pads are [top, left,
// bottom, right].
func zeroPad(b *Builder, n *Node, x *G.Node, pads [4]int) (*G.Node, error) {
	zeros := func(shape tensor.Shape, what string) *G.Node {
		var t *tensor.Dense
		if b.Opts.Float64 {
			t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float64, shape.TotalSize())))
		} else {
			t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, shape.TotalSize())))
		}
		return G.NewTensor(b.G, b.dtype(), len(shape), G.WithShape(shape...), G.WithValue(t), G.WithName(n.Name+".pad."+what))
	}
	for axis, p := range [][2]int{{pads[0], pads[2]}, {pads[1], pads[3]}} {
		if p == [2]int{} {
			continue
		}
		dim := 2 + axis
		side := func(k int, what string) *G.Node {
			s := x.Shape().Clone()
			s[dim] = k
			return zeros(s, fmt.Sprintf("%d.%s", dim, what))
		}
		var parts []*G.Node
		if p[0] > 0 {
			parts = append(parts, side(p[0], "begin"))
		}
		parts = append(parts, x)
		if p[1] > 0 {
			parts = append(parts, side(p[1], "end"))
		}
		var err error
		if x, err = G.Concat(dim, parts...); err != nil {
			return nil, err
		}
	}
	return x, nil
}
