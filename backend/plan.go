package backend

import (
	"slices"

	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
)

// fusion is the plan of which ops apply the node after them in their own
// epilogue, decided on the IR before lowering (planFusion): a ReLU after a
// conv, batch norm or dense op, at inference a batch norm (and the ReLU
// after it) after a conv, the fold graph.FoldChannel computes, and the Add
// of a bias parameter after a MatMul (PyTorch's Linear at opset 11), which
// the dense op adds as its C (and the ReLU after that Add), and at inference
// a 2x2 stride-2 max pool after a conv (and its ReLU), which the conv's op
// takes from its output before storing it. The lowering
// follows the plan where its op can take the node; a node whose op did not
// apply it is lowered as itself (lowerRelu and lowerBatchNorm ask the op).
type fusion struct {
	relu map[string]string      // node -> the Relu node its op applies
	bn   map[string]*graph.Node // conv node -> the BatchNormalization node it applies
	add  map[string]*graph.Node // MatMul node -> the Add of a parameter it applies
	pool map[string]*graph.Node // conv node -> the MaxPool it applies
}

// planFusion makes the fusion plan of b's Model for the values b was asked for.
// A node is fused into the op before it only when it is the sole consumer of
// that op's single output and the output is neither wanted nor a model output.
func (b *Builder) planFusion() fusion {
	m := b.Model
	f := fusion{relu: map[string]string{}, bn: map[string]*graph.Node{}, add: map[string]*graph.Node{}, pool: map[string]*graph.Node{}}
	consumer := map[string]*graph.Node{} // value -> its only consumer (nil: several)
	for _, n := range m.Nodes {
		for _, in := range n.Inputs {
			if c, ok := consumer[in]; ok && c != n {
				consumer[in] = nil
			} else if !ok {
				consumer[in] = n
			}
		}
	}
	outputs := map[string]bool{}
	for _, o := range m.Outputs {
		outputs[o.Name] = true
	}
	// next returns the sole consumer of n's single output, which nobody else sees.
	next := func(n *graph.Node) *graph.Node {
		if len(n.Outputs) != 1 || b.want[n.Outputs[0]] || outputs[n.Outputs[0]] {
			return nil
		}
		return consumer[n.Outputs[0]]
	}
	for _, n := range m.Nodes {
		c := next(n)
		if c == nil {
			continue
		}
		if _, ok := c.Op.(*graph.Relu); ok && len(c.Inputs) == 1 {
			f.relu[n.Name] = c.Name
		}
		if _, ok := n.Op.(*graph.MatMul); ok && b.Opts.Mode == Infer {
			if a, ok := c.Op.(*graph.Binary); ok && a.Kind == "Add" && len(c.Inputs) == 2 &&
				(c.Inputs[0] == n.Outputs[0]) != (c.Inputs[1] == n.Outputs[0]) && b.Model.Param(addend(c, n)) != nil {
				f.add[n.Name] = c
			}
		}
		if _, ok := n.Op.(*graph.Conv); !ok || b.Opts.Mode != Infer {
			continue
		}
		last := n // the conv, or the ReLU after it
		if f.relu[n.Name] != "" {
			last = c
		}
		if p := next(last); p != nil && isMaxPool2(p) {
			f.pool[n.Name] = p
		}
		if _, ok := c.Op.(*graph.BatchNorm); !ok || len(c.Inputs) != 5 || c.Inputs[0] != n.Outputs[0] {
			continue
		}
		f.bn[n.Name] = c
	}
	return f
}

// isMaxPool2 reports a 2-D MaxPool with a 2x2 window, stride 2, no padding
// or dilation, floor mode, and one output: what a conv's op can apply.
func isMaxPool2(n *graph.Node) bool {
	p, ok := n.Op.(*graph.Pool)
	if !ok || p.Average || len(n.Outputs) != 1 {
		return false
	}
	w, err := p.Normalized()
	return err == nil && slices.Equal(w.KernelShape, []int{2, 2}) && slices.Equal(w.Strides, []int{2, 2}) &&
		slices.Equal(w.Dilations, []int{1, 1}) && !slices.ContainsFunc(w.Pads, isNonzero) && !w.CeilMode
}

// addend is the input of the Add node add that is not mm's output.
func addend(add, mm *graph.Node) string {
	if add.Inputs[0] == mm.Outputs[0] {
		return add.Inputs[1]
	}
	return add.Inputs[0]
}

// bnFits reports whether the batch norm bn has parameter scale, shift and
// statistics of channels values each, so that a conv of that many filters can
// apply it.
func (b *Builder) bnFits(bn *graph.Node, channels int) bool {
	for i := 1; i < 5; i++ {
		if p := b.Tensor(bn, i); p == nil || p.Int64 != nil || len(p.Data) != channels {
			return false
		}
	}
	return true
}

// fusedInto returns the input among in whose op already computed node n, or
// nil: n then lowers to that input.
func fusedInto(n *graph.Node, in ...*G.Node) *G.Node {
	for _, x := range in {
		if f, ok := stateOf(x.Op()).(fuser); ok && f.absorbs(n.Name) {
			return x
		}
	}
	return nil
}
