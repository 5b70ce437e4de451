package backend

import (
	"math"
	"math/rand"
	"testing"

	"github.com/onnxdigits/onnxdigits/graph"
)

// naiveForward is a loop-by-loop reference of the default architecture
// (normalize, conv KxK, batch norm with running statistics, ReLU, dense, softmax)
// for one image, kept deliberately simple (llm.c's matmul_forward_naive).
func naiveForward(m *graph.Model, img []float32) []float64 {
	p := func(name string) []float32 { return m.Param(name).Data }
	mean := p(graph.MeanParam)
	w, cb := m.Param("conv1.weight"), p("conv1.bias")
	f, k := w.Dims[0], w.Dims[2]
	oh := 28 - k + 1
	act := make([]float64, f*oh*oh)
	g, beta, rm, rv := p("bn1.weight"), p("bn1.bias"), p("bn1.running_mean"), p("bn1.running_var")
	for c := range f {
		for y := range oh {
			for x := range oh {
				s := float64(cb[c])
				for i := range k {
					for j := range k {
						pix := (y+i)*28 + x + j
						s += float64(w.Data[(c*k+i)*k+j]) * float64(img[pix]-mean[pix])
					}
				}
				s = float64(g[c])*(s-float64(rm[c]))/math.Sqrt(float64(rv[c])+1e-5) + float64(beta[c])
				act[(c*oh+y)*oh+x] = math.Max(s, 0)
			}
		}
	}
	fw, fb := m.Param("fc1.weight"), p("fc1.bias")
	out := fw.Dims[1]
	logits := make([]float64, out)
	for o := range out {
		s := float64(fb[o])
		for i, a := range act {
			s += a * float64(fw.Data[i*out+o])
		}
		logits[o] = s
	}
	maxv := math.Inf(-1)
	for _, v := range logits {
		maxv = math.Max(maxv, v)
	}
	sum := 0.0
	for i, v := range logits {
		logits[i] = math.Exp(v - maxv)
		sum += logits[i]
	}
	for i := range logits {
		logits[i] /= sum
	}
	return logits
}

// randomizeStats gives batch norm and the mean image non-trivial values so the
// reference comparison exercises them.
func randomizeStats(m *graph.Model, rng *rand.Rand) {
	for _, t := range m.Params {
		switch {
		case t.Name == graph.MeanParam:
			for i := range t.Data {
				t.Data[i] = rng.Float32() * 0.3
			}
		case hasSuffix(t.Name, ".running_var"):
			for i := range t.Data {
				t.Data[i] = 0.5 + rng.Float32()
			}
		case hasSuffix(t.Name, ".running_mean"), hasSuffix(t.Name, ".bias"):
			for i := range t.Data {
				t.Data[i] = rng.Float32() - 0.5
			}
		case t.Name == "bn1.weight":
			for i := range t.Data {
				t.Data[i] = 0.5 + rng.Float32()
			}
		}
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

func TestDefaultMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	m, err := graph.New("", graph.DigitsInput(), rng)
	if err != nil {
		t.Fatal(err)
	}
	randomizeStats(m, rng)
	const n = 3
	img := make([]float32, n*784)
	for i := range img {
		img[i] = rng.Float32()
	}
	probs, _, err := Classify(m, img, n)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i := range n {
		ref := naiveForward(m, img[i*784:(i+1)*784])
		for j, r := range ref {
			worst = math.Max(worst, math.Abs(r-float64(probs[i*10+j])))
		}
	}
	// float32 accumulation over 11,520 products: 1e-5 is the project's parity bound.
	if worst > 1e-5 {
		t.Errorf("max |gorgonia - naive| = %g, want <= 1e-5", worst)
	}
	t.Logf("max |gorgonia - naive| = %g", worst)
}
