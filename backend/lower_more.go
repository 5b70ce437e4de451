package backend

import (
	"fmt"

	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
)

// Lowerings of the ops imported from other producers' models, onto applyFn kernels
// (kernels_more.go).

func (b *Builder) lowerFn(n *graph.Node, params string, k32 kernel[float32], k64 kernel[float64]) ([]*G.Node, error) {
	in, err := inputs(b, n)
	if err != nil {
		return nil, err
	}
	for _, x := range in {
		// The kernels are forward only: fine before any learnable parameter
		// (an input adapter), not where a gradient must flow through.
		if b.needsGrad(x) {
			return nil, fmt.Errorf("%s cannot be trained yet (it has no gradient; fine-tune a model without it, or run it for inference)", n.Op.Type())
		}
	}
	out, err := b.outShapes(n)
	if err != nil {
		return nil, err
	}
	return applyFn(n.Op.Type(), params, out[0], k32, k64, in...)
}

func (b *Builder) lowerMore(n *graph.Node) ([]*G.Node, error) {
	out, err := b.outShapes(n)
	if err != nil {
		return nil, err
	}
	o := out[0]
	switch op := n.Op.(type) {
	case *graph.Unary:
		return b.lowerFn(n, fmt.Sprint(*op), unaryKernel[float32](op), unaryKernel[float64](op))
	case *graph.Pad:
		return b.lowerFn(n, fmt.Sprint(*op), padKernel[float32](op, o), padKernel[float64](op, o))
	case *graph.Concat:
		axis, err := graph.NormAxis(op.Axis, len(o))
		if err != nil {
			return nil, err
		}
		return b.lowerFn(n, fmt.Sprint(axis), concatKernel[float32](axis), concatKernel[float64](axis))
	case *graph.Slice:
		axis, err := graph.NormAxis(op.Axis, len(o))
		if err != nil {
			return nil, err
		}
		return b.lowerFn(n, fmt.Sprint(*op), sliceKernel[float32](op, axis), sliceKernel[float64](op, axis))
	case *graph.Expand:
		return b.lowerFn(n, fmt.Sprint(o), expandKernel[float32](o), expandKernel[float64](o))
	case *graph.Tile:
		return b.lowerFn(n, fmt.Sprint(o), tileKernel[float32](o), tileKernel[float64](o))
	case *graph.Reduce:
		x, err := b.Input(n, 0)
		if err != nil {
			return nil, err
		}
		axes, err := op.ReduceAxes(x.Dims())
		if err != nil {
			return nil, err
		}
		return b.lowerFn(n, fmt.Sprint(*op), reduceKernel[float32](op.Kind, axes, o), reduceKernel[float64](op.Kind, axes, o))
	case *graph.Resize:
		return b.lowerFn(n, fmt.Sprint(*op), resizeKernel[float32](op, o), resizeKernel[float64](op, o))
	case *graph.Binary:
		return b.lowerFn(n, op.Kind, binaryKernel[float32](op.Kind, o), binaryKernel[float64](op.Kind, o))
	}
	return nil, fmt.Errorf("op %s (%T) has no lowering", n.Op.Type(), n.Op)
}
