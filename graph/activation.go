package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Relu is max(x, 0) elementwise (https://onnx.ai/onnx/operators/onnx__Relu.html).
type Relu struct{}

func (*Relu) Type() string { return "Relu" }

func (*Relu) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	return [][]int{in[0]}, nil
}

func (*Relu) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	if f, ok := x.Op().(reluFuser); ok && f.fusedRelu() == n.Name {
		return []*G.Node{x}, nil // the op before applied this ReLU already
	}
	return one(G.ApplyOp(newReluOp(x.Shape()), x))
}

// Softmax normalizes exp(x) along Axis (https://onnx.ai/onnx/operators/onnx__Softmax.html,
// opset 13 semantics: one axis, default -1). Log selects LogSoftmax.
//
// It runs on SoftmaxNode, not Gorgonia's softmax, which overflows on rows whose
// first logit dominates and whose log and plain variants of one input merge into
// one node (gorgonia issue #569); TestSoftmaxOp and TestSoftmaxBesideLogSoftmax
// guard both.
//
// Coerce2D selects the opset < 13 semantics: the input is flattened to 2-D at Axis
// (rows = dims before it, columns = the rest), normalized along the columns and
// reshaped back. It equals the one-axis form when Axis is the last dim.
type Softmax struct {
	Axis     int
	Log      bool
	Coerce2D bool
}

func (s *Softmax) Type() string {
	if s.Log {
		return "LogSoftmax"
	}
	return "Softmax"
}

func (s *Softmax) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	if _, err := normAxis(s.Axis, len(in[0])); err != nil {
		return nil, err
	}
	return [][]int{in[0]}, nil
}

func (s *Softmax) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	axis, err := normAxis(s.Axis, x.Dims())
	if err != nil {
		return nil, err
	}
	if !s.Coerce2D || axis == x.Dims()-1 {
		return s.apply(x, axis)
	}
	shape := x.Shape().Clone()
	flat, err := G.Reshape(x, tensor.Shape{prodDims(shape[:axis]), prodDims(shape[axis:])})
	if err != nil {
		return nil, err
	}
	y, err := s.apply(flat, 1)
	if err != nil {
		return nil, err
	}
	return one(G.Reshape(y[0], shape))
}

func (s *Softmax) apply(x *G.Node, axis int) ([]*G.Node, error) {
	return one(SoftmaxNode(x, axis, s.Log))
}

func normAxis(axis, rank int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}
