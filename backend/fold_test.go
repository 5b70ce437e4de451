package backend

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/onnxdigits/onnxdigits/graph"
)

// TestFoldBatchNorm checks graph.FoldBatchNorm by running the folded and the
// unfolded model.
func TestFoldBatchNorm(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   string
		noBias bool   // drop the conv biases before folding
		folded string // expected Meta["folded_batchnorm"]
		kept   int    // BatchNormalization nodes left
	}{
		{name: "default", spec: graph.DefaultArch, folded: "bn1"},
		{name: "conv without bias", spec: graph.DefaultArch, noBias: true, folded: "bn1"},
		{name: "two blocks", spec: "conv3x3x4p1,bn,relu,maxpool2,conv3x3x6,bn,relu,fc10", folded: "bn1,bn2"},
		{name: "bn after relu stays", spec: "conv3x3x4,relu,bn,fc10", kept: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(11))
			m, err := graph.New(tc.spec, graph.DigitsInput(), rng)
			if err != nil {
				t.Fatal(err)
			}
			randomizeStats(m, rng)
			for _, p := range m.Params {
				if hasSuffix(p.Name, ".weight") && len(p.Dims) == 1 { // every bn scale, not only bn1
					for i := range p.Data {
						p.Data[i] = 0.5 + rng.Float32()
					}
				}
			}
			if tc.noBias {
				for _, n := range m.Nodes {
					if _, ok := n.Op.(*graph.Conv); ok {
						n.Inputs = n.Inputs[:2]
					}
				}
				dropUnusedParams(m)
			}
			before := m.Clone()
			f, err := graph.FoldBatchNorm(m)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Meta["folded_batchnorm"]; got != tc.folded {
				t.Errorf("folded_batchnorm = %q, want %q", got, tc.folded)
			}
			kept := 0
			for _, n := range f.Nodes {
				if _, ok := n.Op.(*graph.BatchNorm); ok {
					kept++
				}
			}
			if kept != tc.kept {
				t.Errorf("%d BatchNormalization nodes left, want %d", kept, tc.kept)
			}
			if tc.kept == 0 && slices.ContainsFunc(f.Params, func(p *graph.Tensor) bool { return hasSuffix(p.Name, ".running_mean") }) {
				t.Errorf("batch-norm parameters left behind")
			}
			// m itself is untouched.
			for i, p := range m.Params {
				if !slices.Equal(p.Data, before.Params[i].Data) {
					t.Fatalf("FoldBatchNorm modified parameter %q of its input", p.Name)
				}
			}
			const n = 6
			img := make([]float32, n*784)
			for i := range img {
				img[i] = rng.Float32()
			}
			p0, l0, err := Classify(m, img, n)
			if err != nil {
				t.Fatal(err)
			}
			p1, l1, err := Classify(f, img, n)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i := range p0 {
				worst = math.Max(worst, math.Abs(float64(p0[i])-float64(p1[i])))
			}
			t.Logf("max |folded - unfolded| = %g", worst)
			// 1e-5 is the project's float32 parity bound (DESIGN §5).
			if worst > 1e-5 {
				t.Errorf("max |folded - unfolded| = %g, want <= 1e-5", worst)
			}
			if !slices.Equal(l0, l1) {
				t.Errorf("labels differ: %v vs %v", l0, l1)
			}
		})
	}
}

// dropUnusedParams removes the parameters no node reads.
func dropUnusedParams(m *graph.Model) {
	m.Params = slices.DeleteFunc(m.Params, func(p *graph.Tensor) bool {
		return !slices.ContainsFunc(m.Nodes, func(n *graph.Node) bool { return slices.Contains(n.Inputs, p.Name) })
	})
}
