package graph

import (
	"fmt"
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
	if _, err := NormAxis(s.Axis, len(in[0])); err != nil {
		return nil, err
	}
	return [][]int{in[0]}, nil
}

// NormAxis maps an ONNX axis in [-rank, rank) to [0, rank); other values are
// an error.
func NormAxis(axis, rank int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}
