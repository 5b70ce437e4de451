package onnximport

import (
	"fmt"
	"slices"

	"github.com/onnxdigits/onnxdigits/graph"
)

// padAlias is a Pad with zeros on the spatial dims of an (N,C,H,W) value that
// only Convs read: each of them takes the pads into its own pads and reads src.
type padAlias struct {
	src        string
	begin, end [2]int // H, W
}

// pad: https://onnx.ai/onnx/operators/onnx__Pad.html. Opsets 2-10: pads and value
// attributes; 11-17: pads and constant_value inputs (known at import); 18+: an
// axes input; 19+: mode "wrap" (not supported). Pads of all zeros give Identity.
// Constant zero padding of H and W that only Convs read (PyTorch's F.pad before a
// conv, MATLAB's 'same' padding) is folded into those Convs' pads; any other pad
// is a graph.Pad (constant, reflect, edge).
func pad(c *nodeCtx) error {
	maxIn := 1
	if c.opset() >= 11 {
		maxIn = 3
	}
	if c.opset() >= 18 {
		maxIn = 4
	}
	minIn := 1
	if c.opset() >= 11 {
		minIn = 2
	}
	ins, outs, err := c.io(minIn, maxIn, 1, 1)
	if err != nil {
		return err
	}
	mode := c.a.string("mode", "constant")
	x := c.shape(ins[0])
	r := len(x)
	var pads []int64
	value := 0.0
	if c.opset() < 11 {
		pads = c.a.ints("pads")
		value = float64(c.a.float("value", 0))
	} else {
		f, err := c.fixed(1, ins[1])
		if err != nil {
			return err
		}
		if f.isFloat || len(f.dims) != 1 {
			return c.formatf("pads %q must be a 1-D int64 tensor", ins[1])
		}
		pads = f.vals
		if len(ins) > 2 && ins[2] != "" {
			v, err := c.known(2, ins[2])
			if err != nil {
				return c.unsupported("constant_value %q must be known at import (hint: make it a constant or initializer)", ins[2])
			}
			if v.size() != 1 {
				return c.formatf("constant_value %q must be a scalar", ins[2])
			}
			value = v.float(0)
		}
		if len(ins) > 3 && ins[3] != "" {
			a, err := c.fixed(3, ins[3])
			if err != nil {
				return err
			}
			if a.isFloat || len(a.dims) != 1 || 2*len(a.vals) != len(pads) {
				return c.formatf("axes %q must be a 1-D int64 tensor of half the pads' length", ins[3])
			}
			full := make([]int64, 2*r)
			for i, ax := range a.vals {
				k, err := c.axis("axis", ax, r)
				if err != nil {
					return err
				}
				full[k], full[r+k] = pads[i], pads[len(a.vals)+i]
			}
			pads = full
		}
	}
	if c.a.err != nil {
		return c.a.err
	}
	if len(pads) != 2*r {
		return c.formatf("pads has %d values for rank %d (want %d)", len(pads), r, 2*r)
	}
	out := make([]int, r)
	for i := range r {
		if pads[i] < 0 || pads[r+i] < 0 {
			return c.unsupported("negative pads %v (cropping)", pads)
		}
		if pads[i] > maxWindow || pads[r+i] > maxWindow {
			return c.formatf("pads %v exceed %d", pads, maxWindow)
		}
		out[i] = x[i]
		if x[i] != graph.Batch {
			out[i] += int(pads[i] + pads[r+i])
		} else if pads[i] != 0 || pads[r+i] != 0 {
			return c.unsupported("padding the batch dim")
		}
	}
	switch mode {
	case "constant", "reflect", "edge", "wrap":
	default:
		return c.formatf("mode %q is not one of constant, reflect, edge, wrap", mode)
	}
	if !slices.ContainsFunc(pads, func(p int64) bool { return p != 0 }) {
		return c.add(&graph.Identity{}, ins[:1], outs)
	}
	if mode == "constant" && value == 0 && r == 4 && pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0 && c.onlyConvsRead(outs[0]) {
		c.imp.padAlias[outs[0]] = &padAlias{src: ins[0],
			begin: [2]int{int(pads[2]), int(pads[3])}, end: [2]int{int(pads[6]), int(pads[7])}}
		return c.imp.define(outs[0], out, graph.Float32, c.label)
	}
	if mode == "wrap" {
		return c.unsupported("mode wrap (constant, reflect and edge are supported)")
	}
	p := make([]int, len(pads))
	for i, v := range pads {
		p[i] = int(v)
	}
	return c.add(&graph.Pad{Mode: mode, Pads: p, Value: value}, ins[:1], outs)
}

// onlyConvsRead reports whether name is read only as input #0 of Conv nodes and
// is not a graph output.
func (c *nodeCtx) onlyConvsRead(name string) bool {
	for _, o := range c.imp.g.GetOutput() {
		if o.GetName() == name {
			return false
		}
	}
	readers := c.imp.consumers[name]
	if len(readers) == 0 {
		return false
	}
	for _, n := range readers {
		if n.GetOpType() != "Conv" || n.GetDomain() != "" && n.GetDomain() != "ai.onnx" {
			return false
		}
		for i, in := range n.GetInput() {
			if in == name && i != 0 {
				return false
			}
		}
	}
	return true
}

var _ = fmt.Sprint
