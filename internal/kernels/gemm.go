package kernels

// Matrix products for the custom ops, in the two forms that keep the vector
// dimension contiguous for every product this package needs (all row-major):
//
//	GemmNN: C (m,n) = A (m,k) · B (k,n)   vectors run along n (rows of B and C)
//	GemmNT: C (m,n) = A (m,k) · B(n,k)ᵀ   vectors run along k (dot products)
//
// Conv forward (W·col), conv input gradient (Wᵀ·dY), the dense input gradient
// (dY·Wᵀ) and the dense weight gradient (dYᵀ·X) are GemmNN; the conv weight
// gradient (dY·colᵀ) and the dense forward (X·Wᵀ) are GemmNT. float32 runs on
// assembly micro-kernels where the CPU has them (avx512_amd64.s,
// avx2_amd64.s), otherwise on the portable loops (gemm_portable.go), which
// are also the float64 path.

// GemmNN sets C = A·B (acc false) or adds A·B to C (acc true), then adds
// bias[i] to row i when bias is non-nil and clamps at zero when relu is set.
// lda, ldb and ldc are row strides.
func GemmNN[T Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, acc bool, bias []T, relu bool) {
	if m == 0 || n == 0 {
		return
	}
	if fast, ok := any(a).([]float32); ok && (avx512 || avx2) {
		if avx512 {
			gemmNN32(m, n, k, fast, lda, any(b).([]float32), ldb, any(c).([]float32), ldc, acc, any(bias).([]float32), relu)
		} else {
			gemmNN32AVX2(m, n, k, fast, lda, any(b).([]float32), ldb, any(c).([]float32), ldc, acc, any(bias).([]float32), relu)
		}
		return
	}
	gemmNNUnrolled(m, n, k, a, lda, b, ldb, c, ldc, acc, bias, relu)
}

// GemmNNRows is GemmNN with B given by its rows: row p is b[rows[p]:][:n]
// (offsets in any order, rows may overlap): an implicit B, such as the
// column matrix of a convolution read straight from the padded image
// (ConvImplicit). On the assembly paths it runs GemmNN's kernels with the
// same packing and the same order of sums, so C is bit-identical to GemmNN's
// on those rows copied out; gemmNNRowsGo is the portable form.
func GemmNNRows[T Float](m, n, k int, a []T, lda int, b []T, rows []int, c []T, ldc int, acc bool, bias []T, relu bool) {
	if m == 0 || n == 0 {
		return
	}
	rows = rows[:k]
	if fast, ok := any(a).([]float32); ok && (avx512 || avx2) {
		gemmNNRows32(!avx512, m, n, k, fast, lda, any(b).([]float32), rows, nil, any(c).([]float32), ldc, acc, any(bias).([]float32), relu)
		return
	}
	gemmNNRowsGo(m, n, k, a, lda, b, rows, c, ldc, acc, bias, relu)
}

// gemmNNRowsGo is GemmNNRows as gemmNNGo's loop, one row of B at a time.
func gemmNNRowsGo[T Float](m, n, k int, a []T, lda int, b []T, rows []int, c []T, ldc int, acc bool, bias []T, relu bool) {
	for i := range m {
		crow := c[i*ldc:][:n]
		nnStart(crow, acc, bias, i)
		for p, ap := range a[i*lda:][:k] {
			for j, v := range b[rows[p]:][:n] {
				crow[j] += ap * v
			}
		}
		if relu {
			nnRelu(crow)
		}
	}
}

func gemmNNGo[T Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, acc bool, bias []T, relu bool) {
	for i := range m {
		crow := c[i*ldc:][:n]
		if !acc {
			clear(crow)
		}
		if bias != nil {
			bi := bias[i]
			for j := range crow {
				crow[j] += bi
			}
		}
		arow := a[i*lda:][:k]
		p := 0
		for ; p+4 <= k; p += 4 {
			a0, a1, a2, a3 := arow[p], arow[p+1], arow[p+2], arow[p+3]
			b0 := b[p*ldb:][:n]
			b1 := b[(p+1)*ldb:][:n]
			b2 := b[(p+2)*ldb:][:n]
			b3 := b[(p+3)*ldb:][:n]
			for j := range crow {
				crow[j] += a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j]
			}
		}
		for ; p < k; p++ {
			ap := arow[p]
			brow := b[p*ldb:][:n]
			for j := range crow {
				crow[j] += ap * brow[j]
			}
		}
		if relu {
			for j, v := range crow {
				if v < 0 {
					crow[j] = 0
				}
			}
		}
	}
}

// GemmNT sets C = A·Bᵀ (acc false) or adds it to C (acc true): C[i][j] is the
// dot product of row i of A and row j of B, both of length k.
func GemmNT[T Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	if fast, ok := any(a).([]float32); ok && (avx512 || avx2) {
		if avx512 {
			gemmNT32(m, n, k, fast, lda, any(b).([]float32), ldb, any(c).([]float32), ldc, acc)
		} else {
			gemmNT32AVX2(m, n, k, fast, lda, any(b).([]float32), ldb, any(c).([]float32), ldc, acc)
		}
		return
	}
	gemmNTBlocked(m, n, k, a, lda, b, ldb, c, ldc, acc)
}

func gemmNTGo[T Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, acc bool) {
	for i := range m {
		arow := a[i*lda:][:k]
		for j := range n {
			brow := b[j*ldb:][:k]
			var s0, s1, s2, s3 T
			p := 0
			for ; p+4 <= k; p += 4 {
				s0 += arow[p] * brow[p]
				s1 += arow[p+1] * brow[p+1]
				s2 += arow[p+2] * brow[p+2]
				s3 += arow[p+3] * brow[p+3]
			}
			for ; p < k; p++ {
				s0 += arow[p] * brow[p]
			}
			s := (s0 + s1) + (s2 + s3)
			if acc {
				c[i*ldc+j] += s
			} else {
				c[i*ldc+j] = s
			}
		}
	}
}

// Transpose writes the (rows,cols) matrix src (row stride lds) transposed into
// dst (cols,rows), row stride ldd.
func Transpose[T Float](rows, cols int, src []T, lds int, dst []T, ldd int) {
	if rows == 0 || cols == 0 {
		return
	}
	if rows <= 16 {
		// Few source rows (a dense layer's outputs): read them as streams,
		// write dst rows whole.
		var rp [16][]T
		for j := range rows {
			rp[j] = src[j*lds:][:cols]
		}
		for i := range cols {
			d := dst[i*ldd:][:rows]
			for j := range d {
				d[j] = rp[j][i]
			}
		}
		return
	}
	if cols <= 16 {
		var dp [16][]T
		for j := range cols {
			dp[j] = dst[j*ldd:][:rows]
		}
		for i := range rows {
			for j, v := range src[i*lds:][:cols] {
				dp[j][i] = v
			}
		}
		return
	}
	const blk = 32
	for i0 := 0; i0 < rows; i0 += blk {
		i1 := min(rows, i0+blk)
		for j0 := 0; j0 < cols; j0 += blk {
			j1 := min(cols, j0+blk)
			for i := i0; i < i1; i++ {
				row := src[i*lds:]
				for j := j0; j < j1; j++ {
					dst[j*ldd+i] = row[j]
				}
			}
		}
	}
}
