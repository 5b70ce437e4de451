//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestGemmNNAVX2MatchesNaive runs every AVX2 micro-kernel against a naive
// float64 product over edge shapes: n around the 8- and 16-column strip
// boundaries (masked tails), k of 1 to 17 (the unrolled and the single-step
// loops), all flag combinations, and row strides wider than n so that a store
// past column n shows. Tolerance: 1e-5 of the sum of |terms| (float32 FMA
// against float64, at most ~k rounding steps of 2^-24 each).
func TestGemmNNAVX2MatchesNaive(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("no AVX2+FMA on this CPU")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for mr := 1; mr <= maxNNRowsAVX2; mr++ {
		for _, n := range []int{1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 50} {
			for _, k := range []int{1, 2, 3, 4, 5, 8, 17} {
				for flags := range 8 {
					name := fmt.Sprintf("mr=%d/n=%d/k=%d/flags=%d", mr, n, k, flags)
					ldb, ldc := n+3, n+2
					ap := make([]float32, k*mr)
					b := make([]float32, k*ldb)
					c := make([]float32, mr*ldc)
					bias := make([]float32, mr)
					for _, s := range [][]float32{ap, b, c, bias} {
						for i := range s {
							s[i] = rng.Float32()*2 - 1
						}
					}
					c0 := append([]float32(nil), c...)
					gemmNNBlockAVX2(mr, k, n, &ap[0], &b[0], ldb, &c[0], ldc, &bias[0], flags)
					for r := range mr {
						for j := range ldc {
							if j >= n {
								if c[r*ldc+j] != c0[r*ldc+j] {
									t.Fatalf("%s: C[%d][%d] past n changed", name, r, j)
								}
								continue
							}
							var s, mag float64
							if flags&2 != 0 {
								s, mag = float64(bias[r]), math.Abs(float64(bias[r]))
							}
							for p := range k {
								v := float64(ap[p*mr+r]) * float64(b[p*ldb+j])
								s += v
								mag += math.Abs(v)
							}
							if flags&1 != 0 {
								s += float64(c0[r*ldc+j])
								mag += math.Abs(float64(c0[r*ldc+j]))
							}
							if flags&4 != 0 {
								s = max(s, 0)
							}
							if d := math.Abs(float64(c[r*ldc+j]) - s); d > 1e-5*mag+1e-7 {
								t.Fatalf("%s: C[%d][%d] = %v, want %v", name, r, j, c[r*ldc+j], s)
							}
						}
					}
				}
			}
		}
	}
}
