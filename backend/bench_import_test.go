package backend_test

// Inference benchmarks of an imported ONNX model: the paper's network with
// batch norm folded into the conv (as `onnxdigits export --fold-bn` writes it
// and as the onnxruntime peer in bench/ runs it), exported and decoded in the
// test. Machine of record: see graph/bench_test.go.

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/export"
	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
)

func BenchmarkImportedForward(b *testing.B) {
	m, err := graph.New("", graph.DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		b.Fatal(err)
	}
	folded, err := graph.FoldBatchNorm(m)
	if err != nil {
		b.Fatal(err)
	}
	data, err := export.Marshal(folded, export.Options{})
	if err != nil {
		b.Fatal(err)
	}
	im, err := onnximport.Decode(data, onnximport.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchRunner(b, im, graph.ProbsOutput, graph.LabelOutput)
}

// BenchmarkImportedLeNet runs the PyTorch LeNet fixture (conv 5x5 -> ReLU ->
// max pool, twice, then three dense layers and LogSoftmax), the model of
// issue 13's LeNet rows.
func BenchmarkImportedLeNet(b *testing.B) {
	im, err := onnximport.ReadFile("../testdata/torch/lenet_opset11.onnx", onnximport.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchRunner(b, im)
}

// benchRunner times a Runner of im computing want at batch 1 and 256 on
// 784-value images.
func benchRunner(b *testing.B, im *graph.Model, want ...string) {
	for _, batch := range []int{1, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			img := make([]float32, batch*784)
			for i := range img {
				img[i] = float32(i%255) / 255
			}
			r := backend.NewRunner(im, want...)
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
