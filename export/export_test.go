package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
	"github.com/onnxdigits/onnxdigits/internal/testutil"
	"github.com/onnxdigits/onnxdigits/onnx"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// allOps uses every layer kind graph.New can build.
const allOps = "conv3x3x4p1,bn,relu,maxpool2,conv3x3x6,relu,avgpool2,dropout0.3,fc16,relu,fc10"

// testModel builds a model from spec with fixed seeds, non-trivial batch-norm
// statistics and mean image, and the metadata keys the trainer writes.
func testModel(t testing.TB, spec string) *graph.Model {
	t.Helper()
	rng := rand.New(rand.NewSource(1))
	m := testutil.NewModel(t, spec, rng)
	testutil.RandomizeStats(m, rng)
	for k, v := range map[string]string{
		"loss": "crossentropy", "optimizer": "adam", "epochs": "2", "batch_size": "43",
		"learn_rate": "0.01", "dataset": "synthetic", "seed": "1", "validation_accuracy": "0.912000",
		"normalization": "zerocenter (input minus the training mean image, inside the graph)",
	} {
		m.Meta[k] = v
	}
	return m
}

// dump is the readable, complete structure of an exported model used by the
// golden tests: everything but the tensor values, which are summarized by a
// SHA-256 of their bytes.
func dump(mp *onnx.ModelProto) string {
	var b strings.Builder
	g := mp.GetGraph()
	fmt.Fprintf(&b, "ir_version %d\n", mp.GetIrVersion())
	for _, o := range mp.GetOpsetImport() {
		fmt.Fprintf(&b, "opset_import %q %d\n", o.GetDomain(), o.GetVersion())
	}
	fmt.Fprintf(&b, "producer %q %q\n", mp.GetProducerName(), mp.GetProducerVersion())
	fmt.Fprintf(&b, "model doc %q\n", mp.GetDocString())
	fmt.Fprintf(&b, "graph %q\n  doc %q\n", g.GetName(), g.GetDocString())
	for _, v := range g.GetInput() {
		fmt.Fprintf(&b, "input %s %s doc %q\n", v.GetName(), typeString(v.GetType()), v.GetDocString())
	}
	for _, v := range g.GetOutput() {
		fmt.Fprintf(&b, "output %s %s doc %q\n", v.GetName(), typeString(v.GetType()), v.GetDocString())
	}
	for i, n := range g.GetNode() {
		fmt.Fprintf(&b, "node #%d %s %s(%s) -> %s\n", i, n.GetName(), n.GetOpType(), strings.Join(n.GetInput(), ", "), strings.Join(n.GetOutput(), ", "))
		for _, a := range n.GetAttribute() {
			fmt.Fprintf(&b, "  attr %s %s = %s\n", a.GetName(), a.GetType(), attrString(a))
		}
		fmt.Fprintf(&b, "  doc %q\n", n.GetDocString())
	}
	for _, v := range g.GetValueInfo() {
		fmt.Fprintf(&b, "value_info %s %s\n", v.GetName(), typeString(v.GetType()))
	}
	for _, t := range g.GetInitializer() {
		sum := sha256.Sum256(t.GetRawData())
		fmt.Fprintf(&b, "initializer %s %s %s raw %d bytes sha256 %x doc %q\n", t.GetName(), dataTypeName(t.GetDataType()),
			dimsString(t.GetDims()), len(t.GetRawData()), sum[:8], t.GetDocString())
	}
	for _, p := range mp.GetMetadataProps() {
		fmt.Fprintf(&b, "metadata %s = %q\n", p.GetKey(), p.GetValue())
	}
	return b.String()
}

// lineDiff is a minimal line diff (longest common subsequence; the dumps are a
// few hundred lines): "-" lines only in want, "+" lines only in got, with their
// line numbers, at most 40.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	// lcs[i][j] is the LCS length of w[i:] and g[j:].
	lcs := make([][]int, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	shown := 0
	i, j := 0, 0
	for (i < len(w) || j < len(g)) && shown < 40 {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			i, j = i+1, j+1
		case j < len(g) && (i == len(w) || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(&b, "+%4d %s\n", j+1, g[j])
			j++
			shown++
		default:
			fmt.Fprintf(&b, "-%4d %s\n", i+1, w[i])
			i++
			shown++
		}
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  string // graph.New spec, or "" for exoticModel
		opts  Options
		bytes bool // also compare the .onnx bytes (small models only)
	}{
		{name: "default", spec: graph.DefaultArch},
		{name: "default_foldbn", spec: graph.DefaultArch, opts: Options{FoldBN: true}},
		{name: "allops", spec: allOps, bytes: true},
		{name: "exotic", bytes: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := exoticModel(4)
			if tc.spec != "" {
				m = testModel(t, tc.spec)
			}
			data, err := Marshal(m, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			mp, err := onnximport.DecodeProto(data, onnximport.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := dump(mp)
			txt := filepath.Join("testdata", "golden", tc.name+".txt")
			bin := filepath.Join("testdata", "golden", tc.name+".onnx")
			if *update {
				if err := os.MkdirAll(filepath.Dir(txt), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(txt, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				if tc.bytes {
					if err := os.WriteFile(bin, data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			want, err := os.ReadFile(txt)
			if err != nil {
				t.Fatalf("%v (run go test ./export -update to create it)", err)
			}
			if got != string(want) {
				t.Fatalf("export of %s differs from %s (go test ./export -update rewrites it):\n%s", tc.spec, txt, lineDiff(string(want), got))
			}
			if tc.bytes {
				wantBytes, err := os.ReadFile(bin)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(data, wantBytes) {
					t.Fatalf("bytes differ from %s although the structure matches: tensor data or encoding changed", bin)
				}
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	for _, opts := range []Options{{}, {FoldBN: true}} {
		a, err := Marshal(testModel(t, graph.DefaultArch), opts)
		if err != nil {
			t.Fatal(err)
		}
		// A second, separately built model with the same seeds, and the same
		// model exported again.
		m := testModel(t, graph.DefaultArch)
		b, err := Marshal(m, opts)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Marshal(m, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) || !bytes.Equal(b, c) {
			t.Errorf("FoldBN=%v: exports of the same model differ (%d, %d, %d bytes)", opts.FoldBN, len(a), len(b), len(c))
		}
	}
}

func TestRoundTrip(t *testing.T) {
	m := testModel(t, allOps)
	data, err := Marshal(m, Options{ProducerVersion: "9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	mp, err := onnximport.DecodeProto(data, onnximport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if mp.GetIrVersion() != 7 || len(mp.GetOpsetImport()) != 1 || mp.GetOpsetImport()[0].GetVersion() != 13 || mp.GetOpsetImport()[0].GetDomain() != "" {
		t.Errorf("ir_version %d, opsets %v; want 7 and ai.onnx 13", mp.GetIrVersion(), mp.GetOpsetImport())
	}
	if mp.GetProducerName() != "onnxdigits" || mp.GetProducerVersion() != "9.9.9" {
		t.Errorf("producer %q %q", mp.GetProducerName(), mp.GetProducerVersion())
	}
	g := mp.GetGraph()
	if g.GetDocString() == "" || mp.GetDocString() == "" {
		t.Errorf("missing doc strings")
	}
	io := map[string]string{}
	for _, v := range append(slices.Clone(g.GetInput()), g.GetOutput()...) {
		io[v.GetName()] = typeString(v.GetType())
	}
	for name, want := range map[string]string{"image": "float32 [N,1,28,28]", "probabilities": "float32 [N,10]", "label": "int64 [N]"} {
		if io[name] != want {
			t.Errorf("%s is %q, want %q", name, io[name], want)
		}
	}
	if len(g.GetInput()) != 1 || len(g.GetOutput()) != 2 {
		t.Errorf("%d inputs and %d outputs, want 1 and 2", len(g.GetInput()), len(g.GetOutput()))
	}

	// Every parameter comes back bit for bit under its own name.
	inits := map[string]*onnx.TensorProto{}
	for _, ti := range g.GetInitializer() {
		inits[ti.GetName()] = ti
	}
	if len(inits) != len(m.Params) {
		t.Errorf("%d initializers for %d parameters", len(inits), len(m.Params))
	}
	for _, p := range m.Params {
		ti := inits[p.Name]
		if ti == nil {
			t.Errorf("no initializer %q", p.Name)
			continue
		}
		if got := dimsString(ti.GetDims()); got != dimsString(int64s(p.Dims)) {
			t.Errorf("%s: dims %s, want %v", p.Name, got, p.Dims)
		}
		raw := ti.GetRawData()
		if len(raw) != 4*len(p.Data) || ti.GetDataType() != int32(onnx.TensorProto_FLOAT) {
			t.Errorf("%s: %d raw bytes of type %d for %d floats", p.Name, len(raw), ti.GetDataType(), len(p.Data))
			continue
		}
		for i, v := range p.Data {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != v {
				t.Errorf("%s[%d] = %v, want %v", p.Name, i, got, v)
				break
			}
		}
	}

	// Ops in order (Dropout omitted), and the attributes whose defaults bite.
	var ops []string
	nodes := map[string]*onnx.NodeProto{}
	for _, n := range g.GetNode() {
		ops = append(ops, n.GetOpType())
		nodes[n.GetName()] = n
		if n.GetDocString() == "" {
			t.Errorf("node %s has no doc_string", n.GetName())
		}
	}
	wantOps := []string{"Sub", "Conv", "BatchNormalization", "Relu", "MaxPool", "Conv", "Relu", "AveragePool", "Flatten", "Gemm", "Relu", "Gemm", "Softmax", "ArgMax"}
	if !slices.Equal(ops, wantOps) {
		t.Errorf("ops %v, want %v", ops, wantOps)
	}
	attr := func(node, name string) *onnx.AttributeProto {
		for _, a := range nodes[node].GetAttribute() {
			if a.GetName() == name {
				return a
			}
		}
		t.Fatalf("node %s has no attribute %s", node, name)
		return nil
	}
	for _, c := range []struct {
		node, attr string
		want       int64
	}{{"argmax", "axis", 1}, {"argmax", "keepdims", 0}, {"softmax", "axis", 1}, {"fc1", "transB", 0}, {"fc2", "transB", 0}, {"flatten1", "axis", 1}} {
		if a := attr(c.node, c.attr); a.GetType() != onnx.AttributeProto_INT || a.GetI() != c.want {
			t.Errorf("%s.%s = %v, want INT %d", c.node, c.attr, a, c.want)
		}
	}
	if got := attr("conv1", "pads").GetInts(); !slices.Equal(got, []int64{1, 1, 1, 1}) {
		t.Errorf("conv1 pads %v", got)
	}
	// The omitted dropout's consumer reads dropout's input.
	if got := nodes["flatten1"].GetInput(); !slices.Equal(got, []string{"avgpool1"}) {
		t.Errorf("flatten1 reads %v, want [avgpool1]", got)
	}
	if !strings.Contains(g.GetDocString(), "Dropout dropout1 (ratio 0.3) is omitted") {
		t.Errorf("graph doc_string does not mention the omitted dropout: %q", g.GetDocString())
	}

	// value_info: every node output that is not a graph output, with its shape.
	vi := map[string]string{}
	for _, v := range g.GetValueInfo() {
		vi[v.GetName()] = typeString(v.GetType())
	}
	shapes, _ := m.Shapes()
	for _, n := range g.GetNode() {
		for _, out := range n.GetOutput() {
			if io[out] != "" {
				continue
			}
			want := "float32 " + strings.ReplaceAll(strings.ReplaceAll(fmt.Sprint(shapes[out]), " ", ","), "-1", "N")
			if vi[out] != want {
				t.Errorf("value_info %s = %q, want %q", out, vi[out], want)
			}
		}
	}

	// Metadata: sorted, classes as JSON, every Meta key.
	var keys []string
	meta := map[string]string{}
	for _, p := range mp.GetMetadataProps() {
		keys = append(keys, p.GetKey())
		meta[p.GetKey()] = p.GetValue()
	}
	if !slices.IsSorted(keys) {
		t.Errorf("metadata keys not sorted: %v", keys)
	}
	if meta["classes"] != `["0","1","2","3","4","5","6","7","8","9"]` {
		t.Errorf("classes = %q", meta["classes"])
	}
	for k, v := range m.Meta {
		if meta[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, meta[k], v)
		}
	}
}

func int64s(d []int) []int64 {
	out := make([]int64, len(d))
	for i, v := range d {
		out[i] = int64(v)
	}
	return out
}

func TestFoldBNExport(t *testing.T) {
	mp, err := Model(testModel(t, graph.DefaultArch), Options{FoldBN: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range mp.GetGraph().GetNode() {
		if n.GetOpType() == "BatchNormalization" {
			t.Errorf("node %s survived --fold-bn", n.GetName())
		}
	}
	for _, ti := range mp.GetGraph().GetInitializer() {
		if strings.HasPrefix(ti.GetName(), "bn1.") {
			t.Errorf("initializer %s survived --fold-bn", ti.GetName())
		}
	}
	if !strings.Contains(mp.GetGraph().GetDocString(), "bn1 is folded") {
		t.Errorf("graph doc does not mention the folding: %q", mp.GetGraph().GetDocString())
	}
}

// strangeOp is an op the exporter does not know.
type strangeOp struct{}

func (strangeOp) Type() string { return "LRN" }
func (strangeOp) InferShapes(in [][]int, _ []*graph.Tensor) ([][]int, error) {
	return [][]int{in[0]}, nil
}

func TestUnsupportedLayer(t *testing.T) {
	m := testModel(t, graph.DefaultArch)
	m.Nodes[3].Op = strangeOp{} // relu1
	_, err := Model(m, Options{})
	var ue *UnsupportedLayerError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UnsupportedLayerError", err)
	}
	if ue.Layer != "relu1" || ue.Index != 3 || ue.Op != "LRN" {
		t.Errorf("got %+v, want relu1 #3 LRN", *ue)
	}
	for _, s := range []string{`layer #3 "relu1"`, "LRN", "Conv"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}

	m = testModel(t, graph.DefaultArch)
	m.Nodes[0].Op = &graph.Binary{Kind: "Pow"}
	if _, err := Model(m, Options{}); err == nil {
		t.Errorf("Binary Pow exported")
	}
}

func TestWriteFile(t *testing.T) {
	m := testModel(t, graph.DefaultArch)
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	if err := WriteFile(path, m, Options{}); err != nil {
		t.Fatal(err)
	}
	want, _ := Marshal(m, Options{})
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes (%v), want the %d of Marshal", len(got), err, len(want))
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	listing := func(d string) []string {
		es, _ := os.ReadDir(d)
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}

	t.Run("export error keeps old file", func(t *testing.T) {
		bad := testModel(t, graph.DefaultArch)
		bad.Nodes[1].Op = strangeOp{}
		if err := WriteFile(path, bad, Options{}); err == nil {
			t.Fatal("no error")
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
			t.Errorf("the previous file was changed")
		}
		if l := listing(dir); !slices.Equal(l, []string{"model.onnx"}) {
			t.Errorf("directory holds %v", l)
		}
	})
	t.Run("rename fails", func(t *testing.T) {
		// The target is a directory: root can write anywhere, but rename of a
		// file over a directory fails for everyone.
		d := t.TempDir()
		target := filepath.Join(d, "model.onnx")
		if err := os.Mkdir(target, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(target, m, Options{}); err == nil {
			t.Fatal("no error")
		}
		if l := listing(d); !slices.Equal(l, []string{"model.onnx"}) {
			t.Errorf("directory holds %v, want only the target", l)
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		if err := WriteFile(filepath.Join(dir, "nope", "m.onnx"), m, Options{}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("unwritable dir", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions; the rename case covers cleanup")
		}
		d := t.TempDir()
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(d, 0o755)
		if err := WriteFile(filepath.Join(d, "m.onnx"), m, Options{}); err == nil {
			t.Fatal("no error")
		}
		if l := listing(d); len(l) != 0 {
			t.Errorf("directory holds %v", l)
		}
	})
}

// FuzzDescribe checks that any bytes that decode describe without panicking.
func FuzzDescribe(f *testing.F) {
	good, err := Marshal(testModel(f, allOps), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:100])
	f.Fuzz(func(t *testing.T, data []byte) {
		mp, err := onnximport.DecodeProto(data, onnximport.Options{})
		if err != nil {
			return
		}
		if err := Describe(&bytes.Buffer{}, mp); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDescribeOddModel(t *testing.T) {
	// Hand-made oddities a foreign file may hold: negative and huge dims,
	// unknown types, control characters, initializers listed as inputs.
	mp := &onnx.ModelProto{Graph: &onnx.GraphProto{
		Name:  "evil\x1b[2J",
		Input: []*onnx.ValueInfoProto{{Name: "w"}, {Name: "x", Type: &onnx.TypeProto{}}},
		Node: []*onnx.NodeProto{{OpType: "Custom", Domain: "com.example", Attribute: []*onnx.AttributeProto{
			{Name: "s", Type: onnx.AttributeProto_STRING, S: []byte("a\x00b")},
			{Name: "t", Type: onnx.AttributeProto_TENSOR},
			{Name: "many", Type: onnx.AttributeProto_INTS, Ints: make([]int64, 100)},
		}}},
		Initializer: []*onnx.TensorProto{
			{Name: "w", Dims: []int64{-1, 3}, DataType: 999},
			{Name: "big", Dims: []int64{math.MaxInt64, 2}},
		},
	}}
	var buf bytes.Buffer
	if err := Describe(&buf, mp); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{`evil\x1b[2J`, "com.example.Custom", `s="a\x00b"`, "... (100)", "dtype(999)", "? (invalid dims)"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("raw escape character in output")
	}
}

func ExampleDescribe() {
	m, err := graph.New("conv3x3x2,bn,relu,fc10", graph.DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		panic(err)
	}
	m.Meta["loss"] = "crossentropy"
	mp, err := Model(m, Options{FoldBN: true})
	if err != nil {
		panic(err)
	}
	if err := Describe(os.Stdout, mp); err != nil {
		panic(err)
	}
	// Output:
	// model     onnxdigits
	// producer  onnxdigits 0.1.0
	// format    ir_version 7, opset ai.onnx 13
	// doc       onnxdigits classifier (architecture conv3x3x2,bn,relu,fc10). Input image: float32
	//           (N,1,28,28), pixels in [0,1], white digit on black. The training mean image input.mean is
	//           subtracted inside the graph (node normalize), so the file takes raw pixels. Output
	//           probabilities: float32 (N,10), class probabilities. Output label: int64 (N), most probable
	//           class index. Batch normalization bn1 is folded into the preceding convolution (inference
	//           only).
	//
	// inputs
	//   image  float32 [N,1,28,28]
	//
	// outputs
	//   probabilities  float32 [N,10]
	//   label          int64 [N]
	//
	// nodes (7)
	//   #0  normalize    Sub(image, input.mean) -> normalize float32 [N,1,28,28]
	//   #1  conv1        Conv(normalize, conv1.weight, conv1.bias) -> conv1 float32 [N,2,26,26]
	//       dilations=[1,1] group=1 kernel_shape=[3,3] pads=[0,0,0,0] strides=[1,1]
	//   #2  relu1        Relu(conv1) -> relu1 float32 [N,2,26,26]
	//   #3  flatten1     Flatten(relu1) -> flatten1 float32 [N,1352]
	//       axis=1
	//   #4  fc1          Gemm(flatten1, fc1.weight, fc1.bias) -> logits float32 [N,10]
	//       alpha=1 beta=1 transA=0 transB=0
	//   #5  softmax      Softmax(logits) -> probabilities float32 [N,10]
	//       axis=1
	//   #6  argmax       ArgMax(probabilities) -> label int64 [N]
	//       axis=1 keepdims=0
	//
	// parameters (5 initializers)
	//   input.mean    float32 [1,1,28,28]  784
	//   conv1.weight  float32 [2,1,3,3]    18
	//   conv1.bias    float32 [2]          2
	//   fc1.weight    float32 [1352,10]    13,520
	//   fc1.bias      float32 [10]         10
	//   total                              14,334
	//
	// metadata
	//   Image.BitmapPixelFormat  Gray8
	//   Image.NominalPixelRange  Normalized_0_1
	//   arch                     conv3x3x2,bn,relu,fc10
	//   classes                  ["0","1","2","3","4","5","6","7","8","9"]
	//   folded_batchnorm         bn1
	//   loss                     crossentropy
}
