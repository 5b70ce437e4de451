package onnximport

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/onnx"
)

// extInit is a FLOAT initializer whose data is in an external file.
func extInit(name string, dims []int64, location string, offset, length int64) *onnx.TensorProto {
	kv := []*onnx.StringStringEntryProto{{Key: "location", Value: location}, {Key: "offset", Value: strconv.FormatInt(offset, 10)}}
	if length >= 0 {
		kv = append(kv, &onnx.StringStringEntryProto{Key: "length", Value: strconv.FormatInt(length, 10)})
	}
	return &onnx.TensorProto{Name: name, Dims: dims, DataType: int32(onnx.TensorProto_FLOAT),
		DataLocation: onnx.TensorProto_EXTERNAL, ExternalData: kv}
}

// extModel is y = x * w with w (2,) stored externally.
func extModel(w *onnx.TensorProto) modelSpec {
	f32 := onnx.TensorProto_FLOAT
	return modelSpec{opset: 13, inits: []*onnx.TensorProto{w},
		nodes:   []*onnx.NodeProto{node("Mul", "mul", []string{"x", "w"}, []string{"y"})},
		inputs:  []*onnx.ValueInfoProto{vi("x", f32, "N", 2)},
		outputs: []*onnx.ValueInfoProto{vi("y", f32, "N", 2)}}
}

func TestExternalData(t *testing.T) {
	dir := t.TempDir()
	raw := make([]byte, 16)
	for i, v := range []float32{9, 9, 2, 3} { // the tensor is at offset 8
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(filepath.Join(dir, "w.data"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "w.data"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	write := func(t *testing.T, w *onnx.TensorProto) string {
		path := filepath.Join(dir, t.Name()[strings.LastIndex(t.Name(), "/")+1:]+".onnx")
		if err := os.WriteFile(path, extModel(w).bytes(t), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	for _, loc := range []string{"w.data", "sub/w.data"} {
		t.Run("ok "+strings.ReplaceAll(loc, "/", "_"), func(t *testing.T) {
			m, err := ReadFile(write(t, extInit("w", []int64{2}, loc, 8, 8)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if p := m.Param("w"); p == nil || !slices.Equal(p.Data, []float32{2, 3}) {
				t.Fatalf("w = %+v, want [2 3]", p)
			}
		})
	}
	t.Run("Decode without a folder", func(t *testing.T) {
		_, err := Decode(extModel(extInit("w", []int64{2}, "w.data", 8, 8)).bytes(t), Options{})
		if err == nil || !strings.Contains(err.Error(), "needs the model's folder") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Decode with ExternalDataDir", func(t *testing.T) {
		_, err := Decode(extModel(extInit("w", []int64{2}, "w.data", 8, -1)).bytes(t), Options{ExternalDataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
	})

	tests := []struct {
		name string
		w    *onnx.TensorProto
		want string
	}{
		{"absolute", extInit("w", []int64{2}, filepath.Join(dir, "w.data"), 8, 8), "must be a relative path inside the model's folder"},
		{"dotdot", extInit("w", []int64{2}, "../w.data", 8, 8), "must be a relative path inside the model's folder"},
		{"dotdot inside", extInit("w", []int64{2}, "sub/../../w.data", 8, 8), "must be a relative path inside the model's folder"},
		{"symlink out", extInit("w", []int64{2}, "link", 8, 8), `external data file "link"`},
		{"missing", extInit("w", []int64{2}, "nope.data", 0, 8), `external data file "nope.data"`},
		{"past the end", extInit("w", []int64{2}, "w.data", 12, -1), "has 16 bytes, the tensor needs 8 at offset 12"},
		{"huge dims", extInit("w", []int64{1 << 24}, "w.data", 0, -1), "has 16 bytes, the tensor needs 67108864"},
		{"beyond MaxBytes", extInit("w", []int64{1 << 28}, "w.data", 0, -1), "external data of 1073741824 bytes exceeds what may still be read"},
		{"length mismatch", extInit("w", []int64{2}, "w.data", 0, 12), "length 12 does not match dims [2] (8 bytes)"},
		{"negative offset", extInit("w", []int64{2}, "w.data", -4, 8), `offset "-4" is not a non-negative integer`},
		{"no location", &onnx.TensorProto{Name: "w", Dims: []int64{2}, DataType: int32(onnx.TensorProto_FLOAT),
			DataLocation: onnx.TensorProto_EXTERNAL}, "external data has no location"},
		{"the folder itself", extInit("w", []int64{2}, ".", 0, 8), `external data file "."`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFile(write(t, tc.w), Options{})
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a FormatError containing %q", err, tc.want)
			}
		})
	}
	t.Run("MaxBytes counts external data", func(t *testing.T) {
		path := write(t, extInit("w", []int64{2}, "w.data", 8, 8))
		st, _ := os.Stat(path)
		_, err := ReadFile(path, Options{MaxBytes: st.Size() + 4})
		if err == nil || !strings.Contains(err.Error(), "exceeds what may still be read") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestUnsortedNodes: nodes listed out of order are sorted; a cycle is an error.
func TestUnsortedNodes(t *testing.T) {
	f32 := onnx.TensorProto_FLOAT
	spec := modelSpec{opset: 13,
		nodes: []*onnx.NodeProto{
			node("Relu", "b", []string{"t"}, []string{"y"}),
			node("Relu", "a", []string{"x"}, []string{"t"}),
		},
		inputs:  []*onnx.ValueInfoProto{vi("x", f32, "N", 2)},
		outputs: []*onnx.ValueInfoProto{vi("y", f32, "N", 2)}}
	m, err := Decode(spec.bytes(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Nodes[0].Name != "a" || m.Nodes[1].Name != "b" {
		t.Errorf("nodes %s, %s; want a, b", m.Nodes[0].Name, m.Nodes[1].Name)
	}
	spec.nodes[1].Input = []string{"y"} // a reads b's output, b reads a's: a cycle
	_, err = Decode(spec.bytes(t), Options{})
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "the graph has a cycle") {
		t.Fatalf("err = %v, want a cycle FormatError", err)
	}
}

// TestDynamicBatchReshape: a Reshape constant carrying the export's batch of 1
// ([1,-1], as the zoo's mnist-8 has [1,256]) runs at any batch under
// Options.DynamicBatch, and only then.
func TestDynamicBatchReshape(t *testing.T) {
	f32 := onnx.TensorProto_FLOAT
	spec := modelSpec{opset: 13, inits: []*onnx.TensorProto{int64Init("shape", 1, -1)},
		nodes:   []*onnx.NodeProto{node("Reshape", "r", []string{"x", "shape"}, []string{"y"})},
		inputs:  []*onnx.ValueInfoProto{vi("x", f32, 1, 2, 3)},
		outputs: []*onnx.ValueInfoProto{vi("y", f32, 1, 6)}}
	m, err := Decode(spec.bytes(t), Options{DynamicBatch: true})
	if err != nil {
		t.Fatal(err)
	}
	r := backend.NewRunner(m, "y")
	defer r.Close()
	x := make([]float32, 3*6)
	for i := range x {
		x[i] = float32(i)
	}
	res, err := r.Run(3, x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res[0].Shape, []int{3, 6}) || !slices.Equal(res[0].Float, x) {
		t.Errorf("y %v %v, want (3,6) of the input", res[0].Shape, res[0].Float)
	}
	m, err = Decode(spec.bytes(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Inputs[0].Shape, []int{1, 2, 3}) {
		t.Errorf("without DynamicBatch the input is %v", m.Inputs[0].Shape)
	}
}
