package train

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
	"github.com/onnxdigits/onnxdigits/internal/testutil"
)

// TestAdopt: models shaped like tf2onnx's (NHW input, probabilities), keras2onnx's
// (NHWC, 0-255 pixels) and PyTorch's (logits, fixed batch 1) become our form:
// input "image" (N,1,28,28) in [0,1], "logits", "probabilities" and "label";
// their probabilities equal onnxruntime's on the original files (testdata/foreign,
// same 7 MNIST images), and a training graph builds.
func TestAdopt(t *testing.T) {
	dir := filepath.Join("..", "testdata", "foreign")
	img := testutil.ReadF32(t, filepath.Join(dir, "mnist7_nchw_0-1.input.f32"))
	for _, tc := range []struct{ name, pixels, kind string }{
		{"tf2onnx_nhw_o13", "0-1", "probabilities"},
		{"keras2onnx_nhwc255_o9", "0-255", "probabilities"},
		{"torch_o9_fixed", "0-1", "logits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := onnximport.ReadFile(filepath.Join(dir, tc.name+".onnx"), onnximport.Options{DynamicBatch: true})
			if err != nil {
				t.Fatal(err)
			}
			a, err := Adopt(m, tc.pixels)
			if err != nil {
				t.Fatal(err)
			}
			if a.Inputs[0].Name != graph.ImageInput || !slices.Equal(a.Inputs[0].Shape, []int{graph.Batch, 1, 28, 28}) ||
				a.Producer(graph.LogitsValue) == nil || len(a.Outputs) != 2 || len(a.Classes) != 10 {
				t.Fatalf("adopted: inputs %v, outputs %v, classes %v", a.Inputs, a.Outputs, a.Classes)
			}
			probs, _, err := backend.Classify(a, img, 7)
			if err != nil {
				t.Fatal(err)
			}
			want := testutil.ReadF32(t, filepath.Join(dir, tc.name+".ort.f32"))
			worst := 0.0
			for r := range 7 {
				w := want[r*10 : r*10+10]
				if tc.kind == "logits" {
					mx := slices.Max(w)
					sum := 0.0
					for _, v := range w {
						sum += math.Exp(float64(v - mx))
					}
					p := make([]float32, 10)
					for i, v := range w {
						p[i] = float32(math.Exp(float64(v-mx)) / sum)
					}
					w = p
				}
				for i := range w {
					worst = max(worst, math.Abs(float64(probs[r*10+i]-w[i])))
				}
			}
			// DESIGN §5's parity bound.
			if worst > 1e-5 {
				t.Errorf("probabilities differ from onnxruntime's by %g", worst)
			}
			if _, err := backend.Build(a, 4, []string{graph.LogitsValue}, backend.Options{Mode: backend.Train}); err != nil {
				t.Errorf("training graph: %v", err)
			}
		})
	}
}

// TestAdoptNoGradient: a model whose ops have no gradient yet (LeNet-5's Tanh)
// adopts and runs, but a training graph is a clear error, not a panic.
func TestAdoptNoGradient(t *testing.T) {
	m, err := onnximport.ReadFile(filepath.Join("..", "testdata", "foreign", "lenet5_o13.onnx"), onnximport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := Adopt(m, "0-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := backend.Classify(a, make([]float32, 28*28), 1); err != nil {
		t.Fatal(err)
	}
	_, err = backend.Build(a, 4, []string{graph.LogitsValue}, backend.Options{Mode: backend.Train})
	if err == nil || !strings.Contains(err.Error(), "Tanh cannot be trained yet") {
		t.Fatalf("err = %v", err)
	}
}
