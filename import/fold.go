package onnximport

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/onnx"
)

// Import-time constant folding of integer shape computations.
//
// PyTorch exports x.view(x.size(0), -1) with dynamic axes as
//
//	Shape(x) -> Gather(indices 0) -> Unsqueeze -> Concat(with [-1]) -> Reshape(x, ·)
//
// The ops of such chains (shapeHandlers) never become graph nodes: each is
// evaluated when the importer reaches it, on inputs known at import time
// (initializers, Constant outputs, earlier folded values), into a folded value.
// Shape of a value whose only unknown dim is the batch yields an int64 vector
// whose batch entry is symbolic. A folded value may only feed another shape op or
// Reshape's shape input; there its symbolic batch entries become 0 (copy the
// input dim), which graph.Reshape resolves for any batch size, provided the data
// input has its batch dim at that same position. Anything else is an
// *UnsupportedOpError naming the shape op and node.

// maxFoldElements bounds every folded value (shape vectors have a handful of
// entries), so that a small file cannot make the importer allocate much.
const maxFoldElements = 1 << 16

// folded is an int64 or float tensor computed at import time.
type folded struct {
	dims  []int
	vals  []int64   // int64 values (nil for a float tensor)
	fl    []float64 // float values, when isFloat
	batch []bool    // batch[i]: value i is the batch size, known only at run time; nil if none is
	op    string    // the shape op and node that made it, for errors
	node  string
	// isFloat: the tensor is float (FLOAT or DOUBLE in the file, held as
	// float64); Cast and the arithmetic of MATLAB's 'same' padding make them.
	isFloat bool
}

// size is the number of elements.
func (f *folded) size() int {
	if f.isFloat {
		return len(f.fl)
	}
	return len(f.vals)
}

// pick returns the elements of f at the given flat indices, with dims.
func (f *folded) pick(dims []int, idx []int) *folded {
	out := &folded{dims: dims, isFloat: f.isFloat, batch: make([]bool, len(idx))}
	if f.isFloat {
		out.fl = make([]float64, len(idx))
	} else {
		out.vals = make([]int64, len(idx))
	}
	for k, i := range idx {
		if f.isFloat {
			out.fl[k] = f.fl[i]
		} else {
			out.vals[k] = f.vals[i]
		}
		out.batch[k] = f.isBatch(i)
	}
	return out
}

// reshaped is f with other dims (same elements).
func (f *folded) reshaped(dims []int) *folded {
	return &folded{dims: dims, vals: f.vals, fl: f.fl, batch: f.batch, isFloat: f.isFloat}
}

// float returns element i as float64.
func (f *folded) float(i int) float64 {
	if f.isFloat {
		return f.fl[i]
	}
	return float64(f.vals[i])
}

func (f *folded) isBatch(i int) bool { return f.batch != nil && f.batch[i] }

func (f *folded) hasBatch() bool { return slices.Contains(f.batch, true) }

// notFolded is the error for a folded value used where a run-time value is needed
// (a float op's input, a graph output).
func (imp *importer) notFolded(f *folded, name, use string) error {
	return &UnsupportedOpError{Op: f.op, Node: f.node, Opset: imp.opset,
		Reason: fmt.Sprintf("%s is only supported in shape computations evaluated at import time (feeding Reshape's shape), but its value %q %s",
			f.op, name, use)}
}

// shapeOnly reports a shape op that cannot be evaluated at import time.
func (c *nodeCtx) shapeOnly(format string, args ...any) error {
	return c.unsupported("%s is only supported in shape computations evaluated at import time (feeding Reshape's shape): %s",
		c.n.GetOpType(), fmt.Sprintf(format, args...))
}

// known returns input #i as a folded value: an earlier folded value or an int64
// parameter (initializer, Constant output, bound input), which is then marked as
// read by folding so that run can drop it if no graph node uses it.
func (c *nodeCtx) known(i int, name string) (*folded, error) {
	if f := c.imp.folded[name]; f != nil {
		return f, nil
	}
	if p := c.constant(name); p != nil {
		if p.Int64 == nil {
			if len(p.Data) > maxFoldElements {
				return nil, c.shapeOnly("input #%d %q has %d elements (limit %d)", i, name, len(p.Data), maxFoldElements)
			}
			c.imp.foldRead[name] = true
			f := &folded{dims: p.Dims, fl: make([]float64, len(p.Data)), isFloat: true}
			for j, v := range p.Data {
				f.fl[j] = float64(v)
			}
			return f, nil
		}
		c.imp.foldRead[name] = true
		return &folded{dims: p.Dims, vals: p.Int64}, nil
	}
	return nil, c.shapeOnly("input #%d %q is computed at run time, not known at import time", i, name)
}

// fixed is known for inputs that must not hold the batch size (indices, axes,
// slice bounds).
func (c *nodeCtx) fixed(i int, name string) (*folded, error) {
	f, err := c.known(i, name)
	if err != nil {
		return nil, err
	}
	if f.hasBatch() {
		return nil, c.shapeOnly("input #%d %q holds the batch size, which is known only at run time", i, name)
	}
	return f, nil
}

// fold defines output name as the folded value f made by this node.
func (c *nodeCtx) fold(name string, f *folded) error {
	if f.size() > maxFoldElements {
		return c.shapeOnly("the result has %d elements (limit %d)", f.size(), maxFoldElements)
	}
	if len(f.dims) > 8 {
		return c.formatf("result rank %d is above 8", len(f.dims))
	}
	if n := prodInts(f.dims); n != f.size() || f.batch != nil && len(f.batch) != n {
		return fmt.Errorf("onnximport: internal error: %s node %q folded %d values for dims %v", c.n.GetOpType(), c.label, f.size(), f.dims)
	}
	if !slices.Contains(f.batch, true) {
		f.batch = nil
	}
	f.op, f.node = c.n.GetOpType(), c.n.GetName()
	dt := graph.Int64
	if f.isFloat {
		dt = graph.Float32
	}
	if err := c.imp.define(name, f.dims, dt, c.label); err != nil {
		return err
	}
	c.imp.folded[name] = f
	return nil
}

// prodInts is the element count of dims (capped to stay far from overflow).
func prodInts(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
		if n > maxFoldElements || n < 0 {
			return -1
		}
	}
	return n
}

// axis checks an axis in [-r, r-1] and returns it in [0, r-1].
func (c *nodeCtx) axis(what string, a int64, r int) (int, error) {
	if a < -int64(r) || a >= int64(r) {
		return 0, c.formatf("%s %d out of range for rank %d", what, a, r)
	}
	if a < 0 {
		a += int64(r)
	}
	return int(a), nil
}

// shapeOp: https://onnx.ai/onnx/operators/onnx__Shape.html (start and end since
// opset 15). The batch dim of the input gives a symbolic entry.
func shapeOp(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1, 1, 1)
	if err != nil {
		return err
	}
	x := c.shape(ins[0])
	start, end := int64(0), int64(len(x))
	if c.opset() >= 15 {
		start = bound(c.a.int("start", 0), len(x), 0, int64(len(x)))
		end = bound(c.a.int("end", int64(len(x))), len(x), 0, int64(len(x)))
	}
	f := &folded{dims: []int{0}, batch: []bool{}}
	for i := start; i < end; i++ {
		d := x[i]
		f.vals = append(f.vals, int64(d))
		f.batch = append(f.batch, d == graph.Batch)
	}
	f.dims[0] = len(f.vals)
	return c.fold(outs[0], f)
}

// bound resolves a Shape or Slice bound against length n: a negative v counts
// from the end, then the result is clamped to [lo, hi].
func bound(v int64, n int, lo, hi int64) int64 {
	if v < 0 {
		v += int64(n)
	}
	return min(max(v, lo), hi)
}

// gather: https://onnx.ai/onnx/operators/onnx__Gather.html on a known 1-D data
// tensor (axis 0) with known indices of any rank (a scalar picks one entry).
func gather(c *nodeCtx) error {
	ins, outs, err := c.io(2, 2, 1, 1)
	if err != nil {
		return err
	}
	data, err := c.known(0, ins[0])
	if err != nil {
		return err
	}
	idx, err := c.fixed(1, ins[1])
	if err != nil {
		return err
	}
	if len(data.dims) != 1 {
		return c.shapeOnly("data %q has rank %d (only 1-D shape vectors are folded)", ins[0], len(data.dims))
	}
	if _, err := c.axis("axis", c.a.int("axis", 0), 1); err != nil {
		return err
	}
	if len(idx.vals) > maxFoldElements {
		return c.shapeOnly("%d indices (limit %d)", len(idx.vals), maxFoldElements)
	}
	if idx.isFloat {
		return c.formatf("indices %q are float", ins[1])
	}
	n := data.size()
	pos := make([]int, len(idx.vals))
	for i, j := range idx.vals {
		k, err := c.axis("index", j, n)
		if err != nil {
			return err
		}
		pos[i] = k
	}
	return c.fold(outs[0], data.pick(slices.Clone(idx.dims), pos))
}

// squeezeAxes reads the axes of Squeeze and Unsqueeze: the attribute before opset
// 13, the optional input #1 since.
func (c *nodeCtx) squeezeAxes(ins []string) ([]int64, bool, error) {
	if c.opset() < 13 {
		if len(ins) > 1 {
			return nil, false, c.formatf("%s takes 1 input before opset 13, has %d", c.n.GetOpType(), len(ins))
		}
		return c.a.ints("axes"), c.a.has("axes"), nil
	}
	if len(ins) < 2 || ins[1] == "" {
		return nil, false, nil
	}
	f, err := c.fixed(1, ins[1])
	if err != nil {
		return nil, false, err
	}
	if len(f.dims) != 1 {
		return nil, false, c.formatf("axes %q has dims %v, want 1-D", ins[1], f.dims)
	}
	if f.isFloat {
		return nil, false, c.formatf("axes %q are float", ins[1])
	}
	return f.vals, true, nil
}

// unsqueeze: https://onnx.ai/onnx/operators/onnx__Unsqueeze.html (axes attribute
// before opset 13, input since; negative axes since 11).
func unsqueeze(c *nodeCtx) error {
	ins, outs, err := c.io(1, 2, 1, 1)
	if err != nil {
		return err
	}
	axes, given, err := c.squeezeAxes(ins)
	if err != nil {
		return err
	}
	if !given {
		return c.formatf("axes is required")
	}
	if c.runTime(ins[0]) {
		return c.reshapeTo(ins[0], outs[0], unsqueezed(c.shape(ins[0]), axes))
	}
	x, err := c.known(0, ins[0])
	if err != nil {
		return err
	}
	r := len(x.dims) + len(axes)
	if r > 8 {
		return c.formatf("result rank %d is above 8", r)
	}
	ones := make([]bool, r)
	for _, a := range axes {
		k, err := c.axis("axis", a, r)
		if err != nil {
			return err
		}
		if ones[k] {
			return c.formatf("axis %d is given twice", a)
		}
		ones[k] = true
	}
	dims := make([]int, 0, r)
	j := 0
	for k := range r {
		if ones[k] {
			dims = append(dims, 1)
		} else {
			dims = append(dims, x.dims[j])
			j++
		}
	}
	return c.fold(outs[0], x.reshaped(dims))
}

// squeeze: https://onnx.ai/onnx/operators/onnx__Squeeze.html (axes attribute
// before opset 13, optional input since; without axes every dim of size 1 goes).
func squeeze(c *nodeCtx) error {
	ins, outs, err := c.io(1, 2, 1, 1)
	if err != nil {
		return err
	}
	axes, given, err := c.squeezeAxes(ins)
	if err != nil {
		return err
	}
	if c.runTime(ins[0]) {
		s := c.shape(ins[0])
		if !given {
			for i, d := range s {
				if d == 1 {
					axes = append(axes, int64(i))
				}
			}
		}
		return c.reshapeTo(ins[0], outs[0], squeezed(s, axes))
	}
	x, err := c.known(0, ins[0])
	if err != nil {
		return err
	}
	drop := make([]bool, len(x.dims))
	for _, a := range axes {
		k, err := c.axis("axis", a, len(x.dims))
		if err != nil {
			return err
		}
		if x.dims[k] != 1 {
			return c.formatf("cannot squeeze axis %d of size %d", a, x.dims[k])
		}
		drop[k] = true
	}
	var dims []int
	for k, d := range x.dims {
		if !(drop[k] || !given && d == 1) {
			dims = append(dims, d)
		}
	}
	if dims == nil {
		dims = []int{}
	}
	return c.fold(outs[0], x.reshaped(dims))
}

// concat: https://onnx.ai/onnx/operators/onnx__Concat.html of known 1-D int64
// vectors (axis 0 or -1).
func concat(c *nodeCtx) error {
	ins, outs, err := c.io(1, maxFoldElements, 1, 1)
	if err != nil {
		return err
	}
	if !c.a.has("axis") {
		return c.formatf("axis is required")
	}
	for _, in := range ins {
		if c.runTime(in) {
			return c.unsupported("Concat of float tensors computed at run time is not implemented yet (only shape vectors known at import are concatenated; open an issue with the file)")
		}
	}
	if _, err := c.axis("axis", c.a.int("axis", 0), 1); err != nil {
		return err
	}
	f := &folded{dims: []int{0}}
	for i, in := range ins {
		if in == "" {
			return c.formatf("input #%d is empty", i)
		}
		x, err := c.known(i, in)
		if err != nil {
			return err
		}
		if len(x.dims) != 1 {
			return c.shapeOnly("input #%d %q has rank %d (only 1-D shape vectors are folded)", i, in, len(x.dims))
		}
		if i == 0 {
			f.isFloat = x.isFloat
		} else if x.isFloat != f.isFloat {
			return c.formatf("input #%d %q has another element type than input #0", i, in)
		}
		if f.size()+x.size() > maxFoldElements {
			return c.shapeOnly("the result has more than %d elements", maxFoldElements)
		}
		f.vals = append(f.vals, x.vals...)
		f.fl = append(f.fl, x.fl...)
		for j := range x.size() {
			f.batch = append(f.batch, x.isBatch(j))
		}
	}
	f.dims[0] = f.size()
	return c.fold(outs[0], f)
}

// cast: https://onnx.ai/onnx/operators/onnx__Cast.html (saturate since opset 19,
// for float8 only) of a known tensor: to INT64, INT32, INT16, INT8, UINT8 or BOOL
// (held as int64; floats truncated toward zero, NaN, infinities and values out of
// int64 range are errors), or to FLOAT, DOUBLE or FLOAT16 (held as float64).
func cast(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1, 1, 1)
	if err != nil {
		return err
	}
	if !c.a.has("to") {
		return c.formatf("attribute \"to\" is required")
	}
	to := int32(c.a.int("to", 0))
	if c.opset() >= 19 {
		c.a.int("saturate", 1)
	}
	if c.a.err != nil {
		return c.a.err
	}
	x, err := c.known(0, ins[0])
	if err != nil {
		return err
	}
	switch to {
	case int32(onnx.TensorProto_FLOAT), int32(onnx.TensorProto_DOUBLE), int32(onnx.TensorProto_FLOAT16):
		f := &folded{dims: x.dims, fl: make([]float64, x.size()), batch: x.batch, isFloat: true}
		for i := range f.fl {
			f.fl[i] = x.float(i)
		}
		return c.fold(outs[0], f)
	case dtInt64, dtInt32, int32(onnx.TensorProto_INT16), int32(onnx.TensorProto_INT8),
		int32(onnx.TensorProto_UINT8), int32(onnx.TensorProto_BOOL):
		if !x.isFloat && to == dtInt64 {
			return c.fold(outs[0], x.reshaped(x.dims))
		}
		f := &folded{dims: x.dims, vals: make([]int64, x.size()), batch: x.batch}
		for i := range f.vals {
			v := x.float(i)
			switch {
			case to == int32(onnx.TensorProto_BOOL):
				if v != 0 || !x.isFloat && x.vals[i] != 0 {
					f.vals[i] = 1
				}
			case !x.isFloat:
				f.vals[i] = x.vals[i]
			case math.Trunc(v) >= math.MinInt64 && math.Trunc(v) < math.MaxInt64:
				f.vals[i] = int64(math.Trunc(v))
			default:
				return c.formatf("value %g at #%d does not fit int64", v, i)
			}
		}
		return c.fold(outs[0], f)
	}
	return c.shapeOnly("cast to %s (int64, int32, int16, int8, uint8, bool, float, double and float16 are)", dtypeName(to))
}

// sliceParams reads Slice's starts, ends, axes and steps: attributes before
// opset 10, inputs (known at import) since.
func (c *nodeCtx) sliceParams(ins []string) (starts, ends, axes, steps []int64, err error) {
	if c.opset() < 10 {
		starts, ends, axes = c.a.ints("starts"), c.a.ints("ends"), c.a.ints("axes")
		if starts == nil || ends == nil {
			return nil, nil, nil, nil, c.formatf("starts and ends are required")
		}
	} else {
		vecs := make([][]int64, 4)
		for i := 1; i < len(ins); i++ {
			if ins[i] == "" {
				continue
			}
			f, err := c.fixed(i, ins[i])
			if err != nil {
				return nil, nil, nil, nil, err
			}
			if len(f.dims) != 1 || f.isFloat {
				return nil, nil, nil, nil, c.formatf("input #%d %q has dims %v, want a 1-D int64 tensor", i, ins[i], f.dims)
			}
			vecs[i-1] = f.vals
		}
		starts, ends, axes, steps = vecs[0], vecs[1], vecs[2], vecs[3]
	}
	k := len(starts)
	if len(ends) != k || axes != nil && len(axes) != k || steps != nil && len(steps) != k {
		return nil, nil, nil, nil, c.formatf("starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
	}
	if axes == nil {
		for i := range k {
			axes = append(axes, int64(i))
		}
	}
	if steps == nil {
		for range k {
			steps = append(steps, 1)
		}
	}
	return starts, ends, axes, steps, nil
}

// sliceRange resolves one axis of a Slice against a dim of length n: the
// indices taken, in order (https://onnx.ai/onnx/operators/onnx__Slice.html:
// negative bounds count from the end, then clamping).
func sliceRange(start, end, step int64, n int) []int {
	s, e := bound(start, n, 0, int64(n)), bound(end, n, 0, int64(n))
	if step < 0 {
		s, e = bound(start, n, 0, int64(n)-1), bound(end, n, -1, int64(n)-1)
	}
	var pos []int
	for i := s; (step > 0 && i < e || step < 0 && i > e) && i >= 0 && i < int64(n); i += step {
		pos = append(pos, int(i))
	}
	return pos
}

// slice: https://onnx.ai/onnx/operators/onnx__Slice.html: starts, ends and axes
// attributes before opset 10; inputs starts, ends and the optional axes and
// steps since. Known data of any rank folds; run-time data becomes one graph
// Slice per sliced axis (steps of 1 only).
func slice(c *nodeCtx) error {
	minIn, maxIn := 3, 5
	if c.opset() < 10 {
		minIn, maxIn = 1, 1
	}
	ins, outs, err := c.io(minIn, maxIn, 1, 1)
	if err != nil {
		return err
	}
	starts, ends, axes, steps, err := c.sliceParams(ins)
	if err != nil {
		return err
	}
	var x *folded
	var dims []int
	if c.runTime(ins[0]) {
		dims = c.shape(ins[0])
	} else {
		if x, err = c.known(0, ins[0]); err != nil {
			return err
		}
		dims = x.dims
	}
	r := len(dims)
	take := make([][]int, r) // per dim, the indices kept (nil: all)
	for i := range starts {
		a, err := c.axis("axis", axes[i], r)
		if err != nil {
			return err
		}
		if steps[i] == 0 {
			return c.formatf("step 0")
		}
		if take[a] != nil {
			return c.formatf("axis %d is given twice", axes[i])
		}
		if dims[a] == graph.Batch {
			if starts[i] == 0 && ends[i] >= math.MaxInt32 && steps[i] == 1 {
				continue // the whole batch dim
			}
			return c.unsupported("slicing the batch dim")
		}
		take[a] = sliceRange(starts[i], ends[i], steps[i], dims[a])
		if take[a] == nil {
			take[a] = []int{}
		}
	}
	if x == nil {
		// Run-time data: contiguous ranges only, one Slice per axis.
		in := ins[0]
		var todo []int
		for a, t := range take {
			if t != nil && len(t) != dims[a] {
				todo = append(todo, a)
			}
		}
		if len(todo) == 0 {
			return c.add(&graph.Identity{}, ins[:1], outs)
		}
		for k, a := range todo {
			t := take[a]
			if len(t) == 0 || t[len(t)-1]-t[0] != len(t)-1 {
				return c.unsupported("Slice of run-time data with a step other than 1 or an empty result")
			}
			out := outs[0]
			if k < len(todo)-1 {
				out = c.temp(fmt.Sprintf("slice%d", a))
			}
			if err := c.add(&graph.Slice{Axis: a, Start: t[0], End: t[0] + len(t)}, []string{in}, []string{out}); err != nil {
				return err
			}
			in = out
		}
		return nil
	}
	if x.hasBatch() && len(dims) != 1 {
		return c.shapeOnly("data %q holds the batch size and has rank %d", ins[0], len(dims))
	}
	outDims := make([]int, r)
	for a := range r {
		if take[a] == nil {
			take[a] = make([]int, dims[a])
			for i := range take[a] {
				take[a][i] = i
			}
		}
		outDims[a] = len(take[a])
	}
	n := prodInts(outDims)
	if n < 0 {
		return c.shapeOnly("the result has more than %d elements", maxFoldElements)
	}
	st := make([]int, r)
	k := 1
	for a := r - 1; a >= 0; a-- {
		st[a] = k
		k *= dims[a]
	}
	pos := make([]int, n)
	idx := make([]int, r)
	for i := range n {
		off := 0
		for a := range r {
			off += take[a][idx[a]] * st[a]
		}
		pos[i] = off
		for a := r - 1; a >= 0; a-- {
			if idx[a]++; idx[a] < outDims[a] {
				break
			}
			idx[a] = 0
		}
	}
	return c.fold(outs[0], x.pick(outDims, pos))
}

// foldReshape reshapes a folded value (PyTorch's pad computations reshape the
// pads vector to (-1, 2)): 0 copies the input dim, -1 is inferred.
func foldReshape(c *nodeCtx) error {
	ins, outs, err := c.io(2, 2, 1, 1)
	if err != nil {
		return err
	}
	allowZero := c.opset() >= 14 && c.a.bool("allowzero", false)
	x, err := c.known(0, ins[0])
	if err != nil {
		return err
	}
	s, err := c.fixed(1, ins[1])
	if err != nil {
		return err
	}
	if s.isFloat || len(s.dims) != 1 {
		return c.formatf("shape %q must be a 1-D int64 tensor", ins[1])
	}
	dims := make([]int, len(s.vals))
	infer, known := -1, 1
	for i, v := range s.vals {
		switch {
		case v == 0 && !allowZero && i < len(x.dims):
			dims[i] = x.dims[i]
		case v == -1 && infer < 0:
			infer = i
			continue
		case v < 0 || v > maxFoldElements:
			return c.formatf("shape %v does not fit %v", s.vals, x.dims)
		default:
			dims[i] = int(v)
		}
		known *= max(dims[i], 1)
	}
	if infer >= 0 {
		if known == 0 || x.size()%known != 0 {
			return c.formatf("shape %v does not fit %v", s.vals, x.dims)
		}
		dims[infer] = x.size() / known
	}
	if prodInts(dims) != x.size() {
		return c.formatf("shape %v does not fit %v", s.vals, x.dims)
	}
	return c.fold(outs[0], x.reshaped(dims))
}

// foldTranspose transposes a folded value.
func foldTranspose(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1, 1, 1)
	if err != nil {
		return err
	}
	x, err := c.known(0, ins[0])
	if err != nil {
		return err
	}
	r := len(x.dims)
	perm, err := c.checkInts("perm", c.a.ints("perm"), r, 0, int64(max(r-1, 0)))
	if err != nil {
		return err
	}
	if perm == nil {
		for i := range r {
			perm = append(perm, r-1-i)
		}
	}
	dims := make([]int, r)
	for i, p := range perm {
		dims[i] = x.dims[p]
	}
	st := make([]int, r)
	k := 1
	for a := r - 1; a >= 0; a-- {
		st[a] = k
		k *= x.dims[a]
	}
	n := x.size()
	pos := make([]int, n)
	idx := make([]int, r)
	for i := range n {
		off := 0
		for a := range r {
			off += idx[a] * st[perm[a]]
		}
		pos[i] = off
		for a := r - 1; a >= 0; a-- {
			if idx[a]++; idx[a] < dims[a] {
				break
			}
			idx[a] = 0
		}
	}
	return c.fold(outs[0], x.pick(dims, pos))
}

// constantOfShape: https://onnx.ai/onnx/operators/onnx__ConstantOfShape.html
// (opset 9). The shape must be known and free of the batch size. An int64 value
// gives a folded value; a float value (the default is float 0) a constant
// parameter, like a Constant node's, which float ops may use.
func constantOfShape(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1, 1, 1)
	if err != nil {
		return err
	}
	s, err := c.fixed(0, ins[0])
	if err != nil {
		return err
	}
	if len(s.dims) != 1 {
		return c.formatf("shape %q has dims %v, want 1-D", ins[0], s.dims)
	}
	value := &graph.Tensor{Dims: []int{1}, Data: []float32{0}}
	if t := c.a.tensor("value"); t != nil {
		if value, err = decodeTensor(t, c.imp.ext); err != nil {
			return err
		}
		if value.Size() != 1 {
			return c.formatf("value has dims %v, want one element", value.Dims)
		}
	}
	if c.a.err != nil {
		return c.a.err
	}
	if s.isFloat {
		return c.formatf("shape %q is float", ins[0])
	}
	dims64 := s.vals
	dims, n, err := tensorDims(c.label, dims64)
	if err != nil {
		return err
	}
	if n > maxFoldElements {
		return c.shapeOnly("the result has %d elements (limit %d)", n, maxFoldElements)
	}
	if value.Int64 != nil {
		vals := make([]int64, n)
		for i := range vals {
			vals[i] = value.Int64[0]
		}
		return c.fold(outs[0], &folded{dims: dims, vals: vals})
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = value.Data[0]
	}
	c.imp.consts[outs[0]] = true
	return c.imp.addParam(&graph.Tensor{Name: outs[0], Dims: dims, Data: data, Doc: c.n.GetDocString()})
}

// foldedShape turns the folded value feeding Reshape's shape input into an int64
// parameter for graph.Reshape and returns its name. Symbolic batch entries become
// 0 (copy the input dim) where the data input x has its batch dim at the same
// position; anywhere else the reshape would depend on the batch size in a way
// graph.Reshape cannot express.
func (c *nodeCtx) foldedShape(f *folded, shapeName string, x []int, allowZero bool) (string, error) {
	if len(f.dims) != 1 || f.isFloat {
		return "", c.formatf("shape input %q has dims %v, want 1-D int64", shapeName, f.dims)
	}
	vals := slices.Clone(f.vals)
	for i := range vals {
		if !f.isBatch(i) {
			continue
		}
		if allowZero && slices.Contains(f.vals, 0) {
			// A literal 0 means a zero-size dim under allowzero=1, so the batch
			// entry cannot be written as 0 (copy) beside it.
			return "", c.unsupported("allowzero=1 with both a 0 and the batch size in the shape %q", shapeName)
		}
		if i >= len(x) || x[i] != graph.Batch {
			return "", c.unsupported("shape %q holds the batch size at position %d, where the data input %s has no batch dim: only keeping the batch dim in place is supported",
				shapeName, i, graph.FormatDims(x))
		}
		vals[i] = 0
	}
	name := c.imp.uniqueParamName(shapeName + ".folded")
	c.imp.consts[name] = true
	err := c.imp.addParam(&graph.Tensor{Name: name, Dims: []int{len(vals)}, Int64: vals,
		Doc: fmt.Sprintf("folded at import from the shape computation ending in %s node %q", f.op, f.node)})
	return name, err
}

// pruneFolded drops parameters that only shape computations read (the indices,
// axes and constant pieces of folded chains) and no graph node uses.
func (imp *importer) pruneFolded() {
	if len(imp.foldRead) == 0 {
		return
	}
	used := map[string]bool{}
	for _, n := range imp.m.Nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	imp.m.Params = slices.DeleteFunc(imp.m.Params, func(p *graph.Tensor) bool {
		if imp.foldRead[p.Name] && !used[p.Name] {
			delete(imp.params, p.Name)
			return true
		}
		return false
	})
}

// runTime reports whether name is a float value computed at run time (a node
// output or graph input), not a constant or folded value.
func (c *nodeCtx) runTime(name string) bool {
	return c.imp.folded[name] == nil && c.constant(name) == nil && c.imp.types[name] == graph.Float32
}

// unsqueezed returns x with dims of size 1 inserted at axes (of the result), or
// nil if an axis is out of range or repeated.
func unsqueezed(x []int, axes []int64) []int {
	r := len(x) + len(axes)
	ones := make([]bool, r)
	for _, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || a >= int64(r) || ones[a] {
			return nil
		}
		ones[a] = true
	}
	out := make([]int, 0, r)
	j := 0
	for k := range r {
		if ones[k] {
			out = append(out, 1)
		} else {
			out = append(out, x[j])
			j++
		}
	}
	return out
}

// squeezed returns x without the dims at axes (each of size 1), or nil if an
// axis is out of range or not of size 1.
func squeezed(x []int, axes []int64) []int {
	drop := make([]bool, len(x))
	for _, a := range axes {
		if a < 0 {
			a += int64(len(x))
		}
		if a < 0 || a >= int64(len(x)) || x[a] != 1 {
			return nil
		}
		drop[a] = true
	}
	out := []int{}
	for i, d := range x {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return out
}

// reshapeTo adds Squeeze or Unsqueeze of a run-time value as a graph.Reshape to
// shape (nil: the axes did not fit). The batch dim must stay first: the reshape
// copies it (0) from the input.
func (c *nodeCtx) reshapeTo(in, out string, shape []int) error {
	x := c.shape(in)
	if shape == nil {
		return c.formatf("axes do not fit the input %s", graph.FormatDims(x))
	}
	vals := make([]int64, len(shape))
	for i, d := range shape {
		vals[i] = int64(d)
		if d == graph.Batch {
			if i != 0 || len(x) == 0 || x[0] != graph.Batch {
				return c.unsupported("%s would move the batch dim of %s (only axes after the batch dim are supported)", c.n.GetOpType(), graph.FormatDims(x))
			}
			vals[i] = 0
		}
	}
	name := c.imp.uniqueParamName(c.name + ".shape")
	c.imp.consts[name] = true
	if err := c.imp.addParam(&graph.Tensor{Name: name, Dims: []int{len(vals)}, Int64: vals,
		Doc: fmt.Sprintf("%s of a run-time value, as a Reshape", c.n.GetOpType())}); err != nil {
		return err
	}
	return c.add(&graph.Reshape{}, []string{in, name}, []string{out})
}

// materialize makes a float folded value into a constant parameter that graph
// nodes can read, and returns its name.
func (imp *importer) materialize(name string, f *folded) (string, error) {
	p := &graph.Tensor{Name: imp.uniqueParamName(name + ".value"), Dims: slices.Clone(f.dims), Data: make([]float32, len(f.fl)),
		Doc: fmt.Sprintf("computed at import by %s node %q", f.op, f.node)}
	for i, v := range f.fl {
		p.Data[i] = float32(v)
	}
	imp.consts[p.Name] = true
	return p.Name, imp.addParam(p)
}
