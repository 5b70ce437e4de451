package backend

import (
	"fmt"
	"math/rand"
	"slices"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lowerReshape lowers Flatten and Reshape: both give their input the shape
// inference gave their output.
func (b *Builder) lowerReshape(n *graph.Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	out, err := b.outShapes(n)
	if err != nil {
		return nil, err
	}
	return b.reshape(x, out[0])
}

// reshape gives x the shape to. At inference a float tensor gets a view op (a
// header of the new shape over x's array, the same header every run);
// Gorgonia's Reshape, which training differentiates, makes a new header and
// its shape slices every run.
func (b *Builder) reshape(x *G.Node, to []int) ([]*G.Node, error) {
	if b.Opts.Mode != Infer || (x.Dtype() != tensor.Float32 && x.Dtype() != tensor.Float64) || shapeSize(to) != shapeSize(x.Shape()) {
		return one(G.Reshape(x, tensor.Shape(to)))
	}
	to = slices.Clone(to)
	var hdr buffer
	return one(G.ApplyOp(&kernelOp{
		name:  fmt.Sprintf("View%v", to),
		key:   fmt.Sprintf("onnxdigits.view#%d%v", nextOpID(), to),
		arity: 1,
		ptr:   true,
		typ:   func() hm.Type { return fnType(len(to), x.Dims()) },
		shape: fixedShape(to),
		do: func(vals []G.Value) (G.Value, error) {
			if vals[0].Dtype() == tensor.Float64 {
				return view[float64](&hdr, vals[0], to)
			}
			return view[float32](&hdr, vals[0], to)
		},
	}, x))
}

func view[T float](hdr *buffer, x G.Value, to []int) (G.Value, error) {
	d, err := dataOf[T](x)
	if err != nil {
		return nil, fmt.Errorf("reshape: %w", err)
	}
	if len(d) != shapeSize(to) {
		return nil, fmt.Errorf("reshape: %d values to %v", len(d), to)
	}
	return output(hdr, d, to), nil
}

func (b *Builder) lowerTranspose(t *graph.Transpose, n *graph.Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	p, err := t.Permutation(x.Dims())
	if err != nil {
		return nil, err
	}
	return one(G.Transpose(x, p...))
}

func (b *Builder) lowerDropout(d *graph.Dropout, n *graph.Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil || b.Opts.Mode != Train {
		return []*G.Node{x}, err
	}
	shape := x.Shape().Clone()
	mask := G.NewTensor(b.G, b.dtype(), len(shape), G.WithShape(shape...), G.WithName(n.Name+".mask"))
	keep := 1 - d.WithDefaults().Ratio
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

func (b *Builder) lowerSoftmax(s *graph.Softmax, n *graph.Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	axis, err := graph.NormAxis(s.Axis, x.Dims())
	if err != nil {
		return nil, err
	}
	if !s.Coerce2D || axis == x.Dims()-1 {
		return one(SoftmaxNode(x, axis, s.Log))
	}
	shape := x.Shape().Clone()
	flat, err := G.Reshape(x, tensor.Shape{shapeSize(shape[:axis]), shapeSize(shape[axis:])})
	if err != nil {
		return nil, err
	}
	y, err := SoftmaxNode(flat, 1, s.Log)
	if err != nil {
		return nil, err
	}
	return one(G.Reshape(y, shape))
}

// ArgMaxNode adds the int64 index of the largest value along axis of x (the
// axis dropped), as ONNX ArgMax with keepdims 0. The trainer reads its
// predictions from it: an int64 result is never reused as scratch by the tape
// machine, unlike a float value whose last use in the graph has passed.
func ArgMaxNode(x *G.Node, axis int) (*G.Node, error) {
	axis, err := graph.NormAxis(axis, x.Dims())
	if err != nil {
		return nil, err
	}
	return G.ApplyOp(argmaxOp(axis, false, false, x.Dims()), x)
}

func (b *Builder) lowerArgMax(a *graph.ArgMax, n *graph.Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	axis, err := graph.NormAxis(a.Axis, x.Dims())
	if err != nil {
		return nil, err
	}
	return one(G.ApplyOp(argmaxOp(axis, a.KeepDims, a.SelectLastIndex, x.Dims()), x))
}

func (b *Builder) lowerRelu(n *graph.Node) ([]*G.Node, error) {
	x, err := b.Input(n, 0)
	if err != nil {
		return nil, err
	}
	if x := fusedInto(n, x); x != nil {
		return []*G.Node{x}, nil // the op before applied this ReLU already
	}
	return one(G.ApplyOp(newReluOp(x.Shape()), x))
}
