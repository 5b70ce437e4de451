package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/train"
)

// lockedBuffer is written by the command while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServe runs the command, asks it something, sends SIGTERM and expects a
// clean exit.
func TestServe(t *testing.T) {
	var out, errOut lockedBuffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &errOut
	done := make(chan error, 1)
	go func() {
		done <- app.Run([]string{"onnxdigits", "serve", "--addr", "127.0.0.1:0", "--pprof", "127.0.0.1:0", "--name", "mnist=../../testdata/torch/mnist_ce_adam.onnx", "../../testdata/torch/paper_bn.onnx"})
	}()
	addr := regexp.MustCompile(`on http://([0-9.:]+)/`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; time.Sleep(10 * time.Millisecond) {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = "http://" + m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not start")
		}
	}
	if !strings.Contains(out.String(), "serving mnist, paper_bn on") {
		t.Errorf("output %q", out.String())
	}
	for _, path := range []string{"/v2/health/ready", "/v2/models/mnist", "/v2/models/paper_bn/ready", "/"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
	// --pprof: Go's profiles on their own address.
	m := regexp.MustCompile(`profiles on http://([0-9.:]+)/debug/pprof/`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no profiles address in %q", out.String())
	}
	resp, err := http.Get("http://" + m[1] + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	cmdline, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(cmdline) == 0 {
		t.Errorf("GET /debug/pprof/cmdline: %d %q", resp.StatusCode, cmdline)
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if !strings.Contains(out.String(), "shutting down") || !strings.Contains(errOut.String(), "path=/v2/models/mnist status=200") {
		t.Errorf("stdout %q\nstderr %q", out.String(), errOut.String())
	}
}

func TestServeUsage(t *testing.T) {
	model := "../../testdata/torch/mnist_ce_adam.onnx"
	for _, args := range [][]string{
		{"serve"},
		{"serve", "--max-batch", "0", model},
		{"serve", "--max-queue", "-1", model},
		{"serve", "--timeout", "0s", model},
		{"serve", "--batch-delay", "-1ms", model},
		{"serve", "--name", "nofile", model},
		{"serve", "--addr", "8080", model},
		{"serve", "--pprof", "6060", model},
		{"serve", model, "other/mnist_ce_adam.onnx"},
	} {
		if _, stderr, code := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (bad usage): %s", args, code, stderr)
		}
	}
}

func TestExportModelRepository(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "test.ckpt")
	trainSet, valSet := digits.Split(digits.Synthetic(10, 1), digits.TrainFraction, 1)
	if _, err := train.Train(context.Background(), train.Config{Loss: train.SSE, Epochs: 1, BatchSize: 25, Checkpoint: ckpt}, trainSet, valSet, nil); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(dir, "models")
	path := filepath.Join(dir, "digits.onnx")
	if _, stderr, code := runCLI(t, "export", "--checkpoint", ckpt, "--model-repository", repo, path); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	onnx, _ := os.ReadFile(path)
	inRepo, _ := os.ReadFile(filepath.Join(repo, "digits", "1", "model.onnx"))
	if len(onnx) == 0 || !bytes.Equal(onnx, inRepo) {
		t.Error("the repository's model.onnx differs from the exported file")
	}
	cfg, _ := os.ReadFile(filepath.Join(repo, "digits", "config.pbtxt"))
	for _, want := range []string{`name: "digits"`, `platform: "onnxruntime_onnx"`, "max_batch_size: 64", `name: "image"`, "dims: [ 1, 28, 28 ]", `name: "probabilities"`, "dims: [ 10 ]", "dynamic_batching {"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config.pbtxt lacks %q:\n%s", want, cfg)
		}
	}
	if _, stderr, code := runCLI(t, "export", "--checkpoint", ckpt, "--model-repository", repo); code != 0 {
		t.Fatalf("without a file: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(repo, "model", "config.pbtxt")); err != nil {
		t.Error(err)
	}
}
