package onnximport

import (
	"math"
	"slices"
)

// Arithmetic on folded values: what MATLAB's 'same' padding (Shape -> Cast ->
// Div -> Ceil -> ... -> Split -> Pad), tf2onnx's flattening and PyTorch's
// shape code compute from a model's input shape. Each op folds when one of its
// inputs is a folded value, or when every input is an int64 constant; otherwise
// ops that exist as float ops (Add, Mul, ...) go to their float handler.

// foldable reports whether the node should be evaluated at import time: every
// input is known (a folded value or a constant) and some input is a folded value
// or every input is an int64 constant.
func (c *nodeCtx) foldable(ins []string) bool {
	allInt, anyFolded := len(ins) > 0, false
	for _, in := range ins {
		if in == "" {
			continue
		}
		p := c.constant(in)
		switch {
		case c.imp.folded[in] != nil:
			anyFolded = true
		case p == nil:
			return false
		case p.Int64 == nil:
			allInt = false
		}
	}
	return anyFolded || allInt
}

// foldOr runs fold when the node's inputs are all known at import time in the
// sense of foldable, and run otherwise (nil run: fold reports the error).
func foldOr(fold, run func(*nodeCtx) error) func(*nodeCtx) error {
	return func(c *nodeCtx) error {
		if run == nil || c.foldable(trimEmpty(c.n.GetInput())) {
			return fold(c)
		}
		return run(c)
	}
}

// broadcastIndex maps each element of the numpy broadcast of a and b to its
// source element in each; it returns the result dims.
func (c *nodeCtx) broadcastIndex(a, b []int) ([]int, []int, []int, error) {
	r := max(len(a), len(b))
	dims := make([]int, r)
	for i := range r {
		da, db := 1, 1
		if k := i - (r - len(a)); k >= 0 {
			da = a[k]
		}
		if k := i - (r - len(b)); k >= 0 {
			db = b[k]
		}
		switch {
		case da == db || db == 1:
			dims[i] = da
		case da == 1:
			dims[i] = db
		default:
			return nil, nil, nil, c.formatf("dims %v and %v do not broadcast", a, b)
		}
	}
	n := prodInts(dims)
	if n < 0 {
		return nil, nil, nil, c.shapeOnly("the result has more than %d elements", maxFoldElements)
	}
	ia, ib := make([]int, n), make([]int, n)
	idx := make([]int, r)
	for k := range n {
		// idx is the multi-index of element k.
		ra, rb := 0, 0
		for i := range r {
			if j := i - (r - len(a)); j >= 0 {
				ra = ra*a[j] + min(idx[i], a[j]-1)
			}
			if j := i - (r - len(b)); j >= 0 {
				rb = rb*b[j] + min(idx[i], b[j]-1)
			}
		}
		ia[k], ib[k] = ra, rb
		for i := r - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < dims[i] {
				break
			}
			idx[i] = 0
		}
	}
	return dims, ia, ib, nil
}

// foldBinary evaluates Add, Sub, Mul, Div, Max, Min, Mod, Pow, Equal, Less,
// Greater, And and Or on known values (numpy broadcasting; Max and Min take any
// number of inputs). Integer Div truncates toward zero as ONNX's Div does on
// integers. An element that is the batch size may pass through Max/Min only as
// itself; arithmetic on it is an error, since its value is known only at run
// time.
func foldBinary(op string) func(c *nodeCtx) error {
	return func(c *nodeCtx) error {
		maxIn := 2
		if op == "Max" || op == "Min" {
			maxIn = 1 << 10
		}
		ins, outs, err := c.io(1, maxIn, 1, 1)
		if err != nil {
			return err
		}
		if len(ins) == 1 && maxIn == 2 {
			return c.formatf("%s takes 2 inputs, has 1", op)
		}
		acc, err := c.known(0, ins[0])
		if err != nil {
			return err
		}
		for i := 1; i < len(ins); i++ {
			b, err := c.known(i, ins[i])
			if err != nil {
				return err
			}
			if acc, err = c.binary(op, acc, b); err != nil {
				return err
			}
		}
		return c.fold(outs[0], acc)
	}
}

func (c *nodeCtx) binary(op string, a, b *folded) (*folded, error) {
	if a.isFloat != b.isFloat {
		return nil, c.formatf("inputs of %s have different element types", op)
	}
	dims, ia, ib, err := c.broadcastIndex(a.dims, b.dims)
	if err != nil {
		return nil, err
	}
	compare := op == "Equal" || op == "Less" || op == "Greater" || op == "And" || op == "Or"
	f := &folded{dims: dims, isFloat: a.isFloat && !compare, batch: make([]bool, len(ia))}
	if f.isFloat {
		f.fl = make([]float64, len(ia))
	} else {
		f.vals = make([]int64, len(ia))
	}
	for k := range ia {
		i, j := ia[k], ib[k]
		if a.isBatch(i) || b.isBatch(j) {
			// Max(batch, 1) and the like could pass, but no exporter we know
			// writes them; say plainly what is missing instead.
			return nil, c.shapeOnly("%s of the batch size (known only at run time)", op)
		}
		if a.isFloat {
			x, y := a.fl[i], b.fl[j]
			var v float64
			switch op {
			case "Add":
				v = x + y
			case "Sub":
				v = x - y
			case "Mul":
				v = x * y
			case "Div":
				v = x / y
			case "Max":
				v = max(x, y)
			case "Min":
				v = min(x, y)
			case "Pow":
				v = math.Pow(x, y)
			case "Mod":
				v = math.Mod(x, y)
			case "Equal", "Less", "Greater":
				if op == "Equal" && x == y || op == "Less" && x < y || op == "Greater" && x > y {
					f.vals[k] = 1
				}
				continue
			default:
				return nil, c.shapeOnly("%s on float values", op)
			}
			f.fl[k] = float64(float32(v)) // the file's float is float32
			continue
		}
		x, y := a.vals[i], b.vals[j]
		var v int64
		switch op {
		case "Add":
			v = x + y
		case "Sub":
			v = x - y
		case "Mul":
			v = x * y
		case "Div", "Mod":
			if y == 0 {
				return nil, c.formatf("integer %s by zero", op)
			}
			if v = x / y; op == "Mod" {
				// ONNX Mod with fmod=0 takes the divisor's sign, as Python's %.
				if v = x % y; v != 0 && (v < 0) != (y < 0) {
					v += y
				}
			}
		case "Max":
			v = max(x, y)
		case "Min":
			v = min(x, y)
		case "Pow":
			v = int64(math.Pow(float64(x), float64(y)))
		case "Equal":
			v = b2i(x == y)
		case "Less":
			v = b2i(x < y)
		case "Greater":
			v = b2i(x > y)
		case "And":
			v = b2i(x != 0 && y != 0)
		case "Or":
			v = b2i(x != 0 || y != 0)
		}
		f.vals[k] = v
	}
	return f, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// foldUnary evaluates Ceil, Floor, Neg, Abs, Sqrt, Not and Round on a known value.
func foldUnary(op string) func(c *nodeCtx) error {
	return func(c *nodeCtx) error {
		ins, outs, err := c.io(1, 1, 1, 1)
		if err != nil {
			return err
		}
		x, err := c.known(0, ins[0])
		if err != nil {
			return err
		}
		f := &folded{dims: x.dims, isFloat: x.isFloat, batch: x.batch}
		if x.hasBatch() && op != "Ceil" && op != "Floor" && op != "Round" {
			return c.shapeOnly("%s of the batch size (known only at run time)", op)
		}
		if x.isFloat {
			f.fl = make([]float64, len(x.fl))
			for i, v := range x.fl {
				switch op {
				case "Ceil":
					v = math.Ceil(v)
				case "Floor":
					v = math.Floor(v)
				case "Round":
					v = math.RoundToEven(v)
				case "Neg":
					v = -v
				case "Abs":
					v = math.Abs(v)
				case "Sqrt":
					v = math.Sqrt(v)
				default:
					return c.shapeOnly("%s on float values", op)
				}
				f.fl[i] = v
			}
			return c.fold(outs[0], f)
		}
		f.vals = make([]int64, len(x.vals))
		for i, v := range x.vals {
			switch op {
			case "Ceil", "Floor", "Round":
				return c.formatf("%s of an integer tensor", op)
			case "Neg":
				v = -v
			case "Abs":
				v = max(v, -v)
			case "Not":
				v = b2i(v == 0)
			default:
				return c.shapeOnly("%s on integer values", op)
			}
			f.vals[i] = v
		}
		return c.fold(outs[0], f)
	}
}

// foldWhere: https://onnx.ai/onnx/operators/onnx__Where.html on known values.
func foldWhere(c *nodeCtx) error {
	ins, outs, err := c.io(3, 3, 1, 1)
	if err != nil {
		return err
	}
	var v [3]*folded
	for i := range v {
		if v[i], err = c.known(i, ins[i]); err != nil {
			return err
		}
	}
	if v[0].isFloat || v[0].hasBatch() {
		return c.formatf("condition %q must be a known bool tensor", ins[0])
	}
	// Broadcast cond with x, then with y: the index maps compose.
	d1, ic, ix, err := c.broadcastIndex(v[0].dims, v[1].dims)
	if err != nil {
		return err
	}
	dims, i1, iy, err := c.broadcastIndex(d1, v[2].dims)
	if err != nil {
		return err
	}
	if v[1].isFloat != v[2].isFloat {
		return c.formatf("X and Y have different element types")
	}
	idx := make([]int, len(i1))
	src := make([]*folded, len(i1))
	for k := range i1 {
		if v[0].vals[ic[i1[k]]] != 0 {
			idx[k], src[k] = ix[i1[k]], v[1]
		} else {
			idx[k], src[k] = iy[k], v[2]
		}
	}
	f := &folded{dims: dims, isFloat: v[1].isFloat, batch: make([]bool, len(idx))}
	for k, i := range idx {
		if f.isFloat {
			f.fl = append(f.fl, src[k].fl[i])
		} else {
			f.vals = append(f.vals, src[k].vals[i])
		}
		f.batch[k] = src[k].isBatch(i)
	}
	return c.fold(outs[0], f)
}

// foldRange: https://onnx.ai/onnx/operators/onnx__Range.html (opset 11) of known
// scalars.
func foldRange(c *nodeCtx) error {
	ins, outs, err := c.io(3, 3, 1, 1)
	if err != nil {
		return err
	}
	var v [3]*folded
	for i := range v {
		if v[i], err = c.known(i, ins[i]); err != nil {
			return err
		}
		if v[i].size() != 1 || v[i].hasBatch() {
			return c.shapeOnly("input #%d %q must be a known scalar", i, ins[i])
		}
	}
	start, limit, delta := v[0].float(0), v[1].float(0), v[2].float(0)
	if delta == 0 {
		return c.formatf("delta is 0")
	}
	n := math.Max(math.Ceil((limit-start)/delta), 0)
	if n > maxFoldElements {
		return c.shapeOnly("the result has %g elements (limit %d)", n, maxFoldElements)
	}
	f := &folded{dims: []int{int(n)}, isFloat: v[0].isFloat}
	for i := range int(n) {
		if f.isFloat {
			f.fl = append(f.fl, start+float64(i)*delta)
		} else {
			f.vals = append(f.vals, v[0].vals[0]+int64(i)*v[2].vals[0])
		}
	}
	return c.fold(outs[0], f)
}

// foldReduce: ReduceProd, ReduceSum, ReduceMin, ReduceMax of a known 1-D
// vector over all of it (tf2onnx flattens with ReduceProd of a shape slice).
// axes is an attribute before opset 18 (13 for ReduceSum), an input since.
func foldReduce(op string) func(c *nodeCtx) error {
	return func(c *nodeCtx) error {
		ins, outs, err := c.io(1, 2, 1, 1)
		if err != nil {
			return err
		}
		axes, err := c.reduceAxes(op, ins)
		if err != nil {
			return err
		}
		keep := c.a.bool("keepdims", true)
		if c.opset() >= 13 && op == "ReduceSum" || c.opset() >= 18 {
			c.a.int("noop_with_empty_axes", 0)
		}
		x, err := c.known(0, ins[0])
		if err != nil {
			return err
		}
		if len(x.dims) != 1 || len(axes) > 1 || len(axes) == 1 && axes[0] != 0 && axes[0] != -1 {
			return c.shapeOnly("only a reduction of a whole 1-D vector is folded (dims %v, axes %v)", x.dims, axes)
		}
		if x.hasBatch() {
			return c.shapeOnly("%s over the batch size (known only at run time)", op)
		}
		acc := 0.0
		switch op {
		case "ReduceProd":
			acc = 1
		case "ReduceMin":
			acc = math.Inf(1)
		case "ReduceMax":
			acc = math.Inf(-1)
		}
		for i := range x.size() {
			v := x.float(i)
			switch op {
			case "ReduceProd":
				acc *= v
			case "ReduceSum":
				acc += v
			case "ReduceMin":
				acc = min(acc, v)
			case "ReduceMax":
				acc = max(acc, v)
			}
		}
		dims := []int{}
		if keep {
			dims = []int{1}
		}
		if x.isFloat {
			return c.fold(outs[0], &folded{dims: dims, fl: []float64{acc}, isFloat: true})
		}
		return c.fold(outs[0], &folded{dims: dims, vals: []int64{int64(acc)}})
	}
}

// reduceAxes reads a Reduce op's axes: the attribute, or since opset 18 (13 for
// ReduceSum) the optional input #1, which must be known at import.
func (c *nodeCtx) reduceAxes(op string, ins []string) ([]int64, error) {
	asInput := c.opset() >= 18 || op == "ReduceSum" && c.opset() >= 13
	if !asInput {
		if len(ins) > 1 {
			return nil, c.formatf("%s takes 1 input at opset %d, has %d", op, c.opset(), len(ins))
		}
		return c.a.ints("axes"), nil
	}
	if len(ins) < 2 || ins[1] == "" {
		return nil, nil
	}
	f, err := c.fixed(1, ins[1])
	if err != nil {
		return nil, err
	}
	if f.isFloat || len(f.dims) != 1 {
		return nil, c.formatf("axes %q must be a 1-D int64 tensor", ins[1])
	}
	return f.vals, nil
}

// foldSplit: https://onnx.ai/onnx/operators/onnx__Split.html of a known 1-D
// vector: split sizes as an attribute before opset 13, an input since; without
// them equal parts, whose count is the number of outputs (num_outputs since 18).
func foldSplit(c *nodeCtx) error {
	ins, outs, err := c.io(1, 2, 1, maxFoldElements)
	if err != nil {
		return err
	}
	sizes, err := c.splitSizes(ins)
	if err != nil {
		return err
	}
	x, err := c.known(0, ins[0])
	if err != nil {
		return err
	}
	if len(x.dims) != 1 {
		return c.shapeOnly("only 1-D vectors are folded (dims %v)", x.dims)
	}
	if _, err := c.axis("axis", c.a.int("axis", 0), 1); err != nil {
		return err
	}
	parts, err := c.splitParts(sizes, x.dims[0], len(outs))
	if err != nil {
		return err
	}
	at := 0
	for i, out := range outs {
		pos := make([]int, parts[i])
		for k := range pos {
			pos[k] = at + k
		}
		at += parts[i]
		if out == "" {
			continue
		}
		if err := c.fold(out, x.pick([]int{parts[i]}, pos)); err != nil {
			return err
		}
	}
	return nil
}

// splitSizes reads Split's sizes (attribute before 13, input since) and
// num_outputs (since 18); nil sizes mean equal parts.
func (c *nodeCtx) splitSizes(ins []string) ([]int64, error) {
	if c.opset() >= 18 {
		c.a.int("num_outputs", 0)
	}
	if c.opset() < 13 {
		if len(ins) > 1 {
			return nil, c.formatf("Split takes 1 input before opset 13, has %d", len(ins))
		}
		return c.a.ints("split"), nil
	}
	if len(ins) < 2 || ins[1] == "" {
		return nil, nil
	}
	f, err := c.fixed(1, ins[1])
	if err != nil {
		return nil, err
	}
	if f.isFloat || len(f.dims) != 1 {
		return nil, c.formatf("split %q must be a 1-D int64 tensor", ins[1])
	}
	return f.vals, nil
}

// splitParts resolves the part sizes of a dim of length n into k outputs:
// the given sizes (summing to n), or equal parts with a smaller last one
// (opset 18's rule for num_outputs; before, n must divide evenly).
func (c *nodeCtx) splitParts(sizes []int64, n, k int) ([]int, error) {
	if k == 0 {
		return nil, c.formatf("Split has no outputs")
	}
	parts := make([]int, k)
	if sizes != nil {
		if len(sizes) != k {
			return nil, c.formatf("split has %d sizes for %d outputs", len(sizes), k)
		}
		sum := 0
		for i, s := range sizes {
			if s < 0 || s > int64(n) {
				return nil, c.formatf("split size %d out of range", s)
			}
			parts[i] = int(s)
			sum += int(s)
		}
		if sum != n {
			return nil, c.formatf("split sizes %v do not sum to the dim %d", sizes, n)
		}
		return parts, nil
	}
	if nOut := c.a.int("num_outputs", 0); c.opset() >= 18 && nOut != 0 && nOut != int64(k) {
		return nil, c.formatf("num_outputs %d, but %d outputs", nOut, k)
	}
	step := (n + k - 1) / k
	if c.opset() < 18 && n%k != 0 {
		return nil, c.formatf("dim %d does not split into %d equal parts", n, k)
	}
	for i := range parts {
		parts[i] = max(0, min(step, n-i*step))
	}
	return parts, nil
}

var _ = slices.Clone[[]int]
