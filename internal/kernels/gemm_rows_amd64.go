//go:build amd64 && !purego

package kernels

import "fmt"

// The implicit-B GEMM micro-kernels (gemmNN<mr>Rows of avx512_amd64.s,
// gemmNN<mr>RowsAVX2 of avx2_amd64.s, generated with the others): the same
// loops as gemmNN<mr>, but B row p is read at b + rows[p] floats.

//go:noescape
func gemmNN1Rows(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN2Rows(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN3Rows(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN4Rows(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN5Rows(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN6Rows(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN7Rows(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN8Rows(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN9Rows(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN10Rows(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN1RowsAVX2(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN2RowsAVX2(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN3RowsAVX2(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN4RowsAVX2(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN5RowsAVX2(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)

// gemmNNRowsBlock runs the rows kernel of the path for mr rows (a switch of
// direct calls, as gemmNNBlock).
func gemmNNRowsBlock(avx2 bool, mr, k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int) {
	if avx2 {
		switch mr {
		case 1:
			gemmNN1RowsAVX2(k, n, ap, b, rows, c, ldc, bias, flags)
		case 2:
			gemmNN2RowsAVX2(k, n, ap, b, rows, c, ldc, bias, flags)
		case 3:
			gemmNN3RowsAVX2(k, n, ap, b, rows, c, ldc, bias, flags)
		case 4:
			gemmNN4RowsAVX2(k, n, ap, b, rows, c, ldc, bias, flags)
		case 5:
			gemmNN5RowsAVX2(k, n, ap, b, rows, c, ldc, bias, flags)
		default:
			panic("kernels: gemmNN AVX2 row block out of range")
		}
		return
	}
	switch mr {
	case 1:
		gemmNN1Rows(k, n, ap, b, rows, c, ldc, bias, flags)
	case 2:
		gemmNN2Rows(k, n, ap, b, rows, c, ldc, bias, flags)
	case 3:
		gemmNN3Rows(k, n, ap, b, rows, c, ldc, bias, flags)
	case 4:
		gemmNN4Rows(k, n, ap, b, rows, c, ldc, bias, flags)
	case 5:
		gemmNN5Rows(k, n, ap, b, rows, c, ldc, bias, flags)
	case 6:
		gemmNN6Rows(k, n, ap, b, rows, c, ldc, bias, flags)
	case 7:
		gemmNN7Rows(k, n, ap, b, rows, c, ldc, bias, flags)
	case 8:
		gemmNN8Rows(k, n, ap, b, rows, c, ldc, bias, flags)
	case 9:
		gemmNN9Rows(k, n, ap, b, rows, c, ldc, bias, flags)
	case 10:
		gemmNN10Rows(k, n, ap, b, rows, c, ldc, bias, flags)
	default:
		panic("kernels: gemmNN row block out of range")
	}
}

// gemmNNRows32 is GemmNNRows on the assembly path's kernels, with A packed
// already (packA) when pre is non-nil.
func gemmNNRows32(avx2 bool, m, n, k int, a []float32, lda int, b []float32, rows []int, pre []float32, c []float32, ldc int, acc bool, bias []float32, relu bool) {
	gemmNNPacked(avx2, m, n, k, a, lda, b, 0, rows, pre, c, ldc, acc, bias, relu)
}

// needRows panics unless every row b[rows[p]:][:n] lies inside b.
func needRows(b []float32, rows []int, n int) {
	for _, r := range rows {
		if r < 0 || r > len(b)-n {
			panic(fmt.Sprintf("kernels: B row at %d of %d values, kernel reads %d", r, len(b), n))
		}
	}
}
