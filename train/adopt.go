package train

import (
	"fmt"
	"slices"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
)

// Adopt turns an imported classifier into the form the trainer and the
// exporter use, so that `train --init` can fine-tune a model made by another
// tool:
//
//   - the class scores are found with graph.Model.ClassScores; when they are
//     probabilities or log-probabilities, the logits are the input of the
//     Softmax or LogSoftmax that makes them;
//   - the logits become the value graph.LogitsValue, and the head of our own
//     models is attached: Softmax(axis 1) -> graph.ProbsOutput and ArgMax ->
//     graph.LabelOutput, the only outputs; nodes the logits do not need go;
//   - the model's input adapter becomes part of the graph: a new input
//     graph.ImageInput (N,1,28,28) with pixels in [0,1] feeds nodes that scale
//     the pixels to the model's range (pixelRange "0-1", "0-255" or "-1-1") and
//     reshape or copy them into its layout ((N,1|3,28,28), (N,28,28,1|3),
//     (N,28,28) or (N,784)), so the trained model is fed and exported as ours;
//   - class names default to "0".."K-1".
//
// A model that already has our input, logits and head is returned as it is. m
// is not modified. Models whose input is not a 28x28 image, with more than one
// input, or whose logits are not (N,K) are an error that says what was found.
func Adopt(m *graph.Model, pixelRange string) (*graph.Model, error) {
	if m.Producer(graph.LogitsValue) != nil && slices.ContainsFunc(m.Inputs, func(v graph.Value) bool { return v.Name == graph.ImageInput }) &&
		slices.ContainsFunc(m.Outputs, func(v graph.Value) bool { return v.Name == graph.ProbsOutput }) {
		return m, nil
	}
	if len(m.Inputs) != 1 || m.Inputs[0].Type != graph.Float32 {
		return nil, fmt.Errorf("train: --init: the model has %d inputs; one float image input is supported", len(m.Inputs))
	}
	scores, err := m.ClassScores()
	if err != nil {
		return nil, fmt.Errorf("train: --init: %w", err)
	}
	m = m.Clone()
	logits := scores.Output
	for {
		p := m.Producer(logits)
		if p == nil || p.Op.Type() != "Identity" {
			break
		}
		logits = p.Inputs[0]
	}
	if scores.Kind != graph.Logits {
		p := m.Producer(logits)
		if p == nil || (p.Op.Type() != "Softmax" && p.Op.Type() != "LogSoftmax") {
			return nil, fmt.Errorf("train: --init: output %q holds %v but is not computed by a Softmax or LogSoftmax, so its logits cannot be found", scores.Output, scores.Kind)
		}
		logits = p.Inputs[0]
	}
	if m.Producer(logits) == nil {
		return nil, fmt.Errorf("train: --init: the logits %q are not computed by a node", logits)
	}
	shapes, err := m.Shapes()
	if err != nil {
		return nil, fmt.Errorf("train: --init: %w", err)
	}
	if s := shapes[logits]; len(s) != 2 || s[1] != scores.K {
		return nil, fmt.Errorf("train: --init: the logits %q have shape %s, want (N,%d)", logits, graph.FormatDims(s), scores.K)
	}

	// Keep the nodes the logits need, in order.
	need := map[string]bool{logits: true}
	var kept []*graph.Node
	for i := len(m.Nodes) - 1; i >= 0; i-- {
		n := m.Nodes[i]
		if !slices.ContainsFunc(n.Outputs, func(o string) bool { return need[o] }) {
			continue
		}
		kept = append(kept, n)
		for _, in := range n.Inputs {
			need[in] = true
		}
	}
	slices.Reverse(kept)
	m.Nodes = kept
	m.Params = slices.DeleteFunc(m.Params, func(p *graph.Tensor) bool { return !need[p.Name] })
	rename(m, logits, graph.LogitsValue)

	adapter, err := inputAdapter(m, m.Inputs[0], pixelRange)
	if err != nil {
		return nil, err
	}
	m.Nodes = append(adapter, m.Nodes...)
	m.Inputs = []graph.Value{{Name: graph.ImageInput, Type: graph.Float32, Shape: []int{graph.Batch, 1, digits.Height, digits.Width},
		Doc: "pixels in [0,1], white digit on black"}}
	m.Nodes = append(m.Nodes,
		&graph.Node{Name: "softmax", Op: &graph.Softmax{Axis: 1}, Inputs: []string{graph.LogitsValue}, Outputs: []string{graph.ProbsOutput}},
		&graph.Node{Name: "argmax", Op: &graph.ArgMax{Axis: 1}, Inputs: []string{graph.ProbsOutput}, Outputs: []string{graph.LabelOutput}})
	m.Outputs = []graph.Value{
		{Name: graph.ProbsOutput, Type: graph.Float32, Shape: []int{graph.Batch, scores.K}, Doc: "class probabilities"},
		{Name: graph.LabelOutput, Type: graph.Int64, Shape: []int{graph.Batch}, Doc: "most probable class"},
	}
	if len(m.Classes) != scores.K {
		m.Classes = make([]string, scores.K)
		for i := range m.Classes {
			m.Classes[i] = fmt.Sprint(i)
		}
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("train: --init: adopting the model: %w", err)
	}
	return m, nil
}

// rename replaces value name from by to in every node.
func rename(m *graph.Model, from, to string) {
	for _, n := range m.Nodes {
		for i := range n.Inputs {
			if n.Inputs[i] == from {
				n.Inputs[i] = to
			}
		}
		for i := range n.Outputs {
			if n.Outputs[i] == from {
				n.Outputs[i] = to
			}
		}
	}
}

// inputAdapter returns the nodes that compute the model's input in (its name)
// from graph.ImageInput: pixel scaling, then layout.
func inputAdapter(m *graph.Model, in graph.Value, pixelRange string) ([]*graph.Node, error) {
	s := in.Shape
	h, w := digits.Height, digits.Width
	var l string
	switch {
	case slices.Equal(s[1:], []int{1, h, w}):
		l = "NCHW"
	case slices.Equal(s[1:], []int{3, h, w}):
		l = "NCHW3"
	case slices.Equal(s[1:], []int{h, w, 1}):
		l = "NHWC"
	case slices.Equal(s[1:], []int{h, w, 3}):
		l = "NHWC3"
	case slices.Equal(s[1:], []int{h, w}):
		l = "NHW"
	case slices.Equal(s[1:], []int{h * w}):
		l = "flat"
	default:
		return nil, fmt.Errorf("train: --init: the model's input %q is %s; training feeds 28x28 grey images as (N,1,28,28), (N,3,28,28), (N,28,28,1), (N,28,28,3), (N,28,28) or (N,784)",
			in.Name, graph.FormatDims(s))
	}
	if len(s) > 0 && s[0] != graph.Batch {
		return nil, fmt.Errorf("train: --init: the model's input %q has a fixed batch %d (import it with onnximport.Options.DynamicBatch)", in.Name, s[0])
	}
	var nodes []*graph.Node
	cur := graph.ImageInput
	step := func(op graph.Op, extra ...string) {
		out := fmt.Sprintf("input_adapter/%d", len(nodes))
		nodes = append(nodes, &graph.Node{Name: out, Op: op, Inputs: append([]string{cur}, extra...), Outputs: []string{out}})
		cur = out
	}
	param := func(name string, dims []int, f []float32, i []int64) string {
		m.Params = append(m.Params, &graph.Tensor{Name: name, Dims: dims, Data: f, Int64: i})
		return name
	}
	switch pixelRange {
	case "", "0-1":
	case "0-255":
		step(&graph.Binary{Kind: "Mul"}, param("input_adapter.scale", []int{1}, []float32{255}, nil))
	case "-1-1":
		step(&graph.Binary{Kind: "Mul"}, param("input_adapter.scale", []int{1}, []float32{2}, nil))
		step(&graph.Binary{Kind: "Sub"}, param("input_adapter.shift", []int{1}, []float32{1}, nil))
	default:
		return nil, fmt.Errorf("train: --init: pixel range %q is not one of 0-1, 0-255, -1-1", pixelRange)
	}
	reshape := func(dims ...int64) {
		step(&graph.Reshape{}, param(fmt.Sprintf("input_adapter.shape%d", len(nodes)), []int{len(dims)}, nil, dims))
	}
	switch l {
	case "NCHW3", "NHWC3":
		a := cur
		nodes = append(nodes, &graph.Node{Name: "input_adapter/rgb", Op: &graph.Concat{Axis: 1}, Inputs: []string{a, a, a}, Outputs: []string{"input_adapter/rgb"}})
		cur = "input_adapter/rgb"
		if l == "NHWC3" {
			step(&graph.Transpose{Perm: []int{0, 2, 3, 1}})
		}
	case "NHWC":
		reshape(0, int64(h), int64(w), 1)
	case "NHW":
		reshape(0, int64(h), int64(w))
	case "flat":
		reshape(0, int64(h*w))
	}
	if len(nodes) == 0 {
		rename(m, in.Name, graph.ImageInput)
		return nil, nil
	}
	nodes[len(nodes)-1].Outputs[0] = in.Name
	return nodes, nil
}
