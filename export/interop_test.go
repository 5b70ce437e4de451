package export

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/testutil"
	"github.com/onnxdigits/onnxdigits/train"
)

// The interop check (DESIGN §5): every variant is exported, passed through the
// official ONNX checker and strict shape inference (Debian's python3-onnx 1.12)
// and run in onnxruntime 1.30 (npm onnxruntime-node) at batch sizes 1 and 7 on
// fixed images; its outputs must match backend.Classify of the original, unfolded
// model. It needs node, interop/node_modules and /usr/bin/python3 with onnx,
// which interop/setup.sh installs, so it runs only with ONNXDIGITS_INTEROP=1:
//
//	interop/setup.sh && ONNXDIGITS_INTEROP=1 go test ./export -run Interop -v
//
// ONNXDIGITS_PYTHON overrides /usr/bin/python3.

// interopTolerance is the project's float32 parity bound on probabilities
// (DESIGN §5: within 1e-5 absolute, labels 100% equal).
const interopTolerance = 1e-5

// interopBatches are the batch sizes onnxruntime runs; 7 is odd on purpose, and
// 1 checks the symbolic N at its smallest.
var interopBatches = []int{1, 7}

type interopModel struct {
	name string
	m    *graph.Model
}

// interopModels returns a briefly trained model per loss (a real checkpoint's
// weights, statistics and mean image; SGDM, because after two Adam epochs at lr
// 0.01 on 300 images the MAE and SSE models put every image in one class with
// saturated probabilities, which compares little), an untrained one with randomized
// batch-norm statistics and mean image (far from the defaults, so BN and
// normalization are exercised whatever training did), the same for every layer
// kind of graph.New (allOps), and exoticModel for the remaining exporters.
func interopModels(t *testing.T) []interopModel {
	t.Helper()
	full := digits.Synthetic(40, 5)
	trainSet, valSet := digits.Split(full, digits.TrainFraction, 5)
	var models []interopModel
	for _, loss := range []train.Loss{train.CrossEntropy, train.MAE, train.SSE} {
		res, err := train.Train(context.Background(), train.Config{
			Loss: loss, Optimizer: train.SGDM, Epochs: 2, BatchSize: 25, Seed: 3,
			Dataset: "synthetic (40 per class, seed 5)",
		}, trainSet, valSet, nil)
		if err != nil {
			t.Fatalf("training %s: %v", loss, err)
		}
		models = append(models, interopModel{name: string(loss), m: res.Model})
	}
	rng := rand.New(rand.NewSource(9))
	m := testutil.NewModel(t, graph.DefaultArch, rng)
	testutil.RandomizeStats(m, rng)
	models = append(models, interopModel{name: "random-stats", m: m})
	m = testutil.NewModel(t, allOps, rng)
	testutil.RandomizeStats(m, rng)
	models = append(models, interopModel{name: "allops", m: m}, interopModel{name: "exotic", m: exoticModel(4)})
	return models
}

// interopImages returns 7 fixed images: one synthetic digit each of 0-6.
func interopImages() []float32 {
	s := digits.Synthetic(1, 77)
	return s.AppendImages(nil, 0, 7)
}

func TestInterop(t *testing.T) {
	if os.Getenv("ONNXDIGITS_INTEROP") != "1" {
		t.Skip("set ONNXDIGITS_INTEROP=1 to run the onnxruntime and onnx checker interop check (needs interop/setup.sh)")
	}
	interop, err := filepath.Abs(filepath.Join("..", "interop"))
	if err != nil {
		t.Fatal(err)
	}
	python := os.Getenv("ONNXDIGITS_PYTHON")
	if python == "" {
		python = "/usr/bin/python3"
	}
	if _, err := os.Stat(filepath.Join(interop, "node_modules", "onnxruntime-node")); err != nil {
		t.Fatalf("onnxruntime-node is not installed (%v): run interop/setup.sh", err)
	}

	dir := t.TempDir()
	imgs := interopImages()
	const n = 7
	raw := make([]byte, 4*len(imgs))
	for i, v := range imgs {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	input := filepath.Join(dir, "input.f32")
	if err := os.WriteFile(input, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	type variant struct {
		name, path string
		probs      []float32
		labels     []int64
		opset      int
	}
	var variants []*variant
	for _, im := range interopModels(t) {
		probs, labels, err := backend.Classify(im.m, imgs, n)
		if err != nil {
			t.Fatalf("%s: %v", im.name, err)
		}
		for _, fold := range []bool{false, true} {
			v := &variant{name: im.name, probs: probs, labels: labels}
			if fold {
				v.name += "+fold-bn"
			}
			v.path = filepath.Join(dir, strings.ReplaceAll(v.name, "+", "_")+".onnx")
			if err := WriteFile(v.path, im.m, Options{FoldBN: fold}); err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
			variants = append(variants, v)
		}
		// Every other opset of --opset, for the model with every layer kind and
		// for a trained one.
		if im.name != "allops" && im.name != string(train.CrossEntropy) {
			continue
		}
		for opset := MinOpset; opset <= MaxOpset; opset++ {
			if opset == Opset {
				continue
			}
			v := &variant{name: fmt.Sprintf("%s+opset%d", im.name, opset), probs: probs, labels: labels, opset: opset}
			v.path = filepath.Join(dir, strings.ReplaceAll(v.name, "+", "_")+".onnx")
			if err := WriteFile(v.path, im.m, Options{Opset: opset}); err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
			variants = append(variants, v)
		}
	}

	// The ONNX checker, once over all files up to opset 17: onnx 1.12 knows
	// opsets up to 17 and IR versions up to 8.
	args := []string{filepath.Join(interop, "check.py")}
	for _, v := range variants {
		if v.opset <= 17 {
			args = append(args, v.path)
		}
	}
	out, err := exec.Command(python, args...).CombinedOutput()
	t.Logf("onnx checker:\n%s", out)
	if err != nil {
		t.Errorf("onnx checker failed: %v", err)
	}

	batchArgs := make([]string, len(interopBatches))
	for i, b := range interopBatches {
		batchArgs[i] = strconv.Itoa(b)
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			res := filepath.Join(dir, filepath.Base(v.path)+".json")
			cmd := exec.Command("node", append([]string{filepath.Join(interop, "run.js"), v.path, input, res}, batchArgs...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("onnxruntime: %v\n%s", err, stderr.String())
			}
			data, err := os.ReadFile(res)
			if err != nil {
				t.Fatal(err)
			}
			var ort ortResult
			if err := json.Unmarshal(data, &ort); err != nil {
				t.Fatalf("decoding %s: %v", res, err)
			}
			if len(ort.Runs) != len(interopBatches) {
				t.Fatalf("%d runs, want %d", len(ort.Runs), len(interopBatches))
			}
			for _, run := range ort.Runs {
				worst, err := compareORT(run, v.probs, v.labels, n)
				if err != nil {
					t.Errorf("onnxruntime %s, batch %d: %v", ort.Version, run.Batch, err)
					continue
				}
				t.Logf("onnxruntime %s, batch %d: max |probabilities - Go| = %.3g, labels %v equal", ort.Version, run.Batch, worst, v.labels)
			}
		})
	}
}

type ortResult struct {
	Version  string   `json:"onnxruntime"`
	Examples int      `json:"examples"`
	Runs     []ortRun `json:"runs"`
}

type ortRun struct {
	Batch   int                  `json:"batch"`
	Outputs map[string]ortTensor `json:"outputs"`
}

type ortTensor struct {
	Type string    `json:"type"`
	Dims []int     `json:"dims"`
	Data []jsFloat `json:"data"`
}

// jsFloat is a JSON number; NaN and infinities, which JSON cannot hold, arrive
// as null and fail the comparison.
type jsFloat struct {
	v  float64
	ok bool
}

func (f *jsFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*f = jsFloat{v: v, ok: true}
	return nil
}

// compareORT checks one onnxruntime run against the Go outputs: probabilities
// within interopTolerance, labels equal, and each label the argmax of its row.
func compareORT(run ortRun, probs []float32, labels []int64, n int) (float64, error) {
	p, l := run.Outputs[graph.ProbsOutput], run.Outputs[graph.LabelOutput]
	k := len(probs) / n
	if p.Type != "float32" || !slices.Equal(p.Dims, []int{n, k}) || len(p.Data) != n*k {
		return 0, fmt.Errorf("probabilities: %s %v with %d values, want float32 [%d %d]", p.Type, p.Dims, len(p.Data), n, k)
	}
	if l.Type != "int64" || !slices.Equal(l.Dims, []int{n}) || len(l.Data) != n {
		return 0, fmt.Errorf("label: %s %v with %d values, want int64 [%d]", l.Type, l.Dims, len(l.Data), n)
	}
	worst := 0.0
	var errs []string
	for i := range n {
		best := 0
		for j := range k {
			d := p.Data[i*k+j]
			if !d.ok {
				return 0, fmt.Errorf("probabilities[%d,%d] is not finite", i, j)
			}
			worst = math.Max(worst, math.Abs(d.v-float64(probs[i*k+j])))
			if d.v > p.Data[i*k+best].v {
				best = j
			}
		}
		got := int64(l.Data[i].v)
		if got != labels[i] {
			errs = append(errs, fmt.Sprintf("label[%d] = %d, Go says %d", i, got, labels[i]))
		}
		if got != int64(best) {
			errs = append(errs, fmt.Sprintf("label[%d] = %d but its probabilities peak at %d", i, got, best))
		}
	}
	if worst > interopTolerance {
		errs = append(errs, fmt.Sprintf("max |probabilities - Go| = %g > %g", worst, interopTolerance))
	}
	if len(errs) > 0 {
		return worst, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return worst, nil
}
