package backend

// Inference benchmarks of the paper's network in Gorgonia. Machine of record:
// 2-core AVX-512 VM (AMD EPYC, Zen 5), Go 1.26, Gorgonia v0.9.18 running our
// own conv/batch-norm/ReLU/dense ops (kernels_*.go) on internal/kernels'
// AVX-512 path (ONNXDIGITS_CPU=generic measures the portable loops). bench/README.md has the
// figures and the peers; compare runs with benchstat.

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/onnxdigits/onnxdigits/graph"
)

func BenchmarkForward(b *testing.B) {
	m, err := graph.New("", graph.DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			img := make([]float32, batch*784)
			for i := range img {
				img[i] = float32(i%255) / 255
			}
			r := NewRunner(m, graph.ProbsOutput, graph.LabelOutput)
			r.MaxBatch = batch
			defer r.Close()
			if _, err := r.Run(batch, img); err != nil { // compile outside the loop
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Run(batch, img); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
