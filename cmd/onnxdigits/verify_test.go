package main

import (
	"context"
	"encoding/json"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/classify"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/export"
	"github.com/onnxdigits/onnxdigits/internal/testutil"
	"github.com/onnxdigits/onnxdigits/train"
)

// smallRun trains a tiny network for one epoch on synthetic:10 (the data spec
// stored in its metadata, so verify and eval rebuild the same split) and
// returns the checkpoint and its ONNX export.
func smallRun(t *testing.T, dir string) (ckpt, model string) {
	t.Helper()
	ckpt = filepath.Join(dir, "small.ckpt")
	tr, va, err := digits.Load("synthetic:10", 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := train.Config{Arch: "conv5x5x4,bn,relu,fc10", Epochs: 1, BatchSize: 25, Seed: 1, Dataset: "synthetic:10", Checkpoint: ckpt}
	if _, err := train.Train(context.Background(), cfg, tr, va, nil); err != nil {
		t.Fatal(err)
	}
	ck, err := train.LoadCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	model = filepath.Join(dir, "small.onnx")
	if err := export.WriteFile(model, ck.Model, export.Options{}); err != nil {
		t.Fatal(err)
	}
	return ckpt, model
}

func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	ckpt, model := smallRun(t, dir)

	stdout, stderr, code := runCLI(t, "verify", "--checkpoint", ckpt, model)
	if code != 0 {
		t.Fatalf("verify: exit %d: %s\n%s", code, stderr, stdout)
	}
	for _, s := range []string{
		"20 validation images of synthetic:10, seed 1 (from the model's metadata)",
		"native vs import", "native vs onnx-go", "import vs onnx-go",
		"20/20 (100.00%)  ok", "parity ok (3 of 3 pairs compared)",
	} {
		if !strings.Contains(stdout, s) {
			t.Errorf("verify output lacks %q:\n%s", s, stdout)
		}
	}

	// --atol 0 --rtol 0 asks for equal probabilities: native vs import are
	// (same engine, same weights), onnx-go sums in another order and is not.
	stdout, _, code = runCLI(t, "verify", "--checkpoint", ckpt, "--atol", "0", "--rtol", "0", model)
	if code != 1 || !strings.Contains(stdout, "atol 0, rtol 0") || !strings.Contains(stdout, "(100.00%)  ok") || !strings.Contains(stdout, "FAIL") {
		t.Errorf("exact tolerance: exit %d, want 1 with native vs import ok and onnx-go failing:\n%s", code, stdout)
	}

	// No --checkpoint and no onnxdigits.ckpt in the working folder: import vs
	// onnx-go only. --limit cuts the images.
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	stdout, stderr, code = runCLI(t, "verify", "--limit", "7", model)
	if code != 0 {
		t.Fatalf("verify without checkpoint: exit %d: %s", code, stderr)
	}
	for _, s := range []string{"native model: none", "7 images", "n/a: native: no native model given", "parity ok (1 of 3 pairs compared)"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("verify output lacks %q:\n%s", s, stdout)
		}
	}

	// A checkpoint whose weights differ from the file: exit 1.
	other := filepath.Join(dir, "other.ckpt")
	tr, va, _ := digits.Load("synthetic:10", 1)
	if _, err := train.Train(context.Background(), train.Config{Arch: "conv5x5x4,bn,relu,fc10", Epochs: 1, BatchSize: 25, Seed: 2, Dataset: "synthetic:10", Checkpoint: other}, tr, va, nil); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runCLI(t, "verify", "--checkpoint", other, model)
	if code != 1 || !strings.Contains(stdout, "FAIL") || !strings.Contains(stderr, "probabilities outside the tolerance (atol 1e-05, rtol 0.0001)") {
		t.Errorf("mismatched checkpoint: exit %d, stderr %q\n%s", code, stderr, stdout)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file", []string{"verify"}, 2, "verify takes one argument"},
		{"explicit missing checkpoint", []string{"verify", "--checkpoint", filepath.Join(dir, "nope.ckpt"), model}, 1, "nope.ckpt"},
		{"missing model", []string{"verify", filepath.Join(dir, "nope.onnx")}, 1, "no such file"},
		{"negative limit", []string{"verify", "--limit", "-1", model}, 2, "--limit"},
		{"negative atol", []string{"verify", "--atol", "-1e-5", model}, 2, "--atol must be"},
		{"NaN rtol", []string{"verify", "--rtol", "NaN", model}, 2, "--rtol must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

func TestEvalCommand(t *testing.T) {
	dir := t.TempDir()
	_, model := smallRun(t, dir)
	stdout, stderr, code := runCLI(t, "eval", model)
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	for _, s := range []string{"20 validation images of synthetic:10", "accuracy ", "of 20)", "confusion (rows: true class, columns: predicted)"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("eval output lacks %q:\n%s", s, stdout)
		}
	}
	stdout, _, code = runCLI(t, "eval", "--data", "synthetic:4", "--seed", "3", model)
	if code != 0 || !strings.Contains(stdout, "10 validation images of synthetic:4, seed 3\n") {
		t.Errorf("eval --data: exit %d\n%s", code, stdout)
	}
	if _, stderr, code := runCLI(t, "eval", model, "--data", "mnist"); code != 2 || !strings.Contains(stderr, "flags go before the files: onnxdigits eval --data mnist "+model) {
		t.Errorf("eval with a flag after the file: exit %d %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, "predict", model, "a.png", "--json", "b.png"); code != 2 || !strings.Contains(stderr, "onnxdigits predict --json "+model+" a.png b.png") {
		t.Errorf("predict with a flag after the files: exit %d %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, "eval"); code != 2 || !strings.Contains(stderr, "eval takes one argument") {
		t.Errorf("eval without file: exit %d %q", code, stderr)
	}
}

func TestPredictCommand(t *testing.T) {
	dir := t.TempDir()
	_, model := smallRun(t, dir)
	// A synthetic digit as a 28x28 PNG, and the same digit as black ink on a
	// white 84x56 page: both must get the same label as the Set image itself.
	s := digits.Synthetic(1, 9)
	i := 4
	small := image.NewGray(image.Rect(0, 0, 28, 28))
	page := image.NewGray(image.Rect(0, 0, 84, 56))
	for p := range page.Pix {
		page.Pix[p] = 255
	}
	for y := range 28 {
		for x := range 28 {
			v := uint8(255 * s.Image(i)[y*28+x])
			small.SetGray(x, y, color.Gray{v})
			// Scaled by 2 into the middle of the page.
			for dy := range 2 {
				for dx := range 2 {
					page.SetGray(14+2*x+dx, 2*y+dy, color.Gray{255 - v})
				}
			}
		}
	}
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	testutil.WritePNG(t, a, small)
	testutil.WritePNG(t, b, page)

	stdout, stderr, code := runCLI(t, "predict", "--json", "--top", "2", model, a, b)
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, stderr)
	}
	var got []classify.Report
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if len(got) != 2 || len(got[0].Top) != 2 || len(got[0].Probabilities) != 10 {
		t.Fatalf("unexpected JSON:\n%s", stdout)
	}
	if got[0].Label != got[1].Label || got[0].Top[0].Class != got[0].Label {
		t.Errorf("labels %q (28x28) and %q (ink on a page) differ, or top class is not the label:\n%s", got[0].Label, got[1].Label, stdout)
	}
	sum := float32(0)
	for _, p := range got[0].Probabilities {
		sum += p
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("probabilities sum to %g", sum)
	}

	stdout, _, code = runCLI(t, "predict", model, a)
	if code != 0 || !strings.HasPrefix(stdout, a+": "+got[0].Label+"  (") {
		t.Errorf("text output: exit %d\n%s", code, stdout)
	}
	garbage := filepath.Join(dir, "g.png")
	os.WriteFile(garbage, []byte("not a png"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no images", []string{"predict", model}, 2, "at least one image"},
		{"garbage image", []string{"predict", model, garbage}, 1, "g.png: digits: invalid format"},
		{"bad top", []string{"predict", "--top", "0", model, a}, 2, "--top"},
		{"bad pixel range", []string{"predict", "--pixel-range", "0-256", model, a}, 2, `--pixel-range "0-256" is not one of 0-1, 0-255, -1-1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

// TestForeignLayouts runs predict, eval and verify on the classify package's
// fixtures (onnx.helper models, one per input layout and output kind): each
// command reads the layout, the pixel range and the output kind itself.
func TestForeignLayouts(t *testing.T) {
	dir := t.TempDir()
	img := image.NewGray(image.Rect(0, 0, 40, 40))
	for y := 10; y < 30; y++ {
		img.SetGray(20, y, color.Gray{255})
		img.SetGray(21, y, color.Gray{255})
	}
	png1 := filepath.Join(dir, "one.png")
	testutil.WritePNG(t, png1, img)
	for _, tc := range []struct {
		file   string
		output string // what predict --json says the model emits
		input  string // part of eval's description of the input
	}{
		{"nchw1", "logits", `input "image" [-1 1 28 28]: NCHW, 1 channel(s), 28x28, pixels 0-1 (default), any batch; output "logits": logits`},
		{"nchw3", "probabilities", "NCHW, 3 channel(s), 20x20"},
		{"nhwc", "probabilities", "NHWC, 1 channel(s), 28x28, pixels 0-255 (metadata)"},
		{"nhw", "log-probabilities", "NHW, 1 channel(s)"},
		{"flat", "logits", "flat, 1 channel(s), 28x28, pixels -1-1 (metadata)"},
		{"fixed1", "probabilities", "fixed batch 1 re-batched"},
		{"fixed1_flat0", "logits", "fixed batch 1, run 1 at a time"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			model := filepath.Join("..", "..", "classify", "testdata", tc.file+".onnx")
			stdout, stderr, code := runCLI(t, "predict", "--json", model, png1)
			if code != 0 {
				t.Fatalf("predict: exit %d: %s", code, stderr)
			}
			var got []classify.Report
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("%v:\n%s", err, stdout)
			}
			sum := 0.0
			for _, p := range got[0].Probabilities {
				sum += float64(p)
			}
			if got[0].Output != tc.output || len(got[0].Probabilities) != 10 || sum < 0.999 || sum > 1.001 {
				t.Errorf("output %q (want %q), %d probabilities summing to %g", got[0].Output, tc.output, len(got[0].Probabilities), sum)
			}
			stdout, stderr, code = runCLI(t, "eval", "--data", "synthetic:4", model)
			if tc.file == "nchw3" { // its classes are named "zero".."nine"
				if code != 1 || !strings.Contains(stderr, `model class 0 is "zero", data class 0 is "0"`) {
					t.Errorf("eval with other class names: exit %d\n%s%s", code, stdout, stderr)
				}
			} else if code != 0 || !strings.Contains(stdout, tc.input) || !strings.Contains(stdout, "accuracy ") {
				t.Errorf("eval: exit %d, want %q in:\n%s%s", code, tc.input, stdout, stderr)
			}
			stdout, stderr, code = runCLI(t, "inspect", model)
			if code != 0 || !strings.Contains(stdout, "as a classifier (predict, eval, verify, serve)\n  "+`input "image"`) || !strings.Contains(stdout, tc.input) {
				t.Errorf("inspect: exit %d, want %q in:\n%s%s", code, tc.input, stdout, stderr)
			}
			// No onnxdigits.ckpt here: the import against onnx-go.
			stdout, stderr, code = runCLI(t, "verify", "--data", "synthetic:4", model)
			if code != 0 || !strings.Contains(stdout, tc.input) {
				t.Errorf("verify: exit %d\n%s%s", code, stdout, stderr)
			}
		})
	}
}
