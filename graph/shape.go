package graph

import (
	"fmt"
	"slices"
)

// Flatten reshapes X to 2-D (https://onnx.ai/onnx/operators/onnx__Flatten.html): the
// dims before Axis multiply into rows, the rest into columns. ONNX's default axis
// is 1; here the field is taken as written (0 gives a single row).
type Flatten struct {
	Axis int
}

func (*Flatten) Type() string { return "Flatten" }

func (f *Flatten) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	axis := f.Axis
	if axis < 0 {
		axis += len(x)
	}
	if axis < 0 || axis > len(x) {
		return nil, fmt.Errorf("axis %d out of range for rank %d", f.Axis, len(x))
	}
	return [][]int{{ProdDims(x[:axis]), ProdDims(x[axis:])}}, nil
}

// ProdDims multiplies dims; any Batch makes the result Batch.
func ProdDims(d []int) int {
	p := 1
	for _, v := range d {
		if v == Batch {
			return Batch
		}
		p *= v
	}
	return p
}

// Reshape gives X a new shape (https://onnx.ai/onnx/operators/onnx__Reshape.html). The
// shape is the int64 constant input #1: 0 copies the input dim, -1 is inferred.
type Reshape struct{}

func (*Reshape) Type() string { return "Reshape" }

func (*Reshape) InferShapes(in [][]int, consts []*Tensor) ([][]int, error) {
	if err := needInputs(in, 2, 2); err != nil {
		return nil, err
	}
	if len(consts) < 2 || consts[1] == nil || consts[1].Int64 == nil {
		return nil, fmt.Errorf("the shape input must be an int64 constant")
	}
	s, err := reshapeDims(in[0], consts[1].Int64)
	if err != nil {
		return nil, err
	}
	return [][]int{s}, nil
}

// reshapeDims resolves ONNX reshape codes against x (which may hold Batch).
func reshapeDims(x []int, shape []int64) ([]int, error) {
	out := make([]int, len(shape))
	infer := -1
	known := 1
	for i, d := range shape {
		switch {
		case d == 0:
			if i >= len(x) {
				return nil, fmt.Errorf("shape %v copies dim %d of rank-%d input", shape, i, len(x))
			}
			out[i] = x[i]
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has two -1", shape)
			}
			infer = i
			continue
		case d < -1 || d > MaxElements:
			return nil, fmt.Errorf("shape %v has invalid dim %d", shape, d)
		default:
			out[i] = int(d)
		}
		if out[i] != Batch {
			known *= out[i]
		}
	}
	total := ProdDims(x)
	if infer >= 0 {
		switch {
		case total == Batch && !slices.Contains(out, Batch):
			out[infer] = Batch
		case total == Batch:
			// The batch is carried by a copied dim: the rest is fixed.
			fixed := 1
			for _, d := range x {
				if d != Batch {
					fixed *= d
				}
			}
			if known == 0 || fixed%known != 0 {
				return nil, fmt.Errorf("cannot reshape %s to %v: %w", fmtShape(x), shape, ErrShape)
			}
			out[infer] = fixed / known
		default:
			if known == 0 || total%known != 0 {
				return nil, fmt.Errorf("cannot reshape %s to %v: %w", fmtShape(x), shape, ErrShape)
			}
			out[infer] = total / known
		}
	} else if total != Batch && ProdDims(out) != total {
		return nil, fmt.Errorf("cannot reshape %s to %v: %w", fmtShape(x), shape, ErrShape)
	}
	return out, nil
}

// Transpose permutes dims (https://onnx.ai/onnx/operators/onnx__Transpose.html); an
// empty Perm reverses them.
type Transpose struct {
	Perm []int
}

func (*Transpose) Type() string { return "Transpose" }

// Permutation returns Perm, or the reversed dims for an empty Perm, checked
// against rank.
func (t *Transpose) Permutation(rank int) ([]int, error) {
	if len(t.Perm) == 0 {
		p := make([]int, rank)
		for i := range p {
			p[i] = rank - 1 - i
		}
		return p, nil
	}
	if len(t.Perm) != rank {
		return nil, fmt.Errorf("perm %v does not fit rank %d", t.Perm, rank)
	}
	seen := make([]bool, rank)
	for _, a := range t.Perm {
		if a < 0 || a >= rank || seen[a] {
			return nil, fmt.Errorf("perm %v is not a permutation", t.Perm)
		}
		seen[a] = true
	}
	return t.Perm, nil
}

func (t *Transpose) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	p, err := t.Permutation(len(in[0]))
	if err != nil {
		return nil, err
	}
	out := make([]int, len(p))
	for i, a := range p {
		out[i] = in[0][a]
	}
	return [][]int{out}, nil
}

// Identity passes its input through (https://onnx.ai/onnx/operators/onnx__Identity.html).
type Identity struct{}

func (*Identity) Type() string { return "Identity" }

func (*Identity) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 1); err != nil {
		return nil, err
	}
	return [][]int{in[0]}, nil
}

// Dropout zeroes each element with probability Ratio while training and scales
// the rest by 1/(1-Ratio); at inference it is the identity
// (https://onnx.ai/onnx/operators/onnx__Dropout.html). Masks come from the
// Builder's seeded random source, so training stays reproducible.
type Dropout struct {
	Ratio float64 // 0 means 0.5
}

func (*Dropout) Type() string { return "Dropout" }

// WithDefaults returns d with a zero Ratio set to 0.5.
func (d *Dropout) WithDefaults() Dropout {
	c := *d
	if c.Ratio == 0 {
		c.Ratio = 0.5
	}
	return c
}

func (d *Dropout) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 3); err != nil {
		return nil, err
	}
	if r := d.WithDefaults().Ratio; r < 0 || r >= 1 {
		return nil, fmt.Errorf("ratio %g must be in [0,1)", r)
	}
	return [][]int{in[0]}, nil
}
