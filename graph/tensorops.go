package graph

import (
	"fmt"
	"slices"
)

// Pad pads every dim i of its input by Pads[i] before and Pads[r+i] after
// (https://onnx.ai/onnx/operators/onnx__Pad.html): Mode "constant" fills with
// Value, "reflect" mirrors without repeating the edge, "edge" repeats it. Pads are
// >= 0; the batch dim is not padded.
type Pad struct {
	Mode  string
	Pads  []int
	Value float64
}

func (*Pad) Type() string { return "Pad" }

func (p *Pad) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	r := len(x)
	if len(p.Pads) != 2*r {
		return nil, fmt.Errorf("pads %v for rank %d: %w", p.Pads, r, ErrShape)
	}
	switch p.Mode {
	case "constant", "reflect", "edge":
	default:
		return nil, fmt.Errorf("pad mode %q (constant, reflect and edge are supported)", p.Mode)
	}
	out := slices.Clone(x)
	for i := range r {
		b, e := p.Pads[i], p.Pads[r+i]
		if b < 0 || e < 0 {
			return nil, fmt.Errorf("negative pads %v: %w", p.Pads, ErrShape)
		}
		if x[i] == Batch {
			if b != 0 || e != 0 {
				return nil, fmt.Errorf("pads %v pad the batch dim: %w", p.Pads, ErrShape)
			}
			continue
		}
		if p.Mode == "reflect" && (b >= x[i] || e >= x[i]) || p.Mode == "edge" && x[i] == 0 && b+e > 0 {
			return nil, fmt.Errorf("%s pads %v do not fit %s: %w", p.Mode, p.Pads, fmtShape(x), ErrShape)
		}
		out[i] = x[i] + b + e
	}
	return [][]int{out}, nil
}

// Concat joins its inputs along Axis (https://onnx.ai/onnx/operators/onnx__Concat.html);
// the other dims must agree.
type Concat struct{ Axis int }

func (*Concat) Type() string { return "Concat" }

func (c *Concat) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1<<16); err != nil {
		return nil, err
	}
	r := len(in[0])
	axis, err := NormAxis(c.Axis, r)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(in[0])
	if out[axis] == Batch {
		return nil, fmt.Errorf("concatenating along the batch dim: %w", ErrShape)
	}
	for i, s := range in[1:] {
		if len(s) != r {
			return nil, fmt.Errorf("input #%d has rank %d, input #0 %d: %w", i+1, len(s), r, ErrShape)
		}
		for d := range r {
			switch {
			case d == axis:
				if s[d] == Batch {
					return nil, fmt.Errorf("concatenating along the batch dim: %w", ErrShape)
				}
				out[d] += s[d]
			case !dimEq(s[d], out[d]):
				return nil, fmt.Errorf("input #%d %s does not match %s off axis %d: %w", i+1, fmtShape(s), fmtShape(in[0]), axis, ErrShape)
			}
		}
	}
	return [][]int{out}, nil
}

// Slice takes elements Start..End-1 of dim Axis (one part of
// https://onnx.ai/onnx/operators/onnx__Split.html or a step-1
// https://onnx.ai/onnx/operators/onnx__Slice.html); 0 <= Start <= End <= dim.
type Slice struct{ Axis, Start, End int }

func (*Slice) Type() string { return "Slice" }

func (s *Slice) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	axis, err := NormAxis(s.Axis, len(in[0]))
	if err != nil {
		return nil, err
	}
	d := in[0][axis]
	if d == Batch || s.Start < 0 || s.End < s.Start || s.End > d {
		return nil, fmt.Errorf("slice %d:%d of dim %d of %s: %w", s.Start, s.End, axis, fmtShape(in[0]), ErrShape)
	}
	out := slices.Clone(in[0])
	out[axis] = s.End - s.Start
	return [][]int{out}, nil
}

// Expand broadcasts its input to Shape numpy-style
// (https://onnx.ai/onnx/operators/onnx__Expand.html): the result is the broadcast
// of the input's shape and Shape, in which a Batch entry stands for the batch.
type Expand struct{ Shape []int }

func (*Expand) Type() string { return "Expand" }

func (e *Expand) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	s, err := broadcastShape(in[0], e.Shape)
	if err != nil {
		return nil, err
	}
	return [][]int{s}, nil
}

// Tile repeats its input Repeats[i] times along dim i
// (https://onnx.ai/onnx/operators/onnx__Tile.html); the batch dim repeats once.
type Tile struct{ Repeats []int }

func (*Tile) Type() string { return "Tile" }

func (t *Tile) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	if len(t.Repeats) != len(in[0]) {
		return nil, fmt.Errorf("repeats %v for rank %d: %w", t.Repeats, len(in[0]), ErrShape)
	}
	out := slices.Clone(in[0])
	for i, r := range t.Repeats {
		switch {
		case r < 0 || out[i] == Batch && r != 1:
			return nil, fmt.Errorf("repeats %v on %s: %w", t.Repeats, fmtShape(in[0]), ErrShape)
		case out[i] != Batch:
			if r > 0 && out[i] > MaxElements/r {
				return nil, fmt.Errorf("repeats %v on %s: %w", t.Repeats, fmtShape(in[0]), ErrShape)
			}
			out[i] *= r
		}
	}
	return [][]int{out}, nil
}

// Reduce reduces over Axes (all dims when empty) with Kind "ReduceMean",
// "ReduceMax", "ReduceMin", "ReduceSum" or "ReduceProd"
// (https://onnx.ai/onnx/operators/onnx__ReduceMean.html and siblings), keeping
// the reduced dims as 1 when KeepDims. The batch dim may not be reduced.
type Reduce struct {
	Kind     string
	Axes     []int
	KeepDims bool
}

func (r *Reduce) Type() string { return r.Kind }

// ReduceAxes returns the normalized, sorted axes of r for rank n.
func (r *Reduce) ReduceAxes(n int) ([]int, error) {
	var axes []int
	if len(r.Axes) == 0 {
		for i := range n {
			axes = append(axes, i)
		}
		return axes, nil
	}
	for _, a := range r.Axes {
		k, err := NormAxis(a, n)
		if err != nil {
			return nil, err
		}
		if slices.Contains(axes, k) {
			return nil, fmt.Errorf("axis %d given twice", a)
		}
		axes = append(axes, k)
	}
	slices.Sort(axes)
	return axes, nil
}

func (r *Reduce) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	switch r.Kind {
	case "ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceProd":
	default:
		return nil, fmt.Errorf("unknown reduction %q", r.Kind)
	}
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	axes, err := r.ReduceAxes(len(in[0]))
	if err != nil {
		return nil, err
	}
	out := []int{}
	for i, d := range in[0] {
		switch {
		case !slices.Contains(axes, i):
			out = append(out, d)
		case d == Batch:
			return nil, fmt.Errorf("%s over the batch dim of %s: %w", r.Kind, fmtShape(in[0]), ErrShape)
		case r.KeepDims:
			out = append(out, 1)
		}
	}
	return [][]int{out}, nil
}

// Resize scales the spatial dims (all but the first two) of an (N,C,...) input
// by Scales, to Sizes[i] = floor(in[i]*Scales[i])
// (https://onnx.ai/onnx/operators/onnx__Resize.html; Upsample is its opset 7-9
// form). Mode "nearest" or "linear"; Coord is the coordinate_transformation_mode
// (half_pixel, asymmetric, align_corners, pytorch_half_pixel); Nearest the
// nearest_mode (round_prefer_floor, round_prefer_ceil, floor, ceil).
type Resize struct {
	Mode, Coord, Nearest string
	Scales               []float64 // per dim, 1 for N and C
	Sizes                []int     // per dim, output size (Batch for N)
}

func (*Resize) Type() string { return "Resize" }

func (r *Resize) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if len(r.Scales) != len(x) || len(r.Sizes) != len(x) || len(x) < 3 {
		return nil, fmt.Errorf("resize of %s with scales %v, sizes %v: %w", fmtShape(x), r.Scales, r.Sizes, ErrShape)
	}
	for i := range 2 {
		if r.Scales[i] != 1 || !dimEq(r.Sizes[i], x[i]) {
			return nil, fmt.Errorf("resize of the batch or channel dim (scales %v): %w", r.Scales, ErrShape)
		}
	}
	out := slices.Clone(x)
	for i := 2; i < len(x); i++ {
		if r.Sizes[i] < 0 || r.Sizes[i] > MaxElements || !(r.Scales[i] > 0) {
			return nil, fmt.Errorf("resize to %v: %w", r.Sizes, ErrShape)
		}
		out[i] = r.Sizes[i]
	}
	return [][]int{out}, nil
}
