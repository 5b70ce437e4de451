package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// outSize is ONNX's pooled size: floor or ceil of (in+pads-dilated window)/stride + 1,
// and in ceil mode the last window must start inside the input or left padding.
func outSize(in, k, s, d, pb, pe int, ceil bool) int {
	span := in + pb + pe - ((k-1)*d + 1)
	o := span/s + 1
	if ceil && span%s != 0 {
		o++
		if (o-1)*s >= in+pb {
			o--
		}
	}
	return o
}

// TestPool2DMatchesNaive runs Pool2D and Pool2DNaive over edge shapes: 1x1
// inputs, windows larger than the input, padding on one side only, dilation,
// ceil mode, count_include_pad, planes split across goroutines. Max pooling
// must match exactly; averages to 1e-6 relative (float32 sums against float64).
func TestPool2DMatchesNaive(t *testing.T) { forEachPath(t, testPool2DMatchesNaive) }

func testPool2DMatchesNaive(t *testing.T) {
	type geom struct{ h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr int }
	cases := []geom{
		{28, 28, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0}, // LeNet's pool (the 2x2 fast path)
		{7, 5, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0},   // odd sizes: the fast path drops the last row and column
		{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},
		{1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
		{5, 7, 3, 2, 2, 3, 1, 1, 0, 1, 2, 0}, // asymmetric pads
		{9, 8, 3, 3, 2, 2, 2, 3, 1, 0, 0, 2}, // dilation
		{6, 6, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0}, // window past the input (ceil)
		{13, 11, 4, 3, 3, 2, 1, 1, 2, 1, 1, 1},
		{3, 17, 1, 5, 1, 4, 1, 2, 0, 3, 0, 3},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, c := range cases {
		for _, ceil := range []bool{false, true} {
			for _, mode := range []string{"max", "avg", "avg-incl"} {
				oh := outSize(c.h, c.kh, c.sh, c.dh, c.pt, c.pb, ceil)
				ow := outSize(c.w, c.kw, c.sw, c.dw, c.pl, c.pr, ceil)
				if oh < 1 || ow < 1 {
					continue
				}
				g := &PoolGeom{N: 3, C: 5, H: c.h, W: c.w, OH: oh, OW: ow, KH: c.kh, KW: c.kw, SH: c.sh, SW: c.sw,
					DH: c.dh, DW: c.dw, PT: c.pt, PL: c.pl, PB: c.pb, PR: c.pr, Average: mode != "max", CountIncludePad: mode == "avg-incl"}
				t.Run(fmt.Sprintf("%d/ceil=%v/%s", i, ceil, mode), func(t *testing.T) {
					x := make([]float32, g.N*g.C*g.H*g.W)
					for j := range x {
						x[j] = rng.Float32()*2 - 1
					}
					got := make([]float32, g.N*g.C*oh*ow)
					want := make([]float32, len(got))
					Pool2D(g, x, got)
					Pool2DNaive(g, x, want)
					for j := range got {
						tol := 0.0
						if g.Average {
							tol = 1e-6 * max(1, math.Abs(float64(want[j])))
						}
						if d := math.Abs(float64(got[j] - want[j])); !(d <= tol) && !(math.IsInf(float64(got[j]), -1) && math.IsInf(float64(want[j]), -1)) {
							t.Fatalf("%+v: y[%d] = %v, want %v", *g, j, got[j], want[j])
						}
					}
				})
			}
		}
	}
}

// TestMaxPool2Exact checks the 2x2 stride-2 max pool bit for bit against
// Go's max on every path: widths around the vector steps (tails), odd input
// sizes, and planes holding NaNs (either sign), infinities, both zeros and
// subnormals, with and without NaNs.
func TestMaxPool2Exact(t *testing.T) { forEachPath(t, testMaxPool2Exact) }

func testMaxPool2Exact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.Float32frombits(0xffc00000), 1e-45, -1e-45, math.MaxFloat32, -math.MaxFloat32}
	for _, w := range []int{2, 3, 15, 16, 17, 31, 32, 33, 34, 47, 64, 65} {
		for _, h := range []int{2, 3, 6} {
			for _, mix := range []string{"plain", "zeros", "special", "special, no NaN"} {
				g := &PoolGeom{N: 1, C: 2, H: h, W: w, OH: h / 2, OW: w / 2, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}
				x := make([]float32, g.C*h*w)
				for i := range x {
					x[i] = rng.Float32()*2 - 1
					switch {
					case mix == "zeros" && rng.IntN(2) == 0:
						x[i] = specials[rng.IntN(2)]
					case mix == "special" && rng.IntN(4) == 0:
						x[i] = specials[rng.IntN(len(specials))]
					case mix == "special, no NaN" && rng.IntN(4) == 0:
						// A plane with a NaN is pooled by Go's max, so this
						// mix is the one the vector kernels see whole.
						if v := specials[rng.IntN(len(specials))]; v == v {
							x[i] = v
						}
					}
				}
				got := make([]float32, g.C*g.OH*g.OW)
				Pool2D(g, x, got)
				for c := range g.C {
					for oy := range g.OH {
						for ox := range g.OW {
							r := x[(c*h+2*oy)*w:]
							r1 := x[(c*h+2*oy+1)*w:]
							want := max(r[2*ox], r[2*ox+1], r1[2*ox], r1[2*ox+1])
							v := got[(c*g.OH+oy)*g.OW+ox]
							same := math.Float32bits(v) == math.Float32bits(want) || (v != v && want != want)
							if !same {
								t.Fatalf("w %d h %d %s: y[%d,%d,%d] = %v (%#x), want %v (%#x)", w, h, mix, c, oy, ox, v, math.Float32bits(v), want, math.Float32bits(want))
							}
						}
					}
				}
			}
		}
	}
}

func BenchmarkPool2D(b *testing.B) {
	// LeNet's first pool at batch 256: (256,6,28,28) -> (256,6,14,14).
	g := &PoolGeom{N: 256, C: 6, H: 28, W: 28, OH: 14, OW: 14, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}
	x := make([]float32, g.N*g.C*g.H*g.W)
	y := make([]float32, g.N*g.C*g.OH*g.OW)
	for b.Loop() {
		Pool2D(g, x, y)
	}
	b.ReportMetric(float64(g.N*b.N)/b.Elapsed().Seconds(), "images/s")
}
