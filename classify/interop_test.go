package classify

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/onnxdigits/onnxdigits/graph"
)

// TestInteropOnnxruntime runs every testdata model in onnxruntime 1.30 (npm
// onnxruntime-node, through ../interop/run.js) on the tensors the adapter makes
// from seven synthetic digits, and compares every output and the probabilities
// with classify's. It needs node and interop/node_modules (interop/setup.sh),
// so it runs only with ONNXDIGITS_INTEROP=1:
//
//	sh interop/setup.sh && ONNXDIGITS_INTEROP=1 go test ./classify -run Interop -v
func TestInteropOnnxruntime(t *testing.T) {
	if os.Getenv("ONNXDIGITS_INTEROP") == "" {
		t.Skip("set ONNXDIGITS_INTEROP=1 (after interop/setup.sh) to compare with onnxruntime")
	}
	// 1e-5: the project's float32 parity bound on probabilities (DESIGN §5);
	// raw outputs (logits, log-probabilities) get it relative to their size.
	const tol = 1e-5
	const n = 7
	pix := testImages(n)
	for _, file := range []string{"nchw1", "nchw3", "nhwc", "nhw", "flat", "fixed1", "fixed1_flat0"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("testdata", file+".onnx")
			m, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			info := m.Info()
			x, err := m.Adapt(pix, n, 28, 28)
			if err != nil {
				t.Fatal(err)
			}
			shape := slices.Clone(info.InputDims)
			shape[0] = n
			outs, preds, err := m.Tensor(context.Background(), x, shape)
			if err != nil {
				t.Fatal(err)
			}
			batches := []string{"1", "7"}
			if info.InputDims[0] != graph.Batch {
				batches = []string{"1"} // onnxruntime holds a fixed batch to its size
			}
			ort := runOnnxruntime(t, path, x, batches)
			for _, run := range ort.Runs {
				for _, o := range outs {
					r, ok := run.Outputs[o.Name]
					if !ok {
						t.Fatalf("onnxruntime has no output %q", o.Name)
					}
					if r.Dims[0] != n {
						t.Fatalf("onnxruntime output %q dims %v", o.Name, r.Dims)
					}
					if o.Int64 != nil {
						for j, v := range o.Int64 {
							if float64(v) != r.Data[j] {
								t.Errorf("batch %d output %q value %d: %d, onnxruntime %g", run.Batch, o.Name, j, v, r.Data[j])
							}
						}
						continue
					}
					worst := 0.0
					for j, v := range o.Float {
						w := r.Data[j]
						d := math.Abs(float64(v) - w)
						worst = max(worst, d)
						if d > tol*max(1, math.Abs(w)) {
							t.Errorf("batch %d output %q value %d: %g, onnxruntime %g", run.Batch, o.Name, j, v, w)
						}
					}
					t.Logf("batch %d output %q (%v): max |diff| %.3g", run.Batch, o.Name, info.Kind, worst)
				}
				// Probabilities from onnxruntime's scores by the same rule.
				scores := run.Outputs[info.Output].Data
				worst := 0.0
				for j, p := range preds {
					row := make([]float32, info.K)
					for k := range row {
						row[k] = float32(scores[j*info.K+k])
					}
					probs := make([]float32, info.K)
					ToProbabilities(probs, row, info.Kind)
					worst = max(worst, maxDiff(probs, p.Probabilities))
				}
				if worst > tol {
					t.Errorf("batch %d: probabilities differ from onnxruntime's by %g", run.Batch, worst)
				}
				t.Logf("batch %d: probabilities max |diff| %.3g vs onnxruntime", run.Batch, worst)
			}
		})
	}
}

type ortResult struct {
	Version string `json:"onnxruntime"`
	Runs    []struct {
		Batch   int `json:"batch"`
		Outputs map[string]struct {
			Dims []int     `json:"dims"`
			Data []float64 `json:"data"`
		} `json:"outputs"`
	} `json:"runs"`
}

// runOnnxruntime writes x as raw float32 and runs interop/run.js on it.
func runOnnxruntime(t *testing.T, model string, x []float32, batches []string) *ortResult {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "input.f32")
	buf := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(in, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.json")
	args := append([]string{filepath.Join("..", "interop", "run.js"), model, in, out}, batches...)
	if b, err := exec.Command("node", args...).CombinedOutput(); err != nil {
		t.Fatalf("node %v: %v\n%s", args, err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r ortResult
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Version != "1.30.0" {
		t.Errorf("onnxruntime %s, want 1.30.0", r.Version)
	}
	return &r
}
