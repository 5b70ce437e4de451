package train

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/testutil"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gradProblem is a float64 training graph of a model on a small batch, for
// comparing Gorgonia's gradients with central finite differences.
type gradProblem struct {
	b      *backend.Builder
	vm     G.VM
	loss   *G.Node
	learn  []*G.Node
	names  []string
	values [][]float64 // backing data of the learnable nodes
}

func newGradProblem(t *testing.T, arch string, loss Loss, batch int, rem Remedies) *gradProblem {
	t.Helper()
	rng := rand.New(rand.NewSource(3))
	m := testutil.NewModel(t, arch, rng)
	set := digits.Synthetic(3, 5)
	copy(m.Param(graph.MeanParam).Data, digits.MeanImage(set))
	// Non-trivial biases and BN parameters so every term of the gradient matters.
	for _, p := range m.Params {
		if p.Trainable && len(p.Dims) == 1 {
			for i := range p.Data {
				p.Data[i] += 0.2 * float32(rng.NormFloat64())
			}
		}
	}
	b, err := backend.Build(m, batch, []string{graph.LogitsValue}, backend.Options{Mode: backend.Train, Float64: true})
	if err != nil {
		t.Fatal(err)
	}
	img := make([]float64, batch*784)
	oh := make([]float64, batch*10)
	for i := range batch {
		j := i % set.Len()
		for p, v := range set.Image(j) {
			img[i*784+p] = float64(v)
		}
		oh[i*10+int(set.Labels[j])] = 1
	}
	target := G.NewMatrix(b.G, G.Float64, G.WithShape(batch, 10), G.WithName("target"),
		G.WithValue(tensor.New(tensor.WithShape(batch, 10), tensor.WithBacking(oh))))
	if err := G.Let(b.Value(graph.ImageInput), tensor.New(tensor.WithShape(batch, 1, 28, 28), tensor.WithBacking(img))); err != nil {
		t.Fatal(err)
	}
	l, err := loss.Node(b.Value(graph.LogitsValue), target, 0.4)
	if err != nil {
		t.Fatal(err)
	}
	if l, err = rem.objective(l, b.Value(graph.LogitsValue)); err != nil {
		t.Fatal(err)
	}
	learn, tensors := b.Learnables()
	if _, err := G.Grad(l, learn...); err != nil {
		t.Fatal(err)
	}
	vm, err := b.Machine()
	if err != nil {
		t.Fatal(err)
	}
	gp := &gradProblem{b: b, vm: vm, loss: l, learn: learn}
	for i, n := range learn {
		gp.names = append(gp.names, tensors[i].Name)
		gp.values = append(gp.values, n.Value().Data().([]float64))
	}
	return gp
}

func (g *gradProblem) eval(t *testing.T) float64 {
	t.Helper()
	g.b.Prepare()
	if err := g.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	v := g.loss.Value().Data().(float64)
	g.vm.Reset()
	return v
}

// check compares analytic and central-difference gradients for a sample of
// every learnable tensor and returns the worst relative error.
func (g *gradProblem) check(t *testing.T, perTensor int) float64 {
	t.Helper()
	g.b.Prepare()
	if err := g.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	analytic := make([][]float64, len(g.learn))
	for i, n := range g.learn {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		analytic[i] = append([]float64(nil), gv.Data().([]float64)...)
	}
	g.vm.Reset()
	rng := rand.New(rand.NewSource(11))
	worst := 0.0
	const h = 1e-5 // central differences in float64: error O(h²) ≈ 1e-10
	base := g.eval(t)
	kinks := 0
	for i, vals := range g.values {
		for s := 0; s < perTensor; s++ {
			j := rng.Intn(len(vals))
			orig := vals[j]
			vals[j] = orig + h
			up := g.eval(t)
			vals[j] = orig - h
			down := g.eval(t)
			vals[j] = orig
			// A ReLU or max-pool kink within ±h makes the one-sided slopes
			// disagree (on a smooth stretch they differ by O(h·L'') ≈ 1e-5 of
			// the slope): no derivative to compare there, so skip the entry.
			fwd, bwd := (up-base)/h, (base-down)/h
			if math.Abs(fwd-bwd) > 1e-3*(math.Abs(fwd)+math.Abs(bwd))+1e-7 {
				kinks++
				continue
			}
			num := (up - down) / (2 * h)
			// The floor 1e-4 keeps rounding noise of the difference quotient
			// (≈ 2.2e-16·|L|/h ≈ 4e-11) out of the relative error of tiny gradients.
			rel := math.Abs(num-analytic[i][j]) / math.Max(1e-4, math.Abs(num)+math.Abs(analytic[i][j]))
			if rel > worst {
				worst = rel
			}
			if rel > 1e-4 {
				t.Errorf("%s[%d]: analytic %.9g, numeric %.9g (rel %.2g)", g.names[i], j, analytic[i][j], num, rel)
			}
		}
	}
	if kinks > 0 {
		t.Logf("%d entries skipped: a kink within ±h", kinks)
	}
	if total := len(g.values) * perTensor; kinks*4 > total {
		t.Errorf("%d of %d entries sit on kinks: the check compared too little", kinks, total)
	}
	return worst
}

func TestGradients(t *testing.T) {
	for _, tc := range []struct {
		arch string
		loss Loss
		pen  float64 // logit penalty remedy
	}{
		{graph.DefaultArch, CrossEntropy, 0},
		{graph.DefaultArch, MAE, 0},
		{graph.DefaultArch, SSE, 0},
		{"conv3x3x4p1,bn,relu,maxpool2,conv3x3x3s2,bn,fc12,relu,fc10", CrossEntropy, 0},
		{"conv3x3x2,avgpool2,fc10", SSE, 0},
		{"conv3x3x3,bn,relu,gap,fc10", MAE, 0},
		// Robust losses with scale 0.4, so residuals fall on both sides of it; no
		// ReLU, whose kinks make central differences unreliable (a BN shift moved
		// one across zero with an earlier synthetic set).
		{"conv3x3x4,bn,fc10", Huber, 0},
		{"conv3x3x4,bn,fc10", Tukey, 0},
		{"conv3x3x4,bn,fc10", Welch, 0},
		{"conv3x3x4,bn,fc10", Cauchy, 0},
		// The logit penalty, large enough to dominate the loss's gradient.
		{graph.DefaultArch, MAE, 0.05},
		{graph.DefaultArch, CrossEntropy, 0.05},
	} {
		t.Run(fmt.Sprintf("%s/%s/logitpen=%g", tc.loss, tc.arch, tc.pen), func(t *testing.T) {
			g := newGradProblem(t, tc.arch, tc.loss, 6, Remedies{LogitPenalty: tc.pen})
			defer g.vm.Close()
			worst := g.check(t, 6)
			t.Logf("worst relative error %.3g", worst)
		})
	}
}
