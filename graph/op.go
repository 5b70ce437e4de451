package graph

import "fmt"

// Op is one kind of layer or operation. Attributes are fields of the concrete type;
// inputs and outputs are named on the Node. Implementations follow the ONNX
// operator of the same Type at opset 13.
type Op interface {
	// Type is the ONNX op type, e.g. "Conv".
	Type() string
	// InferShapes returns output shapes from input shapes (nil for omitted
	// optional inputs; Batch for the dynamic batch dimension). consts holds the
	// parameter behind each input, or nil, for ops that read constant inputs.
	InferShapes(in [][]int, consts []*Tensor) ([][]int, error)
}

// needInputs checks that at least min and at most max inputs are present.
func needInputs(in [][]int, min, max int) error {
	if len(in) < min || len(in) > max {
		if min == max {
			return fmt.Errorf("want %d inputs, have %d", min, len(in))
		}
		return fmt.Errorf("want %d to %d inputs, have %d", min, max, len(in))
	}
	for i := 0; i < min; i++ {
		if in[i] == nil {
			return fmt.Errorf("input #%d is required", i)
		}
	}
	return nil
}

func needRank(s []int, rank int, what string) error {
	if len(s) != rank {
		return fmt.Errorf("%s has shape %s, want rank %d: %w", what, fmtShape(s), rank, ErrShape)
	}
	return nil
}

// dimEq compares dims where Batch matches anything.
func dimEq(a, b int) bool { return a == b || a == Batch || b == Batch }
