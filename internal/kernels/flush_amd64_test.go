//go:build amd64 && !purego

package kernels

import "testing"

// TestVectorGemmFlushesSubnormals pins the MXCSR bits the GEMM kernels of
// the AVX-512 and AVX2 paths run with (flushOn in gen_emit.go), through the
// exported GemmNN (every row count of the micro-kernels), GemmNNRows (the
// row-offset kernels) and GemmNT (the dot-product kernels): a subnormal A
// value reads as zero (DAZ) and a subnormal product is stored as zero (FTZ);
// Go code after the calls sees the caller's MXCSR again (a subnormal product
// stays subnormal). The generic path flushes only GemmNN's A (TestGemmNNFlush).
func TestVectorGemmFlushesSubnormals(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		if !vector() {
			t.Skip("the generic path has no MXCSR bits to set")
		}
		for _, tc := range []struct {
			name string
			a, b float32
		}{
			{"DAZ", 0x1p-130, 0x1p40}, // 2^-90 without DAZ
			{"FTZ", 0x1p-70, 0x1p-70}, // 2^-140, subnormal
		} {
			for m := 1; m <= 12; m++ {
				const n, k = 37, 3
				a := fill(m*k, tc.a)
				b := fill(k*n, tc.b)
				c := fill(m*n, 1)
				GemmNN(m, n, k, a, k, b, n, c, n, false, nil, false)
				allZero(t, tc.name+" GemmNN", m, c)
				c = fill(m*n, 1)
				GemmNNRows(m, n, k, a, k, b, []int{2 * n, 0, n}, c, n, false, nil, false)
				allZero(t, tc.name+" GemmNNRows", m, c)
				bt := fill(n*k, tc.b)
				c = fill(m*n, 1)
				GemmNT(m, n, k, a, k, bt, k, c, n, false)
				allZero(t, tc.name+" GemmNT", m, c)
			}
			if got := tc.a * tc.b; tc.name == "FTZ" && got != 0x1p-140 {
				t.Fatalf("Go's 2^-70 * 2^-70 after the kernels = %g: MXCSR not restored", got)
			}
		}
	})
}

func fill(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func allZero(t *testing.T, what string, m int, c []float32) {
	t.Helper()
	for i, v := range c {
		if v != 0 {
			t.Fatalf("%s m=%d: C[%d] = %g, want 0", what, m, i, v)
		}
	}
}
