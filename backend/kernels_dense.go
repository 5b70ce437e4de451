package backend

// Gemm (the dense layer) as custom ops: Y = alpha·A'·B' + beta·C with C
// broadcast, an optional fused ReLU, and one backward op per gradient. With
// few outputs (our classifier's 10) the product runs as dot products along K
// against a transposed copy of B; with many, as rows of B scaled and added.

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// denseGeom describes Y (M,N) = alpha·A'(M,K)·B'(K,N) + beta·C.
type denseGeom struct {
	m, k, n        int
	transA, transB bool
	alpha, beta    float64
	cRank          int // 0 for no C
	cm, cn         int // C viewed as (cm,cn), each 1 or the full size
}

func (g *denseGeom) String() string {
	return fmt.Sprintf("(%d,%d)x(%d,%d) tA=%v tB=%v alpha=%g beta=%g C=%dx%d", g.m, g.k, g.k, g.n, g.transA, g.transB, g.alpha, g.beta, g.cm, g.cn)
}

type denseOp struct {
	opBase
	g                   denseGeom
	relu                string
	add                 string // the Add node whose bias (C) this MatMul's op adds, or ""
	needA, needB, needC bool
	out, at, bt         buffer
	// btOf is the B whose kernels.Transpose the last forward run left in bt (nil
	// when it left none): the input gradient of the same run reuses it.
	btOf any
}

func (op *denseOp) absorbs(node string) bool { return node == op.relu || node == op.add }

func (op *denseOp) arity() int {
	if op.g.cRank > 0 {
		return 3
	}
	return 2
}

func (op *denseOp) String() string {
	if op.relu != "" {
		return fmt.Sprintf("GemmRelu{%v}", &op.g)
	}
	return fmt.Sprintf("Gemm{%v}", &op.g)
}

// gorgonia returns the Gorgonia op running op, once the lowering has set every
// field.
func (op *denseOp) gorgonia() G.Op {
	cRank := op.g.cRank
	return &diffOp{
		kernelOp: &kernelOp{
			name:  op.String(),
			key:   fmt.Sprintf("onnxdigits.gemm#%d{%v relu=%q}", op.id, &op.g, op.relu),
			arity: op.arity(),
			ptr:   true,
			state: op,
			typ: func() hm.Type {
				if cRank > 0 {
					return fnType(2, 2, 2, cRank)
				}
				return fnType(2, 2, 2)
			},
			shape: fixedShape([]int{op.g.m, op.g.n}),
			do:    op.do,
		},
		diff: op.diffWRT,
		grad: op.symDiff,
	}
}

func (op *denseOp) do(vals []G.Value) (G.Value, error) {
	if len(vals) != op.arity() {
		return nil, fmt.Errorf("gemm: want %d inputs, have %d", op.arity(), len(vals))
	}
	if vals[0].Dtype() == tensor.Float64 {
		return denseForward[float64](op, vals)
	}
	return denseForward[float32](op, vals)
}

// rowsA returns A' (M,K) row-major: a itself or its kernels.Transpose in buf.
func rowsA[T float](g *denseGeom, a []T, buf *buffer) []T {
	if !g.transA {
		return a
	}
	at := get[T](buf, g.m*g.k)
	kernels.Transpose(g.k, g.m, a, g.m, at, g.k)
	return at
}

// colsB returns B'ᵀ (N,K) row-major: b itself when transposed, else its kernels.Transpose in buf.
func colsB[T float](g *denseGeom, b []T, buf *buffer) []T {
	if g.transB {
		return b
	}
	bt := get[T](buf, g.n*g.k)
	kernels.Transpose(g.k, g.n, b, g.n, bt, g.k)
	return bt
}

// rowsB returns B' (K,N) row-major.
func rowsB[T float](g *denseGeom, b []T, buf *buffer) []T {
	if !g.transB {
		return b
	}
	bt := get[T](buf, g.n*g.k)
	kernels.Transpose(g.n, g.k, b, g.k, bt, g.n)
	return bt
}

// rowChunks cuts m rows into pieces of at least 4 for the workers.
func rowChunks(m int) int { return kernels.NumChunks(m/4, 4*kernels.NumWorkers(m/4)) }

func denseForward[T float](op *denseOp, vals []G.Value) (G.Value, error) {
	g := &op.g
	a, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("gemm: A: %w", err)
	}
	b, err := dataOf[T](vals[1])
	if err != nil {
		return nil, fmt.Errorf("gemm: B: %w", err)
	}
	var c []T
	if g.cRank > 0 {
		if c, err = dataOf[T](vals[2]); err != nil {
			return nil, fmt.Errorf("gemm: C: %w", err)
		}
		if len(c) != g.cm*g.cn {
			return nil, fmt.Errorf("gemm: C has %d values, want %dx%d", len(c), g.cm, g.cn)
		}
	}
	if len(a) != g.m*g.k || len(b) != g.k*g.n {
		return nil, fmt.Errorf("gemm: A has %d values and B %d for %v", len(a), len(b), g)
	}
	M, K, N := g.m, g.k, g.n
	ar := rowsA(g, a, &op.at)
	y := get[T](&op.out, M*N)
	// Few outputs: dot products along K against B'ᵀ, except for a few rows,
	// which do not pay for transposing B (batch-1 inference); a B given
	// transposed (PyTorch's Linear, transB=1) is B'ᵀ already, so few rows take
	// the dot products on it directly instead of transposing it every run.
	dot := (N < 32 && M > 16) || (g.transB && M <= 16)
	var bm []T
	op.btOf = nil
	if dot {
		bm = colsB(g, b, &op.bt)
		if !g.transB {
			op.btOf = &b[0]
		}
	} else {
		bm = rowsB(g, b, &op.bt)
	}
	alpha, beta := T(g.alpha), T(g.beta)
	relu := op.relu != ""
	chunks := rowChunks(M)
	kernels.ParallelFor(chunks, func(_, ch int) {
		lo, hi := kernels.ChunkRange(M, chunks, ch)
		if lo == hi {
			return
		}
		yc := y[lo*N : hi*N]
		if dot {
			kernels.GemmNT(hi-lo, N, K, ar[lo*K:], K, bm, K, yc, N, false)
		} else {
			kernels.GemmNN(hi-lo, N, K, ar[lo*K:], K, bm, N, yc, N, false, nil, false)
		}
		for i := lo; i < hi; i++ {
			row := y[i*N : (i+1)*N]
			if alpha != 1 {
				for j := range row {
					row[j] *= alpha
				}
			}
			if c != nil {
				crow := c
				if g.cm > 1 {
					crow = c[i*g.cn:]
				}
				if g.cn == 1 {
					v := beta * crow[0]
					for j := range row {
						row[j] += v
					}
				} else {
					crow = crow[:N]
					for j := range row {
						row[j] += beta * crow[j]
					}
				}
			}
			if relu {
				for j, v := range row {
					row[j] = max(v, 0)
				}
			}
		}
	})
	return output(&op.out, y, []int{M, N}), nil
}

func (op *denseOp) diffWRT(inputs int) []bool {
	return []bool{op.needA, op.needB, op.needC}[:inputs]
}

func (op *denseOp) symDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	var err error
	dz := grad
	if op.relu != "" {
		if dz, err = G.ApplyOp(newReluGradOp(), output, grad); err != nil {
			return nil, err
		}
	}
	out := make(G.Nodes, len(inputs))
	if op.needA {
		if out[0], err = G.ApplyOp(newDenseGradAOp(op), inputs[1], dz); err != nil {
			return nil, err
		}
	}
	if op.needB {
		if out[1], err = G.ApplyOp(newDenseGradBOp(op), inputs[0], dz); err != nil {
			return nil, err
		}
	}
	if len(inputs) > 2 && op.needC {
		if out[2], err = G.ApplyOp(newDenseGradCOp(op, inputs[2].Shape()), dz); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// denseGradA is dA' = alpha·dZ·B'ᵀ (transposed back when TransA).
type denseGradA struct {
	fwd          *denseOp
	out, bt, tmp buffer
}

func newDenseGradAOp(fwd *denseOp) *kernelOp {
	op := &denseGradA{fwd: fwd}
	return &kernelOp{
		name:  fmt.Sprintf("GemmGradA{%v}", &fwd.g),
		key:   fmt.Sprintf("onnxdigits.gemmgrada#%d/%d", nextOpID(), fwd.id),
		arity: 2,
		ptr:   true,
		state: op,
		typ:   func() hm.Type { return fnType(2, 2, 2) },
		shape: fixedShape(op.shape()),
		do:    byDtype(op, denseGradADo[float32], denseGradADo[float64]),
	}
}

func (op *denseGradA) shape() []int {
	g := &op.fwd.g
	if g.transA {
		return []int{g.k, g.m}
	}
	return []int{g.m, g.k}
}

func denseGradADo[T float](op *denseGradA, vals []G.Value) (G.Value, error) {
	g := &op.fwd.g
	b, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("gemm gradient: B: %w", err)
	}
	dz, err := dataOf[T](vals[1])
	if err != nil {
		return nil, fmt.Errorf("gemm gradient: dZ: %w", err)
	}
	M, K, N := g.m, g.k, g.n
	var bt []T // (N,K)
	if p, ok := op.fwd.btOf.(*T); ok && p == &b[0] {
		// B is unchanged since the forward pass of this run transposed it.
		bt = get[T](&op.fwd.bt, N*K)
	} else {
		bt = colsB(g, b, &op.bt)
	}
	out := get[T](&op.out, M*K)
	da := out
	if g.transA {
		da = get[T](&op.tmp, M*K)
	}
	alpha := T(g.alpha)
	chunks := rowChunks(M)
	kernels.ParallelFor(chunks, func(_, ch int) {
		lo, hi := kernels.ChunkRange(M, chunks, ch)
		if lo == hi {
			return
		}
		kernels.GemmNN(hi-lo, K, N, dz[lo*N:], N, bt, K, da[lo*K:], K, false, nil, false)
		if alpha != 1 {
			for i := range da[lo*K : hi*K] {
				da[lo*K+i] *= alpha
			}
		}
	})
	if g.transA {
		kernels.Transpose(M, K, da, K, out, M)
	}
	return wrap(out, op.shape()), nil
}

// denseGradB is dB' = alpha·A'ᵀ·dZ, computed as its kernels.Transpose dZᵀ·A' (N,K)
// with vectors along K, split over K between the workers.
type denseGradB struct {
	fwd               *denseOp
	out, at, zt, tmpT buffer
}

func newDenseGradBOp(fwd *denseOp) *kernelOp {
	op := &denseGradB{fwd: fwd}
	return &kernelOp{
		name:  fmt.Sprintf("GemmGradB{%v}", &fwd.g),
		key:   fmt.Sprintf("onnxdigits.gemmgradb#%d/%d", nextOpID(), fwd.id),
		arity: 2,
		ptr:   true,
		typ:   func() hm.Type { return fnType(2, 2, 2) },
		shape: fixedShape(op.shape()),
		do:    byDtype(op, denseGradBDo[float32], denseGradBDo[float64]),
	}
}

func (op *denseGradB) shape() []int {
	g := &op.fwd.g
	if g.transB {
		return []int{g.n, g.k}
	}
	return []int{g.k, g.n}
}

func denseGradBDo[T float](op *denseGradB, vals []G.Value) (G.Value, error) {
	g := &op.fwd.g
	a, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("gemm gradient: A: %w", err)
	}
	dz, err := dataOf[T](vals[1])
	if err != nil {
		return nil, fmt.Errorf("gemm gradient: dZ: %w", err)
	}
	M, K, N := g.m, g.k, g.n
	ar := rowsA(g, a, &op.at) // (M,K)
	zt := get[T](&op.zt, N*M)
	kernels.Transpose(M, N, dz, N, zt, M)
	if g.alpha != 1 {
		for i := range zt {
			zt[i] *= T(g.alpha)
		}
	}
	out := get[T](&op.out, K*N)
	dbt := out // (N,K)
	if !g.transB {
		dbt = get[T](&op.tmpT, N*K)
	}
	// Split K into pieces that are multiples of 32 columns.
	pieces := kernels.NumChunks(K/256, 4*kernels.NumWorkers(K/256))
	kernels.ParallelFor(pieces, func(_, ch int) {
		lo, hi := kernels.ChunkRange(K/32, pieces, ch)
		lo, hi = lo*32, hi*32
		if ch == pieces-1 {
			hi = K
		}
		if lo == hi {
			return
		}
		kernels.GemmNN(N, hi-lo, M, zt, M, ar[lo:], K, dbt[lo:], K, false, nil, false)
	})
	if !g.transB {
		kernels.Transpose(N, K, dbt, K, out, N)
	}
	return wrap(out, op.shape()), nil
}

// denseGradC is dC = beta·dZ summed over the dims C broadcasts along.
type denseGradC struct {
	fwd *denseOp
	out buffer
}

func newDenseGradCOp(fwd *denseOp, shape tensor.Shape) *kernelOp {
	op := &denseGradC{fwd: fwd}
	shape = shape.Clone()
	return &kernelOp{
		name:  fmt.Sprintf("GemmGradC{%v}", &fwd.g),
		key:   fmt.Sprintf("onnxdigits.gemmgradc#%d/%d", nextOpID(), fwd.id),
		arity: 1,
		ptr:   true,
		typ:   func() hm.Type { return fnType(len(shape), 2) },
		shape: fixedShape(shape),
		do: func(vals []G.Value) (G.Value, error) {
			if vals[0].Dtype() == tensor.Float64 {
				return denseGradCDo[float64](op, shape, vals)
			}
			return denseGradCDo[float32](op, shape, vals)
		},
	}
}

func denseGradCDo[T float](op *denseGradC, shape tensor.Shape, vals []G.Value) (G.Value, error) {
	g := &op.fwd.g
	dz, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("gemm gradient: dZ: %w", err)
	}
	out := get[T](&op.out, g.cm*g.cn)
	clear(out)
	for i := range g.m {
		row := dz[i*g.n : (i+1)*g.n]
		o := out
		if g.cm > 1 {
			o = out[i*g.cn:]
		}
		if g.cn == 1 {
			o[0] += kernels.Sum(row)
			continue
		}
		o = o[:g.n]
		for j, v := range row {
			o[j] += v
		}
	}
	if g.beta != 1 {
		for i := range out {
			out[i] *= T(g.beta)
		}
	}
	return wrap(out, shape), nil
}
