//go:build !amd64 || purego

package kernels

// Without assembly (other architectures, or the purego build tag) float32 runs
// on the portable loops.

// haveAVX512 reports that this build has no AVX-512 kernels (cpu.go).
const haveAVX512 = false

func gemmNN32(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool, bias []float32, relu bool) {
	gemmNNUnrolled(m, n, k, a, lda, b, ldb, c, ldc, acc, bias, relu)
}

func gemmNT32(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	gemmNTBlocked(m, n, k, a, lda, b, ldb, c, ldc, acc)
}

// The assembly entry points are never called without avx512 (cpu.go).

func shiftedSums32(x *float32, n int, shift float32) (s1, s2 float32)    { panic(noAsm) }
func sum32(x *float32, n int) float32                                    { panic(noAsm) }
func affine32(x, y *float32, n int, a, b float32, relu int)              { panic(noAsm) }
func gradSums32(x, dy, y *float32, n int, mean float32) (s0, s1 float32) { panic(noAsm) }
func bnDx32(x, dy, y, dx *float32, n int, a, b, c float32)               { panic(noAsm) }
func relu32(x, y *float32, n int)                                        { panic(noAsm) }
func reluMask32(y, dy, dx *float32, n int)                               { panic(noAsm) }
func copyRows32(dst, src *float32, n, rows, dstStride, srcStride int)    { panic(noAsm) }

func gemmNTPart(m, n, k int, a []float32, lda int, b []float32, ldb int, part []float32, first bool) {
	panic(noAsm)
}
func ntReduce(m, n int, part []float32, c []float32, ldc int, acc bool) { panic(noAsm) }

// ntTile is the size of one tile's unreduced sums in gemmNTPart's buffer.
const ntTile = 20 * 16

const noAsm = "backend: assembly kernel called without assembly"
