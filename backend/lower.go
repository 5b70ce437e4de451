package backend

import (
	"fmt"

	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
)

// lower adds the Gorgonia nodes of IR node n to b: one case per IR op type.
// Shapes were checked by graph's InferShapes before lowering.
func (b *Builder) lower(n *graph.Node) ([]*G.Node, error) {
	switch op := n.Op.(type) {
	case *graph.Conv:
		return b.lowerConv(op, n)
	case *graph.BatchNorm:
		return b.lowerBatchNorm(op, n)
	case *graph.Relu:
		return b.lowerRelu(n)
	case *graph.Pool:
		return b.lowerPool(op, n)
	case *graph.GlobalAveragePool:
		return b.lowerGlobalAveragePool(n)
	case *graph.Flatten, *graph.Reshape:
		return b.lowerReshape(n)
	case *graph.Transpose:
		return b.lowerTranspose(op, n)
	case *graph.Identity:
		x, err := b.Input(n, 0)
		return []*G.Node{x}, err
	case *graph.Dropout:
		return b.lowerDropout(op, n)
	case *graph.Gemm:
		return b.lowerGemm(op, n)
	case *graph.MatMul:
		return b.lowerMatMul(n)
	case *graph.Binary:
		if op.Kind == "Max" || op.Kind == "Min" || op.Kind == "Pow" {
			return b.lowerMore(n)
		}
		return b.lowerBinary(op, n)
	case *graph.Unary, *graph.Pad, *graph.Concat, *graph.Slice, *graph.Expand, *graph.Tile, *graph.Reduce, *graph.Resize:
		return b.lowerMore(n)
	case *graph.Softmax:
		return b.lowerSoftmax(op, n)
	case *graph.ArgMax:
		return b.lowerArgMax(op, n)
	}
	return nil, fmt.Errorf("op %s (%T) has no lowering to Gorgonia", n.Op.Type(), n.Op)
}

// outShapes runs the IR shape inference of n on the shapes its inputs were
// built with (this build's batch size) and the parameters it reads.
func (b *Builder) outShapes(n *graph.Node) ([][]int, error) {
	in := make([][]int, len(n.Inputs))
	consts := make([]*graph.Tensor, len(n.Inputs))
	for i, name := range n.Inputs {
		if name == "" {
			continue
		}
		if v := b.values[name]; v != nil {
			in[i] = v.Shape()
			continue
		}
		p := b.Model.Param(name)
		if p == nil {
			return nil, fmt.Errorf("input %q is not built", name)
		}
		in[i], consts[i] = p.Dims, p
	}
	return n.Op.InferShapes(in, consts)
}

// inputs builds all present inputs of n.
func inputs(b *Builder, n *graph.Node) ([]*G.Node, error) {
	out := make([]*G.Node, len(n.Inputs))
	for i := range n.Inputs {
		v, err := b.Input(n, i)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func one(n *G.Node, err error) ([]*G.Node, error) {
	if err != nil {
		return nil, err
	}
	return []*G.Node{n}, nil
}
