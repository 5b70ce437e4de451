//go:build amd64 && !purego

package graph

var useAsm = false

func gemmNN32(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool, bias []float32, relu bool) {
	gemmNNGo(m, n, k, a, lda, b, ldb, c, ldc, acc, bias, relu)
}

func gemmNT32(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	gemmNTGo(m, n, k, a, lda, b, ldb, c, ldc, acc)
}
