//go:build !amd64 || purego

package kernels

// The rows kernels are never called without avx512 or avx2 (cpu.go).

func gemmNNRowsBlock(avx2 bool, mr, k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int) {
	panic(noAsm)
}

func gemmNNRows32(avx2 bool, m, n, k int, a []float32, lda int, b []float32, rows []int, pre []float32, c []float32, ldc int, acc bool, bias []float32, relu bool) {
	panic(noAsm)
}

func packA(avx2 bool, m, k int, a []float32, lda int, dst []float32) { panic(noAsm) }
