package onnximport

import (
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/onnx"
)

func randFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// paperNet is the paper's network as torch.onnx.export writes it at opset 11:
// initializers also listed as graph inputs, Gemm with transB=1, BN kept, a symbolic
// batch, class names in metadata. Sizes are shrunk (2 filters, 8x8 input, asymmetric pads).
func paperNet(r *rand.Rand, classes string) modelSpec {
	f32 := onnx.TensorProto_FLOAT
	inits := []*onnx.TensorProto{
		floatInit(graph.MeanParam, []int64{1, 1, 8, 8}, randFloats(r, 64)...),
		floatInit("conv1.weight", []int64{2, 1, 3, 3}, randFloats(r, 18)...),
		floatInit("conv1.bias", []int64{2}, randFloats(r, 2)...),
		floatInit("bn1.weight", []int64{2}, 1.5, 0.5),
		floatInit("bn1.bias", []int64{2}, 0.1, -0.1),
		floatInit("bn1.running_mean", []int64{2}, 0.2, -0.3),
		floatInit("bn1.running_var", []int64{2}, 1.2, 0.8),
		floatInit("fc1.weight", []int64{10, 98}, randFloats(r, 980)...),
		floatInit("fc1.bias", []int64{10}, randFloats(r, 10)...),
	}
	inputs := []*onnx.ValueInfoProto{vi("image", f32, "N", 1, 8, 8)}
	for _, t := range inits {
		dims := []any{}
		for _, d := range t.Dims {
			dims = append(dims, int(d))
		}
		inputs = append(inputs, vi(t.Name, f32, dims...))
	}
	return modelSpec{
		opset: 11,
		inits: inits, inputs: inputs,
		nodes: []*onnx.NodeProto{
			node("Sub", "normalize", []string{"image", graph.MeanParam}, []string{"normalize"}),
			node("Conv", "conv1", []string{"normalize", "conv1.weight", "conv1.bias"}, []string{"conv1"}, attrInts("kernel_shape", 3, 3), attrInts("pads", 1, 0, 0, 1)),
			node("BatchNormalization", "bn1", []string{"conv1", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"}, []string{"bn1"}, attrFloat("epsilon", 1e-5), attrFloat("momentum", 0.9)),
			node("Relu", "relu1", []string{"bn1"}, []string{"relu1"}),
			node("Flatten", "flatten", []string{"relu1"}, []string{"flat"}, attrInt("axis", 1)),
			node("Gemm", "fc1", []string{"flat", "fc1.weight", "fc1.bias"}, []string{"logits"}, attrFloat("alpha", 1), attrFloat("beta", 1), attrInt("transB", 1)),
			node("Softmax", "softmax", []string{"logits"}, []string{"probabilities"}, attrInt("axis", 1)),
			node("ArgMax", "argmax", []string{"probabilities"}, []string{"label"}, attrInt("axis", 1), attrInt("keepdims", 0)),
		},
		outputs: []*onnx.ValueInfoProto{vi("probabilities", f32, "N", 10), vi("label", onnx.TensorProto_INT64, "N")},
		meta:    map[string]string{"classes": classes, "loss": "crossentropy"},
	}
}

func TestDecodePaperNet(t *testing.T) {
	for _, classes := range []string{"0,1,2,3,4,5,6,7,8,9", `["0","1","2","3","4","5","6","7","8","9"]`} {
		r := rand.New(rand.NewSource(1))
		spec := paperNet(r, classes)
		m, err := Decode(spec.bytes(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Inputs) != 1 || m.Inputs[0].Name != "image" || !slices.Equal(m.Inputs[0].Shape, []int{graph.Batch, 1, 8, 8}) {
			t.Fatalf("inputs %+v: initializers listed as inputs must become parameters", m.Inputs)
		}
		if !slices.Equal(m.Classes, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}) {
			t.Errorf("classes %q from %q", m.Classes, classes)
		}
		if m.Meta["loss"] != "crossentropy" || m.Meta["classes"] != "" {
			t.Errorf("meta %v", m.Meta)
		}
		// Names and values are kept, and the trainable set is what fine-tuning needs.
		for _, init := range spec.inits {
			p := m.Param(init.Name)
			want, _ := decodeTensor(init, nil)
			if p == nil || !slices.Equal(p.Data, want.Data) || !slices.Equal(p.Dims, want.Dims) {
				t.Fatalf("parameter %q: %+v", init.Name, p)
			}
			trainable := !slices.Contains([]string{graph.MeanParam, "bn1.running_mean", "bn1.running_var"}, init.Name)
			if p.Trainable != trainable {
				t.Errorf("%s: Trainable %v, want %v", init.Name, p.Trainable, trainable)
			}
		}
		for _, n := range spec.nodes {
			if m.Node(n.Name) == nil {
				t.Errorf("node %q not kept", n.Name)
			}
		}
		if g, ok := m.Node("fc1").Op.(*graph.Gemm); !ok || !g.TransB {
			t.Errorf("fc1 is %#v, want Gemm{TransB: true}", m.Node("fc1").Op)
		}
		// Runs at any batch size; probabilities sum to 1 and the label is their argmax.
		const n = 5
		probs, labels, err := backend.Classify(m, randFloats(r, n*64), n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			row := probs[i*10 : (i+1)*10]
			sum := float32(0)
			for _, p := range row {
				sum += p
			}
			// float32 sum of 10 terms: a few ulps.
			if math.Abs(float64(sum)-1) > 1e-5 {
				t.Errorf("row %d sums to %g", i, sum)
			}
			if best := slices.Index(row, slices.Max(row)); int64(best) != labels[i] {
				t.Errorf("row %d: label %d, argmax %d", i, labels[i], best)
			}
		}
	}
}

// TestLegacySoftmax: before opset 13, Softmax(axis=1) on (N,2,3) normalizes over
// the flattened 6 values of each example, not over the 2.
func TestLegacySoftmax(t *testing.T) {
	for _, opset := range []int64{11, 13} {
		f32 := onnx.TensorProto_FLOAT
		spec := modelSpec{opset: opset,
			nodes:   []*onnx.NodeProto{node("Softmax", "sm", []string{"x"}, []string{"y"}, attrInt("axis", 1))},
			inputs:  []*onnx.ValueInfoProto{vi("x", f32, "N", 2, 3)},
			outputs: []*onnx.ValueInfoProto{vi("y", f32, "N", 2, 3)},
		}
		m, err := Decode(spec.bytes(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		x := []float32{1, 2, 3, 4, 5, 6}
		res, err := backend.NewRunner(m).Run(1, x)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, 6)
		if opset < 13 {
			var sum float64
			for _, v := range x {
				sum += math.Exp(float64(v))
			}
			for i, v := range x {
				want[i] = math.Exp(float64(v)) / sum
			}
		} else {
			for j := range 3 {
				a, b := math.Exp(float64(x[j])), math.Exp(float64(x[3+j]))
				want[j], want[3+j] = a/(a+b), b/(a+b)
			}
		}
		for i, g := range res[0].Float {
			if math.Abs(float64(g)-want[i]) > 1e-6 {
				t.Errorf("opset %d: y[%d] = %g, want %g", opset, i, g, want[i])
			}
		}
	}
}

// A Constant that is itself a graph output gets an Identity node; a Reshape shape
// from a Constant is read as a constant; DynamicBatch makes a fixed first dim N.
func TestConstantsAndDynamicBatch(t *testing.T) {
	f32 := onnx.TensorProto_FLOAT
	shape := &onnx.AttributeProto{Name: "value", Type: onnx.AttributeProto_TENSOR, T: int64Init("", -1, 6)}
	c := &onnx.AttributeProto{Name: "value", Type: onnx.AttributeProto_TENSOR, T: floatInit("", []int64{2}, 7, 8)}
	spec := modelSpec{
		nodes: []*onnx.NodeProto{
			node("Constant", "shape", nil, []string{"shape"}, shape),
			node("Reshape", "reshape", []string{"x", "shape"}, []string{"y"}),
			node("Constant", "c", nil, []string{"c"}, c),
		},
		inputs:  []*onnx.ValueInfoProto{vi("x", f32, 1, 2, 3)},
		outputs: []*onnx.ValueInfoProto{vi("y", f32, 1, 6), vi("c", f32, 2)},
	}
	m, err := Decode(spec.bytes(t), Options{DynamicBatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Inputs[0].Shape, []int{graph.Batch, 2, 3}) {
		t.Errorf("input shape %v", m.Inputs[0].Shape)
	}
	if p := m.Param("shape"); p == nil || p.Trainable {
		t.Errorf("shape constant %+v", p)
	}
	res, err := backend.NewRunner(m, "y").Run(2, randFloats(rand.New(rand.NewSource(2)), 12))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res[0].Shape, []int{2, 6}) {
		t.Errorf("y shape %v", res[0].Shape)
	}
	if n := m.Producer("c"); n == nil || n.Op.Type() != "Identity" {
		t.Errorf("output c produced by %+v, want an Identity", n)
	}
}

func TestSupportedOps(t *testing.T) {
	ops := SupportedOps()
	if len(ops) != len(handlers) || !slices.Contains(ops, "Pad") || !slices.IsSorted(ops) {
		t.Errorf("SupportedOps() = %v", ops)
	}
	for _, op := range ops {
		if OpSpec(op) != "https://onnx.ai/onnx/operators/onnx__"+op+".html" {
			t.Errorf("%s: spec %q", op, OpSpec(op))
		}
	}
}

func TestReadFile(t *testing.T) {
	const path = "testdata/node/test_conv_with_strides_and_asymmetric_padding/model.onnx"
	m, err := ReadFile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Nodes) != 1 || m.Nodes[0].Op.Type() != "Conv" {
		t.Errorf("nodes %v", m.Nodes)
	}
	// The cap applies before reading: Stat gives the 236 bytes.
	_, err = ReadFile(path, Options{MaxBytes: 100})
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "larger than 100 bytes") || !strings.Contains(err.Error(), "236 bytes") || !strings.Contains(err.Error(), path) {
		t.Errorf("MaxBytes 100: %v", err)
	}
	// A file that is not regular (no size from Stat) is capped while reading.
	fifo := filepath.Join(t.TempDir(), "fifo.onnx")
	if err := syscall.Mkfifo(fifo, 0o600); err == nil {
		go func() {
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err == nil {
				f.Write(make([]byte, 1000))
				f.Close()
			}
		}()
		if _, err := ReadFile(fifo, Options{MaxBytes: 100}); !errors.As(err, &fe) || !strings.Contains(err.Error(), "larger than 100 bytes") {
			t.Errorf("MaxBytes 100, a pipe of 1000 bytes: %v", err)
		}
	}
	if _, err := ReadFile("testdata/missing.onnx", Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
