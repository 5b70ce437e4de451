package onnximport

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/testutil"
)

// Models shaped like what other producers publish (testdata/foreign, made by
// make_foreign.py) and models published by others (testdata/published: their
// onnxruntime outputs are committed, the files themselves are read from
// $ONNXDIGITS_PUBLISHED). Each runs on its 7 fixture rows and must match
// onnxruntime-node 1.30 within foreignTol; with ONNXDIGITS_MNIST=1 each
// also runs the 10,000 MNIST test images and must reach onnxruntime's accuracy
// on the same pixels.

const (
	foreignDir   = "../testdata/foreign"
	publishedDir = "../testdata/published"
	// foreignTol is DESIGN §5's parity bound: probabilities within 1e-5.
	foreignTol = 1e-5
)

// foreignModel is one entry of manifest.json or published.json (the fields both share).
type foreignModel struct {
	Name       string
	Files      []string
	Layout     *string
	PixelRange *string `json:"pixel_range"`
	FixedBatch bool    `json:"fixed_batch"`
	Output     *string
	Input      struct{ Shape []any }
	Fixture    struct {
		Input       string
		InputShape  []int  `json:"input_shape"`
		OrtOutput   string `json:"ort_output"`
		OutputShape []int  `json:"output_shape"`
	}
	OrtAccuracy float64 `json:"ort_mnist_test_accuracy"`
}

func readManifest(t *testing.T, path string) []foreignModel {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Models []foreignModel }
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m.Models
}

// fixedBatch reports a model whose input declares a fixed first dim.
func (fm *foreignModel) fixedBatch() bool {
	if fm.FixedBatch {
		return true
	}
	if len(fm.Input.Shape) > 0 {
		_, isNum := fm.Input.Shape[0].(float64)
		return isNum
	}
	return false
}

// probs turns a row of the model's output into probabilities: softmax for
// logits, exp for log-probabilities.
func probs(kind string, row []float32) []float64 {
	p := make([]float64, len(row))
	switch kind {
	case "logits":
		mx := math.Inf(-1)
		for _, v := range row {
			mx = max(mx, float64(v))
		}
		sum := 0.0
		for i, v := range row {
			p[i] = math.Exp(float64(v) - mx)
			sum += p[i]
		}
		for i := range p {
			p[i] /= sum
		}
	case "log-probabilities":
		for i, v := range row {
			p[i] = math.Exp(float64(v))
		}
	default:
		for i, v := range row {
			p[i] = float64(v)
		}
	}
	return p
}

func runForeign(t *testing.T, dir, modelDir string, fm foreignModel) {
	path := filepath.Join(modelDir, fm.Files[0])
	m, err := ReadFile(path, Options{DynamicBatch: fm.fixedBatch()})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	f := fm.Fixture
	n := f.InputShape[0]
	in := testutil.ReadF32(t, filepath.Join(dir, f.Input))
	want := testutil.ReadF32(t, filepath.Join(dir, f.OrtOutput))
	r := backend.NewRunner(m, m.Outputs[0].Name)
	defer r.Close()
	res, err := r.Run(n, in)
	if err != nil {
		t.Fatalf("run at batch %d: %v", n, err)
	}
	got := res[0].Float
	if len(got) != len(want) {
		t.Fatalf("%d outputs, onnxruntime %d", len(got), len(want))
	}
	k := len(got) / n
	worst, worstP := 0.0, 0.0
	for i := range got {
		worst = max(worst, math.Abs(float64(got[i])-float64(want[i])))
	}
	kind := ""
	if fm.Output != nil {
		kind = *fm.Output
	}
	for row := range n {
		pg, pw := probs(kind, got[row*k:(row+1)*k]), probs(kind, want[row*k:(row+1)*k])
		for i := range pg {
			worstP = max(worstP, math.Abs(pg[i]-pw[i]))
		}
	}
	t.Logf("max |Δ| vs onnxruntime: output %.3g, probability %.3g (%s, batch %d)", worst, worstP, kind, n)
	// Logits of models fed 0-255 pixels reach the thousands: compare them
	// relative to their size.
	scale := 1.0
	for _, v := range want {
		scale = max(scale, math.Abs(float64(v)))
	}
	if worst > foreignTol*scale || worstP > foreignTol {
		t.Errorf("differs from onnxruntime: output by %g (bound %g), probability by %g (bound %g)", worst, foreignTol*scale, worstP, foreignTol)
	}
	if os.Getenv("ONNXDIGITS_MNIST") == "1" && fm.OrtAccuracy > 0 {
		mnistAccuracy(t, m, fm)
	}
}

// mnistAccuracy runs the 10,000 MNIST test images in the model's layout and
// pixel range and compares the accuracy with onnxruntime's on the same pixels.
func mnistAccuracy(t *testing.T, m *graph.Model, fm foreignModel) {
	dir, err := digits.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	set, err := digits.ReadMNIST(dir, "t10k")
	if err != nil {
		t.Fatal(err)
	}
	scale := float32(1)
	if *fm.PixelRange == "0-255" {
		scale = 255
	}
	const per = 28 * 28
	channels := 1
	if *fm.Layout == "NCHW3" {
		channels = 3
	}
	r := backend.NewRunner(m, m.Outputs[0].Name)
	defer r.Close()
	correct, total := 0, len(set.Labels)
	const batch = 500
	for start := 0; start < total; start += batch {
		n := min(batch, total-start)
		x := make([]float32, 0, n*per*channels)
		for i := range n {
			img := set.Images[(start+i)*per : (start+i+1)*per]
			for range channels {
				for _, v := range img {
					x = append(x, v*scale)
				}
			}
		}
		res, err := r.Run(n, x)
		if err != nil {
			t.Fatal(err)
		}
		out := res[0].Float
		k := len(out) / n
		for i := range n {
			best := 0
			for j := range k {
				if out[i*k+j] > out[i*k+best] {
					best = j
				}
			}
			if best == int(set.Labels[start+i]) {
				correct++
			}
		}
	}
	acc := float64(correct) / float64(total)
	t.Logf("MNIST test accuracy %.2f%%, onnxruntime %.2f%% on the same pixels", 100*acc, 100*fm.OrtAccuracy)
	// The pixels are the same up to float32 rounding of v/255 (digits) versus
	// float32(v)*float32(1/255) (make_*.py): allow 5 of 10,000 images to flip.
	if math.Abs(acc-fm.OrtAccuracy) > 5e-4 {
		t.Errorf("accuracy %.4f, onnxruntime %.4f", acc, fm.OrtAccuracy)
	}
}

func TestForeignFixtures(t *testing.T) {
	for _, fm := range readManifest(t, filepath.Join(foreignDir, "manifest.json")) {
		t.Run(fm.Name, func(t *testing.T) { runForeign(t, foreignDir, foreignDir, fm) })
	}
}

// TestPublished runs the models of testdata/published/published.json found in
// $ONNXDIGITS_PUBLISHED (they are other people's files, not committed).
func TestPublished(t *testing.T) {
	dir := os.Getenv("ONNXDIGITS_PUBLISHED")
	if dir == "" {
		t.Skip("set ONNXDIGITS_PUBLISHED to a folder holding the files of testdata/published/published.json")
	}
	for _, fm := range readManifest(t, filepath.Join(publishedDir, "published.json")) {
		t.Run(fm.Name, func(t *testing.T) {
			if fm.Layout == nil {
				_, err := ReadFile(filepath.Join(dir, fm.Files[0]), Options{})
				t.Logf("not an image classifier; import: %v", err)
				return
			}
			runForeign(t, publishedDir, dir, fm)
		})
	}
}
