package onnximport

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/onnx"
	"google.golang.org/protobuf/proto"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fuzzRunLimit bounds the elements of any value a fuzzed model may have before we
// run it, so that the fuzzer explores decoding rather than big convolutions.
const fuzzRunLimit = 1 << 16

// FuzzDecode: Decode never panics; a model that decodes decodes again, with the
// same shapes, after its protobuf is re-encoded; and building and running it
// (batch 1, zero inputs) either works or returns an error. Seeds: the models in
// testdata/node, testdata/*.onnx (PyTorch's shape computations) and testdata/fuzz,
// the foreign-shaped models of ../testdata/foreign (Pad, run-time Unsqueeze,
// MATLAB's 'same' padding arithmetic, unsorted nodes, external data, which the
// fuzzed models may name: their folder is ExternalDataDir), hand-built shape
// computations, and a few Debian conformance models if present.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/node/*/model.onnx")
	more, _ := filepath.Glob("testdata/*.onnx")
	seeds = append(seeds, more...)
	for _, name := range []string{"torch_o9_fixed", "torch_o11_dyn", "torch_o17_extdata", "tf2onnx_nhw_o13", "keras2onnx_nhwc255_o9", "matlab_same_o14"} {
		seeds = append(seeds, filepath.Join(foreignDir, name+".onnx"))
	}
	opts := Options{ExternalDataDir: foreignDir}
	for _, opset := range []int64{11, 13} {
		f.Add(shapeModel(opset, viewChain(opset), "N", 24).bytes(f))
	}
	for _, c := range []string{"test_conv_with_autopad_same", "test_maxpool_2d_dilations", "test_reshape_zero_and_negative_dim", "test_batchnorm_example", "test_gemm_default_single_elem_vector_bias"} {
		seeds = append(seeds, filepath.Join(debianNodeDir, c, "model.onnx"))
	}
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data, opts)
		if err != nil {
			return
		}
		var mp onnx.ModelProto
		if err := proto.Unmarshal(data, &mp); err != nil {
			t.Fatalf("decoded, but the protobuf does not unmarshal: %v", err)
		}
		again, err := proto.Marshal(&mp)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, err := Decode(again, opts)
		if err != nil {
			t.Fatalf("decodes, but not after a re-encode: %v", err)
		}
		s1, err1 := m.Shapes()
		s2, err2 := m2.Shapes()
		if err1 != nil || err2 != nil {
			t.Fatalf("validated model has no shapes: %v, %v", err1, err2)
		}
		for k, v := range s1 {
			if !slices.Equal(v, s2[k]) {
				t.Fatalf("value %q has shape %v, %v after re-encode", k, v, s2[k])
			}
			if prod(v) > fuzzRunLimit {
				return
			}
		}
		runZeros(t, m)
	})
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		if d > 0 {
			n *= d
		}
	}
	return n
}

// runZeros builds m for batch 1 and runs it on zero inputs; errors are fine,
// panics are not (the fuzzer reports them).
func runZeros(t *testing.T, m *graph.Model) {
	var want []string
	for _, o := range m.Outputs {
		want = append(want, o.Name)
	}
	b, err := backend.Build(m, 1, want, backend.Options{Mode: backend.Infer})
	if err != nil {
		return
	}
	vm, err := b.Machine()
	if err != nil {
		return
	}
	defer vm.Close()
	for _, in := range m.Inputs {
		node := b.Value(in.Name)
		if node == nil {
			continue
		}
		shape := slices.Clone(in.Shape)
		for i, d := range shape {
			if d == graph.Batch {
				shape[i] = 1
			}
		}
		if err := G.Let(node, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, prod(shape))))); err != nil {
			return
		}
	}
	_ = vm.RunAll()
}
