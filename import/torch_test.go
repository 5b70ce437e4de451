package onnximport

import (
	"math"
	"os"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/internal/testutil"
)

// TestTorchFixtures imports each PyTorch-exported model of testdata/torch, runs
// it on its fixed input and compares with onnxruntime's output within 1e-5
// absolute (DESIGN §5's float32 bound; the README there: the Go import must
// reproduce it).
func TestTorchFixtures(t *testing.T) {
	for _, fx := range testutil.TorchFixtures(t) {
		t.Run(fx.Name, func(t *testing.T) {
			data, err := os.ReadFile(fx.Path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(data, Options{})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			r := backend.NewRunner(m, m.Outputs[0].Name)
			defer r.Close()
			res, err := r.Run(fx.InputShape[0], fx.Input)
			if err != nil {
				t.Fatal(err)
			}
			got := res[0].Float
			if len(got) != len(fx.Ort) {
				t.Fatalf("%d outputs, onnxruntime %d", len(got), len(fx.Ort))
			}
			worst := 0.0
			for i := range got {
				worst = max(worst, math.Abs(float64(got[i])-float64(fx.Ort[i])))
			}
			t.Logf("max |Go import - onnxruntime| = %.3g over %v", worst, fx.OutputShape)
			if worst > 1e-5 {
				t.Errorf("import differs from onnxruntime by %g > 1e-5", worst)
			}
		})
	}
}
