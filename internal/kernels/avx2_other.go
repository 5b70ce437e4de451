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
