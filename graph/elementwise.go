package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Binary is an elementwise Add, Sub, Mul or Div with numpy broadcasting
// (https://onnx.ai/onnx/operators/onnx__Add.html and siblings). The input
// normalization of our models is a Sub of the training mean image.
type Binary struct {
	Kind string // "Add", "Sub", "Mul" or "Div"
}

func (o *Binary) Type() string { return o.Kind }

func (o *Binary) fn() (func(a, b *G.Node, l, r []byte) (*G.Node, error), error) {
	switch o.Kind {
	case "Add":
		return G.BroadcastAdd, nil
	case "Sub":
		return G.BroadcastSub, nil
	case "Mul":
		return G.BroadcastHadamardProd, nil
	case "Div":
		return G.BroadcastHadamardDiv, nil
	}
	return nil, fmt.Errorf("unknown elementwise op %q", o.Kind)
}

func (o *Binary) InferShapes(in [][]int, _ []*Tensor) ([][]int, error) {
	if _, err := o.fn(); err != nil {
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

func (o *Binary) Forward(b *Builder, n *Node) ([]*G.Node, error) {
	f, err := o.fn()
	if err != nil {
		return nil, err
	}
	in, err := inputs(b, n)
	if err != nil {
		return nil, err
	}
	if op := newRepeatBinaryOp(b, o.Kind, in[0], in[1]); op != nil {
		return one(G.ApplyOp(op, in[0], in[1]))
	}
	return one(broadcastBinary(f, in[0], in[1]))
}

// broadcastBinary applies a Gorgonia broadcast op with numpy semantics: the
// lower-rank side gets leading 1s, then every dim of size 1 facing a larger one
// is broadcast.
func broadcastBinary(f func(a, b *G.Node, l, r []byte) (*G.Node, error), a, b *G.Node) (*G.Node, error) {
	as, bs := a.Shape(), b.Shape()
	n := max(len(as), len(bs))
	var err error
	if len(as) < n {
		if a, err = G.Reshape(a, padShape(as, n)); err != nil {
			return nil, err
		}
	}
	if len(bs) < n {
		if b, err = G.Reshape(b, padShape(bs, n)); err != nil {
			return nil, err
		}
	}
	as, bs = a.Shape(), b.Shape()
	var left, right []byte
	for i := range n {
		switch {
		case as[i] == bs[i]:
		case as[i] == 1:
			left = append(left, byte(i))
		case bs[i] == 1:
			right = append(right, byte(i))
		default:
			return nil, fmt.Errorf("%v and %v do not broadcast", as, bs)
		}
	}
	return f(a, b, left, right)
}

func padShape(s tensor.Shape, n int) tensor.Shape {
	out := make(tensor.Shape, n)
	for i := range out {
		out[i] = 1
	}
	copy(out[n-len(s):], s)
	return out
}
