package classify

import (
	"context"
	"fmt"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/digits"
	onnximport "github.com/onnxdigits/onnxdigits/import"
)

// BenchmarkGrey measures classify's throughput on the paper's net trained by
// PyTorch (../testdata/torch/mnist_ce_adam.onnx) against the backend runner
// alone on the same tensors: the adapter's and the pool's cost is the
// difference.
func BenchmarkGrey(b *testing.B) {
	path := "../testdata/torch/mnist_ce_adam.onnx"
	for _, n := range []int{1, 256} {
		s := digits.Synthetic(26, 1)
		pix := s.AppendImages(nil, 0, n)
		b.Run(fmt.Sprintf("classify/batch=%d", n), func(b *testing.B) {
			m, err := Open(path, Options{Runners: 1})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Grey(context.Background(), pix, n, 28, 28); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
		b.Run(fmt.Sprintf("runner/batch=%d", n), func(b *testing.B) {
			g, err := onnximport.ReadFile(path, onnximport.Options{})
			if err != nil {
				b.Fatal(err)
			}
			r := backend.NewRunner(g)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Run(n, pix); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
