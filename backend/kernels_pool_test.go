package backend

import (
	"math"
	"math/rand"
	"testing"

	"github.com/onnxdigits/onnxdigits/graph"
)

// naiveAvgPool2D is average pooling by the definition (ONNX reference): windows
// over the padded input, the divisor counting the elements inside the input, or
// inside the padded input with includePad.
func naiveAvgPool2D(x []float64, h, w, k, s, pad int, includePad bool) ([]float64, int, int) {
	oh, ow := (h+2*pad-k)/s+1, (w+2*pad-k)/s+1
	out := make([]float64, oh*ow)
	for i := range oh {
		for j := range ow {
			sum, n := 0.0, 0
			for a := range k {
				for c := range k {
					y, z := i*s-pad+a, j*s-pad+c
					if y >= 0 && y < h && z >= 0 && z < w {
						sum += x[y*w+z]
						n++
					} else if includePad {
						n++
					}
				}
			}
			out[i*ow+j] = sum / float64(n)
		}
	}
	return out, oh, ow
}

// TestAveragePoolMatchesNaive pins the inference path of average pooling to the
// definition. It runs on poolKernel because Gorgonia v0.9.18's AveragePool2D is
// wrong (the ONNX averagepool_2d_default case came out 8x too small).
func TestAveragePoolMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	const h, w = 6, 7
	x := make([]float32, h*w)
	x64 := make([]float64, h*w)
	for i := range x {
		x[i] = float32(r.NormFloat64())
		x64[i] = float64(x[i])
	}
	for _, tc := range []struct{ k, s, pad int }{{2, 2, 0}, {3, 1, 1}, {3, 2, 1}} {
		for _, incl := range []bool{false, true} {
			m := &graph.Model{
				Inputs:  []graph.Value{{Name: "x", Type: graph.Float32, Shape: []int{graph.Batch, 1, h, w}}},
				Nodes:   []*graph.Node{{Name: "pool", Op: &graph.Pool{Average: true, KernelShape: []int{tc.k, tc.k}, Strides: []int{tc.s, tc.s}, Pads: []int{tc.pad, tc.pad, tc.pad, tc.pad}, CountIncludePad: incl}, Inputs: []string{"x"}, Outputs: []string{"y"}}},
				Outputs: []graph.Value{{Name: "y", Type: graph.Float32}},
			}
			res, err := NewRunner(m).Run(1, x)
			if err != nil {
				t.Fatal(err)
			}
			want, _, _ := naiveAvgPool2D(x64, h, w, tc.k, tc.s, tc.pad, incl)
			if len(res[0].Float) != len(want) {
				t.Fatalf("%+v: %d values, want %d", tc, len(res[0].Float), len(want))
			}
			for i, g := range res[0].Float {
				// float32 sums of at most 9 terms.
				if math.Abs(float64(g)-want[i]) > 1e-6 {
					t.Fatalf("k%d s%d pad%d incl=%v: y[%d] = %g, want %g", tc.k, tc.s, tc.pad, incl, i, g, want[i])
				}
			}
		}
	}
}
