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

// TestAVX2FlushesSubnormals pins the MXCSR bits the AVX2 GEMM kernels run
// with (flushOn in gen_emit.go): a subnormal A value reads as zero (DAZ), a
// subnormal product is stored as zero (FTZ), and Go code after the call sees
// the caller's MXCSR again (a subnormal product stays subnormal).
func TestAVX2FlushesSubnormals(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("no AVX2+FMA on this CPU")
	}
	for mr := 1; mr <= maxNNRowsAVX2; mr++ {
		for _, tc := range []struct {
			name string
			a, b float32
		}{
			{"DAZ", 0x1p-130, 0x1p40}, // 2^-90 without DAZ
			{"FTZ", 0x1p-70, 0x1p-70}, // 2^-140, subnormal
		} {
			const n = 20
			ap := make([]float32, mr)
			for r := range ap {
				ap[r] = tc.a
			}
			b := make([]float32, n)
			for j := range b {
				b[j] = tc.b
			}
			c := make([]float32, mr*n)
			for i := range c {
				c[i] = 1
			}
			gemmNNBlockAVX2(mr, 1, n, &ap[0], &b[0], n, &c[0], n, nil, 0)
			for i, v := range c {
				if v != 0 {
					t.Fatalf("mr=%d %s: C[%d] = %g, want 0", mr, tc.name, i, v)
				}
			}
			if got := ap[0] * b[0]; tc.name == "FTZ" && got != 0x1p-140 {
				t.Fatalf("mr=%d: Go's 2^-70 * 2^-70 after the kernel = %g: MXCSR not restored", mr, got)
			}
		}
	}
}

// TestGemmNTAVX2MatchesNaive runs the AVX2 dot-product kernel through
// gemmNT32AVX2 against a float64 product: rows around the 3x4 tile edges, k
// around the 8-lane steps and their masked tail. The row-stride gaps of A and
// B hold NaN, so a load past k shows as NaN in C. Tolerance as for GemmNN.
func TestGemmNTAVX2MatchesNaive(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("no AVX2+FMA on this CPU")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	nan := float32(math.NaN())
	for _, m := range []int{1, 2, 3, 4, 7} {
		for _, n := range []int{1, 3, 4, 5, 9} {
			for _, k := range []int{1, 7, 8, 9, 15, 16, 17, 33} {
				lda, ldb, ldc := k+3, k+5, n+2
				a := make([]float32, m*lda)
				b := make([]float32, n*ldb)
				for _, s := range []struct {
					x  []float32
					ld int
				}{{a, lda}, {b, ldb}} {
					for i := range s.x {
						s.x[i] = nan
						if i%s.ld < k {
							s.x[i] = rng.Float32()*2 - 1
						}
					}
				}
				c0 := make([]float32, m*ldc)
				for i := range c0 {
					c0[i] = rng.Float32()
				}
				for _, acc := range []bool{false, true} {
					c := append([]float32(nil), c0...)
					gemmNT32AVX2(m, n, k, a, lda, b, ldb, c, ldc, acc)
					for i := range m {
						for j := range ldc {
							got := c[i*ldc+j]
							if j >= n {
								if got != c0[i*ldc+j] {
									t.Fatalf("m=%d n=%d k=%d: C[%d][%d] past n changed", m, n, k, i, j)
								}
								continue
							}
							var s, mag float64
							if acc {
								s, mag = float64(c0[i*ldc+j]), math.Abs(float64(c0[i*ldc+j]))
							}
							for p := range k {
								v := float64(a[i*lda+p]) * float64(b[j*ldb+p])
								s += v
								mag += math.Abs(v)
							}
							if d := math.Abs(float64(got) - s); !(d <= 1e-5*mag+1e-7) {
								t.Fatalf("m=%d n=%d k=%d acc=%v: C[%d][%d] = %v, want %v", m, n, k, acc, i, j, got, s)
							}
						}
					}
				}
			}
		}
	}
}
