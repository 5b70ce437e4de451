//go:build amd64 && !purego

package kernels

import "sync"

// haveAVX2 reports that this build has the AVX2 kernels (cpu.go).
const haveAVX2 = true

// gemmNN32AVX2 is gemmNN32 on the AVX2 micro-kernels (panels of up to
// maxNNRowsAVX2 rows).
func gemmNN32AVX2(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool, bias []float32, relu bool) {
	gemmNNPacked(true, m, n, k, a, lda, b, ldb, c, ldc, acc, bias, relu)
}

// gemmNT32AVX2 computes C = A·Bᵀ as A·(Bᵀ) with GemmNN's kernels: B (n,k) is
// transposed into a (k,n) scratch first, O(nk) next to the product's O(mnk).
func gemmNT32AVX2(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	if k == 0 {
		gemmNTGo(m, n, k, a, lda, b, ldb, c, ldc, acc)
		return
	}
	need(b, (n-1)*ldb+k, "B")
	sp := ntScratch.Get().(*[]float32)
	if cap(*sp) < k*n {
		*sp = make([]float32, k*n)
	}
	bt := (*sp)[:k*n]
	Transpose(n, k, b, ldb, bt, n)
	gemmNN32AVX2(m, n, k, a, lda, bt, n, c, ldc, acc, nil, false)
	ntScratch.Put(sp)
}

// ntScratch holds gemmNT32AVX2's transposed B, one per goroutine at a time.
var ntScratch = sync.Pool{New: func() any { return new([]float32) }}
