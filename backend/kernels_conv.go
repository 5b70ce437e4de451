package backend

// Convolution as custom Gorgonia ops: kernels.ConvImage per image with a
// per-worker scratch buffer (im2col and one matrix product, or products on
// shifted rows of the padded image, as kernels.ConvGeom.Algo chooses), writing
// the (M, oH*oW) output of the image in NCHW order with the bias (and a fused
// ReLU) applied on the way. The
// backward pass has one op per gradient and builds only the ones a learnable
// parameter needs: the first layer's input gradient is never computed.

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convOp is y = conv(x, w) + b, optionally followed by a ReLU: the state of
// the op its gorgonia method makes once the lowering has set every field.
type convOp struct {
	opBase
	g     kernels.ConvGeom
	bias  bool
	relu  string // the Relu node fused into this op, or ""
	pool  string // the MaxPool node (2x2, stride 2) fused into this op at inference, or ""
	needX bool   // x takes a gradient
	needW bool
	needB bool
	bn    *convBN // a batch norm applied in the epilogue (inference), or nil
	out   buffer
	cols  buffers
	wf    buffer // weights and bias with bn folded in
	bf    buffer
	// packed is the weights as the product's panels (kernels.PackConvWeights),
	// packed once per run for all its images.
	packed []float32
}

// convBN is the inference batch norm a convOp applies to its output channels:
// inputs scale and shift follow the conv's, the running statistics come in
// through SetStats like a batch-norm op's.
type convBN struct {
	node            string
	eps             float64
	runMean, runVar *tensor.Dense
}

func newConvBN(node string, eps float64, c int, dt tensor.Dtype) *convBN {
	return &convBN{node: node, eps: eps,
		runMean: tensor.New(tensor.Of(dt), tensor.WithShape(c)), runVar: tensor.New(tensor.Of(dt), tensor.WithShape(c))}
}

// SetTraining, SetStats and Stats make a conv with a fused batch norm a
// batchNormStats for the Builder. Training never fuses, so SetTraining(true)
// is an error.
func (op *convOp) SetTraining(training bool) error {
	if training && op.bn != nil {
		return fmt.Errorf("conv: batch norm %q is fused for inference only", op.bn.node)
	}
	return nil
}

func (op *convOp) SetStats(mean, variance tensor.Tensor) error {
	if op.bn == nil {
		return fmt.Errorf("conv: no fused batch norm")
	}
	return setStats(op.bn.runMean, op.bn.runVar, mean, variance)
}

func (op *convOp) Stats() (mean, variance tensor.Tensor) {
	if op.bn == nil {
		return nil, nil
	}
	return op.bn.runMean, op.bn.runVar
}

func newConvOp(g kernels.ConvGeom, bias bool) *convOp {
	return &convOp{opBase: newOpBase(), g: g, bias: bias}
}

func (op *convOp) absorbs(node string) bool { return node == op.relu || node == op.pool }

func (op *convOp) arity() int {
	n := 2
	if op.bias {
		n++
	}
	if op.bn != nil {
		n += 2
	}
	return n
}

func (op *convOp) outShape() tensor.Shape {
	if op.pool != "" {
		return tensor.Shape{op.g.N, op.g.M, op.g.OH / 2, op.g.OW / 2}
	}
	return tensor.Shape{op.g.N, op.g.M, op.g.OH, op.g.OW}
}

func (op *convOp) String() string {
	if op.bn != nil {
		return fmt.Sprintf("ConvBN(relu=%v){%v}", op.relu != "", &op.g)
	}
	if op.pool != "" {
		return fmt.Sprintf("ConvReluMaxPool2(relu=%v){%v}", op.relu != "", &op.g)
	}
	if op.relu != "" {
		return fmt.Sprintf("ConvRelu{%v}", &op.g)
	}
	return fmt.Sprintf("Conv{%v}", &op.g)
}

// gorgonia returns the Gorgonia op running op.
func (op *convOp) gorgonia() G.Op {
	bn := ""
	if op.bn != nil {
		bn = op.bn.node
	}
	arity := op.arity()
	return &trainOp{
		diffOp: &diffOp{
			kernelOp: &kernelOp{
				name:  op.String(),
				key:   fmt.Sprintf("onnxdigits.conv#%d{%v bias=%v bn=%q relu=%q pool=%q}", op.id, &op.g, op.bias, bn, op.relu, op.pool),
				arity: arity,
				ptr:   true,
				state: op,
				typ: func() hm.Type {
					in := []int{4, 4}
					for range arity - 2 {
						in = append(in, 1)
					}
					return fnType(4, in...)
				},
				shape: fixedShape(op.outShape()),
				do:    op.do,
			},
			diff: op.diffWRT,
			grad: op.symDiff,
		},
		mode: op.SetTraining,
	}
}

func (op *convOp) do(vals []G.Value) (G.Value, error) {
	if len(vals) != op.arity() {
		return nil, fmt.Errorf("conv: want %d inputs, have %d", op.arity(), len(vals))
	}
	if vals[0].Dtype() == tensor.Float64 {
		return convForward[float64](op, vals)
	}
	return convForward[float32](op, vals)
}

func convForward[T float](op *convOp, vals []G.Value) (G.Value, error) {
	x, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("conv: x: %w", err)
	}
	w, err := dataOf[T](vals[1])
	if err != nil {
		return nil, fmt.Errorf("conv: w: %w", err)
	}
	var bias []T
	if op.bias {
		if bias, err = dataOf[T](vals[2]); err != nil {
			return nil, fmt.Errorf("conv: b: %w", err)
		}
	}
	g := &op.g
	if op.bn != nil {
		if w, bias, err = foldBN(op, w, bias, vals[len(vals)-2:]); err != nil {
			return nil, err
		}
	}
	out := op.outShape()
	per := shapeSize(out[1:]) // output values per image
	y := get[T](&op.out, g.N*per)
	relu := op.relu != ""
	op.cols.prepare(kernels.NumWorkers(g.N))
	scratch := g.ConvScratch()
	if op.pool != "" {
		scratch = g.ConvPoolScratch()
	}
	packed := kernels.PackConvWeights(g, w, op.packed)
	if packed != nil {
		op.packed = packed
	}
	kernels.ParallelFor(g.N, func(wk, i int) {
		xi := x[i*g.InSize():][:g.InSize()]
		yi := y[i*per:][:per]
		s := get[T](op.cols.worker(wk), scratch)
		if op.pool != "" {
			kernels.ConvImagePool2(g, xi, w, bias, yi, relu, s, packed)
		} else {
			kernels.ConvImage(g, xi, w, bias, yi, relu, s, packed)
		}
	})
	return output(&op.out, y, out), nil
}

// foldBN returns the weights and bias of the conv followed by its batch norm:
// channel c scaled by a = scale/sqrt(var+eps), bias a*(b-mean)+shift.
func foldBN[T float](op *convOp, w, bias []T, vals []G.Value) ([]T, []T, error) {
	scale, err := dataOf[T](vals[0])
	if err != nil {
		return nil, nil, fmt.Errorf("conv: batch norm scale: %w", err)
	}
	shift, err := dataOf[T](vals[1])
	if err != nil {
		return nil, nil, fmt.Errorf("conv: batch norm shift: %w", err)
	}
	M, K := op.g.M, op.g.K()
	rm, rv := op.bn.runMean.Data().([]T), op.bn.runVar.Data().([]T)
	if len(scale) != M || len(shift) != M || len(rm) != M || len(w) != M*K {
		return nil, nil, fmt.Errorf("conv: batch norm of %d channels after %d filters", len(scale), M)
	}
	wf, bf := get[T](&op.wf, M*K), get[T](&op.bf, M)
	for c := range M {
		b := 0.0
		if bias != nil {
			b = float64(bias[c])
		}
		a, folded := graph.FoldChannel(float64(scale[c]), float64(shift[c]), float64(rm[c]), float64(rv[c]), b, op.bn.eps)
		bf[c] = T(folded)
		for i, v := range w[c*K : (c+1)*K] {
			wf[c*K+i] = T(a * float64(v))
		}
	}
	return wf, bf, nil
}

func (op *convOp) diffWRT(inputs int) []bool {
	d := []bool{op.needX, op.needW, op.needB}
	return d[:inputs]
}

func (op *convOp) symDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != op.arity() {
		return nil, fmt.Errorf("conv: want %d inputs, have %d", op.arity(), len(inputs))
	}
	var err error
	dy := grad
	if op.relu != "" {
		if dy, err = G.ApplyOp(newReluGradOp(), output, grad); err != nil {
			return nil, err
		}
	}
	out := make(G.Nodes, len(inputs))
	if op.needX {
		if out[0], err = G.ApplyOp(newConvGradXOp(op), inputs[1], dy); err != nil {
			return nil, err
		}
	}
	if op.needW {
		if out[1], err = G.ApplyOp(newConvGradWOp(op), inputs[0], dy); err != nil {
			return nil, err
		}
	}
	if op.bias && op.needB {
		if out[2], err = G.ApplyOp(newBiasGradOp(op.g.N, op.g.M, op.g.P(), 0, "conv"), dy); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// convGradX is the input gradient: per image, dcol = Wᵀ·dY, then kernels.Col2im.
type convGradX struct {
	fwd   *convOp
	out   buffer
	wt    buffer
	dcols buffers
}

func newConvGradXOp(fwd *convOp) *kernelOp {
	op := &convGradX{fwd: fwd}
	g := &fwd.g
	return &kernelOp{
		name:  fmt.Sprintf("ConvGradX{%v}", g),
		key:   fmt.Sprintf("onnxdigits.convgradx#%d/%d", nextOpID(), fwd.id),
		arity: 2,
		ptr:   true,
		typ:   func() hm.Type { return fnType(4, 4, 4) },
		shape: fixedShape([]int{g.N, g.C, g.H, g.W}),
		do:    byDtype(op, convGradXDo[float32], convGradXDo[float64]),
	}
}

func convGradXDo[T float](op *convGradX, vals []G.Value) (G.Value, error) {
	w, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("conv gradient: w: %w", err)
	}
	dy, err := dataOf[T](vals[1])
	if err != nil {
		return nil, fmt.Errorf("conv gradient: dy: %w", err)
	}
	g := &op.fwd.g
	K, P := g.K(), g.P()
	wt := get[T](&op.wt, K*g.M)
	kernels.Transpose(g.M, K, w, K, wt, g.M)
	dx := get[T](&op.out, g.N*g.InSize())
	op.dcols.prepare(kernels.NumWorkers(g.N))
	kernels.ParallelFor(g.N, func(wk, i int) {
		dxi := dx[i*g.InSize():][:g.InSize()]
		dyi := dy[i*g.M*P:][:g.M*P]
		if g.Direct() {
			kernels.GemmNN(K, P, g.M, wt, g.M, dyi, P, dxi, P, false, nil, false)
			return
		}
		dcol := get[T](op.dcols.worker(wk), K*P)
		kernels.GemmNN(K, P, g.M, wt, g.M, dyi, P, dcol, P, false, nil, false)
		clear(dxi)
		kernels.Col2im(g, dcol, dxi)
	})
	return wrap(dx, []int{g.N, g.C, g.H, g.W}), nil
}

// convGradW is the weight gradient Σ over images of dY·colᵀ.
type convGradW struct {
	fwd     *convOp
	out     buffer
	partial buffer
	cols    buffers
	parts   buffers // unreduced per-tile sums of a chunk (assembly path)
}

func newConvGradWOp(fwd *convOp) *kernelOp {
	op := &convGradW{fwd: fwd}
	g := &fwd.g
	return &kernelOp{
		name:  fmt.Sprintf("ConvGradW{%v}", g),
		key:   fmt.Sprintf("onnxdigits.convgradw#%d/%d", nextOpID(), fwd.id),
		arity: 2,
		ptr:   true,
		typ:   func() hm.Type { return fnType(4, 4, 4) },
		shape: fixedShape([]int{g.M, g.C, g.KH, g.KW}),
		do:    byDtype(op, convGradWDo[float32], convGradWDo[float64]),
	}
}

func convGradWDo[T float](op *convGradW, vals []G.Value) (G.Value, error) {
	x, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("conv gradient: x: %w", err)
	}
	dy, err := dataOf[T](vals[1])
	if err != nil {
		return nil, fmt.Errorf("conv gradient: dy: %w", err)
	}
	g := &op.fwd.g
	MK := g.M * g.K()
	chunks := kernels.NumChunks(g.N, kernels.ReduceChunks)
	partial := get[T](&op.partial, chunks*MK)
	op.cols.prepare(kernels.NumWorkers(chunks))
	op.parts.prepare(kernels.NumWorkers(chunks))
	kernels.ParallelFor(chunks, func(wk, c int) {
		lo, hi := kernels.ChunkRange(g.N, chunks, c)
		cols, parts := op.cols.worker(wk), op.parts.worker(wk)
		kernels.ConvGradW(g, x, dy, lo, hi, partial[c*MK:][:MK],
			func(n int) []T { return get[T](cols, n) },
			func(n int) []float32 { return get[float32](parts, n) })
	})
	dw := get[T](&op.out, MK)
	copy(dw, partial[:MK])
	for c := 1; c < chunks; c++ {
		kernels.AddTo(dw, partial[c*MK:][:MK])
	}
	return wrap(dw, []int{g.M, g.C, g.KH, g.KW}), nil
}

// biasGrad sums dy (N,C,S...) over everything but the channel: the gradient
// of a per-channel bias.
type biasGrad struct {
	n, c, s int
	out     buffer
	partial []float64
}

// newBiasGradOp sums dy (n,c,s) of rank dims (0: 4) for the bias of what.
func newBiasGradOp(n, c, s, dims int, what string) *kernelOp {
	op := &biasGrad{n: n, c: c, s: s}
	if dims == 0 {
		dims = 4
	}
	return &kernelOp{
		name:  fmt.Sprintf("BiasGrad{%s %dx%dx%d}", what, n, c, s),
		key:   fmt.Sprintf("onnxdigits.biasgrad#%d{%d,%d,%d,%d}", nextOpID(), n, c, s, dims),
		arity: 1,
		ptr:   true,
		typ:   func() hm.Type { return fnType(1, dims) },
		shape: fixedShape([]int{c}),
		do:    byDtype(op, biasGradDo[float32], biasGradDo[float64]),
	}
}

func biasGradDo[T float](op *biasGrad, vals []G.Value) (G.Value, error) {
	dy, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("bias gradient: %w", err)
	}
	chunks := kernels.NumChunks(op.n, kernels.ReduceChunks)
	if cap(op.partial) < chunks*op.c {
		op.partial = make([]float64, chunks*op.c)
	}
	partial := op.partial[:chunks*op.c]
	kernels.ParallelFor(chunks, func(_, ch int) {
		lo, hi := kernels.ChunkRange(op.n, chunks, ch)
		ps := partial[ch*op.c:][:op.c]
		clear(ps)
		for i := lo; i < hi; i++ {
			for c := range op.c {
				ps[c] += float64(kernels.Sum(dy[(i*op.c+c)*op.s:][:op.s]))
			}
		}
	})
	db := get[T](&op.out, op.c)
	for c := range op.c {
		s := 0.0
		for ch := range chunks {
			s += partial[ch*op.c+c]
		}
		db[c] = T(s)
	}
	return wrap(db, []int{op.c}), nil
}
