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
