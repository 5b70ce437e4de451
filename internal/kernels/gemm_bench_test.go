package kernels

import (
	"fmt"
	"math/rand"
	"testing"
)

// BenchmarkGemmNN measures GemmNN on the path ONNXDIGITS_CPU selects, at
// shapes of the paper's network (conv forward W·col, conv input gradient
// Wᵀ·dY, dense); "ref" runs gemmNNGo, the reference loops, for comparison.
func BenchmarkGemmNN(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	for _, s := range []struct{ m, n, k int }{{32, 576, 25}, {64, 64, 800}, {800, 64, 64}, {128, 100, 1024}} {
		a := randSlice[float32](rng, s.m*s.k)
		bm := randSlice[float32](rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		flops := 2 * float64(s.m*s.n*s.k)
		for _, ref := range []bool{false, true} {
			name := fmt.Sprintf("%s/m=%d/n=%d/k=%d", CPU(), s.m, s.n, s.k)
			if ref {
				name = fmt.Sprintf("ref/m=%d/n=%d/k=%d", s.m, s.n, s.k)
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					if ref {
						gemmNNGo(s.m, s.n, s.k, a, s.k, bm, s.n, c, s.n, false, nil, false)
					} else {
						GemmNN(s.m, s.n, s.k, a, s.k, bm, s.n, c, s.n, false, nil, false)
					}
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkGemmTrain measures, on one goroutine, the products of one training
// step of the paper's network (batch 128) in the pieces the backend runs them:
// per image for the conv, per chunk of 16 rows (or 1,440 columns) for the
// dense layer, on the path ONNXDIGITS_CPU selects.
func BenchmarkGemmTrain(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	const K = 20 * 24 * 24 // the dense layer's inputs
	for _, s := range []struct {
		name          string
		nt            bool // GemmNT
		m, n, k       int
		lda, ldb, ldc int
	}{
		{"conv/forward", false, 20, 576, 25, 25, 576, 576},
		{"conv/gradW", true, 20, 25, 576, 576, 576, 25},
		{"dense/forward", false, 16, 10, K, K, 10, 10},
		{"dense/forwardNT", true, 16, 10, K, K, K, 10},
		{"dense/gradA", false, 16, K, 10, 10, K, K},
		{"dense/gradB", false, 10, 1440, 128, 128, K, K},
	} {
		a := randSlice[float32](rng, s.m*s.lda)
		bm := randSlice[float32](rng, max(s.k*s.ldb, s.n*s.ldb))
		c := make([]float32, s.m*s.ldc)
		flops := 2 * float64(s.m*s.n*s.k)
		b.Run(fmt.Sprintf("%s/%s/m=%d/n=%d/k=%d", CPU(), s.name, s.m, s.n, s.k), func(b *testing.B) {
			for b.Loop() {
				if s.nt {
					GemmNT(s.m, s.n, s.k, a, s.lda, bm, s.ldb, c, s.ldc, true)
				} else {
					GemmNN(s.m, s.n, s.k, a, s.lda, bm, s.ldb, c, s.ldc, false, nil, false)
				}
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
