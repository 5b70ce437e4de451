package onnximport

import (
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/onnx"
	"google.golang.org/protobuf/proto"
)

// DefaultMaxBytes is the input size limit when Options.MaxBytes is zero.
const DefaultMaxBytes = 512 << 20

// Limits on counts, so that a small file cannot make the importer do quadratic
// work: far above any CNN (ResNet-152 has ~500 nodes).
const (
	maxNodes        = 1 << 16
	maxInitializers = 1 << 16
)

// Opset range of the default domain (ai.onnx) that the handlers implement.
const (
	MinOpset = 7
	MaxOpset = 21
)

// ErrDataType is wrapped by errors about element types we do not read (float16,
// uint8, bool, strings, ...): graph models are float32 with int64 labels and shapes.
var ErrDataType = errors.New("unsupported data type")

// Options configure Decode and ReadFile. The zero value is ready to use.
type Options struct {
	// MaxBytes caps the model size; 0 means DefaultMaxBytes (512 MiB). Larger
	// input is a *FormatError.
	MaxBytes int64
	// Constants binds graph inputs to fixed values: each named input becomes a
	// parameter with that value (its Name is replaced by the input's). Use it for
	// graphs that take what our ops need as constants (Reshape's shape, batch-norm
	// statistics) as inputs, as the ONNX backend tests do. Dims must match the
	// declared input shape; a name that is not an input is an error.
	Constants map[string]*graph.Tensor
	// DynamicBatch treats a fixed first dim of every input as the batch dimension,
	// for exports made with batch 1 and no dynamic axes, so that backend.Runner can
	// run any batch size. Leave it off for graphs whose first dim is not a batch.
	DynamicBatch bool
	// ExternalDataDir is the folder that external tensor data
	// (https://onnx.ai/onnx/repo-docs/ExternalData.html) is read from: the
	// model's own folder. ReadFile sets it when it is empty; with Decode and an
	// empty ExternalDataDir a model with external data is an error. Locations
	// must stay inside this folder; what is read counts against MaxBytes.
	ExternalDataDir string
}

// UnsupportedOpsetError reports a model whose opset for Domain is outside what the
// handlers implement (MinOpset..MaxOpset for the default domain).
type UnsupportedOpsetError struct {
	Domain  string
	Version int64
}

func (e *UnsupportedOpsetError) Error() string {
	d := e.Domain
	if d == "" {
		d = "ai.onnx"
	}
	if e.Domain != "" && e.Domain != "ai.onnx" {
		return fmt.Sprintf("onnximport: %s opset %d is not supported (only the default domain ai.onnx is)", d, e.Version)
	}
	hint := "hint: re-export at an opset in that range, e.g. torch.onnx.export(..., opset_version=17)"
	if e.Version < MinOpset {
		hint = "hint: upgrade the model with onnx.version_converter.convert_version(model, 13); converters of onnx 1.12 and later handle opsets from 1"
	}
	return fmt.Sprintf("onnximport: %s opset %d is not supported (%d..%d are; %s)", d, e.Version, MinOpset, MaxOpset, hint)
}

// ReadFile reads and decodes the ONNX model at path (see Decode). A file larger
// than opts.MaxBytes is refused before it is read.
func ReadFile(path string, opts Options) (*graph.Model, error) {
	if opts.ExternalDataDir == "" {
		opts.ExternalDataDir = filepath.Dir(path)
	}
	data, err := readLimited(path, opts)
	if err != nil {
		return nil, err
	}
	m, err := Decode(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return m, nil
}

// ReadBytes reads the file at path as ReadFile does (refused before reading
// when it is over opts.MaxBytes), for callers that need the bytes too.
func ReadBytes(path string, opts Options) ([]byte, error) {
	return readLimited(path, opts)
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return DefaultMaxBytes
}

// Decode parses a serialized ONNX ModelProto into a validated graph.Model.
// Initializers (including those old producers also list as graph inputs) become
// parameters; float initializers are Trainable except batch-norm running
// statistics, constants and graph.MeanParam. Graph inputs keep a symbolic first dim
// as graph.Batch. metadata_props go to Model.Meta, except "classes" (comma-separated
// or a JSON array of strings), which becomes Model.Classes.
//
// Nodes need not be listed in topological order (keras2onnx 1.5 wrote them
// unsorted; onnxruntime accepts that): Decode sorts them, keeping the file's order
// where it can, and a cycle is a *FormatError. Tensors stored as external data
// are read from Options.ExternalDataDir.
//
// Errors: *FormatError for malformed input, *UnsupportedOpError for an op or
// attribute value we cannot represent, *UnsupportedOpsetError for an opset outside
// 7..21; the graph's own validation errors are wrapped.
func Decode(data []byte, opts Options) (m *graph.Model, err error) {
	mp, err := DecodeProto(data, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		// Graph code may panic on shapes Gorgonia cannot handle; the decoder
		// itself must not, so turn anything left into an error.
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("onnximport: internal error: %v", r)
		}
	}()
	imp, err := newImporter(mp, opts)
	if err != nil {
		return nil, err
	}
	if err := imp.run(); err != nil {
		return nil, err
	}
	if err := imp.m.Validate(); err != nil {
		return nil, fmt.Errorf("onnximport: %w", err)
	}
	return imp.m, nil
}

// importer holds the state of one Decode.
type importer struct {
	mp     *onnx.ModelProto
	g      *onnx.GraphProto
	opts   Options
	opset  int64
	m      *graph.Model
	shapes map[string][]int       // every value defined so far
	types  map[string]graph.DType // element type of every value defined so far
	params map[string]*graph.Tensor
	consts map[string]bool // parameters made from Constant nodes or Options.Constants
	names  map[string]bool // graph node names in use
	stats  map[string]bool // parameters used as batch-norm running statistics
	// folded holds the int64 values computed at import time by shape ops
	// (fold.go); foldRead the parameters those ops read.
	folded   map[string]*folded
	foldRead map[string]bool
	ext      *externalData
	unsorted bool // the file's nodes were not in topological order
	// padAlias: a zero Pad folded into the Conv(s) reading it (ops.go, pad).
	padAlias map[string]*padAlias
	// consumers counts, per value name, the nodes that read it.
	consumers map[string][]*onnx.NodeProto
}

func newImporter(mp *onnx.ModelProto, opts Options) (*importer, error) {
	imp := &importer{
		mp: mp, g: mp.GetGraph(), opts: opts,
		shapes: map[string][]int{}, types: map[string]graph.DType{},
		params: map[string]*graph.Tensor{}, consts: map[string]bool{},
		names: map[string]bool{}, stats: map[string]bool{},
		folded: map[string]*folded{}, foldRead: map[string]bool{},
		ext:      &externalData{dir: opts.ExternalDataDir, left: opts.maxBytes() - int64(proto.Size(mp))},
		padAlias: map[string]*padAlias{}, consumers: map[string][]*onnx.NodeProto{},
	}
	if imp.g == nil {
		return nil, formatErr("", "no graph")
	}
	seen := map[string]bool{}
	for _, o := range mp.GetOpsetImport() {
		d := o.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		if seen[d] {
			return nil, formatErr("", "opset_import lists domain %q twice", o.GetDomain())
		}
		seen[d] = true
		if d == "" {
			imp.opset = o.GetVersion()
		}
	}
	if !seen[""] {
		return nil, formatErr("", "opset_import has no entry for the default domain ai.onnx")
	}
	if imp.opset < MinOpset || imp.opset > MaxOpset {
		return nil, &UnsupportedOpsetError{Version: imp.opset}
	}
	return imp, nil
}

func (imp *importer) run() error {
	g := imp.g
	imp.m = &graph.Model{Name: g.GetName(), Doc: joinDocs(imp.mp.GetDocString(), g.GetDocString())}
	if imp.ours() {
		// Our exporter generates the model, graph and node descriptions from the
		// model itself; keeping them would repeat them on every re-export.
		imp.m.Doc = ""
	}
	if len(g.GetNode()) > maxNodes || len(g.GetInitializer()) > maxInitializers || len(g.GetInput()) > maxInitializers {
		return formatErr("", "graph has %d nodes, %d initializers and %d inputs (limits %d, %d, %d)",
			len(g.GetNode()), len(g.GetInitializer()), len(g.GetInput()), maxNodes, maxInitializers, maxInitializers)
	}
	if len(g.GetSparseInitializer()) > 0 {
		return formatErr("", "sparse initializers are not supported")
	}
	for i, t := range g.GetInitializer() {
		if t == nil || t.GetName() == "" {
			return formatErr("", "initializer #%d has no name", i)
		}
		p, err := decodeTensor(t, imp.ext)
		if err != nil {
			return err
		}
		if err := imp.addParam(p); err != nil {
			return err
		}
	}
	for name := range imp.opts.Constants {
		if !slices.ContainsFunc(g.GetInput(), func(v *onnx.ValueInfoProto) bool { return v.GetName() == name }) {
			return fmt.Errorf("onnximport: Options.Constants names %q, which is not a graph input", name)
		}
	}
	for i, vi := range g.GetInput() {
		if err := imp.input(i, vi); err != nil {
			return err
		}
	}
	nodes, err := imp.sorted()
	if err != nil {
		return err
	}
	for _, n := range nodes {
		for _, in := range n.GetInput() {
			imp.consumers[in] = append(imp.consumers[in], n)
		}
	}
	for i, n := range nodes {
		if err := imp.node(i, n); err != nil {
			return err
		}
	}
	if len(g.GetOutput()) == 0 {
		// Nothing to compute (and Gorgonia panics compiling an empty graph:
		// FuzzDecode's first finding, testdata/fuzz/FuzzDecode/9e9fcd43482b9d3e).
		return formatErr("", "graph has no outputs")
	}
	for i, vi := range g.GetOutput() {
		if err := imp.output(i, vi); err != nil {
			return err
		}
	}
	imp.pruneFolded()
	for _, p := range imp.m.Params {
		p.Trainable = p.Data != nil && !imp.consts[p.Name] && !imp.stats[p.Name] && p.Name != graph.MeanParam
	}
	return imp.metadata()
}

// ours reports whether package export wrote the file.
func (imp *importer) ours() bool { return imp.mp.GetProducerName() == "onnxdigits" }

func joinDocs(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || a == b:
		return a
	}
	return a + "\n" + b
}

func (imp *importer) define(name string, shape []int, dt graph.DType, what string) error {
	if name == "" {
		return formatErr(what, "empty value name")
	}
	if _, dup := imp.shapes[name]; dup {
		return formatErr(what, "value %q is defined twice (as an input, initializer or node output)", name)
	}
	imp.shapes[name] = shape
	imp.types[name] = dt
	return nil
}

func (imp *importer) addParam(p *graph.Tensor) error {
	dt := graph.Float32
	if p.Int64 != nil {
		dt = graph.Int64
	}
	if err := imp.define(p.Name, p.Dims, dt, p.Name); err != nil {
		return err
	}
	imp.params[p.Name] = p
	imp.m.Params = append(imp.m.Params, p)
	return nil
}

// input adds graph input #i, unless it names an initializer (old producers list
// initializers as inputs too) or a bound constant.
func (imp *importer) input(i int, vi *onnx.ValueInfoProto) error {
	name := vi.GetName()
	if name == "" {
		return formatErr("", "graph input #%d has no name", i)
	}
	if p := imp.params[name]; p != nil && !imp.consts[name] {
		return nil // an initializer listed as input: a parameter
	}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return &FormatError{Node: name, Msg: fmt.Sprintf("graph input #%d is not a tensor (sequence, map and optional inputs are not supported)", i), Err: ErrDataType}
	}
	var dt graph.DType
	switch tt.GetElemType() {
	case dtFloat:
		dt = graph.Float32
	case dtInt64:
		dt = graph.Int64
	default:
		return &FormatError{Node: name, Msg: fmt.Sprintf("graph input #%d has element type %s (float and int64 are supported)", i, dtypeName(tt.GetElemType())), Err: ErrDataType}
	}
	if tt.GetShape() == nil {
		return formatErr(name, "graph input #%d has no shape", i)
	}
	shape := make([]int, len(tt.GetShape().GetDim()))
	for j, d := range tt.GetShape().GetDim() {
		v := d.GetDimValue()
		switch {
		case j == 0 && (imp.opts.DynamicBatch || v <= 0):
			// A symbolic ("N", "batch_size") or unknown first dim is the batch.
			shape[j] = graph.Batch
		case d.GetDimParam() != "" || v <= 0:
			return &UnsupportedOpError{Op: "(input)", Node: name, Opset: imp.opset,
				Reason: fmt.Sprintf("dim #%d (%q) is symbolic: only the first (batch) dim may be", j, d.GetDimParam())}
		case v > graph.MaxElements:
			return formatErr(name, "graph input dim #%d is %d", j, v)
		default:
			shape[j] = int(v)
		}
	}
	if c, ok := imp.opts.Constants[name]; ok {
		return imp.bindConstant(name, c, shape, dt)
	}
	if err := imp.define(name, shape, dt, name); err != nil {
		return err
	}
	imp.m.Inputs = append(imp.m.Inputs, graph.Value{Name: name, Type: dt, Shape: shape, Doc: vi.GetDocString()})
	return nil
}

func (imp *importer) bindConstant(name string, c *graph.Tensor, shape []int, dt graph.DType) error {
	if c == nil {
		return fmt.Errorf("onnximport: Options.Constants[%q] is nil", name)
	}
	if len(c.Dims) != len(shape) {
		return fmt.Errorf("onnximport: constant for input %q has dims %v, input is %v", name, c.Dims, shape)
	}
	for i, d := range shape {
		if d != graph.Batch && d != c.Dims[i] {
			return fmt.Errorf("onnximport: constant for input %q has dims %v, input is %v", name, c.Dims, shape)
		}
	}
	if (dt == graph.Int64) != (c.Int64 != nil) {
		return fmt.Errorf("onnximport: constant for input %q has the wrong element type (input is %v)", name, dt)
	}
	p := c.Clone()
	p.Name = name
	imp.consts[name] = true
	return imp.addParam(p)
}

// output adds graph output #i. An output that is a parameter (a Constant node's
// value, an initializer) gets an Identity node, since graph outputs are node outputs.
func (imp *importer) output(i int, vi *onnx.ValueInfoProto) error {
	name := vi.GetName()
	shape, ok := imp.shapes[name]
	if !ok {
		return formatErr(name, "graph output #%d is not produced by any node", i)
	}
	dt := imp.types[name]
	if f := imp.folded[name]; f != nil {
		return imp.notFolded(f, name, fmt.Sprintf("is graph output #%d", i))
	}
	if p := imp.params[name]; p != nil {
		// Rename the parameter and let an Identity produce the output name.
		src := imp.uniqueParamName(name + ".value")
		p.Name = src
		delete(imp.params, name)
		imp.params[src] = p
		imp.shapes[src] = shape
		imp.types[src] = dt
		for _, n := range imp.m.Nodes {
			for j, in := range n.Inputs {
				if in == name {
					n.Inputs[j] = src
				}
			}
		}
		if imp.consts[name] {
			imp.consts[src] = true
		}
		imp.m.Nodes = append(imp.m.Nodes, &graph.Node{Name: imp.uniqueNode(name + "/Identity"), Op: &graph.Identity{}, Inputs: []string{src}, Outputs: []string{name}})
	}
	if tt := vi.GetType().GetTensorType(); tt != nil {
		switch tt.GetElemType() {
		case dtFloat:
			if dt != graph.Float32 {
				return formatErr(name, "graph output #%d is declared float but the graph makes %v", i, dt)
			}
		case dtInt64:
			if dt != graph.Int64 {
				return formatErr(name, "graph output #%d is declared int64 but the graph makes %v", i, dt)
			}
		case 0:
		default:
			return &FormatError{Node: name, Msg: fmt.Sprintf("graph output #%d has element type %s", i, dtypeName(tt.GetElemType())), Err: ErrDataType}
		}
	} else if vi.GetType() != nil && vi.GetType().GetValue() != nil {
		return &FormatError{Node: name, Msg: fmt.Sprintf("graph output #%d is not a tensor", i), Err: ErrDataType}
	}
	imp.m.Outputs = append(imp.m.Outputs, graph.Value{Name: name, Type: dt, Shape: slices.Clone(shape), Doc: vi.GetDocString()})
	return nil
}

func (imp *importer) uniqueParamName(base string) string {
	name := base
	for k := 1; ; k++ {
		if _, taken := imp.shapes[name]; !taken {
			return name
		}
		name = fmt.Sprintf("%s_%d", base, k)
	}
}

// uniqueNode returns base, or base with a numeric suffix if a node already has it.
func (imp *importer) uniqueNode(base string) string {
	name := base
	for k := 1; imp.names[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	imp.names[name] = true
	return name
}

// node translates ONNX node #i through its handler.
func (imp *importer) node(i int, n *onnx.NodeProto) error {
	if n == nil {
		return formatErr("", "node #%d is nil", i)
	}
	label := n.GetName()
	if label == "" {
		label = fmt.Sprintf("#%d (%s)", i, n.GetOpType())
	}
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		var v int64
		for _, o := range imp.mp.GetOpsetImport() {
			if o.GetDomain() == d {
				v = o.GetVersion()
			}
		}
		return &UnsupportedOpError{Op: n.GetOpType(), Domain: d, Node: n.GetName(), Opset: v}
	}
	h, ok := handlers[n.GetOpType()]
	if !ok {
		h, ok = shapeHandlers[n.GetOpType()]
	}
	if !ok {
		return &UnsupportedOpError{Op: n.GetOpType(), Node: n.GetName(), Opset: imp.opset}
	}
	for j, in := range n.GetInput() {
		if in == "" {
			continue
		}
		if _, ok := imp.shapes[in]; !ok {
			return formatErr(label, "input #%d %q is not defined (not a graph input, initializer or output of an earlier node)", j, in)
		}
	}
	seen := map[string]bool{}
	for j, out := range n.GetOutput() {
		if out == "" {
			continue
		}
		if _, dup := imp.shapes[out]; dup || seen[out] {
			return formatErr(label, "output #%d %q is already defined", j, out)
		}
		seen[out] = true
	}
	a, err := newAttrs(n, label)
	if err != nil {
		return err
	}
	base := n.GetName()
	if base == "" {
		base = fmt.Sprintf("%s_%d", n.GetOpType(), i)
	}
	c := &nodeCtx{imp: imp, n: n, label: label, name: imp.uniqueNode(base), a: a}
	if err := h.fn(c); err != nil {
		return err
	}
	if err := a.done(); err != nil {
		return err
	}
	// Every named output must have been defined by the handler.
	for j, out := range n.GetOutput() {
		if _, ok := imp.shapes[out]; out != "" && !ok {
			return c.unsupported("output #%d %q is not supported", j, out)
		}
	}
	return nil
}

func (imp *importer) metadata() error {
	for _, kv := range imp.mp.GetMetadataProps() {
		k, v := kv.GetKey(), kv.GetValue()
		if k == "classes" {
			classes, err := parseClasses(v)
			if err != nil {
				return err
			}
			imp.m.Classes = classes
			continue
		}
		if imp.m.Meta == nil {
			imp.m.Meta = map[string]string{}
		}
		imp.m.Meta[k] = v
	}
	return nil
}

// parseClasses reads class names written as a JSON array of strings or as a
// comma-separated list (names trimmed of spaces).
func parseClasses(v string) ([]string, error) {
	s := strings.TrimSpace(v)
	if strings.HasPrefix(s, "[") {
		var out []string
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, &FormatError{Msg: "metadata \"classes\" is not a JSON array of strings", Err: err}
		}
		return out, nil
	}
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

// sorted returns the graph's nodes in topological order: a stable Kahn sort that
// keeps the file's order wherever the file is already sorted. A value no node
// produces (a graph input, an initializer, or an undefined name, reported later by
// node) counts as available. A cycle is a *FormatError naming a node on it.
func (imp *importer) sorted() ([]*onnx.NodeProto, error) {
	nodes := imp.g.GetNode()
	producer := map[string]int{}
	for i, n := range nodes {
		for _, out := range n.GetOutput() {
			// A name already defined (input, initializer) or produced twice is
			// reported by node in order; here it only must not make a cycle.
			if _, dup := producer[out]; out != "" && !dup && !imp.defined(out) {
				producer[out] = i
			}
		}
	}
	waiting := make([]int, len(nodes)) // inputs not yet produced, per node
	readers := map[int][]int{}
	for i, n := range nodes {
		seen := map[int]bool{}
		for _, in := range n.GetInput() {
			if p, ok := producer[in]; ok && in != "" && !seen[p] {
				seen[p] = true
				waiting[i]++
				readers[p] = append(readers[p], i)
			}
		}
	}
	// Always take the ready node that comes first in the file (a min-heap of
	// indices): a sorted file comes out unchanged.
	ready := &intHeap{}
	for i := range nodes {
		if waiting[i] == 0 {
			heap.Push(ready, i)
		}
	}
	out := make([]*onnx.NodeProto, 0, len(nodes))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		if i != len(out) {
			imp.unsorted = true
		}
		out = append(out, nodes[i])
		for _, r := range readers[i] {
			if waiting[r]--; waiting[r] == 0 {
				heap.Push(ready, r)
			}
		}
	}
	if len(out) < len(nodes) {
		for j := range nodes {
			if waiting[j] > 0 {
				return nil, formatErr(nodes[j].GetName(), "the graph has a cycle: node #%d (%s) waits for its own outputs, directly or through a cycle before it", j, nodes[j].GetOpType())
			}
		}
	}
	return out, nil
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (imp *importer) defined(name string) bool {
	_, ok := imp.shapes[name]
	return ok
}
