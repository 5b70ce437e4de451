package kernels

// gemmNNUnrolled is GemmNN's portable path (the generic path and every float64
// product): gemmNNGo's row-streaming loop on two rows of C at a time with k
// unrolled by four, so that each B value loaded serves two rows and each load
// and store of a C element carries four multiply-adds; a last odd row goes
// with k unrolled by eight. Scalar code without FMA is bound by the
// floating-point ports (about three flops per cycle here), so the gain over
// one row with k by eight is small: best of 6 runs of BenchmarkGemmTrain on
// one core, 6.3 -> 6.6 GFLOP/s at the conv forward, 5.8 -> 6.5 and
// 6.7 -> 7.4 at the dense input and weight gradients.
// A 2×4 register-blocked kernel on packed B panels was slower: the Go
// compiler schedules all multiplies before the adds and spills. gemmNNGo
// stays as the reference and the assembly paths' fallback. A values below
// flushBelow count as zero.
func gemmNNUnrolled[T Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, acc bool, bias []T, relu bool) {
	tiny := flushBelow[T]()
	i := 0
	for ; i+2 <= m; i += 2 {
		c0 := c[i*ldc:][:n]
		c1 := c[(i+1)*ldc:][:n]
		ar0 := a[i*lda:][:k]
		ar1 := a[(i+1)*lda:][:k]
		p := 0
		if !acc && k >= 4 {
			// The first step sets C to the bias plus its sums: the same
			// value as zero plus bias plus sums, without two passes over C.
			var z0, z1 T
			if bias != nil {
				z0, z1 = bias[i], bias[i+1]
			}
			x0, x1, x2, x3 := flush(ar0[0], tiny), flush(ar0[1], tiny), flush(ar0[2], tiny), flush(ar0[3], tiny)
			y0, y1, y2, y3 := flush(ar1[0], tiny), flush(ar1[1], tiny), flush(ar1[2], tiny), flush(ar1[3], tiny)
			b0 := b[:n]
			b1 := b[ldb:][:n]
			b2 := b[2*ldb:][:n]
			b3 := b[3*ldb:][:n]
			c1 := c1[:len(c0)]
			for j := range c0 {
				v0, v1, v2, v3 := b0[j], b1[j], b2[j], b3[j]
				c0[j] = z0 + ((x0*v0 + x1*v1) + (x2*v2 + x3*v3))
				c1[j] = z1 + ((y0*v0 + y1*v1) + (y2*v2 + y3*v3))
			}
			p = 4
		} else {
			nnStart(c0, acc, bias, i)
			nnStart(c1, acc, bias, i+1)
		}
		for ; p+4 <= k; p += 4 {
			x0, x1, x2, x3 := flush(ar0[p], tiny), flush(ar0[p+1], tiny), flush(ar0[p+2], tiny), flush(ar0[p+3], tiny)
			y0, y1, y2, y3 := flush(ar1[p], tiny), flush(ar1[p+1], tiny), flush(ar1[p+2], tiny), flush(ar1[p+3], tiny)
			b0 := b[p*ldb:][:n]
			b1 := b[(p+1)*ldb:][:n]
			b2 := b[(p+2)*ldb:][:n]
			b3 := b[(p+3)*ldb:][:n]
			c1 := c1[:len(c0)]
			for j := range c0 {
				v0, v1, v2, v3 := b0[j], b1[j], b2[j], b3[j]
				c0[j] += (x0*v0 + x1*v1) + (x2*v2 + x3*v3)
				c1[j] += (y0*v0 + y1*v1) + (y2*v2 + y3*v3)
			}
		}
		for ; p < k; p++ {
			x0, y0 := flush(ar0[p], tiny), flush(ar1[p], tiny)
			b0 := b[p*ldb:][:n]
			c1 := c1[:len(c0)]
			for j, v := range b0 {
				c0[j] += x0 * v
				c1[j] += y0 * v
			}
		}
		if relu {
			nnRelu(c0)
			nnRelu(c1)
		}
	}
	if i == m {
		return
	}
	crow := c[i*ldc:][:n]
	nnStart(crow, acc, bias, i)
	arow := a[i*lda:][:k]
	p := 0
	for ; p+8 <= k; p += 8 {
		a0, a1, a2, a3 := flush(arow[p], tiny), flush(arow[p+1], tiny), flush(arow[p+2], tiny), flush(arow[p+3], tiny)
		a4, a5, a6, a7 := flush(arow[p+4], tiny), flush(arow[p+5], tiny), flush(arow[p+6], tiny), flush(arow[p+7], tiny)
		b0 := b[p*ldb:][:n]
		b1 := b[(p+1)*ldb:][:n]
		b2 := b[(p+2)*ldb:][:n]
		b3 := b[(p+3)*ldb:][:n]
		b4 := b[(p+4)*ldb:][:n]
		b5 := b[(p+5)*ldb:][:n]
		b6 := b[(p+6)*ldb:][:n]
		b7 := b[(p+7)*ldb:][:n]
		for j := range crow {
			crow[j] += ((a0*b0[j] + a1*b1[j]) + (a2*b2[j] + a3*b3[j])) + ((a4*b4[j] + a5*b5[j]) + (a6*b6[j] + a7*b7[j]))
		}
	}
	if p+4 <= k {
		a0, a1, a2, a3 := flush(arow[p], tiny), flush(arow[p+1], tiny), flush(arow[p+2], tiny), flush(arow[p+3], tiny)
		b0 := b[p*ldb:][:n]
		b1 := b[(p+1)*ldb:][:n]
		b2 := b[(p+2)*ldb:][:n]
		b3 := b[(p+3)*ldb:][:n]
		for j := range crow {
			crow[j] += (a0*b0[j] + a1*b1[j]) + (a2*b2[j] + a3*b3[j])
		}
		p += 4
	}
	for ; p < k; p++ {
		ap := flush(arow[p], tiny)
		brow := b[p*ldb:][:n]
		for j := range crow {
			crow[j] += ap * brow[j]
		}
	}
	if relu {
		nnRelu(crow)
	}
}

// nnStart prepares row i of C for the sums: zero (acc false) or as it is,
// plus bias[i] when bias is non-nil.
func nnStart[T Float](crow []T, acc bool, bias []T, i int) {
	if !acc {
		clear(crow)
	}
	if bias != nil {
		bi := bias[i]
		for j := range crow {
			crow[j] += bi
		}
	}
}

// nnRelu clamps a row of C at zero; NaN stays. The builtin max has no branch
// (a branch on the sign mispredicts on about half of a feature map).
func nnRelu[T Float](crow []T) {
	for j, v := range crow {
		crow[j] = max(v, 0)
	}
}

// flushBelow is the magnitude under which gemmNNUnrolled reads an A value as
// zero: 2^-102 for float32, so that no product with a B value of 2^-24 or more
// is subnormal; nothing for float64 (the gradient checks).
//
// x86 cores without flush-to-zero take a microcode assist of ~100+ cycles for
// every multiply that reads or makes a subnormal. A trained network's loss
// gradient holds such values (a softmax probability of exp(-90)): with the
// paper's plain recipe, 1-4% of the dense layer's output gradients were below
// 2^-100 in the first epochs on random labels and 8% in BenchmarkTrainStep
// (one batch trained over and over). Each one meets a whole weight row of
// 11,520 in the input gradient, so the two dense gradient products, an eighth
// of the flops, took 60% of that benchmark's generic step. The vector paths get the
// same from MXCSR's FTZ and DAZ bits, set by their GEMM kernels; TensorFlow and oneDNN train with FTZ/DAZ on. A
// dropped value changes a sum by less than 2^-102 times its B value: below
// float32's resolution of any sum of magnitude 2^-78 or more.
func flushBelow[T Float]() T {
	var v T
	if _, ok := any(v).(float32); ok {
		return T(0x1p-102)
	}
	return 0
}

// flush returns v, or zero when |v| < tiny. One compare of the magnitude
// (max has no branch): testing v > -tiny first branched on the sign, which
// mispredicts half the time and made GemmNN 2.6x slower at n = 10.
func flush[T Float](v, tiny T) T {
	if max(v, -v) < tiny {
		return 0
	}
	return v
}

// gemmNTBlocked is GemmNT's portable path: dot products of two rows of A with
// two rows of B at a time, four sums sharing their four loads (gemmNTGo takes
// the odd row and column). 7.1-7.9 GFLOP/s against gemmNTGo's 4.5-5.0 on one
// core at the paper's conv weight gradient (20x25, k 576) and dense forward
// (16x10, k 11,520); 2x4 blocks (5.1-6.0) and a k unrolled by two (4.9-5.6)
// were slower: more live sums than the 15 float registers hold well.
func gemmNTBlocked[T Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, acc bool) {
	i := 0
	for ; i+2 <= m; i += 2 {
		a0 := a[i*lda:][:k]
		a1 := a[(i+1)*lda:][:k]
		j := 0
		for ; j+2 <= n; j += 2 {
			b0 := b[j*ldb:][:k]
			b1 := b[(j+1)*ldb:][:k]
			var s00, s01, s10, s11 T
			for p := range a0 {
				x0, x1, y0, y1 := a0[p], a1[p], b0[p], b1[p]
				s00 += x0 * y0
				s01 += x0 * y1
				s10 += x1 * y0
				s11 += x1 * y1
			}
			ntPut(c, i*ldc+j, s00, acc)
			ntPut(c, i*ldc+j+1, s01, acc)
			ntPut(c, (i+1)*ldc+j, s10, acc)
			ntPut(c, (i+1)*ldc+j+1, s11, acc)
		}
		if j < n {
			gemmNTGo(2, n-j, k, a[i*lda:], lda, b[j*ldb:], ldb, c[i*ldc+j:], ldc, acc)
		}
	}
	if i < m {
		gemmNTGo(m-i, n, k, a[i*lda:], lda, b, ldb, c[i*ldc:], ldc, acc)
	}
}

func ntPut[T Float](c []T, at int, s T, acc bool) {
	if acc {
		c[at] += s
	} else {
		c[at] = s
	}
}
