package graph

import "fmt"

// Unary is an elementwise function of one input:
//
//	Sigmoid  1/(1+exp(-x))   https://onnx.ai/onnx/operators/onnx__Sigmoid.html
//	Tanh     tanh(x)          https://onnx.ai/onnx/operators/onnx__Tanh.html
//	Exp, Log, Sqrt, Neg, Abs  https://onnx.ai/onnx/operators/onnx__Exp.html (and siblings)
//	LeakyRelu x<0 ? Alpha*x : x            https://onnx.ai/onnx/operators/onnx__LeakyRelu.html
//	Elu      x<0 ? Alpha*(exp(x)-1) : x     https://onnx.ai/onnx/operators/onnx__Elu.html
//	Clip     min(max(x, Min), Max)          https://onnx.ai/onnx/operators/onnx__Clip.html
//
// Alpha is read by LeakyRelu and Elu, Min and Max by Clip (use ±Inf for no bound).
type Unary struct {
	Kind     string
	Alpha    float64
	Min, Max float64
}

func (u *Unary) Type() string { return u.Kind }

// UnaryKinds are the Kind values Unary accepts.
var UnaryKinds = []string{"Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs", "LeakyRelu", "Elu", "Clip"}

func (u *Unary) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	ok := false
	for _, k := range UnaryKinds {
		ok = ok || k == u.Kind
	}
	if !ok {
		return nil, fmt.Errorf("unknown elementwise op %q", u.Kind)
	}
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	return [][]int{in[0]}, nil
}
