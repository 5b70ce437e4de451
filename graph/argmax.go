package graph

// ArgMax is the index of the largest element along Axis as int64
// (https://onnx.ai/onnx/operators/onnx__ArgMax.html). ONNX's defaults are axis 0
// and keepdims 1; our heads use Axis 1 with KeepDims false. Ties go to the first
// index unless SelectLastIndex. It has no gradient.
type ArgMax struct {
	Axis            int
	KeepDims        bool
	SelectLastIndex bool
}

func (*ArgMax) Type() string { return "ArgMax" }

func (a *ArgMax) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	axis, err := NormAxis(a.Axis, len(x))
	if err != nil {
		return nil, err
	}
	return [][]int{reducedShape(x, axis, a.KeepDims)}, nil
}

func reducedShape(x []int, axis int, keep bool) []int {
	out := make([]int, 0, len(x))
	for i, d := range x {
		switch {
		case i != axis:
			out = append(out, d)
		case keep:
			out = append(out, 1)
		}
	}
	return out
}
