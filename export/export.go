package export

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/onnxdigits/onnxdigits/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/atomicfile"
)

// The format written, as DESIGN §4 fixes it: what PyTorch 1.13 emits, accepted by
// onnx 1.12's checker (IR versions 4-8), onnxruntime 1.30 and Netron.
const (
	// Opset and IRVersion are the defaults; Options.Opset picks another opset
	// in MinOpset..MaxOpset, written with IRVersionFor's IR version.
	Opset        = 13
	IRVersion    = 7
	MinOpset     = 11
	MaxOpset     = 21
	ProducerName = "onnxdigits"
	// Version is the producer_version written when Options.ProducerVersion is empty.
	Version = "0.1.0"
)

// Options configure an export. The zero value keeps batch normalization as its
// own node and writes Version as the producer version.
type Options struct {
	// FoldBN folds every BatchNormalization that follows a Conv into that Conv
	// (graph.FoldBatchNorm). The file is then for inference only: the batch-norm
	// parameters are gone, so it cannot be fine-tuned as the original could.
	FoldBN bool
	// ProducerVersion is written as producer_version; "" means Version.
	ProducerVersion string
	// Opset is the default-domain opset to write, MinOpset..MaxOpset; 0 means
	// Opset (13). Before 13, Softmax and LogSoftmax flatten their input to 2-D
	// at the axis, so a softmax over any but the last dim cannot be written.
	Opset int
}

// IRVersionFor is the IR version written with an opset: the one its ONNX
// release introduced (onnx 1.6: opset 11, IR 6; 1.7-1.9: 12-14, IR 7; 1.10-1.13:
// 15-18, IR 8; 1.14-1.15: 19-20, IR 9; 1.16: 21, IR 10), so that runtimes of that
// era read the file.
func IRVersionFor(opset int) int64 {
	switch {
	case opset <= 11:
		return 6
	case opset <= 14:
		return 7
	case opset <= 18:
		return 8
	case opset <= 20:
		return 9
	}
	return 10
}

func (o Options) opset() int {
	if o.Opset == 0 {
		return Opset
	}
	return o.Opset
}

// UnsupportedLayerError reports a node of the model that cannot be written at
// opset 13: its op has no exporter, or (Reason) one of its settings has no ONNX
// equivalent. Index is the node's position in Model.Nodes.
type UnsupportedLayerError struct {
	Layer  string // node name
	Index  int    // position in Model.Nodes
	Op     string // the op's Type(), e.g. "LRN"
	Reason string // "" when the op has no exporter at all
}

func (e *UnsupportedLayerError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("export: layer #%d %q (%s): %s", e.Index, e.Layer, e.Op, e.Reason)
	}
	return fmt.Sprintf("export: layer #%d %q: op %s has no ONNX exporter (supported: %s)",
		e.Index, e.Layer, e.Op, strings.Join(SupportedOps(), ", "))
}

// Model translates m into an ONNX ModelProto. m must validate (graph.Model.Validate);
// a node whose op has no exporter is an *UnsupportedLayerError. m is not modified.
func Model(m *graph.Model, opts Options) (*onnx.ModelProto, error) {
	if m == nil {
		return nil, errors.New("export: nil model")
	}
	if v := opts.opset(); v < MinOpset || v > MaxOpset {
		return nil, fmt.Errorf("export: opset %d is not supported (%d..%d are)", v, MinOpset, MaxOpset)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if opts.FoldBN {
		var err error
		if m, err = graph.FoldBatchNorm(m); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	shapes, err := m.Shapes()
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	b := &builder{m: m, shapes: shapes, types: map[string]graph.DType{}, alias: map[string]string{}, opset: opts.opset()}
	for _, in := range m.Inputs {
		b.types[in.Name] = in.Type
	}
	for _, p := range m.Params {
		b.types[p.Name] = graph.Float32
		if p.Int64 != nil {
			b.types[p.Name] = graph.Int64
		}
	}
	for i, n := range m.Nodes {
		if err := b.node(i, n); err != nil {
			return nil, err
		}
	}
	g := &onnx.GraphProto{
		Name:      m.Name,
		Node:      b.nodes,
		DocString: b.graphDoc(),
	}
	if g.Name == "" {
		g.Name = ProducerName
	}
	for _, in := range m.Inputs {
		g.Input = append(g.Input, valueInfo(in.Name, in.Type, in.Shape, in.Doc))
	}
	outputs := map[string]bool{}
	for _, out := range m.Outputs {
		outputs[out.Name] = true
		g.Output = append(g.Output, valueInfo(out.Name, out.Type, out.Shape, out.Doc))
	}
	used := map[string]bool{}
	for _, n := range b.nodes {
		for _, in := range n.Input {
			used[in] = true
		}
		for _, out := range n.Output {
			if !outputs[out] {
				g.ValueInfo = append(g.ValueInfo, valueInfo(out, b.types[out], shapes[out], ""))
			}
		}
	}
	for _, p := range m.Params {
		if used[p.Name] {
			g.Initializer = append(g.Initializer, tensorProto(p))
		}
	}
	version := opts.ProducerVersion
	if version == "" {
		version = Version
	}
	return &onnx.ModelProto{
		IrVersion:       IRVersionFor(opts.opset()),
		OpsetImport:     []*onnx.OperatorSetIdProto{{Domain: "", Version: int64(opts.opset())}},
		ProducerName:    ProducerName,
		ProducerVersion: version,
		DocString:       "Digit classifier trained with onnxdigits (Go, Gorgonia); see the graph's doc_string.",
		Graph:           g,
		MetadataProps:   metadata(m),
	}, nil
}

// Marshal exports m and encodes it with deterministic protobuf encoding: the same
// model and options always give the same bytes.
// A parameter holding NaN or Inf is an error: a non-finite model is never
// exported.
func Marshal(m *graph.Model, opts Options) ([]byte, error) {
	for _, p := range m.Params {
		for i, v := range p.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("export: parameter %q holds %v at index %d: not exporting a non-finite model", p.Name, v, i)
			}
		}
	}
	mp, err := Model(m, opts)
	if err != nil {
		return nil, err
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		return nil, fmt.Errorf("export: encoding: %w", err)
	}
	return data, nil
}

// WriteFile exports m to path atomically (internal/atomicfile): a reader sees
// the old file or the new one, never a part. On any error path is left as it was.
func WriteFile(path string, m *graph.Model, opts Options) error {
	data, err := Marshal(m, opts)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, data); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// builder collects the ONNX nodes of one export.
type builder struct {
	m      *graph.Model
	shapes map[string][]int
	types  map[string]graph.DType
	alias  map[string]string // value name -> the name it reads as (omitted nodes)
	nodes  []*onnx.NodeProto
	notes  []string // sentences for the graph doc_string
	opset  int      // the default-domain opset written
}

// in resolves a graph value name through the aliases of omitted nodes.
func (b *builder) in(name string) string {
	for {
		a, ok := b.alias[name]
		if !ok {
			return name
		}
		name = a
	}
}

// add appends an ONNX node named after n, reading n's inputs and writing n's
// outputs. Trailing omitted optional inputs are dropped; doc, the exporter's
// description of the op, is followed by n.Doc.
func (b *builder) add(n *graph.Node, opType, doc string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	inputs := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		if in != "" {
			inputs[i] = b.in(in)
		}
	}
	for len(inputs) > 0 && inputs[len(inputs)-1] == "" {
		inputs = inputs[:len(inputs)-1]
	}
	switch {
	case n.Doc == "":
	case doc == "":
		doc = n.Doc
	default:
		doc = strings.TrimSuffix(doc, ".") + ". " + n.Doc
	}
	np := &onnx.NodeProto{
		Name:      n.Name,
		OpType:    opType,
		Input:     inputs,
		Output:    slices.Clone(n.Outputs),
		Attribute: attrs,
		DocString: doc,
	}
	for _, out := range n.Outputs {
		b.types[out] = graph.Float32
		if len(inputs) > 0 {
			if t, ok := b.types[inputs[0]]; ok {
				b.types[out] = t
			}
		}
	}
	b.nodes = append(b.nodes, np)
	return np
}

func (b *builder) graphDoc() string {
	m := b.m
	var s strings.Builder
	if m.Doc != "" {
		s.WriteString(strings.TrimSpace(m.Doc))
		s.WriteString("\n\n")
	} else {
		fmt.Fprintf(&s, "onnxdigits classifier")
		if arch := m.Meta["arch"]; arch != "" {
			fmt.Fprintf(&s, " (architecture %s)", arch)
		}
		s.WriteString(".")
	}
	for _, in := range m.Inputs {
		fmt.Fprintf(&s, " Input %s: %s %s", in.Name, in.Type, graph.FormatDims(in.Shape))
		if in.Doc != "" {
			fmt.Fprintf(&s, ", %s", in.Doc)
		}
		s.WriteString(".")
	}
	if n := m.Producer("normalize"); n != nil && m.Param(graph.MeanParam) != nil {
		fmt.Fprintf(&s, " The training mean image %s is subtracted inside the graph (node %s), so the file takes raw pixels.", graph.MeanParam, n.Name)
	}
	for _, out := range m.Outputs {
		fmt.Fprintf(&s, " Output %s: %s %s", out.Name, out.Type, graph.FormatDims(out.Shape))
		if out.Doc != "" {
			fmt.Fprintf(&s, ", %s", out.Doc)
		}
		s.WriteString(".")
	}
	if f := m.Meta["folded_batchnorm"]; f != "" {
		fmt.Fprintf(&s, " Batch normalization %s is folded into the preceding convolution (inference only).", f)
	}
	for _, note := range b.notes {
		s.WriteString(" ")
		s.WriteString(note)
	}
	return strings.TrimSpace(s.String())
}

// metadata returns metadata_props sorted by key: "classes" as a JSON array of
// the class names, then every Model.Meta entry (the trainer's loss, optimizer,
// epochs, batch_size, learn_rate, dataset, seed, validation_accuracy,
// normalization, ...). Model.Classes wins over a Meta["classes"]. Unless Meta
// says otherwise, the image metadata that tools read (graph.MetaPixelRange,
// graph.MetaPixelFormat) says what our models take: pixels in [0,1]
// (Normalized_0_1), and Gray8 for a one-channel (N,1,H,W) input.
func metadata(m *graph.Model) []*onnx.StringStringEntryProto {
	kv := map[string]string{graph.MetaPixelRange: graph.PixelRangeNormalized01}
	if len(m.Inputs) == 1 && len(m.Inputs[0].Shape) == 4 && m.Inputs[0].Shape[1] == 1 {
		kv[graph.MetaPixelFormat] = "Gray8"
	}
	for k, v := range m.Meta {
		kv[k] = v
	}
	if len(m.Classes) > 0 {
		js, _ := json.Marshal(m.Classes) // []string always encodes
		kv["classes"] = string(js)
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	props := make([]*onnx.StringStringEntryProto, len(keys))
	for i, k := range keys {
		props[i] = &onnx.StringStringEntryProto{Key: k, Value: kv[k]}
	}
	return props
}

// valueInfo describes a tensor value; graph.Batch dims become the symbolic "N".
func valueInfo(name string, dt graph.DType, shape []int, doc string) *onnx.ValueInfoProto {
	dims := make([]*onnx.TensorShapeProto_Dimension, len(shape))
	for i, d := range shape {
		if d == graph.Batch {
			dims[i] = &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}
		} else {
			dims[i] = &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}}
		}
	}
	return &onnx.ValueInfoProto{
		Name:      name,
		DocString: doc,
		Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{
			ElemType: elemType(dt),
			Shape:    &onnx.TensorShapeProto{Dim: dims},
		}}},
	}
}

func elemType(dt graph.DType) int32 {
	if dt == graph.Int64 {
		return int32(onnx.TensorProto_INT64)
	}
	return int32(onnx.TensorProto_FLOAT)
}

// tensorProto encodes a parameter as an initializer with little-endian raw_data,
// as PyTorch writes them.
func tensorProto(p *graph.Tensor) *onnx.TensorProto {
	t := &onnx.TensorProto{Name: p.Name, DocString: p.Doc}
	for _, d := range p.Dims {
		t.Dims = append(t.Dims, int64(d))
	}
	if p.Int64 != nil {
		t.DataType = int32(onnx.TensorProto_INT64)
		t.RawData = make([]byte, 8*len(p.Int64))
		for i, v := range p.Int64 {
			binary.LittleEndian.PutUint64(t.RawData[8*i:], uint64(v))
		}
	} else {
		t.DataType = int32(onnx.TensorProto_FLOAT)
		t.RawData = make([]byte, 4*len(p.Data))
		for i, v := range p.Data {
			binary.LittleEndian.PutUint32(t.RawData[4*i:], math.Float32bits(v))
		}
	}
	return t
}

// Attribute constructors, ONNX spelling in the name argument.

func attrInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

func attrInts(name string, v ...int) *onnx.AttributeProto {
	a := &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: make([]int64, len(v))}
	for i, x := range v {
		a.Ints[i] = int64(x)
	}
	return a
}

func attrFloat(name string, v float64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_FLOAT, F: float32(v)}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
