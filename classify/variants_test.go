package classify

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
)

// TestVariants rewrites the paper's net trained by PyTorch on MNIST
// (../testdata/torch/mnist_ce_adam.onnx) into the input layouts, pixel ranges,
// batch forms and output kinds published digit models come in
// (testdata/variants.py, same weights), and checks that each, adapted by
// classify, gives the original's probabilities on MNIST test images, and
// onnxruntime's on the same tensors. It needs /usr/bin/python3 with onnx and
// node with onnxruntime-node, so it runs with ONNXDIGITS_INTEROP=1.
func TestVariants(t *testing.T) {
	if os.Getenv("ONNXDIGITS_INTEROP") == "" {
		t.Skip("set ONNXDIGITS_INTEROP=1 (after interop/setup.sh) to run the published-shape variants")
	}
	dir := t.TempDir()
	src := filepath.Join("..", "testdata", "torch", "mnist_ce_adam.onnx")
	if b, err := exec.Command("/usr/bin/python3", filepath.Join("testdata", "variants.py"), src, dir).CombinedOutput(); err != nil {
		t.Fatalf("variants.py: %v\n%s", err, b)
	}
	_, val, err := digits.Load("mnist", 1)
	if err != nil {
		t.Skipf("no MNIST: %v", err)
	}
	const n = 1000 // of the 10,000 test images: enough for label flips to show
	pix := val.AppendImages(nil, 0, n)
	orig, err := Open(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := orig.Grey(context.Background(), pix, n, 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts Options
		info string // Layout, pixel range, kind, re-batched
	}{
		{"nhwc_0255", Options{PixelRange: PixelRange0255}, "NHWC 0-255 probabilities false"},
		{"nhwc_meta", Options{}, "NHWC 0-255 probabilities false"},
		{"nhw", Options{}, "NHW 0-1 log-probabilities false"},
		{"flat_11", Options{}, "flat -1-1 logits false"},
		{"rgb", Options{}, "NCHW 0-1 probabilities false"},
		{"fixed1", Options{}, "NCHW 0-1 logits true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".onnx")
			m, err := Open(path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			i := m.Info()
			if got := i.Layout.String() + " " + i.PixelRange.String() + " " + i.Kind.String() + " " + map[bool]string{true: "true", false: "false"}[i.Rebatched]; got != tc.info {
				t.Errorf("info %q, want %q", got, tc.info)
			}
			got, err := m.Grey(context.Background(), pix, n, 28, 28)
			if err != nil {
				t.Fatal(err)
			}
			worst, flips := 0.0, 0
			for j := range got {
				worst = max(worst, maxDiff(got[j].Probabilities, want[j].Probabilities))
				if got[j].Label != want[j].Label {
					flips++
				}
			}
			// 1e-5: the project's float32 bound; the variants add one rounded
			// op (the 1/255 or (x+1)/2 scaling, the channel average) in front.
			if worst > 1e-5 || flips > 0 {
				t.Errorf("vs the original: max |Δprob| %.3g, %d of %d labels differ", worst, flips, n)
			}
			// onnxruntime on the first 100 adapted tensors.
			const k = 100
			x, err := m.Adapt(pix[:k*28*28], k, 28, 28)
			if err != nil {
				t.Fatal(err)
			}
			batches := []string{"1", "7"}
			if i.InputDims[0] != graph.Batch {
				batches = []string{"1"}
			}
			ort := runOnnxruntime(t, path, x, batches)
			ortWorst := 0.0
			for _, run := range ort.Runs {
				scores := run.Outputs[i.Output].Data
				for j := range k {
					row := make([]float32, i.K)
					for c := range row {
						row[c] = float32(scores[j*i.K+c])
					}
					probs := make([]float32, i.K)
					ToProbabilities(probs, row, i.Kind)
					ortWorst = max(ortWorst, maxDiff(probs, got[j].Probabilities))
					if best := slices.Index(probs, slices.Max(probs)); best != got[j].Label {
						t.Errorf("batch %d image %d: label %d, onnxruntime %d", run.Batch, j, got[j].Label, best)
					}
				}
			}
			if ortWorst > 1e-5 {
				t.Errorf("vs onnxruntime: max |Δprob| %.3g", ortWorst)
			}
			t.Logf("%s: vs original max |Δprob| %.3g (%d images, %d label flips); vs onnxruntime %.3g", tc.name, worst, n, flips, ortWorst)
		})
	}
}

// TestTorchFixedBatch: PyTorch 1.13 exports without dynamic_axes (fixed batch
// 1, testdata/torch_fixed.py) run re-batched, seven images as one batch, and
// match onnxruntime run one image at a time. Needs python3-torch and
// onnxruntime-node: ONNXDIGITS_INTEROP=1.
func TestTorchFixedBatch(t *testing.T) {
	if os.Getenv("ONNXDIGITS_INTEROP") == "" {
		t.Skip("set ONNXDIGITS_INTEROP=1 (after interop/setup.sh) to export with PyTorch and compare with onnxruntime")
	}
	dir := t.TempDir()
	if b, err := exec.Command("/usr/bin/python3", filepath.Join("testdata", "torch_fixed.py"), dir).CombinedOutput(); err != nil {
		t.Fatalf("torch_fixed.py: %v\n%s", err, b)
	}
	const n = 7
	pix := testImages(n)
	for _, name := range []string{"view_op9", "view_op11", "view_op13", "view_op17", "flatten_op13"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".onnx")
			m, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			i := m.Info()
			if !i.Rebatched || i.InputDims[0] != 1 {
				t.Fatalf("dims %v re-batched %v (%s)", i.InputDims, i.Rebatched, i.BatchNote)
			}
			x, err := m.Adapt(pix, n, 28, 28)
			if err != nil {
				t.Fatal(err)
			}
			outs, _, err := m.Tensor(context.Background(), x, []int{n, 1, 28, 28})
			if err != nil {
				t.Fatal(err)
			}
			ort := runOnnxruntime(t, path, x, []string{"1"})
			want := ort.Runs[0].Outputs[i.Output].Data
			worst := 0.0
			for j, v := range outs[0].Float {
				d := math.Abs(float64(v) - want[j])
				worst = max(worst, d)
				// 1e-5 relative to the size: the project's float32 bound.
				if d > 1e-5*max(1, math.Abs(want[j])) {
					t.Errorf("value %d: %g, onnxruntime %g", j, v, want[j])
				}
			}
			t.Logf("%s: batch of %d vs onnxruntime one by one: max |diff| %.3g (%v)", name, n, worst, i.Kind)
		})
	}
}
