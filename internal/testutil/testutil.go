// Package testutil holds helpers that tests of several packages share: reading
// raw float32 fixtures and the PyTorch-exported models of testdata/torch,
// building a digits model with non-trivial statistics, writing PNGs. It is
// imported only from _test.go files (and so not by package graph's own tests,
// which it imports).
package testutil

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/graph"
)

// ReadF32 reads a file of little-endian float32s (the fixtures' .f32 format).
func ReadF32(t testing.TB, path string) []float32 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw)%4 != 0 {
		t.Fatalf("%s: %d bytes, not float32s", path, len(raw))
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}

// Root is the repository's top folder (found from this file's location, so it
// works from any package's test).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// TorchFixture is one model of testdata/torch/manifest.json (see the README
// there): an ONNX file exported by PyTorch, a fixed input and onnxruntime's
// output on it.
type TorchFixture struct {
	Name        string    // file name without .onnx
	Path        string    // the .onnx file
	Input       []float32 // (InputShape) float32
	InputShape  []int
	Ort         []float32 // onnxruntime's first output on Input
	OutputShape []int
}

// TorchFixtures reads the manifest of testdata/torch and every fixture's
// input and onnxruntime output. It skips the test when the manifest is absent.
func TorchFixtures(t testing.TB) []TorchFixture {
	t.Helper()
	dir := filepath.Join(Root(), "testdata", "torch")
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if os.IsNotExist(err) {
		t.Skip("no testdata/torch/manifest.json")
	}
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Models []struct {
			File    string
			Fixture struct {
				Input       string
				InputShape  []int  `json:"input_shape"`
				OrtOutput   string `json:"ort_output"`
				OutputShape []int  `json:"output_shape"`
			}
		}
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	var fs []TorchFixture
	for _, m := range manifest.Models {
		f := m.Fixture
		fs = append(fs, TorchFixture{
			Name:        m.File[:len(m.File)-len(filepath.Ext(m.File))],
			Path:        filepath.Join(dir, m.File),
			Input:       ReadF32(t, filepath.Join(dir, f.Input)),
			InputShape:  f.InputShape,
			Ort:         ReadF32(t, filepath.Join(dir, f.OrtOutput)),
			OutputShape: f.OutputShape,
		})
	}
	return fs
}

// NewModel builds the network spec (graph.New's architecture syntax, "" for
// the paper's) for 28x28 digits with weights drawn from rng.
func NewModel(t testing.TB, spec string, rng *rand.Rand) *graph.Model {
	t.Helper()
	m, err := graph.New(spec, graph.DigitsInput(), rng)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// RandomizeStats gives the mean image and every batch norm non-trivial values
// (fresh models have a zero mean image, zero running means and unit variances
// and scales), so that exports, folding and reference comparisons exercise
// them: mean image in [0,0.3), running variance and BN scale in [0.5,1.5),
// running mean and every bias in [-0.5,0.5). The golden exports depend on the
// order of rng draws: parameters in model order, one draw per value.
func RandomizeStats(m *graph.Model, rng *rand.Rand) {
	isBN := map[string]bool{}
	for _, n := range m.Nodes {
		if _, ok := n.Op.(*graph.BatchNorm); ok {
			for _, in := range n.Inputs[1:] {
				isBN[in] = true
			}
		}
	}
	for _, p := range m.Params {
		switch {
		case p.Name == graph.MeanParam:
			for i := range p.Data {
				p.Data[i] = rng.Float32() * 0.3
			}
		case strings.HasSuffix(p.Name, ".running_var"):
			for i := range p.Data {
				p.Data[i] = 0.5 + rng.Float32()
			}
		case isBN[p.Name] && strings.HasSuffix(p.Name, ".weight"):
			for i := range p.Data {
				p.Data[i] = 0.5 + rng.Float32()
			}
		case strings.HasSuffix(p.Name, ".running_mean"), strings.HasSuffix(p.Name, ".bias"):
			for i := range p.Data {
				p.Data[i] = rng.Float32() - 0.5
			}
		}
	}
}

// WritePNG encodes img as a PNG file at path.
func WritePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	if err := os.WriteFile(path, EncodePNG(t, img), 0o644); err != nil {
		t.Fatal(err)
	}
}

// EncodePNG returns img encoded as PNG.
func EncodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
