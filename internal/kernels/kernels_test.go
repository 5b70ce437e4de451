package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// TestGemmKernels compares GemmNN and GemmNT (assembly where the CPU has it)
// with float64 loops over shapes that hit every edge of the micro-kernels:
// row blocks of 1 to 13, column tails of 1 to 33, short and long k.
func TestGemmKernels(t *testing.T) { forEachPath(t, testGemmKernels) }

func testGemmKernels(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	type shape struct{ m, n, k int }
	var shapes []shape
	for _, m := range []int{1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 20, 25} {
		for _, n := range []int{1, 3, 8, 15, 16, 17, 31, 32, 33, 64, 65, 100} {
			for _, k := range []int{1, 2, 5, 16, 25, 37} {
				shapes = append(shapes, shape{m, n, k})
			}
		}
	}
	shapes = append(shapes, shape{10, 11520, 128}, shape{128, 10, 11520}, shape{20, 25, 576}, shape{1, 10, 5000}, shape{3, 40, 3000})
	for _, s := range shapes {
		// Row strides larger than the rows, to catch stride mix-ups.
		lda, ldb, ldc := s.k+3, s.n+5, s.n+2
		a := randSlice[float32](rng, s.m*lda)
		b := randSlice[float32](rng, s.k*ldb)
		bias := randSlice[float32](rng, s.m)
		c0 := randSlice[float32](rng, s.m*ldc)
		for _, acc := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				c := append([]float32(nil), c0...)
				GemmNN(s.m, s.n, s.k, a, lda, b, ldb, c, ldc, acc, bias, relu)
				for i := range s.m {
					for j := range s.n {
						want := float64(bias[i])
						if acc {
							want += float64(c0[i*ldc+j])
						}
						mag := math.Abs(want)
						for p := range s.k {
							want += float64(a[i*lda+p]) * float64(b[p*ldb+j])
							mag += math.Abs(float64(a[i*lda+p]) * float64(b[p*ldb+j]))
						}
						if relu {
							want = math.Max(want, 0)
						}
						// float32 rounding: a few ulps (6e-8) of the sum of magnitudes.
						if got := float64(c[i*ldc+j]); math.Abs(got-want) > 1e-6*(1+mag) {
							t.Fatalf("GemmNN %+v acc=%v relu=%v: C[%d][%d] = %g, want %g", s, acc, relu, i, j, got, want)
						}
					}
				}
				if !relu {
					// Nothing outside the m×n block changes.
					for i := range s.m {
						for j := s.n; j < ldc; j++ {
							if c[i*ldc+j] != c0[i*ldc+j] {
								t.Fatalf("GemmNN %+v wrote C[%d][%d] outside the block", s, i, j)
							}
						}
					}
				}
			}
		}
		// gemmNT: B is (n,k) with row stride ldbt.
		ldbt := s.k + 1
		bt := randSlice[float32](rng, s.n*ldbt)
		for _, acc := range []bool{false, true} {
			c := append([]float32(nil), c0...)
			GemmNT(s.m, s.n, s.k, a, lda, bt, ldbt, c, ldc, acc)
			for i := range s.m {
				for j := range s.n {
					want := 0.0
					if acc {
						want = float64(c0[i*ldc+j])
					}
					mag := math.Abs(want)
					for p := range s.k {
						want += float64(a[i*lda+p]) * float64(bt[j*ldbt+p])
						mag += math.Abs(float64(a[i*lda+p]) * float64(bt[j*ldbt+p]))
					}
					if got := float64(c[i*ldc+j]); math.Abs(got-want) > 1e-6*(1+mag) {
						t.Fatalf("GemmNT %+v acc=%v: C[%d][%d] = %g, want %g", s, acc, i, j, got, want)
					}
				}
				for j := s.n; j < ldc; j++ {
					if c[i*ldc+j] != c0[i*ldc+j] {
						t.Fatalf("GemmNT %+v wrote C[%d][%d] outside the block", s, i, j)
					}
				}
			}
		}
	}
}

var testGeoms = []ConvGeom{
	{N: 2, C: 1, H: 28, W: 28, M: 20, KH: 5, KW: 5, SH: 1, SW: 1, DH: 1, DW: 1},
	{N: 2, C: 3, H: 7, W: 9, M: 4, KH: 3, KW: 2, SH: 2, SW: 3, PT: 1, PL: 2, DH: 1, DW: 1},
	{N: 1, C: 2, H: 8, W: 8, M: 3, KH: 3, KW: 3, SH: 1, SW: 2, PT: 2, PL: 0, DH: 2, DW: 2},
	{N: 3, C: 4, H: 5, W: 5, M: 2, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1},
}

func fillOut(g ConvGeom, padBottom, padRight int) ConvGeom {
	g.OH = (g.H+g.PT+padBottom-g.DH*(g.KH-1)-1)/g.SH + 1
	g.OW = (g.W+g.PL+padRight-g.DW*(g.KW-1)-1)/g.SW + 1
	return g
}

// TestIm2colAdjoint checks Im2col against the definition and Col2im as its
// adjoint: <Im2col(x), c> = <x, Col2im(c)>.
func TestIm2colAdjoint(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, g := range testGeoms {
		g := fillOut(g, 1, 0)
		x := randSlice[float64](rng, g.InSize())
		col := make([]float64, g.K()*g.P())
		Im2col(&g, x, col)
		for ci := range g.C {
			for ky := range g.KH {
				for kx := range g.KW {
					for oy := range g.OH {
						for ox := range g.OW {
							iy, ix := oy*g.SH-g.PT+ky*g.DH, ox*g.SW-g.PL+kx*g.DW
							want := 0.0
							if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
								want = x[(ci*g.H+iy)*g.W+ix]
							}
							if got := col[((ci*g.KH+ky)*g.KW+kx)*g.P()+oy*g.OW+ox]; got != want {
								t.Fatalf("%v: col = %g, want %g", &g, got, want)
							}
						}
					}
				}
			}
		}
		c := randSlice[float64](rng, len(col))
		dx := make([]float64, len(x))
		Col2im(&g, c, dx)
		var l, r float64
		for i := range col {
			l += col[i] * c[i]
		}
		for i := range x {
			r += x[i] * dx[i]
		}
		if math.Abs(l-r) > 1e-9*(1+math.Abs(l)) {
			t.Errorf("%v: <Im2col x, c> = %g, <x, Col2im c> = %g", &g, l, r)
		}
	}
}

func near(a float32, b, mag float64) bool {
	return math.Abs(float64(a)-b) <= 1e-6*(1+mag)
}

// TestElementwiseKernels compares the float32 loops (assembly where the CPU has
// it) with the float64 ones, over lengths that cover every tail of the
// 16-lane vectors.
func TestElementwiseKernels(t *testing.T) { forEachPath(t, testElementwiseKernels) }

func testElementwiseKernels(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for n := 0; n <= 70; n++ {
		x, dy, y := randSlice[float32](rng, n), randSlice[float32](rng, n), randSlice[float32](rng, n)
		if n > 3 {
			y[1], y[2] = 0, float32(math.Copysign(0, -1)) // ReLU masks are strict: y > 0
		}
		x64, dy64, y64 := to64(x), to64(dy), to64(y)
		mag := 0.0
		for i := range x {
			mag += math.Abs(x64[i]) * (1 + math.Abs(dy64[i]))
		}
		if got, want := Sum(x), Sum(x64); !near(got, want, mag) {
			t.Errorf("n=%d: sum %g, want %g", n, got, want)
		}
		s1, s2 := ShiftedSums(x, 0.3)
		w1, w2 := ShiftedSums(x64, 0.3)
		if !near(s1, w1, mag+float64(n)) || !near(s2, w2, 4*(mag+float64(n))) {
			t.Errorf("n=%d: ShiftedSums %g %g, want %g %g", n, s1, s2, w1, w2)
		}
		for _, masked := range []bool{false, true} {
			ym, ym64 := y, y64
			if !masked {
				ym, ym64 = nil, nil
			}
			g0, g1 := GradSums(x, dy, ym, 0.2)
			e0, e1 := GradSums(x64, dy64, ym64, 0.2)
			if !near(g0, e0, mag) || !near(g1, e1, 2*mag) {
				t.Errorf("n=%d masked=%v: GradSums %g %g, want %g %g", n, masked, g0, g1, e0, e1)
			}
			dx, dx64 := make([]float32, n+1), make([]float64, n)
			dx[n] = 42 // a guard past the end
			BNDx(x, dy, ym, dx[:n], 0.7, -0.4, 0.1)
			BNDx(x64, dy64, ym64, dx64, 0.7, -0.4, 0.1)
			for i := range n {
				if !near(dx[i], dx64[i], 2) {
					t.Fatalf("n=%d masked=%v: BNDx[%d] = %g, want %g", n, masked, i, dx[i], dx64[i])
				}
			}
			if dx[n] != 42 {
				t.Fatalf("n=%d: BNDx wrote past the end", n)
			}
		}
		for _, r := range []bool{false, true} {
			out, out64 := make([]float32, n+1), make([]float64, n)
			out[n] = 42
			Affine(x, out[:n], 1.5, -0.25, r)
			Affine(x64, out64, 1.5, -0.25, r)
			for i := range n {
				if !near(out[i], out64[i], 2) || (r && out[i] < 0) {
					t.Fatalf("n=%d relu=%v: Affine[%d] = %g, want %g", n, r, i, out[i], out64[i])
				}
			}
			if out[n] != 42 {
				t.Fatalf("n=%d: Affine wrote past the end", n)
			}
		}
		out, mask := make([]float32, n+1), make([]float32, n+1)
		out[n], mask[n] = 42, 42
		Relu(x, out[:n])
		ReluMask(y, dy, mask[:n])
		for i := range n {
			if out[i] != max(x[i], 0) {
				t.Fatalf("n=%d: Relu[%d] = %g", n, i, out[i])
			}
			want := float32(0)
			if y[i] > 0 {
				want = dy[i]
			}
			if mask[i] != want {
				t.Fatalf("n=%d: ReluMask[%d] = %g, want %g", n, i, mask[i], want)
			}
		}
		if out[n] != 42 || mask[n] != 42 {
			t.Fatalf("n=%d: relu wrote past the end", n)
		}
	}
	// NaN survives the ReLU, so that the trainer's NaN guard still sees it.
	nan := []float32{float32(math.NaN()), -1, 2}
	out := make([]float32, 3)
	Relu(nan, out)
	Affine(nan, out[:1], 1, 0, true)
	if !math.IsNaN(float64(out[0])) {
		t.Errorf("relu(NaN) = %g", out[0])
	}
}

// TestIm2col32 checks the float32 Im2col (assembly row copies) against the
// float64 one.
func TestIm2col32(t *testing.T) { forEachPath(t, testIm2col32) }

func testIm2col32(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, g := range append(testGeoms, ConvGeom{N: 1, C: 2, H: 40, W: 37, M: 1, KH: 3, KW: 4, SH: 2, SW: 1, DH: 1, DW: 1}) {
		g := fillOut(g, 0, 1)
		x := randSlice[float32](rng, g.InSize())
		col := make([]float32, g.K()*g.P())
		col64 := make([]float64, len(col))
		Im2col(&g, x, col)
		Im2col(&g, to64(x), col64)
		for i := range col {
			if float64(col[i]) != col64[i] {
				t.Fatalf("%v: col[%d] = %g, want %g", &g, i, col[i], col64[i])
			}
		}
	}
}

// TestConvGradW32 compares the float32 conv weight gradient (assembly sums
// over the images) with the float64 one.
func TestConvGradW32(t *testing.T) { forEachPath(t, testConvGradW32) }

func testConvGradW32(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, g := range append(testGeoms, ConvGeom{N: 13, C: 1, H: 28, W: 28, M: 20, KH: 5, KW: 5, SH: 1, SW: 1, DH: 1, DW: 1}) {
		g := fillOut(g, 0, 0)
		x := randSlice[float32](rng, g.N*g.InSize())
		dy := randSlice[float32](rng, g.N*g.M*g.P())
		got := make([]float32, g.M*g.K())
		var col32 []float32
		var part []float32
		ConvGradW(&g, x, dy, 0, g.N, got,
			func(n int) []float32 { col32 = make([]float32, n); return col32 },
			func(n int) []float32 { part = make([]float32, n); return part })
		want := make([]float64, len(got))
		ConvGradW(&g, to64(x), to64(dy), 0, g.N, want,
			func(n int) []float64 { return make([]float64, n) },
			func(n int) []float32 { return make([]float32, n) })
		for i, v := range got {
			// Sums of n*oH*oW products of unit normals.
			if math.Abs(float64(v)-want[i]) > 1e-5*math.Sqrt(float64(g.N*g.P())) {
				t.Fatalf("%v: dW[%d] = %g, want %g", &g, i, v, want[i])
			}
		}
	}
}

func randSlice[T Float](rng *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(rng.NormFloat64())
	}
	return s
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// forEachPath runs f on every instruction path this machine and build can
// run, fastest first, by lowering the choice cpu.go made.
func forEachPath(t *testing.T, f func(t *testing.T)) {
	saved512, saved2 := avx512, avx2
	defer func() { avx512, avx2 = saved512, saved2 }()
	if avx512 {
		t.Run(AVX512, f)
	}
	avx512 = false
	if avx2 {
		t.Run(AVX2, f)
	}
	avx2 = false
	t.Run(Generic, f)
}

// TestGemmNNFlush pins what the portable GemmNN does with tiny A values
// (flushBelow): float32 values of magnitude below 2^-102 count as zero,
// 2^-102 itself counts, and float64 keeps everything, subnormals included.
func TestGemmNNFlush(t *testing.T) {
	const m, n, k = 3, 5, 11 // k: the 8-, 4- and 1-step loops
	a := make([]float32, m*k)
	for i := range a {
		switch i % 4 {
		case 0:
			a[i] = 0x1p-103 // flushed
		case 1:
			a[i] = -0x1p-120 // flushed
		case 2:
			a[i] = math.Float32frombits(1) // the smallest subnormal: flushed
		default:
			a[i] = -0x1p-102 // kept
		}
	}
	b := make([]float32, k*n)
	for i := range b {
		b[i] = 0x1p40 + float32(i)*0x1p30
	}
	c := make([]float32, m*n)
	gemmNNUnrolled(m, n, k, a, k, b, n, c, n, false, nil, false)
	for i := range m {
		for j := range n {
			want := 0.0
			for p := range k {
				if v := float64(a[i*k+p]); math.Abs(v) >= 0x1p-102 {
					want += v * float64(b[p*n+j])
				}
			}
			if got := float64(c[i*n+j]); math.Abs(got-want) > 1e-6*math.Abs(want) || want == 0 {
				t.Fatalf("float32 C[%d][%d] = %g, want %g", i, j, got, want)
			}
		}
	}
	a64 := []float64{math.SmallestNonzeroFloat64, 0x1p-1030}
	b64 := []float64{0x1p60, 0x1p60}
	c64 := make([]float64, 1)
	gemmNNUnrolled(1, 1, 2, a64, 2, b64, 1, c64, 1, false, nil, false)
	if want := 0x1p-1014 + 0x1p-970; c64[0] != want {
		t.Fatalf("float64 C = %g, want %g (nothing flushed)", c64[0], want)
	}
}
