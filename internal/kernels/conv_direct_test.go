package kernels

import (
	"math"
	"math/rand"
	"slices"
	"testing"
)

// convEdgeGeoms are forward conv shapes at the edges of each algorithm: the
// PyTorch LeNet's two layers, the paper's layer, asymmetric and large
// padding, dilation, strides, 1x1 and a kernel as large as the padded input.
// fillOut gives each output size, with the bottom/right pads below.
var convEdgeGeoms = []struct {
	g      ConvGeom
	pb, pr int
}{
	{ConvGeom{C: 1, H: 28, W: 28, M: 6, KH: 5, KW: 5, SH: 1, SW: 1, PT: 2, PL: 2, DH: 1, DW: 1}, 2, 2},
	{ConvGeom{C: 6, H: 14, W: 14, M: 16, KH: 5, KW: 5, SH: 1, SW: 1, DH: 1, DW: 1}, 0, 0},
	{ConvGeom{C: 1, H: 28, W: 28, M: 20, KH: 5, KW: 5, SH: 1, SW: 1, DH: 1, DW: 1}, 0, 0},
	{ConvGeom{C: 3, H: 7, W: 9, M: 4, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1}, 1, 1},
	{ConvGeom{C: 2, H: 6, W: 5, M: 3, KH: 3, KW: 2, SH: 1, SW: 1, PT: 0, PL: 2, DH: 1, DW: 1}, 3, 0},
	{ConvGeom{C: 2, H: 6, W: 5, M: 3, KH: 2, KW: 3, SH: 1, SW: 1, PT: 3, PL: 0, DH: 1, DW: 1}, 0, 1},
	{ConvGeom{C: 2, H: 9, W: 8, M: 5, KH: 3, KW: 3, SH: 1, SW: 1, PT: 2, PL: 1, DH: 2, DW: 3}, 2, 3},
	{ConvGeom{C: 1, H: 3, W: 3, M: 11, KH: 5, KW: 5, SH: 1, SW: 1, PT: 2, PL: 2, DH: 1, DW: 1}, 2, 2},
	{ConvGeom{C: 3, H: 5, W: 4, M: 2, KH: 1, KW: 3, SH: 1, SW: 1, PL: 1, DH: 1, DW: 1}, 0, 1},
	{ConvGeom{C: 3, H: 5, W: 4, M: 2, KH: 3, KW: 1, SH: 1, SW: 1, PT: 1, DH: 1, DW: 1}, 1, 0},
	{ConvGeom{C: 3, H: 7, W: 9, M: 4, KH: 3, KW: 2, SH: 2, SW: 3, PT: 1, PL: 2, DH: 1, DW: 1}, 0, 1},
	{ConvGeom{C: 4, H: 5, W: 5, M: 2, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1}, 0, 0},
	{ConvGeom{C: 12, H: 8, W: 8, M: 24, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1}, 1, 1},
}

// TestConvImage compares every algorithm that can run each edge shape (the
// one Algo picks and the others it could have) with ConvNaive, with and
// without bias and ReLU, on every instruction path.
func TestConvImage(t *testing.T) { forEachPath(t, testConvImage) }

func testConvImage(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	for _, e := range convEdgeGeoms {
		g := fillOut(e.g, e.pb, e.pr)
		g.N = 1
		x := randSlice[float32](rng, g.InSize())
		w := randSlice[float32](rng, g.M*g.K())
		bias := randSlice[float32](rng, g.M)
		algos := []ConvAlgo{ConvIm2col}
		if g.SH == 1 && g.SW == 1 {
			algos = append(algos, ConvShifted, ConvImplicit)
		}
		if g.Direct() {
			algos = append(algos, Conv1x1)
		}
		for _, relu := range []bool{false, true} {
			for _, b := range [][]float32{nil, bias} {
				want := make([]float64, g.M*g.P())
				var b64 []float64
				if b != nil {
					b64 = to64(b)
				}
				ConvNaive(&g, to64(x), to64(w), b64, want, relu)
				for _, a := range algos {
					y := make([]float32, len(want))
					for i := range y {
						y[i] = float32(math.NaN()) // every output must be written
					}
					scratch := make([]float32, max(g.K()*g.P(), g.shiftedScratch()))
					for i := range scratch {
						scratch[i] = float32(math.NaN()) // padding must be zeroed
					}
					convWith(a, &g, x, w, b, y, relu, scratch)
					for i, v := range y {
						// Sums of K products of unit normals.
						if math.Abs(float64(v)-want[i]) > 1e-5*math.Sqrt(float64(g.K())) || math.IsNaN(float64(v)) {
							t.Fatalf("%v %v relu=%v bias=%v: y[%d] = %g, want %g", &g, a, relu, b != nil, i, v, want[i])
						}
					}
				}
			}
		}
		// ConvImage itself, with the scratch it asks for.
		y := make([]float32, g.M*g.P())
		want := make([]float64, len(y))
		ConvNaive(&g, to64(x), to64(w), to64(bias), want, true)
		ConvImage(&g, x, w, bias, y, true, make([]float32, g.ConvScratch()), PackConvWeights(&g, w, nil))
		for i, v := range y {
			if math.Abs(float64(v)-want[i]) > 1e-5*math.Sqrt(float64(g.K())) {
				t.Fatalf("%v ConvImage (%v): y[%d] = %g, want %g", &g, g.Algo(), i, v, want[i])
			}
		}
	}
}

func convWith[T Float](a ConvAlgo, g *ConvGeom, x, w, bias, y []T, relu bool, scratch []T) {
	switch a {
	case Conv1x1:
		GemmNN(g.M, g.P(), g.K(), w, g.K(), x, g.P(), y, g.P(), false, bias, relu)
	case ConvShifted:
		convShifted(g, x, w, bias, y, relu, scratch)
	case ConvImplicit:
		convImplicit(g, x, w, bias, y, relu, scratch, nil, false)
	default:
		convIm2col(g, x, w, bias, y, relu, scratch)
	}
}

// TestConvAlgo pins the choice for the shapes the benchmarks and the paper
// run: on the assembly paths both PyTorch LeNet layers go implicit; on the
// portable path its first goes shifted and its second (30 products) im2col.
// The paper's 20-filter layer and strided convs stay on im2col everywhere.
func TestConvAlgo(t *testing.T) { forEachPath(t, testConvAlgo) }

func testConvAlgo(t *testing.T) {
	want := []ConvAlgo{ConvShifted, ConvIm2col, ConvIm2col, ConvIm2col}
	if vector() {
		want = []ConvAlgo{ConvImplicit, ConvImplicit, ConvIm2col, ConvImplicit}
	}
	for i, w := range want {
		g := fillOut(convEdgeGeoms[i].g, convEdgeGeoms[i].pb, convEdgeGeoms[i].pr)
		if got := g.Algo(); got != w {
			t.Errorf("%v: %v, want %v", &g, got, w)
		}
	}
	strided := fillOut(convEdgeGeoms[10].g, 0, 1)
	if a := strided.Algo(); a != ConvIm2col {
		t.Errorf("%v: %v, want im2col", &strided, a)
	}
	one := fillOut(convEdgeGeoms[11].g, 0, 0)
	if a := one.Algo(); a != Conv1x1 {
		t.Errorf("%v: %v, want 1x1", &one, a)
	}
}

// TestConvImplicitExact checks that on the assembly paths ConvImplicit gives
// bit for bit the outputs of im2col + GemmNN (the same kernels and order of
// sums on the same values), for every stride-1 edge shape.
func TestConvImplicitExact(t *testing.T) { forEachPath(t, testConvImplicitExact) }

func testConvImplicitExact(t *testing.T) {
	if !vector() {
		t.Skip("the portable path sums im2col and implicit rows in different loops")
	}
	rng := rand.New(rand.NewSource(17))
	for _, e := range convEdgeGeoms {
		g := fillOut(e.g, e.pb, e.pr)
		if g.SH != 1 || g.SW != 1 {
			continue
		}
		x := randSlice[float32](rng, g.InSize())
		w := randSlice[float32](rng, g.M*g.K())
		bias := randSlice[float32](rng, g.M)
		scratch := make([]float32, max(g.K()*g.P(), g.shiftedScratch()))
		want := make([]float32, g.M*g.P())
		got := make([]float32, len(want))
		convIm2col(&g, x, w, bias, want, true, scratch)
		convImplicit(&g, x, w, bias, got, true, scratch, nil, false)
		got2 := make([]float32, len(want))
		convImplicit(&g, x, w, bias, got2, true, scratch, PackConvWeights(&g, w, nil), false)
		if !slices.Equal(got, got2) {
			t.Fatalf("%v: with packed weights %v, without %v", &g, got2, got)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%v: y[%d] = %v, im2col %v", &g, i, got[i], want[i])
			}
		}
	}
}

// BenchmarkConvImage times one image of the PyTorch LeNet's layers and the
// paper's layer with each algorithm.
func BenchmarkConvImage(b *testing.B) {
	for _, i := range benchConvShapes {
		g := fillOut(convEdgeGeoms[i].g, convEdgeGeoms[i].pb, convEdgeGeoms[i].pr)
		g.N = 1
		rng := rand.New(rand.NewSource(1))
		x := randSlice[float32](rng, g.InSize())
		w := randSlice[float32](rng, g.M*g.K())
		bias := randSlice[float32](rng, g.M)
		y := make([]float32, g.M*g.P())
		scratch := make([]float32, max(g.K()*g.P(), g.shiftedScratch()))
		for _, a := range []ConvAlgo{ConvIm2col, ConvShifted, ConvImplicit} {
			b.Run(g.String()+"/"+a.String(), func(b *testing.B) {
				for b.Loop() {
					convWith(a, &g, x, w, bias, y, true, scratch)
				}
				b.ReportMetric(float64(2*g.M*g.K()*g.P()*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

var benchConvShapes = []int{0, 1, 2}

// TestGemmNNRows compares GemmNNRows with GemmNN on its rows copied out: bit
// for bit on the assembly paths (the same kernels), within float32 rounding
// on the portable path; with row blocks of every size, tails, k longer than
// one packed panel, overlapping rows in any order, accumulate, bias and ReLU.
func TestGemmNNRows(t *testing.T) { forEachPath(t, testGemmNNRows) }

func testGemmNNRows(t *testing.T) {
	rng := rand.New(rand.NewSource(23))
	for _, c := range []struct{ m, n, k int }{{1, 1, 1}, {3, 17, 5}, {6, 136, 25}, {16, 100, 150}, {7, 33, 700}, {23, 70, 9}} {
		for _, flags := range []int{0, 1, 6, 7} { // 1 accumulate, 2 bias, 4 ReLU
			b := randSlice[float32](rng, 3*c.n+c.k)
			rows := make([]int, c.k)
			for p := range rows {
				rows[p] = rng.Intn(len(b) - c.n + 1)
			}
			bt := make([]float32, c.k*c.n)
			for p, r := range rows {
				copy(bt[p*c.n:][:c.n], b[r:])
			}
			a := randSlice[float32](rng, c.m*c.k)
			var bias []float32
			if flags&2 != 0 {
				bias = randSlice[float32](rng, c.m)
			}
			c0 := randSlice[float32](rng, c.m*c.n)
			want, got := slices.Clone(c0), slices.Clone(c0)
			acc, relu := flags&1 != 0, flags&4 != 0
			GemmNN(c.m, c.n, c.k, a, c.k, bt, c.n, want, c.n, acc, bias, relu)
			GemmNNRows(c.m, c.n, c.k, a, c.k, b, rows, got, c.n, acc, bias, relu)
			for i := range got {
				exact := math.Float32bits(got[i]) == math.Float32bits(want[i])
				if vector() && !exact || !vector() && math.Abs(float64(got[i]-want[i])) > 1e-5*math.Sqrt(float64(c.k)) {
					t.Fatalf("%+v flags %d: C[%d] = %v, GemmNN %v", c, flags, i, got[i], want[i])
				}
			}
		}
	}
}

// TestConvImagePool2 checks ConvImagePool2 bit for bit against ConvImage
// followed by Pool2D's 2x2 stride-2 max pool, on every path and edge shape
// (odd output sizes drop the last row and column).
func TestConvImagePool2(t *testing.T) { forEachPath(t, testConvImagePool2) }

func testConvImagePool2(t *testing.T) {
	rng := rand.New(rand.NewSource(29))
	for _, e := range convEdgeGeoms {
		g := fillOut(e.g, e.pb, e.pr)
		g.N = 1
		if g.OH < 2 || g.OW < 2 {
			continue
		}
		x := randSlice[float32](rng, g.InSize())
		w := randSlice[float32](rng, g.M*g.K())
		bias := randSlice[float32](rng, g.M)
		full := make([]float32, g.M*g.P())
		ConvImage(&g, x, w, bias, full, true, make([]float32, g.ConvScratch()), nil)
		pg := &PoolGeom{N: 1, C: g.M, H: g.OH, W: g.OW, OH: g.OH / 2, OW: g.OW / 2, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}
		want := make([]float32, g.M*pg.OH*pg.OW)
		Pool2D(pg, full, want)
		got := make([]float32, len(want))
		scratch := make([]float32, g.ConvPoolScratch())
		for i := range scratch {
			scratch[i] = float32(math.NaN())
		}
		ConvImagePool2(&g, x, w, bias, got, true, scratch, PackConvWeights(&g, w, nil))
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%v (%v): y[%d] = %v, want %v", &g, g.Algo(), i, got[i], want[i])
			}
		}
	}
}
