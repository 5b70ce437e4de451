package graph

import (
	"fmt"
)

// Binary is an elementwise Add, Sub, Mul, Div, Max, Min or Pow with numpy
// broadcasting (https://onnx.ai/onnx/operators/onnx__Add.html and siblings;
// Max and Min of more than two inputs are imported as a chain). The input
// normalization of our models is a Sub of the training mean image.
type Binary struct {
	Kind string // "Add", "Sub", "Mul", "Div", "Max", "Min" or "Pow"
}

func (o *Binary) Type() string { return o.Kind }

func (o *Binary) check() error {
	switch o.Kind {
	case "Add", "Sub", "Mul", "Div", "Max", "Min", "Pow":
		return nil
	}
	return fmt.Errorf("unknown elementwise op %q", o.Kind)
}

func (o *Binary) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if err := needInputs(in, 2, 2); err != nil {
		return nil, err
	}
	s, err := broadcastShape(in[0], in[1])
	if err != nil {
		return nil, err
	}
	return [][]int{s}, nil
}

// broadcastShape is the numpy broadcast of a and b.
func broadcastShape(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		case da == Batch:
			out[i] = db
		case db == Batch:
			out[i] = da
		default:
			return nil, fmt.Errorf("%s and %s do not broadcast: %w", fmtShape(a), fmtShape(b), ErrShape)
		}
	}
	return out, nil
}
