package graph

import (
	"fmt"
)

// BatchNorm is batch normalization (https://onnx.ai/onnx/operators/onnx__BatchNormalization.html):
// inputs X (N,C,H,W) or (N,C), scale (C), B (C), running mean (C), running var (C).
// Inference: y = scale*(x-mean)/sqrt(var+Epsilon) + B. Training normalizes with the
// batch's own statistics and updates the running ones as
// running = running*Momentum + batch*(1-Momentum) (ONNX convention; PyTorch's
// momentum is 1-Momentum), the variance unbiased.
type BatchNorm struct {
	Epsilon  float64 // 0 means 1e-5
	Momentum float64 // 0 means 0.9
}

func (*BatchNorm) Type() string { return "BatchNormalization" }

// WithDefaults returns bn with a zero Epsilon set to 1e-5 and a zero Momentum
// set to 0.9.
func (bn *BatchNorm) WithDefaults() BatchNorm {
	d := *bn
	if d.Epsilon == 0 {
		d.Epsilon = 1e-5
	}
	if d.Momentum == 0 {
		d.Momentum = 0.9
	}
	return d
}

func (bn *BatchNorm) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 5, 5); err != nil {
		return nil, err
	}
	x := in[0]
	if len(x) < 2 {
		return nil, fmt.Errorf("X has shape %s, want rank >= 2: %w", fmtShape(x), ErrShape)
	}
	for i, name := range []string{"scale", "B", "mean", "var"} {
		s := in[i+1]
		if len(s) != 1 || !dimEq(s[0], x[1]) {
			return nil, fmt.Errorf("%s has shape %s, want [%d]: %w", name, fmtShape(s), x[1], ErrShape)
		}
	}
	return [][]int{x}, nil
}
