package onnximport

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxdigits/onnxdigits/graph"
)

// Float ops that other producers' CNN and MLP classifiers use (issue 11). Ops
// that also appear in shape computations (Neg, Abs, Sqrt, Max, Min, Pow, Concat,
// Split) fold at import when their inputs are known (foldOr) and become graph
// ops otherwise.

// unary: https://onnx.ai/onnx/operators/onnx__Sigmoid.html, Tanh, Exp, Log, Sqrt,
// Neg, Abs (no attributes in opsets 7-21).
func unary(kind string) func(c *nodeCtx) error {
	return func(c *nodeCtx) error {
		ins, outs, err := c.io(1, 1, 1, 1)
		if err != nil {
			return err
		}
		return c.add(&graph.Unary{Kind: kind}, ins, outs)
	}
}

// leakyRelu: https://onnx.ai/onnx/operators/onnx__LeakyRelu.html (alpha 0.01).
func leakyRelu(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1, 1, 1)
	if err != nil {
		return err
	}
	return c.add(&graph.Unary{Kind: "LeakyRelu", Alpha: float64(c.a.float("alpha", 0.01))}, ins, outs)
}

// elu: https://onnx.ai/onnx/operators/onnx__Elu.html (alpha 1).
func elu(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1, 1, 1)
	if err != nil {
		return err
	}
	return c.add(&graph.Unary{Kind: "Elu", Alpha: float64(c.a.float("alpha", 1))}, ins, outs)
}

// clip: https://onnx.ai/onnx/operators/onnx__Clip.html. Opsets 6-10: min and max
// attributes; since 11: optional min and max inputs, which must be known at
// import (PyTorch's ReLU6 and hardtanh export them as constants).
func clip(c *nodeCtx) error {
	maxIn := 1
	if c.opset() >= 11 {
		maxIn = 3
	}
	ins, outs, err := c.io(1, maxIn, 1, 1)
	if err != nil {
		return err
	}
	op := &graph.Unary{Kind: "Clip", Min: math.Inf(-1), Max: math.Inf(1)}
	if c.opset() < 11 {
		op.Min = float64(c.a.float("min", -math.MaxFloat32))
		op.Max = float64(c.a.float("max", math.MaxFloat32))
	}
	for i := 1; i < len(ins); i++ {
		if ins[i] == "" {
			continue
		}
		v, err := c.known(i, ins[i])
		if err != nil {
			return c.unsupported("%s input %q must be known at import (a constant)", []string{"", "min", "max"}[i], ins[i])
		}
		if v.size() != 1 {
			return c.formatf("input %q must be a scalar", ins[i])
		}
		if i == 1 {
			op.Min = v.float(0)
		} else {
			op.Max = v.float(0)
		}
	}
	return c.add(op, ins[:1], outs)
}

// maxMin: https://onnx.ai/onnx/operators/onnx__Max.html, Min (variadic, numpy
// broadcasting since opset 8): a chain of two-input Binary nodes; one input is
// an Identity.
func maxMin(kind string) func(c *nodeCtx) error {
	return func(c *nodeCtx) error {
		ins, outs, err := c.io(1, 1<<10, 1, 1)
		if err != nil {
			return err
		}
		if len(ins) == 1 {
			return c.add(&graph.Identity{}, ins, outs)
		}
		acc := ins[0]
		for i := 1; i < len(ins); i++ {
			out := outs[0]
			if i < len(ins)-1 {
				out = c.temp(fmt.Sprintf("%s_%d", kind, i))
			}
			if err := c.add(&graph.Binary{Kind: kind}, []string{acc, ins[i]}, []string{out}); err != nil {
				return err
			}
			acc = out
		}
		return nil
	}
}

// pow: https://onnx.ai/onnx/operators/onnx__Pow.html (float exponents; since
// opset 12 the exponent may have another type, which we do not read).
func pow(c *nodeCtx) error {
	ins, outs, err := c.io(2, 2, 1, 1)
	if err != nil {
		return err
	}
	return c.add(&graph.Binary{Kind: "Pow"}, ins, outs)
}

// floatConcat: https://onnx.ai/onnx/operators/onnx__Concat.html of run-time
// tensors (axis required; negative since opset 11).
func floatConcat(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1<<10, 1, 1)
	if err != nil {
		return err
	}
	if !c.a.has("axis") {
		return c.formatf("axis is required")
	}
	return c.add(&graph.Concat{Axis: int(c.a.int("axis", 0))}, ins, outs)
}

// floatSplit: https://onnx.ai/onnx/operators/onnx__Split.html of a run-time
// tensor: one graph Slice per output.
func floatSplit(c *nodeCtx) error {
	ins, _, err := c.io(1, 2, 1, 1<<10)
	if err != nil {
		return err
	}
	sizes, err := c.splitSizes(ins)
	if err != nil {
		return err
	}
	x := c.shape(ins[0])
	axis, err := c.axis("axis", c.a.int("axis", 0), len(x))
	if err != nil {
		return err
	}
	if x[axis] == graph.Batch {
		return c.unsupported("splitting the batch dim")
	}
	parts, err := c.splitParts(sizes, x[axis], len(c.n.GetOutput()))
	if err != nil {
		return err
	}
	at := 0
	for i, out := range c.n.GetOutput() {
		start := at
		at += parts[i]
		if out == "" {
			continue
		}
		if err := c.add(&graph.Slice{Axis: axis, Start: start, End: at}, ins[:1], []string{out}); err != nil {
			return err
		}
	}
	return nil
}

// reduce: https://onnx.ai/onnx/operators/onnx__ReduceMean.html and ReduceMax,
// ReduceMin, ReduceSum, ReduceProd of a run-time tensor. axes is an attribute
// before opset 18 (13 for ReduceSum), an optional input since; keepdims (1);
// noop_with_empty_axes (with the axes input) makes empty axes an Identity.
func reduce(kind string) func(c *nodeCtx) error {
	return func(c *nodeCtx) error {
		ins, outs, err := c.io(1, 2, 1, 1)
		if err != nil {
			return err
		}
		axes, err := c.reduceAxes(kind, ins)
		if err != nil {
			return err
		}
		keep := c.a.bool("keepdims", true)
		if c.opset() >= 18 || kind == "ReduceSum" && c.opset() >= 13 {
			if c.a.bool("noop_with_empty_axes", false) && len(axes) == 0 {
				return c.add(&graph.Identity{}, ins[:1], outs)
			}
		}
		ax := make([]int, len(axes))
		for i, a := range axes {
			ax[i] = int(a)
		}
		return c.add(&graph.Reduce{Kind: kind, Axes: ax, KeepDims: keep}, ins[:1], outs)
	}
}

// expand: https://onnx.ai/onnx/operators/onnx__Expand.html (opset 8): the shape
// must be known at import; its batch entries stand for the batch.
func expand(c *nodeCtx) error {
	ins, outs, err := c.io(2, 2, 1, 1)
	if err != nil {
		return err
	}
	s, err := c.known(1, ins[1])
	if err != nil {
		return c.unsupported("shape %q must be known at import", ins[1])
	}
	if s.isFloat || len(s.dims) != 1 {
		return c.formatf("shape %q must be a 1-D int64 tensor", ins[1])
	}
	shape := make([]int, len(s.vals))
	for i, v := range s.vals {
		switch {
		case s.isBatch(i):
			shape[i] = graph.Batch
		case v < 0 || v > graph.MaxElements:
			return c.formatf("shape %v", s.vals)
		default:
			shape[i] = int(v)
		}
	}
	return c.add(&graph.Expand{Shape: shape}, ins[:1], outs)
}

// tile: https://onnx.ai/onnx/operators/onnx__Tile.html: repeats must be known.
func tile(c *nodeCtx) error {
	ins, outs, err := c.io(2, 2, 1, 1)
	if err != nil {
		return err
	}
	r, err := c.fixed(1, ins[1])
	if err != nil {
		return err
	}
	if r.isFloat || len(r.dims) != 1 {
		return c.formatf("repeats %q must be a 1-D int64 tensor", ins[1])
	}
	reps := make([]int, len(r.vals))
	for i, v := range r.vals {
		if v < 0 || v > graph.MaxElements {
			return c.formatf("repeats %v", r.vals)
		}
		reps[i] = int(v)
	}
	return c.add(&graph.Tile{Repeats: reps}, ins[:1], outs)
}

// resize: https://onnx.ai/onnx/operators/onnx__Resize.html (opset 10: X and
// scales; 11+: X, roi, scales, sizes, coordinate_transformation_mode and
// nearest_mode; 18+: antialias, axes, keep_aspect_ratio_policy) and
// https://onnx.ai/onnx/operators/onnx__Upsample.html (opsets 7-9: scales as an
// attribute, then an input). Modes nearest and linear on the spatial dims of
// an (N,C,...) input; scales or sizes must be known at import. Resize-10 and
// Upsample use asymmetric coordinates with nearest rounding down.
func resize(upsample bool) func(c *nodeCtx) error {
	return func(c *nodeCtx) error {
		maxIn := 2
		if !upsample && c.opset() >= 11 {
			maxIn = 4
		}
		if upsample && c.opset() < 9 {
			maxIn = 1
		}
		ins, outs, err := c.io(1, maxIn, 1, 1)
		if err != nil {
			return err
		}
		x := c.shape(ins[0])
		r := &graph.Resize{Mode: c.a.string("mode", "nearest"), Coord: "asymmetric", Nearest: "floor"}
		if !upsample && c.opset() >= 11 {
			r.Coord = c.a.string("coordinate_transformation_mode", "half_pixel")
			r.Nearest = c.a.string("nearest_mode", "round_prefer_floor")
			c.a.float("cubic_coeff_a", -0.75)
			if c.a.int("exclude_outside", 0) != 0 {
				return c.unsupported("exclude_outside=1")
			}
			c.a.float("extrapolation_value", 0)
			if r.Coord == "tf_crop_and_resize" {
				return c.unsupported("coordinate_transformation_mode tf_crop_and_resize")
			}
		}
		if !upsample && c.opset() >= 18 {
			if c.a.int("antialias", 0) != 0 {
				return c.unsupported("antialias=1")
			}
			if c.a.has("axes") {
				return c.unsupported("the axes attribute")
			}
			c.a.string("keep_aspect_ratio_policy", "stretch")
		}
		switch r.Mode {
		case "nearest", "linear":
		case "bilinear", "trilinear":
			r.Mode = "linear" // Upsample's older spellings
		default:
			return c.unsupported("mode %q (nearest and linear are supported)", r.Mode)
		}
		var scales []float64
		var sizes []int64
		scalesIn, sizesIn := 1, -1
		if !upsample && c.opset() >= 11 {
			scalesIn, sizesIn = 2, 3
		}
		if upsample && c.opset() < 9 {
			for _, v := range c.a.floats("scales") {
				scales = append(scales, float64(v))
			}
			scalesIn = -1
		}
		if scalesIn > 0 && scalesIn < len(ins) && ins[scalesIn] != "" {
			v, err := c.known(scalesIn, ins[scalesIn])
			if err != nil {
				return c.unsupported("scales %q must be known at import", ins[scalesIn])
			}
			for i := range v.size() {
				scales = append(scales, v.float(i))
			}
		}
		if sizesIn > 0 && sizesIn < len(ins) && ins[sizesIn] != "" {
			v, err := c.known(sizesIn, ins[sizesIn])
			if err != nil || v.isFloat {
				return c.unsupported("sizes %q must be an int64 tensor known at import", ins[sizesIn])
			}
			sizes = v.vals
			for i := range v.size() {
				if v.isBatch(i) {
					sizes[i] = -1 // keeps the batch
				}
			}
		}
		if c.a.err != nil {
			return c.a.err
		}
		if len(scales) > 0 && len(sizes) > 0 || len(scales) == 0 && len(sizes) == 0 {
			return c.formatf("exactly one of scales and sizes must be given")
		}
		r.Scales = make([]float64, len(x))
		r.Sizes = make([]int, len(x))
		for i, d := range x {
			switch {
			case len(scales) > 0:
				if len(scales) != len(x) || !(scales[i] > 0) || scales[i] > 1<<16 {
					return c.formatf("scales %v for rank %d", scales, len(x))
				}
				r.Scales[i] = scales[i]
				if d == graph.Batch {
					r.Sizes[i] = graph.Batch
				} else {
					r.Sizes[i] = int(math.Floor(float64(d) * scales[i]))
				}
			default:
				if len(sizes) != len(x) {
					return c.formatf("sizes %v for rank %d", sizes, len(x))
				}
				if d == graph.Batch {
					r.Sizes[i], r.Scales[i] = graph.Batch, 1
					continue
				}
				if sizes[i] <= 0 || sizes[i] > 1<<20 {
					return c.formatf("sizes %v", sizes)
				}
				r.Sizes[i] = int(sizes[i])
				r.Scales[i] = float64(sizes[i]) / float64(d)
			}
		}
		return c.add(r, ins[:1], outs)
	}
}

// isRunTimeNode reports whether some input of the node is a float value
// computed at run time.
func (c *nodeCtx) anyRunTime(ins []string) bool {
	return slices.ContainsFunc(ins, func(in string) bool { return in != "" && c.runTime(in) })
}
