package backend

// Elementwise Add, Sub, Mul and Div of a tensor and a smaller one repeated
// over its leading dims, as one op: the input normalization (image minus the
// mean image) without Gorgonia's materialised Repeat and cloned result. It is
// used only where neither input takes a gradient; other cases keep Gorgonia's
// broadcast ops.

import (
	"fmt"
	"slices"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// repeatBinary is the geometry of a repeated binary op.
type repeatBinary struct {
	kind         string // "Add", "Sub", "Mul" or "Div"
	smallLeft    bool   // the repeated operand is the left one
	shape        tensor.Shape
	outer, inner int
}

// newRepeatBinaryOp returns the op for a kind b, or nil when the shapes are
// not "full tensor and a trailing block of it" or a gradient is needed.
func newRepeatBinaryOp(bd *Builder, kind string, a, b *G.Node) *kernelOp {
	if bd.needsGrad(a) || bd.needsGrad(b) {
		return nil
	}
	as, bs := []int(a.Shape()), []int(b.Shape())
	id := nextOpID()
	r := &repeatBinary{kind: kind}
	big, small := as, bs
	if shapeSize(bs) > shapeSize(as) {
		big, small = bs, as
		r.smallLeft = true
	}
	for len(small) > 0 && small[0] == 1 {
		small = small[1:]
	}
	if len(small) > len(big) || !slices.Equal(big[len(big)-len(small):], small) || len(big) == 0 {
		return nil
	}
	r.shape = tensor.Shape(slices.Clone(big))
	r.inner = shapeSize(small)
	r.outer = shapeSize(big) / r.inner
	ra, rb := len(as), len(bs)
	var out buffer
	return &kernelOp{
		name:  fmt.Sprintf("%sRepeated%v", kind, r.shape),
		key:   fmt.Sprintf("onnxdigits.repeatbinary#%d{%s %v left=%v}", id, kind, r.shape, r.smallLeft),
		arity: 2,
		ptr:   true,
		typ:   func() hm.Type { return fnType(len(r.shape), ra, rb) },
		shape: fixedShape(r.shape),
		do: func(vals []G.Value) (G.Value, error) {
			if vals[0].Dtype() == tensor.Float64 {
				return repeatBinaryDo[float64](r, &out, vals)
			}
			return repeatBinaryDo[float32](r, &out, vals)
		},
	}
}

func repeatBinaryDo[T float](op *repeatBinary, out *buffer, vals []G.Value) (G.Value, error) {
	a, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.kind, err)
	}
	b, err := dataOf[T](vals[1])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.kind, err)
	}
	big, small := a, b
	if op.smallLeft {
		big, small = b, a
	}
	if len(big) != op.outer*op.inner || len(small) != op.inner {
		return nil, fmt.Errorf("%s: operands of %d and %d values for %v", op.kind, len(a), len(b), op.shape)
	}
	y := get[T](out, len(big))
	chunks := kernels.NumChunks(len(big)/kernels.ElementGrain, 2*kernels.NumWorkers(len(big)/kernels.ElementGrain))
	kernels.ParallelFor(chunks, func(_, c int) {
		lo, hi := kernels.ChunkRange(op.outer, chunks, c)
		for o := lo; o < hi; o++ {
			x, yo := big[o*op.inner:][:op.inner], y[o*op.inner:][:op.inner]
			kernels.BinaryRow(op.kind, op.smallLeft, x, small, yo)
		}
	})
	return output(out, y, op.shape), nil
}
