package graph

import (
	"fmt"
	"math"
)

// DefaultMaxMemory is the memory limit commands apply unless told otherwise
// (--max-memory): 1 GiB.
const DefaultMaxMemory = 1 << 30

// NodeOverhead is the fixed cost the plan charges for each node at run time
// (the engine's graph node, its value header and scratch), whatever its
// tensors. Measured on this backend: a chain of 15,000 Relu nodes on
// (1,1,28,28) runs `predict` at 97 MB peak RSS, about 2 KB a node beyond its
// 3 KB activation; issue 12 measured ~50 KB a node on an older build. 16 KiB
// keeps a margin over today's cost and still refuses the issue's
// 65,000-node chain at the default limit.
const NodeOverhead = 16 << 10

// PlanOptions says what a Plan is for.
type PlanOptions struct {
	// Batch is the number of examples per run; values < 1 are taken as 1.
	Batch int
	// Train adds a gradient for every parameter and activation and
	// OptimizerSlots moment vectors per trainable parameter.
	Train          bool
	OptimizerSlots int
}

// TensorBytes is the size of one tensor of a plan.
type TensorBytes struct {
	Node  string // producing node ("" for a parameter)
	Op    string // its op type
	Name  string // value name
	Shape []int  // at the plan's batch
	Bytes int64
}

// Plan is the memory a model needs at one batch size, computed from shape
// inference alone (nothing is allocated). Sizes saturate at math.MaxInt64.
type Plan struct {
	Batch       int
	Params      int64 // parameter values
	Activations int64 // every node output at Batch (no reuse assumed)
	Gradients   int64 // training: of the parameters and the activations
	Optimizer   int64 // training: moment vectors
	Workspace   int64 // the largest per-node scratch (Conv's column matrix)
	// WorkspaceNode names the node whose scratch is Workspace.
	WorkspaceNode string
	Overhead      int64 // NodeOverhead per node
	// PerExample is what one more example adds (activations, their
	// gradients, workspace): Total grows linearly with the batch.
	PerExample int64
	Total      int64
	// Largest is the biggest single tensor: what a too-large plan's error names.
	Largest TensorBytes
	// Layers holds each node's largest output, in graph order.
	Layers []TensorBytes
}

// Plan computes the memory m needs for opts (see Plan). It fails like
// Shapes when the model is inconsistent.
func (m *Model) Plan(opts PlanOptions) (*Plan, error) {
	shapes, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	batch := max(opts.Batch, 1)
	p := &Plan{Batch: batch}
	var trainable int64
	for _, t := range m.Params {
		b := mulSat(elements(t.Dims, batch), elemBytes(t.Int64 != nil))
		p.Params = addSat(p.Params, b)
		if t.Trainable {
			trainable = addSat(trainable, b)
		}
		if b > p.Largest.Bytes {
			p.Largest = TensorBytes{Name: t.Name, Shape: t.Dims, Bytes: b}
		}
	}
	var perEx int64
	for _, n := range m.Nodes {
		p.Overhead = addSat(p.Overhead, NodeOverhead)
		var big TensorBytes
		for _, out := range n.Outputs {
			s := withBatch(shapes[out], batch)
			eb := elemBytes(n.Op.Type() == "ArgMax")
			b := mulSat(elements(s, 1), eb)
			p.Activations = addSat(p.Activations, b)
			if b > big.Bytes || big.Name == "" {
				big = TensorBytes{Node: n.Name, Op: n.Op.Type(), Name: out, Shape: s, Bytes: b}
			}
			perEx = addSat(perEx, mulSat(elements(withBatch(shapes[out], 1), 1), eb))
		}
		p.Layers = append(p.Layers, big)
		if big.Bytes > p.Largest.Bytes {
			p.Largest = big
		}
		if c, ok := n.Op.(*Conv); ok && len(n.Inputs) > 1 {
			// im2col: (C/group * kH * kW) x (Hout * Wout) per example.
			w, out := shapes[n.Inputs[1]], shapes[n.Outputs[0]]
			if len(w) == 4 && len(out) == 4 {
				g := max(c.Group, 1)
				col := mulSat(int64(w[1])*int64(g), mulSat(int64(w[2])*int64(w[3]), int64(out[2])*int64(out[3])))
				per := mulSat(col, 4)
				perEx = addSat(perEx, per)
				if w := mulSat(per, int64(batch)); w > p.Workspace {
					p.Workspace, p.WorkspaceNode = w, n.Name
				}
			}
		}
	}
	if opts.Train {
		p.Gradients = addSat(trainable, p.Activations)
		p.Optimizer = mulSat(trainable, int64(max(opts.OptimizerSlots, 0)))
		perEx = mulSat(perEx, 2)
	}
	p.PerExample = perEx
	for _, b := range []int64{p.Params, p.Activations, p.Gradients, p.Optimizer, p.Workspace, p.Overhead} {
		p.Total = addSat(p.Total, b)
	}
	return p, nil
}

// Check returns a *MemoryError if the plan needs more than limit bytes
// (limit <= 0: DefaultMaxMemory).
func (p *Plan) Check(limit int64) error {
	if limit <= 0 {
		limit = DefaultMaxMemory
	}
	if p.Total <= limit {
		return nil
	}
	return &MemoryError{Plan: p, Limit: limit}
}

// SafeBatch returns the largest batch, at most want, whose plan fits in limit
// bytes (limit <= 0: DefaultMaxMemory), or 0 if not even one example fits.
// The plan must have been made at batch 1.
func (p *Plan) SafeBatch(want int, limit int64) int {
	if limit <= 0 {
		limit = DefaultMaxMemory
	}
	if p.Total > limit {
		return 0
	}
	if p.PerExample <= 0 {
		return want
	}
	extra := (limit - p.Total) / p.PerExample
	return int(min(int64(want), 1+extra))
}

// MemoryError reports a plan over the memory limit, naming the largest tensor.
type MemoryError struct {
	Plan  *Plan
	Limit int64
}

func (e *MemoryError) Error() string {
	p, l := e.Plan, e.Plan.Largest
	head := fmt.Sprintf("graph: the model needs %s of memory at batch %d, over the limit of %s (--max-memory)",
		FormatBytes(p.Total), p.Batch, FormatBytes(e.Limit))
	if p.Overhead > l.Bytes && p.Overhead > p.Workspace {
		return fmt.Sprintf("%s: %d nodes at %s each take %s", head, len(p.Layers), FormatBytes(NodeOverhead), FormatBytes(p.Overhead))
	}
	if p.Workspace > l.Bytes {
		return fmt.Sprintf("%s: node %q (Conv) needs a column matrix of %s", head, p.WorkspaceNode, FormatBytes(p.Workspace))
	}
	what := fmt.Sprintf("parameter %q %s", l.Name, FormatDims(l.Shape))
	if l.Node != "" {
		what = fmt.Sprintf("node %q (%s) output %s", l.Node, l.Op, FormatDims(l.Shape))
	}
	return fmt.Sprintf("%s; the largest tensor is %s: %s", head, what, FormatBytes(l.Bytes))
}

// FormatBytes writes n in binary units ("1.5 GiB").
func FormatBytes(n int64) string {
	if n == math.MaxInt64 {
		return "more than 8 EiB"
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), 0
	for v >= unit && i < 6 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i-1])
}

// withBatch replaces Batch dims with batch.
func withBatch(s []int, batch int) []int {
	out := make([]int, len(s))
	for i, d := range s {
		if d == Batch {
			d = batch
		}
		out[i] = d
	}
	return out
}

// elements multiplies dims (Batch counted as batch), saturating.
func elements(dims []int, batch int) int64 {
	n := int64(1)
	for _, d := range dims {
		if d == Batch {
			d = batch
		}
		n = mulSat(n, int64(max(d, 0)))
	}
	return n
}

func elemBytes(int64s bool) int64 {
	if int64s {
		return 8
	}
	return 4
}

func mulSat(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
