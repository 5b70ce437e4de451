package backend

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// naiveAvgPool is the loop reference for tiled average pooling (floor mode).
func naiveAvgPool(x []float64, n, c, h, w, kh, kw int) []float64 {
	oh, ow := h/kh, w/kw
	out := make([]float64, 0, n*c*oh*ow)
	for i := range n * c {
		for y := range oh {
			for xx := range ow {
				s := 0.0
				for a := range kh {
					for b := range kw {
						s += x[i*h*w+(y*kh+a)*w+xx*kw+b]
					}
				}
				out = append(out, s/float64(kh*kw))
			}
		}
	}
	return out
}

func TestTiledAvgPoolMatchesNaive(t *testing.T) {
	for _, tc := range []struct{ n, c, h, w, kh, kw int }{
		{2, 3, 4, 4, 4, 4}, {2, 3, 4, 4, 2, 2}, {1, 3, 26, 26, 26, 26}, {2, 2, 7, 5, 2, 2}, {3, 1, 6, 6, 3, 2}, {1, 1, 5, 5, 5, 1},
	} {
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			r := rand.New(rand.NewSource(1))
			d := make([]float64, tc.n*tc.c*tc.h*tc.w)
			for i := range d {
				d[i] = r.NormFloat64()
			}
			g := G.NewGraph()
			x := G.NewTensor(g, G.Float64, 4, G.WithShape(tc.n, tc.c, tc.h, tc.w), G.WithValue(tensor.New(tensor.WithShape(tc.n, tc.c, tc.h, tc.w), tensor.WithBacking(d))))
			b := &Builder{Opts: Options{Float64: true}}
			y, err := tiledAvgPool(b, x, tc.kh, tc.kw)
			if err != nil {
				t.Fatal(err)
			}
			gp, err := meanOverSpace(b, x)
			if err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(g)
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			check := func(name string, got, want []float64) {
				if len(got) != len(want) {
					t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
				}
				for i := range want {
					if math.Abs(got[i]-want[i]) > 1e-12 {
						t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], want[i])
					}
				}
			}
			check("tiled", y.Value().Data().([]float64), naiveAvgPool(d, tc.n, tc.c, tc.h, tc.w, tc.kh, tc.kw))
			check("global", gp.Value().Data().([]float64), naiveAvgPool(d, tc.n, tc.c, tc.h, tc.w, tc.h, tc.w))
		})
	}
}
