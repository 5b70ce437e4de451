// Package testutil holds helpers that tests of several packages share: reading
// raw float32 fixtures and the PyTorch-exported models of testdata/torch. It is
// imported only from _test.go files.
package testutil

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
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
