package backend

// Batch normalization as custom ops: scale and shift are inputs of the op (no
// broadcast nodes), a following ReLU is fused, and the backward pass reads the
// forward input once for both parameter gradients and once for the input
// gradient.
//
// Layout: x is (N,C,S) with S = H*W (or 1 for (N,C) inputs). Training uses the
// batch mean and biased variance of each channel over N*S values, computed in
// one pass as sums of x - x[0,c,0] (a shift that keeps E[d²]-E[d]² well
// conditioned) accumulated in float64, and updates the running statistics as
// PyTorch and Gorgonia do: running = (1-m)*running + m*batch, the variance
// unbiased (m weights the new batch).

import (
	"fmt"
	"math"
	"strings"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// batchNormStats is the running-statistics interface Builder uses to restore and
// save a batch-norm op's state (AfterMachine, SyncStats).
type batchNormStats interface {
	SetTraining(bool) error
	SetStats(mean, variance tensor.Tensor) error
	Stats() (mean, variance tensor.Tensor)
}

type bnOp struct {
	opBase
	n, c, s  int
	xshape   tensor.Shape
	dims     int
	eps      float64
	momentum float64 // weight of the batch in the running statistics
	training bool
	relu     string
	needX    bool
	needS    bool
	needB    bool

	runMean, runVar *tensor.Dense // (C) in the graph's dtype
	mean, invStd    []float64     // statistics of the last forward run
	variance        []float64     // biased batch variance of the last training run
	a, b            buffer        // per-channel y = a*x + b of the last run
	out             buffer
	partial         []float64
}

func newBNOp(shape tensor.Shape, eps, momentum float64, dt tensor.Dtype) *bnOp {
	op := &bnOp{opBase: newOpBase(), n: shape[0], c: shape[1], s: 1, xshape: shape.Clone(), dims: len(shape), eps: eps, momentum: momentum, training: true}
	for _, d := range shape[2:] {
		op.s *= d
	}
	op.runMean = tensor.New(tensor.Of(dt), tensor.WithShape(op.c))
	op.runVar = tensor.New(tensor.Of(dt), tensor.WithShape(op.c))
	op.mean = make([]float64, op.c)
	op.invStd = make([]float64, op.c)
	op.variance = make([]float64, op.c)
	return op
}

func (op *bnOp) absorbs(node string) bool { return node == op.relu }

func (op *bnOp) String() string {
	if op.relu != "" {
		return fmt.Sprintf("BatchNormRelu{eps=%g}", op.eps)
	}
	return fmt.Sprintf("BatchNorm{eps=%g}", op.eps)
}

// gorgonia returns the Gorgonia op running op, once the lowering has set every
// field.
func (op *bnOp) gorgonia() G.Op {
	dims := op.dims
	return &trainOp{
		diffOp: &diffOp{
			kernelOp: &kernelOp{
				name:  op.String(),
				key:   fmt.Sprintf("onnxdigits.bn#%d{%d,%d,%d eps=%g m=%g relu=%q}", op.id, op.n, op.c, op.s, op.eps, op.momentum, op.relu),
				arity: 3,
				ptr:   true,
				state: op,
				typ:   func() hm.Type { return fnType(dims, dims, 1, 1) },
				shape: inputShape("batch norm"),
				do:    op.do,
			},
			diff: func(int) []bool { return []bool{op.needX, op.needS, op.needB} },
			grad: op.symDiff,
		},
		mode: op.SetTraining,
	}
}

// SetTraining selects batch statistics (true) or the running ones.
func (op *bnOp) SetTraining(training bool) error {
	op.training = training
	return nil
}

// SetStats copies the running statistics in.
func (op *bnOp) SetStats(mean, variance tensor.Tensor) error {
	return setStats(op.runMean, op.runVar, mean, variance)
}

// setStats copies mean and variance into runMean and runVar.
func setStats(runMean, runVar *tensor.Dense, mean, variance tensor.Tensor) error {
	c := runMean.Shape().TotalSize()
	if mean.Shape().TotalSize() != c || variance.Shape().TotalSize() != c {
		return fmt.Errorf("batch norm: statistics of %v and %v for %d channels", mean.Shape(), variance.Shape(), c)
	}
	if mean.Dtype() != runMean.Dtype() || variance.Dtype() != runVar.Dtype() {
		return fmt.Errorf("batch norm: statistics are %v, want %v", mean.Dtype(), runMean.Dtype())
	}
	switch d := runMean.Data().(type) {
	case []float32:
		copy(d, mean.Data().([]float32))
		copy(runVar.Data().([]float32), variance.Data().([]float32))
	case []float64:
		copy(d, mean.Data().([]float64))
		copy(runVar.Data().([]float64), variance.Data().([]float64))
	}
	return nil
}

// Stats returns the running statistics.
func (op *bnOp) Stats() (mean, variance tensor.Tensor) { return op.runMean, op.runVar }

func (op *bnOp) do(vals []G.Value) (G.Value, error) {
	if len(vals) != 3 {
		return nil, fmt.Errorf("batch norm: want 3 inputs, have %d", len(vals))
	}
	if vals[0].Dtype() == tensor.Float64 {
		return bnForward[float64](op, vals)
	}
	return bnForward[float32](op, vals)
}

func bnForward[T float](op *bnOp, vals []G.Value) (G.Value, error) {
	x, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("batch norm: x: %w", err)
	}
	scale, err := dataOf[T](vals[1])
	if err != nil {
		return nil, fmt.Errorf("batch norm: scale: %w", err)
	}
	bias, err := dataOf[T](vals[2])
	if err != nil {
		return nil, fmt.Errorf("batch norm: bias: %w", err)
	}
	C, S := op.c, op.s
	if len(x) != op.n*C*S || len(scale) != C || len(bias) != C {
		return nil, fmt.Errorf("batch norm: %d values, %d scales and %d biases for (%d,%d,%d)", len(x), len(scale), len(bias), op.n, C, S)
	}
	rm, rv := op.runMean.Data().([]T), op.runVar.Data().([]T)
	if op.training {
		batchStats(op, x)
		cnt := float64(op.n * S)
		m := op.momentum
		for c := range C {
			v := op.variance[c]
			unbiased := v
			if cnt > 1 {
				unbiased = v * cnt / (cnt - 1)
			}
			rm[c] = T((1-m)*float64(rm[c]) + m*op.mean[c])
			rv[c] = T((1-m)*float64(rv[c]) + m*unbiased)
		}
	} else {
		for c := range C {
			op.mean[c] = float64(rm[c])
			op.invStd[c] = 1 / math.Sqrt(float64(rv[c])+op.eps)
		}
	}
	a, b := get[T](&op.a, C), get[T](&op.b, C)
	for c := range C {
		ac := float64(scale[c]) * op.invStd[c]
		a[c] = T(ac)
		b[c] = T(float64(bias[c]) - op.mean[c]*ac)
	}
	y := get[T](&op.out, len(x))
	relu := op.relu != ""
	kernels.ParallelFor(kernels.NumChunks(op.n, 4*kernels.NumWorkers(op.n)), func(_, ch int) {
		lo, hi := kernels.ChunkRange(op.n, kernels.NumChunks(op.n, 4*kernels.NumWorkers(op.n)), ch)
		for i := lo; i < hi; i++ {
			for c := range C {
				o := (i*C + c) * S
				kernels.Affine(x[o:o+S], y[o:o+S], a[c], b[c], relu)
			}
		}
	})
	return output(&op.out, y, vals[0].Shape()), nil
}

// partialSums returns a reused buffer of two per-channel float64 sums per chunk
// (chunks*2*c values), growing *buf when needed.
func partialSums(buf *[]float64, chunks, c int) []float64 {
	if cap(*buf) < chunks*2*c {
		*buf = make([]float64, chunks*2*c)
	}
	return (*buf)[:chunks*2*c]
}

// batchStats sets op.mean, op.variance and op.invStd from the batch x (N,C,S).
func batchStats[T float](op *bnOp, x []T) {
	C, S := op.c, op.s
	chunks := kernels.NumChunks(op.n, kernels.ReduceChunks)
	partial := partialSums(&op.partial, chunks, C)
	kernels.ParallelFor(chunks, func(_, ch int) {
		lo, hi := kernels.ChunkRange(op.n, chunks, ch)
		ps := partial[ch*2*C:][:2*C]
		clear(ps)
		for i := lo; i < hi; i++ {
			for c := range C {
				s1, s2 := kernels.ShiftedSums(x[(i*C+c)*S:][:S], x[c*S])
				ps[c] += float64(s1)
				ps[C+c] += float64(s2)
			}
		}
	})
	cnt := float64(op.n * S)
	for c := range C {
		var s1, s2 float64
		for ch := range chunks {
			s1 += partial[ch*2*C+c]
			s2 += partial[ch*2*C+C+c]
		}
		m1 := s1 / cnt
		v := max(s2/cnt-m1*m1, 0)
		op.mean[c] = float64(x[c*S]) + m1
		op.variance[c] = v
		op.invStd[c] = 1 / math.Sqrt(v+op.eps)
	}
}

func (op *bnOp) symDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 3 {
		return nil, fmt.Errorf("batch norm: want 3 inputs, have %d", len(inputs))
	}
	x, scale := inputs[0], inputs[1]
	in := G.Nodes{x, grad}
	if op.relu != "" {
		in = append(in, output)
	}
	sums, err := G.ApplyOp(newBNSumsOp(op), in...)
	if err != nil {
		return nil, err
	}
	out := make(G.Nodes, 3)
	if op.needX {
		gx := newBNGradXOp(op, ownGradient(grad))
		if out[0], err = G.ApplyOp(gx, append(in, scale, sums)...); err != nil {
			return nil, err
		}
	}
	if op.needS {
		if out[1], err = G.ApplyOp(newRowOp(1, op.c), sums); err != nil {
			return nil, err
		}
	}
	if op.needB {
		if out[2], err = G.ApplyOp(newRowOp(0, op.c), sums); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bnSums computes, from x, dy and (with a fused ReLU) the forward output y,
// the (2,C) sums Σdz (the bias gradient) and Σdz·x̂ (the scale gradient), with
// dz = dy masked by y > 0 and x̂ = (x-mean)·invStd.
type bnSums struct {
	fwd     *bnOp
	out     buffer
	partial []float64
}

func newBNSumsOp(fwd *bnOp) *kernelOp {
	op := &bnSums{fwd: fwd}
	d, arity := fwd.dims, 2
	if fwd.relu != "" {
		arity = 3
	}
	return &kernelOp{
		name:  "BatchNormGradSums",
		key:   fmt.Sprintf("onnxdigits.bnsums#%d/%d", nextOpID(), fwd.id),
		arity: arity,
		ptr:   true,
		typ: func() hm.Type {
			if arity == 3 {
				return fnType(2, d, d, d)
			}
			return fnType(2, d, d)
		},
		shape: fixedShape([]int{2, fwd.c}),
		do:    byDtype(op, bnSumsDo[float32], bnSumsDo[float64]),
	}
}

// bnInputs reads x, dy and (when the ReLU is fused) y.
func bnInputs[T float](fwd *bnOp, vals []G.Value) (x, dy, y []T, err error) {
	if x, err = dataOf[T](vals[0]); err != nil {
		return
	}
	if dy, err = dataOf[T](vals[1]); err != nil {
		return
	}
	if fwd.relu != "" {
		if y, err = dataOf[T](vals[2]); err != nil {
			return
		}
	}
	n := fwd.n * fwd.c * fwd.s
	if len(x) != n || len(dy) != n || (y != nil && len(y) != n) {
		err = fmt.Errorf("want %d values", n)
	}
	return
}

func bnSumsDo[T float](op *bnSums, vals []G.Value) (G.Value, error) {
	f := op.fwd
	x, dy, y, err := bnInputs[T](f, vals)
	if err != nil {
		return nil, fmt.Errorf("batch norm gradient: %w", err)
	}
	C, S := f.c, f.s
	chunks := kernels.NumChunks(f.n, kernels.ReduceChunks)
	partial := partialSums(&op.partial, chunks, C)
	kernels.ParallelFor(chunks, func(_, ch int) {
		lo, hi := kernels.ChunkRange(f.n, chunks, ch)
		ps := partial[ch*2*C:][:2*C]
		clear(ps)
		for i := lo; i < hi; i++ {
			for c := range C {
				o := (i*C + c) * S
				var yc []T
				if y != nil {
					yc = y[o : o+S]
				}
				s0, s1 := kernels.GradSums(x[o:o+S], dy[o:o+S], yc, T(f.mean[c]))
				ps[c] += float64(s0)
				ps[C+c] += float64(s1)
			}
		}
	})
	out := get[T](&op.out, 2*C)
	for c := range C {
		var s0, s1 float64
		for ch := range chunks {
			s0 += partial[ch*2*C+c]
			s1 += partial[ch*2*C+C+c]
		}
		out[c] = T(s0)
		out[C+c] = T(s1 * f.invStd[c])
	}
	return wrap(out, []int{2, C}), nil
}

// bnGradX is the input gradient of batch normalization:
// dx = scale·invStd·(dz - Σdz/M - x̂·Σ(dz·x̂)/M) in training (M = N*S values per
// channel), scale·invStd·dz with running statistics.
type bnGradX struct {
	fwd     *bnOp
	inPlace bool // dx overwrites dy (see ownGradient)
	out     buffer
	a, b, c buffer
}

func newBNGradXOp(fwd *bnOp, inPlace bool) *kernelOp {
	op := &bnGradX{fwd: fwd, inPlace: inPlace}
	d, arity := fwd.dims, 4
	if fwd.relu != "" {
		arity = 5
	}
	return &kernelOp{
		name:  "BatchNormGradX",
		key:   fmt.Sprintf("onnxdigits.bngradx#%d/%d", nextOpID(), fwd.id),
		arity: arity,
		ptr:   true,
		typ: func() hm.Type {
			if arity == 5 {
				return fnType(d, d, d, d, 1, 2)
			}
			return fnType(d, d, d, 1, 2)
		},
		shape: fixedShape(fwd.xshape),
		do:    byDtype(op, bnGradXDo[float32], bnGradXDo[float64]),
	}
}

func bnGradXDo[T float](op *bnGradX, vals []G.Value) (G.Value, error) {
	f := op.fwd
	x, dy, y, err := bnInputs[T](f, vals)
	if err != nil {
		return nil, fmt.Errorf("batch norm gradient: %w", err)
	}
	k := 2
	if y != nil {
		k = 3
	}
	scale, err := dataOf[T](vals[k])
	if err != nil {
		return nil, fmt.Errorf("batch norm gradient: scale: %w", err)
	}
	sums, err := dataOf[T](vals[k+1])
	if err != nil {
		return nil, fmt.Errorf("batch norm gradient: sums: %w", err)
	}
	C, S := f.c, f.s
	cnt := float64(f.n * S)
	// dx = A·dz + B·x + Cc per channel.
	A, B, Cc := get[T](&op.a, C), get[T](&op.b, C), get[T](&op.c, C)
	for c := range C {
		k1 := float64(scale[c]) * f.invStd[c]
		A[c] = T(k1)
		if !f.training {
			B[c], Cc[c] = 0, 0
			continue
		}
		bc := -k1 * f.invStd[c] * float64(sums[C+c]) / cnt
		B[c] = T(bc)
		Cc[c] = T(-k1*float64(sums[c])/cnt - bc*f.mean[c])
	}
	dx := dy
	if !op.inPlace {
		dx = get[T](&op.out, len(x))
	}
	chunks := kernels.NumChunks(f.n, 4*kernels.NumWorkers(f.n))
	kernels.ParallelFor(chunks, func(_, ch int) {
		lo, hi := kernels.ChunkRange(f.n, chunks, ch)
		for i := lo; i < hi; i++ {
			for c := range C {
				o := (i*C + c) * S
				var yc []T
				if y != nil {
					yc = y[o : o+S]
				}
				kernels.BNDx(x[o:o+S], dy[o:o+S], yc, dx[o:o+S], A[c], B[c], Cc[c])
			}
		}
	})
	return wrap(dx, vals[0].Shape()), nil
}

// ownGradient reports whether gradient node g is the output of our dense
// layer's input gradient, directly or through the Reshape of a Flatten's
// gradient (which shares its array). Such a gradient is read by the backward
// ops of the one node it is the gradient of and nothing else, so batch norm's
// input gradient may overwrite it once the sums are taken: one activation-sized
// buffer less, and the write lands in cache lines just read.
func ownGradient(g *G.Node) bool {
	for range 2 {
		if _, ok := stateOf(g.Op()).(*denseGradA); ok {
			return true
		}
		if !strings.HasPrefix(fmt.Sprint(g.Op()), "Reshape") {
			return false
		}
		children := g.Graph().From(g.ID())
		if children.Len() != 1 || !children.Next() {
			return false
		}
		c, ok := children.Node().(*G.Node)
		if !ok {
			return false
		}
		g = c
	}
	return false
}

// row returns row of a (rows,n) matrix as a vector: the parameter gradients
// out of bnSums' (2,C) sums.
type row struct {
	row, n int
	out    buffer
}

func newRowOp(r, n int) *kernelOp {
	op := &row{row: r, n: n}
	return &kernelOp{
		name:  fmt.Sprintf("Row%d", r),
		key:   fmt.Sprintf("onnxdigits.row#%d{%d,%d}", nextOpID(), r, n),
		arity: 1,
		ptr:   true,
		typ:   func() hm.Type { return fnType(1, 2) },
		shape: fixedShape([]int{n}),
		do:    byDtype(op, rowDo[float32], rowDo[float64]),
	}
}

func rowDo[T float](op *row, vals []G.Value) (G.Value, error) {
	m, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("row: %w", err)
	}
	out := get[T](&op.out, op.n)
	copy(out, m[op.row*op.n:][:op.n])
	return wrap(out, []int{op.n}), nil
}
