package serve

import (
	"encoding/binary"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/classify"
	"github.com/onnxdigits/onnxdigits/export"
	"github.com/onnxdigits/onnxdigits/graph"
)

// TestOwnExport serves a model of our own exporter: outputs "probabilities"
// FP32 (N,10) and "label" INT64 (N), both listed and both answered, in JSON
// and in binary.
func TestOwnExport(t *testing.T) {
	g, err := graph.New("conv5x5x2,relu,fc10", graph.DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	data, err := export.Marshal(g, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "own.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := classify.Open(path, classify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(map[string]Model{"own": m}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	ts := newHTTPServer(t, s)

	status, _, body := do(t, "GET", ts+"/v2/models/own", "", nil)
	if status != 200 {
		t.Fatalf("metadata: %d %s", status, body)
	}
	jsonMatch(t, body, []byte(`{"name": "own", "versions": ["1"], "platform": "onnx_onnxv1",
		"inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, 1, 28, 28]}],
		"outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}, {"name": "label", "datatype": "INT64", "shape": [-1]}]}`))

	images, _ := fixtures(t)
	x, _ := json.Marshal(append(append([]float32{}, images[0]...), images[1]...))
	req := `{"inputs": [{"name": "image", "shape": [2, 1, 28, 28], "datatype": "FP32", "data": ` + string(x) + `}]}`
	status, _, body = do(t, "POST", ts+"/v2/models/own/infer", "application/json", []byte(req))
	var r struct {
		Outputs []struct {
			Name, Datatype string
			Shape          []int
			Data           []float64
		}
	}
	if status != 200 || json.Unmarshal(body, &r) != nil || len(r.Outputs) != 2 {
		t.Fatalf("status %d: %s", status, body)
	}
	probs, labels := r.Outputs[0], r.Outputs[1]
	if probs.Name != "probabilities" || labels.Name != "label" || labels.Datatype != "INT64" || len(labels.Shape) != 1 || labels.Shape[0] != 2 || len(labels.Data) != 2 {
		t.Fatalf("outputs %s", body)
	}
	for i := range 2 {
		row := probs.Data[i*10 : (i+1)*10]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if int(labels.Data[i]) != best {
			t.Errorf("image %d: label %v, argmax of the probabilities %d", i, labels.Data[i], best)
		}
	}

	// The label alone, in binary: 8 bytes per example.
	req = `{"inputs": [{"name": "image", "shape": [2, 1, 28, 28], "datatype": "FP32", "data": ` + string(x) + `}], "outputs": [{"name": "label", "parameters": {"binary_data": true}}]}`
	status, h, body := do(t, "POST", ts+"/v2/models/own/infer", "application/json", []byte(req))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	n, _ := strconv.Atoi(h.Get("Inference-Header-Content-Length"))
	bin := body[n:]
	if len(bin) != 16 || int64(binary.LittleEndian.Uint64(bin)) != int64(labels.Data[0]) || int64(binary.LittleEndian.Uint64(bin[8:])) != int64(labels.Data[1]) {
		t.Errorf("binary labels %v, JSON %v", bin, labels.Data)
	}
	req = `{"inputs": [{"name": "image", "shape": [2, 1, 28, 28], "datatype": "FP32", "data": ` + string(x) + `}], "outputs": [{"name": "label", "parameters": {"classification": 2}}]}`
	status, _, body = do(t, "POST", ts+"/v2/models/own/infer", "application/json", []byte(req))
	if status != 400 || !strings.Contains(string(body), `output \"label\" does not hold class scores`) {
		t.Errorf("classification on the label output: status %d: %s", status, body)
	}
}
