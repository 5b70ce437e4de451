//go:build amd64 && !purego

package kernels

import "sync"

// haveAVX2 reports that this build has the AVX2 kernels (cpu.go).
const haveAVX2 = true

// gemmNN32AVX2 is gemmNN32 on the AVX2 micro-kernels: A packed in panels of
// up to maxNNRowsAVX2 rows, k in pieces that fit the panel buffer.
func gemmNN32AVX2(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool, bias []float32, relu bool) {
	if k == 0 {
		gemmNNGo(m, n, k, a, lda, b, ldb, c, ldc, acc, bias, relu)
		return
	}
	need(a, (m-1)*lda+k, "A")
	need(b, (k-1)*ldb+n, "B")
	need(c, (m-1)*ldc+n, "C")
	flags := 0
	if acc {
		flags |= flagAcc
	}
	if bias != nil {
		need(bias, m, "bias")
		flags |= flagBias
	}
	if relu {
		flags |= flagRelu
	}
	var stack [nnPanel]float32
	blocks := (m + maxNNRowsAVX2 - 1) / maxNNRowsAVX2
	for bi := range blocks {
		i0, i1 := ChunkRange(m, blocks, bi)
		mr := i1 - i0
		var bp *float32
		if bias != nil {
			bp = &bias[i0]
		}
		kc := max(1, nnPanel/mr)
		for k0 := 0; k0 < k; k0 += kc {
			k1 := min(k, k0+kc)
			f := flags
			if k0 > 0 {
				f = (f | flagAcc) &^ flagBias
			}
			if k1 < k {
				f &^= flagRelu
			}
			var ap *float32
			if mr == 1 {
				ap = &a[i0*lda+k0]
			} else {
				for r := range mr {
					row := a[(i0+r)*lda+k0:][:k1-k0]
					for p, v := range row {
						stack[p*mr+r] = v
					}
				}
				ap = &stack[0]
			}
			gemmNNBlockAVX2(mr, k1-k0, n, ap, &b[k0*ldb], ldb, &c[i0*ldc], ldc, bp, f)
		}
	}
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
