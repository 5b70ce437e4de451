package export

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
)

// TestOpsets: every opset of Options.Opset is written with its IR version,
// imports again and computes what the original computes (onnxruntime and the
// checker see the same files in TestInterop); others are an error.
func TestOpsets(t *testing.T) {
	m := testModel(t, allOps)
	x := make([]float32, 3*28*28)
	for i := range x {
		x[i] = float32(i%29) / 29
	}
	want, _, err := backend.Classify(m, x, 3)
	if err != nil {
		t.Fatal(err)
	}
	for opset := MinOpset; opset <= MaxOpset; opset++ {
		data, err := Marshal(m, Options{Opset: opset})
		if err != nil {
			t.Fatalf("opset %d: %v", opset, err)
		}
		mp, err := onnximport.DecodeProto(data, onnximport.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := mp.GetOpsetImport()[0].GetVersion(); got != int64(opset) || mp.GetIrVersion() != IRVersionFor(opset) {
			t.Errorf("opset %d: file has opset %d, ir_version %d", opset, got, mp.GetIrVersion())
		}
		back, err := onnximport.Decode(data, onnximport.Options{})
		if err != nil {
			t.Fatalf("opset %d: import: %v", opset, err)
		}
		got, _, err := backend.Classify(back, x, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("opset %d: probabilities differ after the round trip", opset)
		}
	}
	for _, bad := range []int{10, 22} {
		if _, err := Marshal(m, Options{Opset: bad}); err == nil || !strings.Contains(err.Error(), "is not supported (11..21 are)") {
			t.Errorf("opset %d: err = %v", bad, err)
		}
	}
}

// TestSoftmaxBeforeOpset13: a softmax over a non-last axis cannot be written
// at opset 11-12, where Softmax flattens the dims from its axis on.
func TestSoftmaxBeforeOpset13(t *testing.T) {
	m := &graph.Model{
		Inputs:  []graph.Value{{Name: "x", Shape: []int{graph.Batch, 3, 4}}},
		Nodes:   []*graph.Node{{Name: "sm", Op: &graph.Softmax{Axis: 1}, Inputs: []string{"x"}, Outputs: []string{"y"}}},
		Outputs: []graph.Value{{Name: "y", Shape: []int{graph.Batch, 3, 4}}},
	}
	_, err := Marshal(m, Options{Opset: 12})
	var ue *UnsupportedLayerError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "cannot be written before opset 13") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Marshal(m, Options{Opset: 13}); err != nil {
		t.Fatal(err)
	}
}
