package backend

// Elementwise Add, Sub, Mul and Div of a tensor and a smaller one repeated
// over its leading dims, as one op: the input normalization (image minus the
// mean image) without Gorgonia's materialised Repeat and cloned result. It is
// used only where neither input takes a gradient; other cases keep Gorgonia's
// broadcast ops.

import (
	"fmt"
	"hash"
	"slices"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

type repeatBinaryOp struct {
	opBase
	kind         string // "Add", "Sub", "Mul" or "Div"
	smallLeft    bool   // the repeated operand is the left one
	shape        tensor.Shape
	ra, rb       int // input ranks
	outer, inner int
	out          buffer
}

// newRepeatBinaryOp returns the op for a kind b, or nil when the shapes are
// not "full tensor and a trailing block of it" or a gradient is needed.
func newRepeatBinaryOp(bd *Builder, kind string, a, b *G.Node) *repeatBinaryOp {
	if bd.needsGrad(a) || bd.needsGrad(b) {
		return nil
	}
	as, bs := []int(a.Shape()), []int(b.Shape())
	op := &repeatBinaryOp{opBase: newOpBase(), kind: kind, ra: len(as), rb: len(bs)}
	big, small := as, bs
	if shapeSize(bs) > shapeSize(as) {
		big, small = bs, as
		op.smallLeft = true
	}
	for len(small) > 0 && small[0] == 1 {
		small = small[1:]
	}
	if len(small) > len(big) || !slices.Equal(big[len(big)-len(small):], small) || len(big) == 0 {
		return nil
	}
	op.shape = tensor.Shape(slices.Clone(big))
	op.inner = shapeSize(small)
	op.outer = shapeSize(big) / op.inner
	return op
}

func (op *repeatBinaryOp) Arity() int     { return 2 }
func (op *repeatBinaryOp) Type() hm.Type  { return fnType(len(op.shape), op.ra, op.rb) }
func (op *repeatBinaryOp) String() string { return fmt.Sprintf("%sRepeated%v", op.kind, op.shape) }
func (op *repeatBinaryOp) Hashcode() uint32 {
	return opHash(op)
}
func (op *repeatBinaryOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "onnxdigits.repeatbinary#%d{%s %v left=%v}", op.id, op.kind, op.shape, op.smallLeft)
}
func (op *repeatBinaryOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

func (op *repeatBinaryOp) Do(vals ...G.Value) (G.Value, error) {
	if vals[0].Dtype() == tensor.Float64 {
		return repeatBinary[float64](op, vals)
	}
	return repeatBinary[float32](op, vals)
}

func repeatBinary[T float](op *repeatBinaryOp, vals []G.Value) (G.Value, error) {
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
	y := get[T](&op.out, len(big))
	chunks := kernels.NumChunks(len(big)/kernels.ElementGrain, 2*kernels.NumWorkers(len(big)/kernels.ElementGrain))
	kernels.ParallelFor(chunks, func(_, c int) {
		lo, hi := kernels.ChunkRange(op.outer, chunks, c)
		for o := lo; o < hi; o++ {
			x, yo := big[o*op.inner:][:op.inner], y[o*op.inner:][:op.inner]
			kernels.BinaryRow(op.kind, op.smallLeft, x, small, yo)
		}
	})
	return wrap(y, op.shape), nil
}
