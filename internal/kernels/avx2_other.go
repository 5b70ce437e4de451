//go:build !amd64 || purego

package kernels

// haveAVX2 reports that this build has no AVX2 kernels (cpu.go).
const haveAVX2 = false

// The AVX2 entry points are never called without avx2 (cpu.go).

func gemmNN32AVX2(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool, bias []float32, relu bool) {
	panic(noAsm)
}

func gemmNT32AVX2(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	panic(noAsm)
}

func shiftedSums32AVX2(x *float32, n int, shift float32) (s1, s2 float32)    { panic(noAsm) }
func sum32AVX2(x *float32, n int) float32                                    { panic(noAsm) }
func affine32AVX2(x, y *float32, n int, a, b float32, relu int)              { panic(noAsm) }
func gradSums32AVX2(x, dy, y *float32, n int, mean float32) (s0, s1 float32) { panic(noAsm) }
func bnDx32AVX2(x, dy, y, dx *float32, n int, a, b, c float32)               { panic(noAsm) }
func relu32AVX2(x, y *float32, n int)                                        { panic(noAsm) }
func reluMask32AVX2(y, dy, dx *float32, n int)                               { panic(noAsm) }
