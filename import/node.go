package onnximport

import (
	"fmt"
	"slices"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/onnxdigits/onnxdigits/graph"
)

// nodeCtx is what a handler sees of one ONNX node.
type nodeCtx struct {
	imp   *importer
	n     *onnx.NodeProto
	label string // for messages: the node name, or "#i (Op)"
	name  string // graph node name of the first node added
	a     *attrs
	added int
}

func (c *nodeCtx) opset() int64 { return c.imp.opset }

// unsupported reports an attribute value or input form we cannot represent.
func (c *nodeCtx) unsupported(format string, args ...any) error {
	return &UnsupportedOpError{Op: c.n.GetOpType(), Node: c.n.GetName(), Opset: c.imp.opset, Reason: fmt.Sprintf(format, args...)}
}

func (c *nodeCtx) formatf(format string, args ...any) error {
	return formatErr(c.label, format, args...)
}

// io checks the input and output counts (trailing empty names are omitted
// optionals) and returns both lists with trailing empties trimmed.
func (c *nodeCtx) io(minIn, maxIn, minOut, maxOut int) (ins, outs []string, err error) {
	ins = trimEmpty(c.n.GetInput())
	outs = trimEmpty(c.n.GetOutput())
	if len(ins) < minIn || len(ins) > maxIn {
		return nil, nil, c.formatf("%s takes %d to %d inputs, has %d", c.n.GetOpType(), minIn, maxIn, len(ins))
	}
	if len(outs) < minOut || len(outs) > maxOut {
		return nil, nil, c.formatf("%s makes %d to %d outputs, has %d", c.n.GetOpType(), minOut, maxOut, len(outs))
	}
	for i := 0; i < minIn; i++ {
		if ins[i] == "" {
			return nil, nil, c.formatf("input #%d is required", i)
		}
	}
	for i := 0; i < minOut; i++ {
		if outs[i] == "" {
			return nil, nil, c.formatf("output #%d is required", i)
		}
	}
	return ins, outs, nil
}

func trimEmpty(s []string) []string {
	for len(s) > 0 && s[len(s)-1] == "" {
		s = s[:len(s)-1]
	}
	return s
}

func (c *nodeCtx) shape(name string) []int { return c.imp.shapes[name] }

// constant returns the parameter (initializer, Constant output or bound input)
// called name, or nil.
func (c *nodeCtx) constant(name string) *graph.Tensor { return c.imp.params[name] }

// add appends a graph node applying op and records its output shapes and types.
// Inputs must be float32 except Reshape's shape.
func (c *nodeCtx) add(op graph.Op, ins, outs []string) error {
	name := c.name
	if c.added > 0 {
		name = c.imp.uniqueNode(c.name + "/" + op.Type())
	}
	c.added++
	in := make([][]int, len(ins))
	consts := make([]*graph.Tensor, len(ins))
	for i, v := range ins {
		if v == "" {
			continue
		}
		if f := c.imp.folded[v]; f != nil {
			return c.imp.notFolded(f, v, fmt.Sprintf("feeds input #%d of %s node %q", i, c.n.GetOpType(), c.n.GetName()))
		}
		in[i] = c.shape(v)
		consts[i] = c.constant(v)
		_, isReshape := op.(*graph.Reshape)
		if want := graph.Float32; c.imp.types[v] != want && !(isReshape && i == 1) {
			return &UnsupportedOpError{Op: c.n.GetOpType(), Node: c.n.GetName(), Opset: c.imp.opset,
				Reason: fmt.Sprintf("input #%d %q is %v (only float32 is supported here)", i, v, c.imp.types[v])}
		}
	}
	shapes, err := op.InferShapes(in, consts)
	if err != nil {
		return &FormatError{Node: c.label, Msg: "inputs do not fit " + op.Type(), Err: err}
	}
	if len(shapes) != len(outs) {
		return c.formatf("op makes %d outputs, node names %d", len(shapes), len(outs))
	}
	dt := graph.Float32
	if _, ok := op.(*graph.ArgMax); ok {
		dt = graph.Int64
	}
	for i, o := range outs {
		if err := c.imp.define(o, shapes[i], dt, c.label); err != nil {
			return err
		}
	}
	c.imp.m.Nodes = append(c.imp.m.Nodes, &graph.Node{Name: name, Op: op, Inputs: slices.Clone(ins), Outputs: slices.Clone(outs), Doc: c.n.GetDocString()})
	return nil
}

// temp returns a fresh value name for an intermediate result of a handler that
// adds several nodes.
func (c *nodeCtx) temp(suffix string) string {
	return c.imp.uniqueParamName(c.name + "/" + suffix)
}
