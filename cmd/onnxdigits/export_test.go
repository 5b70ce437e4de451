package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/export"
	"github.com/onnxdigits/onnxdigits/train"
)

// run runs the CLI with args and returns stdout, stderr and the exit code main
// would use.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(append([]string{"onnxdigits"}, args...))
	if err != nil {
		code = exitCode(err)
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

func TestExportAndInspect(t *testing.T) {
	dir := t.TempDir()
	// A real checkpoint from a one-epoch run on 100 synthetic images.
	ckpt := filepath.Join(dir, "test.ckpt")
	trainSet, valSet := digits.Split(digits.Synthetic(10, 1), digits.TrainFraction, 1)
	if _, err := train.Train(context.Background(), train.Config{Loss: train.SSE, Epochs: 1, BatchSize: 25, Checkpoint: ckpt}, trainSet, valSet, nil); err != nil {
		t.Fatal(err)
	}
	ck, err := train.LoadCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	m := ck.Model
	for _, fold := range []bool{false, true} {
		path := filepath.Join(dir, "model.onnx")
		args := []string{"export", "--checkpoint", ckpt}
		if fold {
			args = append(args, "--fold-bn")
		}
		if _, stderr, code := runCLI(t, append(args, path)...); code != 0 {
			t.Fatalf("export %v: exit %d: %s", args, code, stderr)
		}
		want, err := export.Marshal(m, export.Options{FoldBN: fold})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
			t.Errorf("fold %v: the file differs from export.Marshal of the checkpoint's model", fold)
		}
		stdout, stderr, code := runCLI(t, "inspect", path)
		if code != 0 {
			t.Fatalf("inspect: exit %d: %s", code, stderr)
		}
		for _, s := range []string{
			"format    ir_version 7, opset ai.onnx 13",
			"image  float32 [N,1,28,28]",
			"label          int64 [N]",
			"Gemm(flatten1, fc1.weight, fc1.bias) -> logits float32 [N,10]",
			"axis=1 keepdims=0",
		} {
			if !strings.Contains(stdout, s) {
				t.Errorf("fold %v: inspect output lacks %q:\n%s", fold, s, stdout)
			}
		}
		if !regexp.MustCompile(`(?m)^  loss +sse$`).MatchString(stdout) {
			t.Errorf("fold %v: inspect output lacks the loss metadata:\n%s", fold, stdout)
		}
		if hasBN := strings.Contains(stdout, "BatchNormalization("); hasBN == fold {
			t.Errorf("fold %v: BatchNormalization node present = %v", fold, hasBN)
		}
	}
}

func TestExportInspectErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("\xff\xff\xff\xff\x0f not protobuf"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // substring of stderr
	}{
		{"inspect without file", []string{"inspect"}, 2, "inspect takes one argument"},
		{"inspect two files", []string{"inspect", "a.onnx", "b.onnx"}, 2, "inspect takes one argument"},
		{"export without file", []string{"export"}, 2, "export takes one argument"},
		{"export unknown flag", []string{"export", "--fold", "m.onnx"}, 2, "fold"},
		{"inspect missing file", []string{"inspect", filepath.Join(dir, "nope.onnx")}, 1, "no such file"},
		{"inspect garbage", []string{"inspect", garbage}, 1, "invalid model: malformed protobuf"},
		{"export missing checkpoint", []string{"export", "--checkpoint", filepath.Join(dir, "nope.ckpt"), filepath.Join(dir, "m.onnx")}, 1, "nope.ckpt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "m.onnx")); !os.IsNotExist(err) {
		t.Errorf("a failed export left m.onnx behind")
	}
}

func TestBench(t *testing.T) {
	out, errOut, code := runCLI(t, "bench", "--batch", "2", "--seconds", "0.05", "../../testdata/torch/lenet_opset11.onnx")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"inputs: [input(N,1,28,28)]", "path: " + backend.InstructionPath() + ";", "batch 2: ", " images/s", "p50 ", "p99 ", "peak RSS: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{{"bench", "--batch", "0", "m.onnx"}, {"bench", "--seconds", "0", "m.onnx"}, {"bench"}} {
		if _, _, code := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (bad usage)", args, code)
		}
	}
}
