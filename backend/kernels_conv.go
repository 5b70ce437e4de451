package backend

// Convolution as custom Gorgonia ops: im2col per image into a per-worker
// buffer, then one matrix product that writes the (M, oH*oW) output of the
// image in NCHW order with the bias (and a fused ReLU) applied on the way. The
// backward pass has one op per gradient and builds only the ones a learnable
// parameter needs: the first layer's input gradient is never computed.

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convGeom is the geometry of a 2-D convolution, group 1.
type convGeom struct {
	n, c, h, w int // input (N,C,H,W)
	m, kh, kw  int // weights (M,C,kH,kW)
	oh, ow     int // output (N,M,oH,oW)
	sh, sw     int // strides
	pt, pl     int // top and left padding (the bottom and right follow from oH, oW)
	dh, dw     int // dilations
}

func (g *convGeom) k() int      { return g.c * g.kh * g.kw } // rows of col
func (g *convGeom) p() int      { return g.oh * g.ow }       // columns of col
func (g *convGeom) inSize() int { return g.c * g.h * g.w }

// direct reports whether col equals the input image (1x1 kernel, stride 1, no
// padding), so that im2col can be skipped.
func (g *convGeom) direct() bool {
	return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.oh == g.h && g.ow == g.w
}

func (g *convGeom) String() string {
	return fmt.Sprintf("x(%d,%d,%d,%d) w(%d,%d,%d,%d) s%dx%d p%d,%d d%dx%d", g.n, g.c, g.h, g.w, g.m, g.c, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw)
}

// im2col writes the patches of one image x (C,H,W) as col (K,P): row
// (c*kH+ky)*kW+kx holds input pixel (c, oy*sH-pT+ky*dH, ox*sW-pL+kx*dW) for
// every output position p = oy*oW+ox, zero outside the image.
func im2col[T float](g *convGeom, x, col []T) {
	P := g.p()
	r := 0
	for c := range g.c {
		plane := x[c*g.h*g.w:][:g.h*g.w]
		for ky := range g.kh {
			// valid oy: 0 <= oy*sH + iy0 < H
			iy0 := ky*g.dh - g.pt
			y0, y1 := validRange(iy0, g.sh, g.h, g.oh)
			for kx := range g.kw {
				row := col[r*P:][:P]
				r++
				ix0 := kx*g.dw - g.pl
				// valid ox: 0 <= ox*sW + ix0 < W
				lo, hi := validRange(ix0, g.sw, g.w, g.ow)
				if lo >= hi || y0 >= y1 {
					clear(row)
					continue
				}
				clear(row[:y0*g.ow])
				clear(row[y1*g.ow:])
				if g.sw == 1 && lo == 0 && hi == g.ow {
					// Whole output rows come from one run of the input row each.
					copyRows(row[y0*g.ow:], plane[(y0*g.sh+iy0)*g.w+ix0:], g.ow, y1-y0, g.ow, g.sh*g.w)
					continue
				}
				for oy := y0; oy < y1; oy++ {
					seg := row[oy*g.ow:][:g.ow]
					src := plane[(oy*g.sh+iy0)*g.w:][:g.w]
					clear(seg[:lo])
					if g.sw == 1 {
						copy(seg[lo:hi], src[ix0+lo:ix0+hi])
					} else {
						for ox := lo; ox < hi; ox++ {
							seg[ox] = src[ox*g.sw+ix0]
						}
					}
					clear(seg[hi:])
				}
			}
		}
	}
}

// copyRows copies rows runs of n values, from src with stride srcStride to dst
// with stride dstStride.
func copyRows[T float](dst, src []T, n, rows, dstStride, srcStride int) {
	if rows == 0 || n == 0 {
		return
	}
	_ = dst[(rows-1)*dstStride+n-1]
	_ = src[(rows-1)*srcStride+n-1]
	if d32, ok := any(dst).([]float32); ok && useAsm {
		copyRows32(&d32[0], &any(src).([]float32)[0], n, rows, dstStride, srcStride)
		return
	}
	for r := range rows {
		copy(dst[r*dstStride:][:n], src[r*srcStride:][:n])
	}
}

// col2im adds col (K,P) back into the image dx (C,H,W): the adjoint of im2col.
func col2im[T float](g *convGeom, col, dx []T) {
	P := g.p()
	r := 0
	for c := range g.c {
		plane := dx[c*g.h*g.w:][:g.h*g.w]
		for ky := range g.kh {
			for kx := range g.kw {
				row := col[r*P:][:P]
				r++
				ix0 := kx*g.dw - g.pl
				lo, hi := validRange(ix0, g.sw, g.w, g.ow)
				if lo >= hi {
					continue
				}
				for oy := range g.oh {
					iy := oy*g.sh - g.pt + ky*g.dh
					if iy < 0 || iy >= g.h {
						continue
					}
					seg := row[oy*g.ow:][:g.ow]
					dst := plane[iy*g.w:][:g.w]
					if g.sw == 1 {
						d := dst[ix0+lo : ix0+hi]
						for j, v := range seg[lo:hi] {
							d[j] += v
						}
					} else {
						for ox := lo; ox < hi; ox++ {
							dst[ox*g.sw+ix0] += seg[ox]
						}
					}
				}
			}
		}
	}
}

// validRange returns the outputs [lo,hi) of [0,n) with 0 <= o*stride+off < size.
func validRange(off, stride, size, n int) (lo, hi int) {
	lo = 0
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	hi = n
	if last := size - 1 - off; last < 0 {
		hi = 0
	} else {
		hi = min(n, last/stride+1)
	}
	return min(lo, hi), hi
}

// convOp is y = conv(x, w) + b, optionally followed by a ReLU.
type convOp struct {
	opBase
	g     convGeom
	bias  bool
	relu  string // the Relu node fused into this op, or ""
	needX bool   // x takes a gradient
	needW bool
	needB bool
	bn    *convBN // a batch norm applied in the epilogue (inference), or nil
	out   buffer
	cols  buffers
	wf    buffer // weights and bias with bn folded in
	bf    buffer
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

func newConvOp(g convGeom, bias bool) *convOp {
	return &convOp{opBase: newOpBase(), g: g, bias: bias}
}

func (op *convOp) fusedRelu() string { return op.relu }

func (op *convOp) Arity() int {
	n := 2
	if op.bias {
		n++
	}
	if op.bn != nil {
		n += 2
	}
	return n
}

func (op *convOp) Type() hm.Type {
	in := []int{4, 4}
	for range op.Arity() - 2 {
		in = append(in, 1)
	}
	return fnType(4, in...)
}

func (op *convOp) outShape() tensor.Shape {
	return tensor.Shape{op.g.n, op.g.m, op.g.oh, op.g.ow}
}

func (op *convOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.outShape(), nil }

func (op *convOp) WriteHash(h hash.Hash) {
	bn := ""
	if op.bn != nil {
		bn = op.bn.node
	}
	fmt.Fprintf(h, "onnxdigits.conv#%d{%v bias=%v bn=%q relu=%q}", op.id, &op.g, op.bias, bn, op.relu)
}
func (op *convOp) Hashcode() uint32 { return opHash(op) }
func (op *convOp) String() string {
	if op.bn != nil {
		return fmt.Sprintf("ConvBN(relu=%v){%v}", op.relu != "", &op.g)
	}
	if op.relu != "" {
		return fmt.Sprintf("ConvRelu{%v}", &op.g)
	}
	return fmt.Sprintf("Conv{%v}", &op.g)
}

func (op *convOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != op.Arity() {
		return nil, fmt.Errorf("conv: want %d inputs, have %d", op.Arity(), len(vals))
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
	K, P := g.k(), g.p()
	if op.bn != nil {
		if w, bias, err = foldBN(op, w, bias, vals[len(vals)-2:]); err != nil {
			return nil, err
		}
	}
	y := get[T](&op.out, g.n*g.m*P)
	relu := op.relu != ""
	op.cols.prepare(numWorkers(g.n))
	parallelFor(g.n, func(wk, i int) {
		xi := x[i*g.inSize():][:g.inSize()]
		yi := y[i*g.m*P:][:g.m*P]
		col := xi
		if !g.direct() {
			col = get[T](op.cols.worker(wk), K*P)
			im2col(g, xi, col)
		}
		gemmNN(g.m, P, K, w, K, col, P, yi, P, false, bias, relu)
	})
	return wrap(y, op.outShape()), nil
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
	M, K := op.g.m, op.g.k()
	rm, rv := op.bn.runMean.Data().([]T), op.bn.runVar.Data().([]T)
	if len(scale) != M || len(shift) != M || len(rm) != M || len(w) != M*K {
		return nil, nil, fmt.Errorf("conv: batch norm of %d channels after %d filters", len(scale), M)
	}
	wf, bf := get[T](&op.wf, M*K), get[T](&op.bf, M)
	for c := range M {
		a := float64(scale[c]) / math.Sqrt(float64(rv[c])+op.bn.eps)
		b := 0.0
		if bias != nil {
			b = float64(bias[c])
		}
		bf[c] = T(a*(b-float64(rm[c])) + float64(shift[c]))
		for i, v := range w[c*K : (c+1)*K] {
			wf[c*K+i] = T(a * float64(v))
		}
	}
	return wf, bf, nil
}

func (op *convOp) DiffWRT(inputs int) []bool {
	d := []bool{op.needX, op.needW, op.needB}
	return d[:inputs]
}

func (op *convOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != op.Arity() {
		return nil, fmt.Errorf("conv: want %d inputs, have %d", op.Arity(), len(inputs))
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
		if out[0], err = G.ApplyOp(&convGradXOp{opBase: newOpBase(), fwd: op}, inputs[1], dy); err != nil {
			return nil, err
		}
	}
	if op.needW {
		if out[1], err = G.ApplyOp(&convGradWOp{opBase: newOpBase(), fwd: op}, inputs[0], dy); err != nil {
			return nil, err
		}
	}
	if op.bias && op.needB {
		if out[2], err = G.ApplyOp(&biasGradOp{opBase: newOpBase(), n: op.g.n, c: op.g.m, s: op.g.p(), what: "conv"}, dy); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// convGradXOp is the input gradient: per image, dcol = Wᵀ·dY, then col2im.
type convGradXOp struct {
	opBase
	fwd   *convOp
	out   buffer
	wt    buffer
	dcols buffers
}

func (op *convGradXOp) Arity() int       { return 2 }
func (op *convGradXOp) Type() hm.Type    { return fnType(4, 4, 4) }
func (op *convGradXOp) String() string   { return fmt.Sprintf("ConvGradX{%v}", &op.fwd.g) }
func (op *convGradXOp) Hashcode() uint32 { return opHash(op) }
func (op *convGradXOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "onnxdigits.convgradx#%d/%d", op.id, op.fwd.id)
}
func (op *convGradXOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	g := &op.fwd.g
	return tensor.Shape{g.n, g.c, g.h, g.w}, nil
}

func (op *convGradXOp) Do(vals ...G.Value) (G.Value, error) {
	if vals[0].Dtype() == tensor.Float64 {
		return convGradX[float64](op, vals)
	}
	return convGradX[float32](op, vals)
}

func convGradX[T float](op *convGradXOp, vals []G.Value) (G.Value, error) {
	w, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("conv gradient: w: %w", err)
	}
	dy, err := dataOf[T](vals[1])
	if err != nil {
		return nil, fmt.Errorf("conv gradient: dy: %w", err)
	}
	g := &op.fwd.g
	K, P := g.k(), g.p()
	wt := get[T](&op.wt, K*g.m)
	transpose(g.m, K, w, K, wt, g.m)
	dx := get[T](&op.out, g.n*g.inSize())
	op.dcols.prepare(numWorkers(g.n))
	parallelFor(g.n, func(wk, i int) {
		dxi := dx[i*g.inSize():][:g.inSize()]
		dyi := dy[i*g.m*P:][:g.m*P]
		if g.direct() {
			gemmNN(K, P, g.m, wt, g.m, dyi, P, dxi, P, false, nil, false)
			return
		}
		dcol := get[T](op.dcols.worker(wk), K*P)
		gemmNN(K, P, g.m, wt, g.m, dyi, P, dcol, P, false, nil, false)
		clear(dxi)
		col2im(g, dcol, dxi)
	})
	return wrap(dx, []int{g.n, g.c, g.h, g.w}), nil
}

// convGradWOp is the weight gradient Σ over images of dY·colᵀ.
type convGradWOp struct {
	opBase
	fwd     *convOp
	out     buffer
	partial buffer
	cols    buffers
	parts   buffers // unreduced per-tile sums of a chunk (assembly path)
}

func (op *convGradWOp) Arity() int       { return 2 }
func (op *convGradWOp) Type() hm.Type    { return fnType(4, 4, 4) }
func (op *convGradWOp) String() string   { return fmt.Sprintf("ConvGradW{%v}", &op.fwd.g) }
func (op *convGradWOp) Hashcode() uint32 { return opHash(op) }
func (op *convGradWOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "onnxdigits.convgradw#%d/%d", op.id, op.fwd.id)
}
func (op *convGradWOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	g := &op.fwd.g
	return tensor.Shape{g.m, g.c, g.kh, g.kw}, nil
}

func (op *convGradWOp) Do(vals ...G.Value) (G.Value, error) {
	if vals[0].Dtype() == tensor.Float64 {
		return convGradW[float64](op, vals)
	}
	return convGradW[float32](op, vals)
}

func convGradW[T float](op *convGradWOp, vals []G.Value) (G.Value, error) {
	x, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("conv gradient: x: %w", err)
	}
	dy, err := dataOf[T](vals[1])
	if err != nil {
		return nil, fmt.Errorf("conv gradient: dy: %w", err)
	}
	g := &op.fwd.g
	K, P, MK := g.k(), g.p(), g.m*g.k()
	chunks := numChunks(g.n, reduceChunks)
	partial := get[T](&op.partial, chunks*MK)
	op.cols.prepare(numWorkers(chunks))
	op.parts.prepare(numWorkers(chunks))
	parallelFor(chunks, func(wk, c int) {
		lo, hi := chunkRange(g.n, chunks, c)
		pw := partial[c*MK:][:MK]
		if dy32, ok := any(dy).([]float32); ok && useAsm {
			// Sum over the chunk's images in vector registers, one
			// horizontal reduction per tile at the end.
			buf := op.cols.worker(wk)
			part := get[float32](op.parts.worker(wk), ((g.m+3)/4)*((K+4)/5)*ntTile)
			for i := lo; i < hi; i++ {
				xi := any(x[i*g.inSize():][:g.inSize()]).([]float32)
				col := xi
				if !g.direct() {
					col = get[float32](buf, K*P)
					im2col(g, xi, col)
				}
				gemmNTPart(g.m, K, P, dy32[i*g.m*P:], P, col, P, part, i == lo)
			}
			ntReduce(g.m, K, part, any(pw).([]float32), K, false)
			return
		}
		clear(pw)
		for i := lo; i < hi; i++ {
			xi := x[i*g.inSize():][:g.inSize()]
			col := xi
			if !g.direct() {
				col = get[T](op.cols.worker(wk), K*P)
				im2col(g, xi, col)
			}
			gemmNT(g.m, K, P, dy[i*g.m*P:], P, col, P, pw, K, true)
		}
	})
	dw := get[T](&op.out, MK)
	copy(dw, partial[:MK])
	for c := 1; c < chunks; c++ {
		addTo(dw, partial[c*MK:][:MK])
	}
	return wrap(dw, []int{g.m, g.c, g.kh, g.kw}), nil
}

func addTo[T float](dst, src []T) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// biasGradOp sums dy (N,C,S...) over everything but the channel: the gradient
// of a per-channel bias.
type biasGradOp struct {
	opBase
	n, c, s int
	dims    int // rank of dy
	what    string
	out     buffer
	partial []float64
}

func (op *biasGradOp) Arity() int    { return 1 }
func (op *biasGradOp) Type() hm.Type { return fnType(1, op.rank()) }
func (op *biasGradOp) String() string {
	return fmt.Sprintf("BiasGrad{%s %dx%dx%d}", op.what, op.n, op.c, op.s)
}
func (op *biasGradOp) Hashcode() uint32 { return opHash(op) }
func (op *biasGradOp) rank() int {
	if op.dims == 0 {
		return 4
	}
	return op.dims
}
func (op *biasGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "onnxdigits.biasgrad#%d{%d,%d,%d,%d}", op.id, op.n, op.c, op.s, op.rank())
}
func (op *biasGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.c}, nil
}

func (op *biasGradOp) Do(vals ...G.Value) (G.Value, error) {
	if vals[0].Dtype() == tensor.Float64 {
		return biasGrad[float64](op, vals)
	}
	return biasGrad[float32](op, vals)
}

func biasGrad[T float](op *biasGradOp, vals []G.Value) (G.Value, error) {
	dy, err := dataOf[T](vals[0])
	if err != nil {
		return nil, fmt.Errorf("bias gradient: %w", err)
	}
	chunks := numChunks(op.n, reduceChunks)
	if cap(op.partial) < chunks*op.c {
		op.partial = make([]float64, chunks*op.c)
	}
	partial := op.partial[:chunks*op.c]
	parallelFor(chunks, func(_, ch int) {
		lo, hi := chunkRange(op.n, chunks, ch)
		ps := partial[ch*op.c:][:op.c]
		clear(ps)
		for i := lo; i < hi; i++ {
			for c := range op.c {
				ps[c] += float64(sum(dy[(i*op.c+c)*op.s:][:op.s]))
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

// sum adds up x with four accumulators.
func sum[T float](x []T) T {
	if x32, ok := any(x).([]float32); ok && useAsm && len(x) > 0 {
		return T(sum32(&x32[0], len(x32)))
	}
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}
