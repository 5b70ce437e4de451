package graph

import (
	"fmt"
	"math/rand"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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
	return [][]int{{prodDims(x[:axis]), prodDims(x[axis:])}}, nil
}

// prodDims multiplies dims; any Batch makes the result Batch.
func prodDims(d []int) int {
	p := 1
	for _, v := range d {
		if v == Batch {
			return Batch
		}
		p *= v
	}
	return p
}

func (f *Flatten) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	axis := f.Axis
	if axis < 0 {
		axis += len(s)
	}
	return one(G.Reshape(x, tensor.Shape{prodDims(s[:axis]), prodDims(s[axis:])}))
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
	total := prodDims(x)
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
	} else if total != Batch && prodDims(out) != total {
		return nil, fmt.Errorf("cannot reshape %s to %v: %w", fmtShape(x), shape, ErrShape)
	}
	return out, nil
}

func (r *Reshape) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	shape := b.Tensor(n, 1)
	if shape == nil || shape.Int64 == nil {
		return nil, fmt.Errorf("the shape input must be an int64 constant")
	}
	s, err := reshapeDims(x.Shape(), shape.Int64)
	if err != nil {
		return nil, err
	}
	return one(G.Reshape(x, tensor.Shape(s)))
}

// Transpose permutes dims (https://onnx.ai/onnx/operators/onnx__Transpose.html); an
// empty Perm reverses them.
type Transpose struct {
	Perm []int
}

func (*Transpose) Type() string { return "Transpose" }

func (t *Transpose) perm(rank int) ([]int, error) {
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
	p, err := t.perm(len(in[0]))
	if err != nil {
		return nil, err
	}
	out := make([]int, len(p))
	for i, a := range p {
		out[i] = in[0][a]
	}
	return [][]int{out}, nil
}

func (t *Transpose) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	p, err := t.perm(x.Dims())
	if err != nil {
		return nil, err
	}
	return one(G.Transpose(x, p...))
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

func (*Identity) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	return []*G.Node{x}, err
}

// Dropout zeroes each element with probability Ratio while training and scales
// the rest by 1/(1-Ratio); at inference it is the identity
// (https://onnx.ai/onnx/operators/onnx__Dropout.html). Masks come from the
// Builder's seeded random source, so training stays reproducible.
type Dropout struct {
	Ratio float64 // 0 means 0.5
}

func (*Dropout) Type() string { return "Dropout" }

func (d *Dropout) ratio() float64 {
	if d.Ratio == 0 {
		return 0.5
	}
	return d.Ratio
}

func (d *Dropout) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if err := needInputs(in, 1, 3); err != nil {
		return nil, err
	}
	if r := d.ratio(); r < 0 || r >= 1 {
		return nil, fmt.Errorf("ratio %g must be in [0,1)", r)
	}
	return [][]int{in[0]}, nil
}

func (d *Dropout) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil || b.Opts.Mode != Train {
		return []*G.Node{x}, err
	}
	shape := x.Shape().Clone()
	mask := G.NewTensor(b.G, b.dtype(), len(shape), G.WithShape(shape...), G.WithName(n.Name+".mask"))
	keep := 1 - d.ratio()
	size := shapeSize(shape)
	b.prepare = append(b.prepare, func(r *rand.Rand) {
		var t *tensor.Dense
		if b.Opts.Float64 {
			m := make([]float64, size)
			for i := range m {
				if r.Float64() < keep {
					m[i] = 1 / keep
				}
			}
			t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(m))
		} else {
			m := make([]float32, size)
			for i := range m {
				if r.Float64() < keep {
					m[i] = float32(1 / keep)
				}
			}
			t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(m))
		}
		G.Let(mask, t)
	})
	return one(G.HadamardProd(x, mask))
}
