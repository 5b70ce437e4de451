package backend

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The Runner's executor must compute exactly what Gorgonia's tape machine
// computes on the same graph: same ops, same order, bit-identical outputs.
func TestExecutorMatchesTapeMachine(t *testing.T) {
	for _, arch := range []string{
		graph.DefaultArch,
		"conv3x3x4p1,bn,relu,maxpool2,conv3x3x3s2,bn,avgpool2,fc12,relu,dropout0.5,fc10",
		"conv3x3x3,bn,relu,gap,fc10",
	} {
		rng := rand.New(rand.NewSource(3))
		m, err := graph.New(arch, graph.DigitsInput(), rng)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params { // non-trivial statistics and mean image
			if p.Name == graph.MeanParam || len(p.Data) < 64 {
				for i := range p.Data {
					p.Data[i] = 0.5 + rng.Float32()
				}
			}
		}
		const n = 5
		img := make([]float32, n*784)
		for i := range img {
			img[i] = rng.Float32()
		}
		want := []string{graph.ProbsOutput, graph.LabelOutput}
		r := NewRunner(m, want...)
		got, err := r.Run(n, img)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}

		b, err := Build(m, n, want, Options{Mode: Infer})
		if err != nil {
			t.Fatal(err)
		}
		vm, err := b.Machine()
		if err != nil {
			t.Fatal(err)
		}
		if err := G.Let(b.Value(graph.ImageInput), tensor.New(tensor.WithShape(n, 1, 28, 28), tensor.WithBacking(slices.Clone(img)))); err != nil {
			t.Fatal(err)
		}
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		probs := b.Value(graph.ProbsOutput).Value().Data().([]float32)
		labels := b.Value(graph.LabelOutput).Value().Data().([]int64)
		if !slices.Equal(got[0].Float, probs) || !slices.Equal(got[1].Int64, labels) {
			t.Errorf("%s: executor %v %v, tape machine %v %v", arch, got[0].Float[:10], got[1].Int64, probs[:10], labels)
		}
		vm.Close()
	}
}
