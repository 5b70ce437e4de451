//go:build amd64 && !purego

package kernels

// haveAVX2 reports that this build has the AVX2 kernels (cpu.go).
const haveAVX2 = true

// gemmNN32AVX2 is gemmNN32 on the AVX2 micro-kernels (panels of up to
// maxNNRowsAVX2 rows).
func gemmNN32AVX2(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool, bias []float32, relu bool) {
	gemmNNPacked(true, m, n, k, a, lda, b, ldb, nil, nil, c, ldc, acc, bias, relu)
}

// ntArgsAVX2 is the argument block of gemmNT34AVX2 (offsets fixed in
// gen_avx2.go).
type ntArgsAVX2 struct {
	a   [3]*float32
	b   [4]*float32
	k   int
	out [12]float32
}

//go:noescape
func gemmNT34AVX2(args *ntArgsAVX2)

// gemmNT32AVX2 computes C = A·Bᵀ in tiles of 3 rows of A by 4 rows of B, the
// dot products along k in vector registers; a tile at the edge repeats its
// last row and keeps only the valid sums.
func gemmNT32AVX2(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	if k == 0 {
		gemmNTGo(m, n, k, a, lda, b, ldb, c, ldc, acc)
		return
	}
	need(a, (m-1)*lda+k, "A")
	need(b, (n-1)*ldb+k, "B")
	need(c, (m-1)*ldc+n, "C")
	var args ntArgsAVX2
	args.k = k
	for i0 := 0; i0 < m; i0 += 3 {
		mr := min(3, m-i0)
		for r := range 3 {
			args.a[r] = &a[(i0+min(r, mr-1))*lda]
		}
		for j0 := 0; j0 < n; j0 += 4 {
			nr := min(4, n-j0)
			for r := range 4 {
				args.b[r] = &b[(j0+min(r, nr-1))*ldb]
			}
			gemmNT34AVX2(&args)
			for r := range mr {
				crow := c[(i0+r)*ldc+j0:][:nr]
				out := args.out[r*4:][:nr]
				if acc {
					for j, v := range out {
						crow[j] += v
					}
				} else {
					copy(crow, out)
				}
			}
		}
	}
}
