package graph

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DType is the element type of a Value.
type DType int

const (
	Float32 DType = iota // the default: images, activations, probabilities
	Int64                // class labels (ArgMax) and shape constants
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int64:
		return "int64"
	}
	return "dtype(" + strconv.Itoa(int(d)) + ")"
}

// Batch marks the symbolic batch dimension ("N") in a Value's Shape.
const Batch = -1

// Value describes a graph input or output: its name, element type and shape,
// where Batch (-1) stands for the dynamic batch size.
type Value struct {
	Name  string
	Type  DType
	Shape []int
	Doc   string
}

// Tensor is a named parameter or constant: row-major float32 Data of the given
// Dims, or Int64 data for integer constants. Trainable tensors are updated by the
// optimizer; the others (running statistics, the normalization image) are not.
type Tensor struct {
	Name      string
	Dims      []int
	Data      []float32
	Int64     []int64
	Trainable bool
	Doc       string
}

// Size is the number of elements the Dims call for.
func (t *Tensor) Size() int { return shapeSize(t.Dims) }

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	c := *t
	c.Dims = slices.Clone(t.Dims)
	c.Data = slices.Clone(t.Data)
	c.Int64 = slices.Clone(t.Int64)
	return &c
}

// Node applies Op to the named Inputs (graph inputs, parameters or outputs of
// earlier nodes) and names its Outputs. An empty input name is an omitted optional
// input, as in ONNX.
type Node struct {
	Name    string
	Op      Op
	Inputs  []string
	Outputs []string
	Doc     string
}

// Model is a network: inputs, nodes in topological order, parameters, outputs and
// descriptive metadata (class names, how it was trained).
type Model struct {
	Name    string
	Doc     string
	Inputs  []Value
	Outputs []Value
	Nodes   []*Node
	Params  []*Tensor
	Classes []string
	Meta    map[string]string
}

// Param returns the parameter called name, or nil.
func (m *Model) Param(name string) *Tensor {
	for _, p := range m.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Node returns the node called name, or nil.
func (m *Model) Node(name string) *Node {
	for _, n := range m.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Producer returns the node whose outputs include value, or nil for graph inputs
// and parameters.
func (m *Model) Producer(value string) *Node {
	for _, n := range m.Nodes {
		if slices.Contains(n.Outputs, value) {
			return n
		}
	}
	return nil
}

// Clone returns a deep copy of m (ops are copied by value where they hold state).
func (m *Model) Clone() *Model {
	c := *m
	c.Inputs = slices.Clone(m.Inputs)
	c.Outputs = slices.Clone(m.Outputs)
	c.Classes = slices.Clone(m.Classes)
	c.Nodes = make([]*Node, len(m.Nodes))
	for i, n := range m.Nodes {
		nn := *n
		nn.Inputs = slices.Clone(n.Inputs)
		nn.Outputs = slices.Clone(n.Outputs)
		c.Nodes[i] = &nn
	}
	c.Params = make([]*Tensor, len(m.Params))
	for i, p := range m.Params {
		c.Params[i] = p.Clone()
	}
	if m.Meta != nil {
		c.Meta = make(map[string]string, len(m.Meta))
		for k, v := range m.Meta {
			c.Meta[k] = v
		}
	}
	return &c
}

// NumParams counts the elements of the trainable parameters.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.Params {
		if p.Trainable {
			n += p.Size()
		}
	}
	return n
}

// Validate checks that names are unique, every node input resolves to a graph
// input, parameter or earlier output, every graph output is produced, and every
// parameter's data matches its dims. It then runs shape inference.
func (m *Model) Validate() error {
	defined := map[string]string{}
	define := func(name, what string) error {
		if name == "" {
			return fmt.Errorf("graph: %s has an empty name", what)
		}
		if prev, ok := defined[name]; ok {
			return fmt.Errorf("graph: %q is defined twice (%s and %s)", name, prev, what)
		}
		defined[name] = what
		return nil
	}
	for i, in := range m.Inputs {
		if err := define(in.Name, fmt.Sprintf("input #%d", i)); err != nil {
			return err
		}
	}
	for i, p := range m.Params {
		if err := define(p.Name, fmt.Sprintf("parameter #%d", i)); err != nil {
			return err
		}
		if err := checkDims(p.Dims); err != nil {
			return fmt.Errorf("graph: parameter %q: %w", p.Name, err)
		}
		n := p.Size()
		if p.Int64 != nil {
			if len(p.Int64) != n || p.Data != nil {
				return fmt.Errorf("graph: parameter %q has %d int64 values for dims %v", p.Name, len(p.Int64), p.Dims)
			}
		} else if len(p.Data) != n {
			return fmt.Errorf("graph: parameter %q has %d values for dims %v", p.Name, len(p.Data), p.Dims)
		}
	}
	names := map[string]bool{}
	for i, n := range m.Nodes {
		if n.Op == nil {
			return fmt.Errorf("graph: node #%d (%q) has no op", i, n.Name)
		}
		if names[n.Name] {
			return fmt.Errorf("graph: node name %q used twice", n.Name)
		}
		names[n.Name] = true
		for j, in := range n.Inputs {
			if in == "" {
				continue
			}
			if _, ok := defined[in]; !ok {
				return fmt.Errorf("graph: node %q (%s) input #%d %q is not defined before it", n.Name, n.Op.Type(), j, in)
			}
		}
		for _, out := range n.Outputs {
			if err := define(out, fmt.Sprintf("output of node %q", n.Name)); err != nil {
				return err
			}
		}
	}
	for i, out := range m.Outputs {
		if _, ok := defined[out.Name]; !ok {
			return fmt.Errorf("graph: output #%d %q is not produced by any node", i, out.Name)
		}
	}
	_, err := m.Shapes()
	return err
}

// Shapes infers the shape of every value, with Batch (-1) for the batch dimension
// where the inputs have it. It returns an error naming the first node whose inputs
// do not fit its op.
func (m *Model) Shapes() (map[string][]int, error) {
	shapes := map[string][]int{}
	for _, in := range m.Inputs {
		shapes[in.Name] = in.Shape
	}
	for _, p := range m.Params {
		shapes[p.Name] = p.Dims
	}
	for _, n := range m.Nodes {
		in := make([][]int, len(n.Inputs))
		for i, name := range n.Inputs {
			if name == "" {
				continue
			}
			s, ok := shapes[name]
			if !ok {
				return nil, fmt.Errorf("graph: node %q (%s): input %q has no shape", n.Name, n.Op.Type(), name)
			}
			in[i] = s
		}
		out, err := n.Op.InferShapes(in, m.constants(n))
		if err != nil {
			return nil, &ShapeError{Node: n.Name, Op: n.Op.Type(), Err: err}
		}
		if len(out) != len(n.Outputs) {
			return nil, fmt.Errorf("graph: node %q (%s) has %d outputs, op makes %d", n.Name, n.Op.Type(), len(n.Outputs), len(out))
		}
		for i, name := range n.Outputs {
			shapes[name] = out[i]
		}
	}
	return shapes, nil
}

// constants returns the parameter tensors among n's inputs (nil for others), so
// shape inference can read constant inputs such as Reshape's target shape.
func (m *Model) constants(n *Node) []*Tensor {
	c := make([]*Tensor, len(n.Inputs))
	for i, name := range n.Inputs {
		if name != "" {
			c[i] = m.Param(name)
		}
	}
	return c
}

// ShapeError reports inputs that do not fit a node's op.
type ShapeError struct {
	Node, Op string
	Err      error
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("graph: node %q (%s): %v", e.Node, e.Op, e.Err)
}

func (e *ShapeError) Unwrap() error { return e.Err }

// ErrShape is wrapped by shape inference errors.
var ErrShape = errors.New("shape mismatch")

func shapeSize(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// MaxElements bounds a single tensor (1<<28 float32 = 1 GiB) so that corrupt dims
// cannot ask for absurd allocations.
const MaxElements = 1 << 28

func checkDims(dims []int) error {
	n := 1
	for _, d := range dims {
		if d < 0 {
			return fmt.Errorf("negative dimension in %v", dims)
		}
		if d > 0 && n > MaxElements/d {
			return fmt.Errorf("dims %v exceed %d elements", dims, MaxElements)
		}
		n *= d
	}
	return nil
}

// FormatDims writes dims as "(N,1,28,28)", with N for the Batch dimension; the
// exporter's and importer's messages and doc strings use it.
func FormatDims(dims []int) string {
	return "(" + strings.Trim(fmtShape(dims), "[]") + ")"
}

func fmtShape(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		if d == Batch {
			parts[i] = "N"
		} else {
			parts[i] = strconv.Itoa(d)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}
