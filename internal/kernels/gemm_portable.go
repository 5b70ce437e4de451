package kernels

// gemmNNUnrolled is GemmNN's portable path (the generic path and every float64
// product): gemmNNGo's row-streaming loop with k unrolled by eight, so each
// load and store of a C element carries eight multiply-adds instead of four.
// The gain is small (about 10% on the paper's network) because scalar code
// without FMA is bound by the two floating-point ports either way: both loops
// run near two flops per cycle. A 2×4 register-blocked kernel on packed B
// panels was slower: the Go compiler schedules all multiplies before the adds
// and spills. gemmNNGo stays as the reference and the assembly paths' fallback.
func gemmNNUnrolled[T Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, acc bool, bias []T, relu bool) {
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
		for ; p+8 <= k; p += 8 {
			a0, a1, a2, a3 := arow[p], arow[p+1], arow[p+2], arow[p+3]
			a4, a5, a6, a7 := arow[p+4], arow[p+5], arow[p+6], arow[p+7]
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
			a0, a1, a2, a3 := arow[p], arow[p+1], arow[p+2], arow[p+3]
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
