package onnximport

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxdigits/onnxdigits/graph"
)

// handler translates one ONNX node into graph nodes.
type handler struct {
	fn   func(c *nodeCtx) error
	spec string // the operator's page in the ONNX docs
}

// handlers is the one dispatch point: ONNX op type (default domain) -> handler.
// SupportedOps prints its keys; COVERAGE.md describes what each accepts.
var handlers = map[string]handler{
	"Abs":                {foldOr(foldUnary("Abs"), unary("Abs")), "https://onnx.ai/onnx/operators/onnx__Abs.html"},
	"Add":                {foldOr(foldBinary("Add"), elementwise("Add")), "https://onnx.ai/onnx/operators/onnx__Add.html"},
	"ArgMax":             {argMax, "https://onnx.ai/onnx/operators/onnx__ArgMax.html"},
	"AveragePool":        {averagePool, "https://onnx.ai/onnx/operators/onnx__AveragePool.html"},
	"BatchNormalization": {batchNorm, "https://onnx.ai/onnx/operators/onnx__BatchNormalization.html"},
	"Clip":               {clip, "https://onnx.ai/onnx/operators/onnx__Clip.html"},
	"Concat":             {foldOr(concat, floatConcat), "https://onnx.ai/onnx/operators/onnx__Concat.html"},
	"Constant":           {constant, "https://onnx.ai/onnx/operators/onnx__Constant.html"},
	"Conv":               {conv, "https://onnx.ai/onnx/operators/onnx__Conv.html"},
	"Div":                {foldOr(foldBinary("Div"), elementwise("Div")), "https://onnx.ai/onnx/operators/onnx__Div.html"},
	"Dropout":            {dropout, "https://onnx.ai/onnx/operators/onnx__Dropout.html"},
	"Elu":                {elu, "https://onnx.ai/onnx/operators/onnx__Elu.html"},
	"Exp":                {unary("Exp"), "https://onnx.ai/onnx/operators/onnx__Exp.html"},
	"Expand":             {expand, "https://onnx.ai/onnx/operators/onnx__Expand.html"},
	"Flatten":            {flatten, "https://onnx.ai/onnx/operators/onnx__Flatten.html"},
	"Gemm":               {gemm, "https://onnx.ai/onnx/operators/onnx__Gemm.html"},
	"GlobalAveragePool":  {globalAveragePool, "https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html"},
	"Identity":           {identity, "https://onnx.ai/onnx/operators/onnx__Identity.html"},
	"LeakyRelu":          {leakyRelu, "https://onnx.ai/onnx/operators/onnx__LeakyRelu.html"},
	"Log":                {unary("Log"), "https://onnx.ai/onnx/operators/onnx__Log.html"},
	"LogSoftmax":         {softmax(true), "https://onnx.ai/onnx/operators/onnx__LogSoftmax.html"},
	"MatMul":             {matMul, "https://onnx.ai/onnx/operators/onnx__MatMul.html"},
	"Max":                {foldOr(foldBinary("Max"), maxMin("Max")), "https://onnx.ai/onnx/operators/onnx__Max.html"},
	"MaxPool":            {maxPool, "https://onnx.ai/onnx/operators/onnx__MaxPool.html"},
	"Min":                {foldOr(foldBinary("Min"), maxMin("Min")), "https://onnx.ai/onnx/operators/onnx__Min.html"},
	"Mul":                {foldOr(foldBinary("Mul"), elementwise("Mul")), "https://onnx.ai/onnx/operators/onnx__Mul.html"},
	"Neg":                {foldOr(foldUnary("Neg"), unary("Neg")), "https://onnx.ai/onnx/operators/onnx__Neg.html"},
	"Pad":                {pad, "https://onnx.ai/onnx/operators/onnx__Pad.html"},
	"Pow":                {foldOr(foldBinary("Pow"), pow), "https://onnx.ai/onnx/operators/onnx__Pow.html"},
	"ReduceMax":          {foldOr(foldReduce("ReduceMax"), reduce("ReduceMax")), "https://onnx.ai/onnx/operators/onnx__ReduceMax.html"},
	"ReduceMean":         {reduce("ReduceMean"), "https://onnx.ai/onnx/operators/onnx__ReduceMean.html"},
	"ReduceMin":          {foldOr(foldReduce("ReduceMin"), reduce("ReduceMin")), "https://onnx.ai/onnx/operators/onnx__ReduceMin.html"},
	"ReduceProd":         {foldOr(foldReduce("ReduceProd"), reduce("ReduceProd")), "https://onnx.ai/onnx/operators/onnx__ReduceProd.html"},
	"ReduceSum":          {foldOr(foldReduce("ReduceSum"), reduce("ReduceSum")), "https://onnx.ai/onnx/operators/onnx__ReduceSum.html"},
	"Relu":               {relu, "https://onnx.ai/onnx/operators/onnx__Relu.html"},
	"Reshape":            {foldOr(foldReshape, reshape), "https://onnx.ai/onnx/operators/onnx__Reshape.html"},
	"Resize":             {resize(false), "https://onnx.ai/onnx/operators/onnx__Resize.html"},
	"Sigmoid":            {unary("Sigmoid"), "https://onnx.ai/onnx/operators/onnx__Sigmoid.html"},
	"Slice":              {slice, "https://onnx.ai/onnx/operators/onnx__Slice.html"},
	"Softmax":            {softmax(false), "https://onnx.ai/onnx/operators/onnx__Softmax.html"},
	"Split":              {foldOr(foldSplit, floatSplit), "https://onnx.ai/onnx/operators/onnx__Split.html"},
	"Sqrt":               {foldOr(foldUnary("Sqrt"), unary("Sqrt")), "https://onnx.ai/onnx/operators/onnx__Sqrt.html"},
	"Sub":                {foldOr(foldBinary("Sub"), elementwise("Sub")), "https://onnx.ai/onnx/operators/onnx__Sub.html"},
	"Squeeze":            {squeeze, "https://onnx.ai/onnx/operators/onnx__Squeeze.html"},
	"Tanh":               {unary("Tanh"), "https://onnx.ai/onnx/operators/onnx__Tanh.html"},
	"Tile":               {tile, "https://onnx.ai/onnx/operators/onnx__Tile.html"},
	"Transpose":          {foldOr(foldTranspose, transpose), "https://onnx.ai/onnx/operators/onnx__Transpose.html"},
	"Unsqueeze":          {unsqueeze, "https://onnx.ai/onnx/operators/onnx__Unsqueeze.html"},
	"Upsample":           {resize(true), "https://onnx.ai/onnx/operators/onnx__Upsample.html"},
}

// shapeHandlers are the ops of integer shape computations (fold.go): evaluated
// at import time on known inputs, they never become graph nodes. ShapeOps prints
// their keys.
var shapeHandlers = map[string]handler{
	"And":             {foldBinary("And"), "https://onnx.ai/onnx/operators/onnx__And.html"},
	"Cast":            {cast, "https://onnx.ai/onnx/operators/onnx__Cast.html"},
	"Ceil":            {foldUnary("Ceil"), "https://onnx.ai/onnx/operators/onnx__Ceil.html"},
	"Equal":           {foldBinary("Equal"), "https://onnx.ai/onnx/operators/onnx__Equal.html"},
	"Floor":           {foldUnary("Floor"), "https://onnx.ai/onnx/operators/onnx__Floor.html"},
	"Greater":         {foldBinary("Greater"), "https://onnx.ai/onnx/operators/onnx__Greater.html"},
	"Less":            {foldBinary("Less"), "https://onnx.ai/onnx/operators/onnx__Less.html"},
	"Mod":             {foldBinary("Mod"), "https://onnx.ai/onnx/operators/onnx__Mod.html"},
	"Not":             {foldUnary("Not"), "https://onnx.ai/onnx/operators/onnx__Not.html"},
	"Or":              {foldBinary("Or"), "https://onnx.ai/onnx/operators/onnx__Or.html"},
	"Range":           {foldRange, "https://onnx.ai/onnx/operators/onnx__Range.html"},
	"Round":           {foldUnary("Round"), "https://onnx.ai/onnx/operators/onnx__Round.html"},
	"Where":           {foldWhere, "https://onnx.ai/onnx/operators/onnx__Where.html"},
	"ConstantOfShape": {constantOfShape, "https://onnx.ai/onnx/operators/onnx__ConstantOfShape.html"},
	"Gather":          {gather, "https://onnx.ai/onnx/operators/onnx__Gather.html"},
	"Shape":           {shapeOp, "https://onnx.ai/onnx/operators/onnx__Shape.html"},
}

// ShapeOps returns the ONNX op types Decode evaluates at import time in shape
// computations (such as PyTorch's x.view(x.size(0), -1) with dynamic axes), sorted.
// They are accepted only where every input is known at import time and the
// result ends in Reshape's shape input.
func ShapeOps() []string {
	ops := make([]string, 0, len(shapeHandlers))
	for op := range shapeHandlers {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// SupportedOps returns the ONNX op types (default domain, opsets 7..17) that
// Decode accepts, sorted.
func SupportedOps() []string {
	ops := make([]string, 0, len(handlers))
	for op := range handlers {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// OpSpec returns the ONNX documentation page of a supported op or shape op, or "".
func OpSpec(op string) string {
	if h, ok := handlers[op]; ok {
		return h.spec
	}
	return shapeHandlers[op].spec
}

// ints converts attribute ints, checking each against [lo, hi].
func (c *nodeCtx) checkInts(name string, v []int64, n int, lo, hi int64) ([]int, error) {
	if v == nil {
		return nil, nil
	}
	if n >= 0 && len(v) != n {
		return nil, c.formatf("attribute %q has %d values, want %d", name, len(v), n)
	}
	out := make([]int, len(v))
	for i, x := range v {
		if x < lo || x > hi {
			return nil, c.formatf("attribute %q value #%d is %d, want %d..%d", name, i, x, lo, hi)
		}
		out[i] = int(x)
	}
	return out, nil
}

// maxWindow bounds kernel sizes, strides, dilations and pads: far above any real
// model, low enough that window arithmetic cannot overflow.
const maxWindow = 1 << 16

// window reads the sliding-window attributes shared by Conv and the pools for
// k spatial dims of input x (N,C,spatial...): kernel_shape (or kernel, taken from
// W for Conv), strides, dilations, pads and auto_pad, resolved to explicit begin
// and end pads (https://onnx.ai/onnx/operators/onnx__Conv.html#attributes).
type windowAttrs struct {
	kernel, strides, dilations, begin, end []int
}

func (c *nodeCtx) window(x []int, kernel []int, withDilations bool) (*windowAttrs, error) {
	k := len(x) - 2
	w := &windowAttrs{kernel: kernel}
	var err error
	if w.strides, err = c.checkInts("strides", c.a.ints("strides"), k, 1, maxWindow); err != nil {
		return nil, err
	}
	if withDilations {
		if w.dilations, err = c.checkInts("dilations", c.a.ints("dilations"), k, 1, maxWindow); err != nil {
			return nil, err
		}
	}
	pads, err := c.checkInts("pads", c.a.ints("pads"), 2*k, 0, maxWindow)
	if err != nil {
		return nil, err
	}
	autoPad := c.a.string("auto_pad", "NOTSET")
	ones := func() []int {
		s := make([]int, k)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	if w.strides == nil {
		w.strides = ones()
	}
	if w.dilations == nil {
		w.dilations = ones()
	}
	w.begin, w.end = make([]int, k), make([]int, k)
	switch autoPad {
	case "NOTSET":
		if pads != nil {
			copy(w.begin, pads[:k])
			copy(w.end, pads[k:])
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		for i := range k {
			in := x[2+i]
			if in <= 0 {
				return nil, c.unsupported("auto_pad %s needs a fixed size for spatial dim #%d", autoPad, i)
			}
			out := (in + w.strides[i] - 1) / w.strides[i]
			total := max(0, (out-1)*w.strides[i]+(w.kernel[i]-1)*w.dilations[i]+1-in)
			small := total / 2
			if autoPad == "SAME_UPPER" {
				w.begin[i], w.end[i] = small, total-small
			} else {
				w.begin[i], w.end[i] = total-small, small
			}
		}
	default:
		return nil, c.formatf("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", autoPad)
	}
	if autoPad != "NOTSET" && pads != nil {
		return nil, c.formatf("pads and auto_pad %s are both given", autoPad)
	}
	return w, nil
}

// conv: https://onnx.ai/onnx/operators/onnx__Conv.html (opsets 1, 11: v11 only
// relaxed auto_pad rules). 2-D and 1-D (as a 2-D conv of height 1 between two
// Reshapes); group g > 1 (grouped and depthwise) as g Slices of the input's
// channels, g Convs with the matching slices of W and B, and a Concat. W and the
// bias must be initializers when they are sliced or reshaped; otherwise the bias
// must still be one.
func conv(c *nodeCtx) error {
	ins, outs, err := c.io(2, 3, 1, 1)
	if err != nil {
		return err
	}
	x, w := c.shape(ins[0]), c.shape(ins[1])
	if len(x) != len(w) || len(x) != 4 && len(x) != 3 {
		return c.unsupported("only 1-D and 2-D convolution are supported (X %v, W %v)", x, w)
	}
	k := len(x) - 2
	group := c.a.int("group", 1)
	if group < 1 || x[1] == graph.Batch || group > int64(x[1]) || x[1]%int(group) != 0 || w[0]%int(group) != 0 || w[1]*int(group) != x[1] {
		return c.formatf("group %d does not fit X %v and W %v", group, x, w)
	}
	kernel, err := c.checkInts("kernel_shape", c.a.ints("kernel_shape"), k, 1, maxWindow)
	if err != nil {
		return err
	}
	if kernel == nil {
		kernel = w[2:]
	}
	win, err := c.window(x, kernel, true)
	if err != nil {
		return err
	}
	if len(ins) == 3 && ins[2] != "" && c.constant(ins[2]) == nil {
		return c.unsupported("bias %q must be an initializer", ins[2])
	}
	op := &graph.Conv{}
	if k == 2 {
		op.KernelShape = [2]int{kernel[0], kernel[1]}
		op.Strides = [2]int{win.strides[0], win.strides[1]}
		op.Pads = [4]int{win.begin[0], win.begin[1], win.end[0], win.end[1]}
		op.Dilations = [2]int{win.dilations[0], win.dilations[1]}
	} else {
		op.KernelShape = [2]int{1, kernel[0]}
		op.Strides = [2]int{1, win.strides[0]}
		op.Pads = [4]int{0, win.begin[0], 0, win.end[0]}
		op.Dilations = [2]int{1, win.dilations[0]}
	}
	if a := c.imp.padAlias[ins[0]]; a != nil {
		// A zero Pad before this conv (pad.go): pad inside the conv instead.
		ins = slices.Clone(ins)
		ins[0] = a.src
		op.Pads = [4]int{op.Pads[0] + a.begin[0], op.Pads[1] + a.begin[1], op.Pads[2] + a.end[0], op.Pads[3] + a.end[1]}
	}
	if k == 2 && group == 1 {
		return c.add(op, ins, outs)
	}
	wp := c.constant(ins[1])
	if wp == nil || wp.Data == nil {
		return c.unsupported("W %q must be a float initializer for a 1-D or grouped convolution", ins[1])
	}
	var bp *graph.Tensor
	if len(ins) == 3 && ins[2] != "" {
		if bp = c.constant(ins[2]); bp.Data == nil {
			return c.formatf("bias %q is not float", ins[2])
		}
		c.imp.foldRead[ins[2]] = true // replaced by its slices when unused
	}
	c.imp.foldRead[ins[1]] = true
	in, out := ins[0], outs[0]
	if k == 1 {
		// (N,C,L) -> (N,C,1,L); the result (N,M,1,L') -> (N,M,L').
		if in, err = c.reshapeConst(in, []int64{0, int64(x[1]), 1, int64(x[2])}); err != nil {
			return err
		}
		out = c.temp("conv2d")
	}
	g := int(group)
	cg, mg := x[1]/g, w[0]/g
	per := wp.Size() / w[0] // elements of one output channel's filter
	var parts []string
	for i := range g {
		xi := in
		if g > 1 {
			xi = c.temp(fmt.Sprintf("x%d", i))
			if err := c.add(&graph.Slice{Axis: 1, Start: i * cg, End: (i + 1) * cg}, []string{in}, []string{xi}); err != nil {
				return err
			}
		}
		wi := &graph.Tensor{Name: c.imp.uniqueParamName(fmt.Sprintf("%s.group%d", ins[1], i)), Dims: []int{mg, cg, op.KernelShape[0], op.KernelShape[1]},
			Data: slices.Clone(wp.Data[i*mg*per : (i+1)*mg*per]), Doc: wp.Doc}
		if g == 1 {
			wi.Name = c.imp.uniqueParamName(ins[1] + ".2d")
		}
		if err := c.imp.addParam(wi); err != nil {
			return err
		}
		convIns := []string{xi, wi.Name}
		if bp != nil {
			bi := &graph.Tensor{Name: c.imp.uniqueParamName(fmt.Sprintf("%s.group%d", ins[2], i)), Dims: []int{mg}, Data: slices.Clone(bp.Data[i*mg : (i+1)*mg])}
			if err := c.imp.addParam(bi); err != nil {
				return err
			}
			convIns = append(convIns, bi.Name)
		}
		yi := out
		if g > 1 {
			yi = c.temp(fmt.Sprintf("y%d", i))
		}
		o := *op
		if err := c.add(&o, convIns, []string{yi}); err != nil {
			return err
		}
		parts = append(parts, yi)
	}
	if g > 1 {
		if err := c.add(&graph.Concat{Axis: 1}, parts, []string{out}); err != nil {
			return err
		}
	}
	if k == 1 {
		y := c.shape(out)
		return c.reshapeTo2(out, outs[0], []int64{0, int64(y[1]), int64(y[3])})
	}
	return nil
}

// reshapeConst adds a Reshape of in to the constant shape vals (0 copies the
// batch dim) and returns the result's name.
func (c *nodeCtx) reshapeConst(in string, vals []int64) (string, error) {
	out := c.temp("reshaped")
	return out, c.reshapeTo2(in, out, vals)
}

func (c *nodeCtx) reshapeTo2(in, out string, vals []int64) error {
	name := c.imp.uniqueParamName(c.name + ".shape")
	c.imp.consts[name] = true
	if err := c.imp.addParam(&graph.Tensor{Name: name, Dims: []int{len(vals)}, Int64: vals}); err != nil {
		return err
	}
	return c.add(&graph.Reshape{}, []string{in, name}, []string{out})
}

// pool reads MaxPool and AveragePool: https://onnx.ai/onnx/operators/onnx__MaxPool.html
// (ceil_mode and dilations since opset 10, storage_order since 8, the Indices output
// is not supported), https://onnx.ai/onnx/operators/onnx__AveragePool.html
// (count_include_pad; ceil_mode since 10; dilations only since 19, beyond our range).
func pool(c *nodeCtx, average bool) error {
	maxOut := 1
	if !average {
		maxOut = 2
	}
	ins, outs, err := c.io(1, 1, 1, maxOut)
	if err != nil {
		return err
	}
	if len(outs) > 1 {
		return c.unsupported("the Indices output")
	}
	x := c.shape(ins[0])
	if len(x) < 3 || len(x) > 5 {
		return c.unsupported("input rank %d (1-D, 2-D and 3-D pooling are supported)", len(x))
	}
	k := len(x) - 2
	kernel, err := c.checkInts("kernel_shape", c.a.ints("kernel_shape"), k, 1, maxWindow)
	if err != nil {
		return err
	}
	if kernel == nil {
		return c.formatf("kernel_shape is required")
	}
	ceil := false
	if c.opset() >= 10 {
		ceil = c.a.bool("ceil_mode", false)
	}
	includePad := false
	if average {
		includePad = c.a.bool("count_include_pad", false)
	} else if c.opset() >= 8 {
		// storage_order only affects the Indices output, which we reject.
		c.a.int("storage_order", 0)
	}
	win, err := c.window(x, kernel, !average && c.opset() >= 10 || average && c.opset() >= 19)
	if err != nil {
		return err
	}
	return c.add(&graph.Pool{
		Average:         average,
		KernelShape:     kernel,
		Strides:         win.strides,
		Pads:            append(slices.Clone(win.begin), win.end...),
		Dilations:       win.dilations,
		CeilMode:        ceil,
		CountIncludePad: includePad,
	}, ins, outs)
}

func maxPool(c *nodeCtx) error     { return pool(c, false) }
func averagePool(c *nodeCtx) error { return pool(c, true) }

// globalAveragePool: https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html (2-D).
func globalAveragePool(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1, 1, 1)
	if err != nil {
		return err
	}
	if x := c.shape(ins[0]); len(x) != 4 {
		return c.unsupported("input rank %d (only (N,C,H,W) is supported)", len(x))
	}
	return c.add(&graph.GlobalAveragePool{}, ins, outs)
}

// batchNorm: https://onnx.ai/onnx/operators/onnx__BatchNormalization.html.
// Inference only: opset < 9 has the spatial attribute (only 1, the default, is
// supported), opset >= 14 has training_mode (only 0). The extra outputs exist only
// in training. Scale, B, mean and var must be initializers.
func batchNorm(c *nodeCtx) error {
	ins, outs, err := c.io(5, 5, 1, 5)
	if err != nil {
		return err
	}
	if len(outs) > 1 {
		return c.unsupported("training outputs (running or saved mean and variance)")
	}
	eps := c.a.float("epsilon", 1e-5)
	mom := c.a.float("momentum", 0.9)
	if c.opset() < 9 && !c.a.bool("spatial", true) {
		return c.unsupported("spatial=0 (per-activation statistics)")
	}
	if c.opset() >= 14 && c.a.bool("training_mode", false) {
		return c.unsupported("training_mode=1")
	}
	if !(eps > 0) || !(mom >= 0 && mom <= 1) {
		return c.formatf("epsilon %g must be positive and momentum %g in [0,1]", eps, mom)
	}
	if x := c.shape(ins[0]); len(x) != 2 && len(x) != 4 {
		return c.unsupported("input rank %d (2 or 4 are supported)", len(x))
	}
	for i, what := range []string{"scale", "B", "mean", "var"} {
		if p := c.constant(ins[i+1]); p == nil || p.Data == nil {
			return c.unsupported("%s (input #%d %q) must be a float initializer", what, i+1, ins[i+1])
		}
	}
	c.imp.stats[ins[3]] = true
	c.imp.stats[ins[4]] = true
	m := float64(mom)
	if m == 0 {
		m = math.SmallestNonzeroFloat32 // graph.BatchNorm reads 0 as the default 0.9
	}
	return c.add(&graph.BatchNorm{Epsilon: float64(eps), Momentum: m}, ins, outs)
}

// relu: https://onnx.ai/onnx/operators/onnx__Relu.html.
func relu(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1, 1, 1)
	if err != nil {
		return err
	}
	return c.add(&graph.Relu{}, ins, outs)
}

// identity: https://onnx.ai/onnx/operators/onnx__Identity.html.
func identity(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1, 1, 1)
	if err != nil {
		return err
	}
	if f := c.imp.folded[ins[0]]; f != nil {
		return c.fold(outs[0], f.reshaped(f.dims)) // within a shape computation
	}
	return c.add(&graph.Identity{}, ins, outs)
}

// elementwise: https://onnx.ai/onnx/operators/onnx__Add.html, Sub, Mul, Div (numpy
// broadcasting since opset 7, the start of our range).
func elementwise(kind string) func(c *nodeCtx) error {
	return func(c *nodeCtx) error {
		ins, outs, err := c.io(2, 2, 1, 1)
		if err != nil {
			return err
		}
		return c.add(&graph.Binary{Kind: kind}, ins, outs)
	}
}

// flatten: https://onnx.ai/onnx/operators/onnx__Flatten.html (axis default 1;
// negative axes since opset 11).
func flatten(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1, 1, 1)
	if err != nil {
		return err
	}
	axis := c.a.int("axis", 1)
	r := int64(len(c.shape(ins[0])))
	if axis < -r || axis > r {
		return c.formatf("axis %d out of range for rank %d", axis, r)
	}
	return c.add(&graph.Flatten{Axis: int(axis)}, ins, outs)
}

// reshape: https://onnx.ai/onnx/operators/onnx__Reshape.html (shape is input #1
// since opset 5; allowzero since 14). The shape must be known at import: a
// constant, or a shape computation folded at import (fold.go), whose batch
// entries become 0 (copy the input's batch dim). Under Options.DynamicBatch a
// constant shape whose first entry is the fixed batch of 1 that the export was
// traced with ([1,256], [1,-1]: the zoo's mnist-8, PyTorch without dynamic axes)
// gets 0 there too, so that the model runs at any batch size.
func reshape(c *nodeCtx) error {
	ins, outs, err := c.io(2, 2, 1, 1)
	if err != nil {
		return err
	}
	allowZero := false
	if c.opset() >= 14 {
		allowZero = c.a.bool("allowzero", false)
	}
	x := c.shape(ins[0])
	if f := c.imp.folded[ins[1]]; f != nil {
		name, err := c.foldedShape(f, ins[1], x, allowZero)
		if err != nil {
			return err
		}
		return c.add(&graph.Reshape{}, []string{ins[0], name}, outs)
	}
	s := c.constant(ins[1])
	if s == nil || s.Int64 == nil {
		return c.unsupported("shape input %q is computed at run time from values not known at import (hint: export with a static shape, e.g. x.flatten(1) or x.view(x.size(0), -1), which the importer folds)", ins[1])
	}
	if len(s.Dims) != 1 {
		return c.formatf("shape input %q has dims %v, want 1-D", ins[1], s.Dims)
	}
	if allowZero && slices.Contains(s.Int64, 0) {
		return c.unsupported("allowzero=1 with a 0 in the shape (zero-size tensors)")
	}
	if c.imp.opts.DynamicBatch && len(x) > 0 && x[0] == graph.Batch && len(s.Int64) > 0 && s.Int64[0] == 1 {
		vals := slices.Clone(s.Int64)
		vals[0] = 0
		name := c.imp.uniqueParamName(ins[1] + ".batch")
		c.imp.consts[name] = true
		c.imp.foldRead[ins[1]] = true // dropped unless another node reads it
		if err := c.imp.addParam(&graph.Tensor{Name: name, Dims: []int{len(vals)}, Int64: vals,
			Doc: fmt.Sprintf("%s with its leading 1 (the batch the model was exported with) read as the batch (Options.DynamicBatch)", ins[1])}); err != nil {
			return err
		}
		ins = []string{ins[0], name}
	}
	return c.add(&graph.Reshape{}, ins, outs)
}

// gemm: https://onnx.ai/onnx/operators/onnx__Gemm.html (C optional since 11).
// PyTorch's Linear exports transB=1: kept as Gemm{TransB: true}.
func gemm(c *nodeCtx) error {
	minIn := 2
	if c.opset() < 11 {
		minIn = 3
	}
	ins, outs, err := c.io(minIn, 3, 1, 1)
	if err != nil {
		return err
	}
	alpha := c.a.float("alpha", 1)
	beta := c.a.float("beta", 1)
	op := &graph.Gemm{Alpha: float64(alpha), Beta: float64(beta), TransA: c.a.bool("transA", false), TransB: c.a.bool("transB", false)}
	if alpha == 0 {
		return c.unsupported("alpha=0")
	}
	if beta == 0 && len(ins) == 3 {
		ins = ins[:2] // graph.Gemm reads Beta 0 as 1; beta 0 means no C
	}
	return c.add(op, ins, outs)
}

// matMul: https://onnx.ai/onnx/operators/onnx__MatMul.html (numpy matmul).
func matMul(c *nodeCtx) error {
	ins, outs, err := c.io(2, 2, 1, 1)
	if err != nil {
		return err
	}
	return c.add(&graph.MatMul{}, ins, outs)
}

// softmax: https://onnx.ai/onnx/operators/onnx__Softmax.html and
// https://onnx.ai/onnx/operators/onnx__LogSoftmax.html. Before opset 13 the input is
// coerced to 2-D around axis (default 1); since 13 the op works along one axis
// (default -1). The old form is the new one when axis is the last dim; otherwise the
// op gets Coerce2D.
func softmax(log bool) func(c *nodeCtx) error {
	return func(c *nodeCtx) error {
		ins, outs, err := c.io(1, 1, 1, 1)
		if err != nil {
			return err
		}
		def := int64(-1)
		if c.opset() < 13 {
			def = 1
		}
		axis := c.a.int("axis", def)
		r := int64(len(c.shape(ins[0])))
		if axis < -r || axis >= r {
			return c.formatf("axis %d out of range for rank %d", axis, r)
		}
		op := &graph.Softmax{Axis: int(axis), Log: log}
		if a := (axis + r) % r; c.opset() < 13 && a != r-1 {
			op.Coerce2D = true
		}
		return c.add(op, ins, outs)
	}
}

// argMax: https://onnx.ai/onnx/operators/onnx__ArgMax.html (axis 0 and keepdims 1 by
// default; select_last_index since 12).
func argMax(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1, 1, 1)
	if err != nil {
		return err
	}
	op := &graph.ArgMax{Axis: int(c.a.int("axis", 0)), KeepDims: c.a.bool("keepdims", true)}
	if c.opset() >= 12 {
		op.SelectLastIndex = c.a.bool("select_last_index", false)
	}
	r := len(c.shape(ins[0]))
	if op.Axis < -r || op.Axis >= r {
		return c.formatf("axis %d out of range for rank %d", op.Axis, r)
	}
	return c.add(op, ins, outs)
}

// dropout: https://onnx.ai/onnx/operators/onnx__Dropout.html. Opsets 7-11: ratio
// attribute; since 12: ratio and training_mode inputs and a seed attribute. We
// import inference graphs: training_mode and the bool mask output are not
// supported. A ratio of 0 becomes Identity (graph.Dropout reads 0 as 0.5).
func dropout(c *nodeCtx) error {
	maxIn := 1
	if c.opset() >= 12 {
		maxIn = 3
	}
	ins, outs, err := c.io(1, maxIn, 1, 2)
	if err != nil {
		return err
	}
	if len(outs) > 1 {
		return c.unsupported("the mask output (bool)")
	}
	ratio := float64(0.5)
	if c.opset() < 12 {
		ratio = float64(c.a.float("ratio", 0.5))
	} else {
		c.a.int("seed", 0)
		if len(ins) == 3 && ins[2] != "" {
			return c.unsupported("training_mode input (training-mode dropout draws random masks)")
		}
		if len(ins) >= 2 && ins[1] != "" {
			if p := c.constant(ins[1]); p != nil && len(p.Data) == 1 {
				ratio = float64(p.Data[0])
			} else if p != nil {
				return c.formatf("ratio %q must be a float scalar", ins[1])
			}
		}
	}
	if !(ratio >= 0 && ratio < 1) {
		return c.formatf("ratio %g must be in [0,1)", ratio)
	}
	if ratio == 0 {
		return c.add(&graph.Identity{}, ins[:1], outs)
	}
	return c.add(&graph.Dropout{Ratio: ratio}, ins[:1], outs)
}

// transpose: https://onnx.ai/onnx/operators/onnx__Transpose.html (perm defaults to
// reversing the dims).
func transpose(c *nodeCtx) error {
	ins, outs, err := c.io(1, 1, 1, 1)
	if err != nil {
		return err
	}
	r := len(c.shape(ins[0]))
	perm, err := c.checkInts("perm", c.a.ints("perm"), r, 0, int64(max(r-1, 0)))
	if err != nil {
		return err
	}
	return c.add(&graph.Transpose{Perm: perm}, ins, outs)
}

// constant: https://onnx.ai/onnx/operators/onnx__Constant.html. The value becomes a
// parameter named after the output (value since opset 1; value_float(s) and
// value_int(s) since 12; sparse and string values are not supported).
func constant(c *nodeCtx) error {
	_, outs, err := c.io(0, 0, 1, 1)
	if err != nil {
		return err
	}
	var p *graph.Tensor
	given := 0
	if t := c.a.tensor("value"); t != nil {
		given++
		if p, err = decodeTensor(t, c.imp.ext); err != nil {
			return err
		}
	}
	if c.a.has("sparse_value") {
		return c.unsupported("sparse_value")
	}
	c.a.used["sparse_value"] = true
	if c.opset() >= 12 {
		if c.a.has("value_float") {
			given++
			p = &graph.Tensor{Dims: []int{}, Data: []float32{c.a.float("value_float", 0)}}
		}
		if c.a.has("value_floats") {
			given++
			v := c.a.floats("value_floats")
			p = &graph.Tensor{Dims: []int{len(v)}, Data: slices.Clone(v)}
		}
		if c.a.has("value_int") {
			given++
			p = &graph.Tensor{Dims: []int{}, Int64: []int64{c.a.int("value_int", 0)}}
		}
		if c.a.has("value_ints") {
			given++
			v := c.a.ints("value_ints")
			p = &graph.Tensor{Dims: []int{len(v)}, Int64: slices.Clone(v)}
		}
		if c.a.has("value_string") || c.a.has("value_strings") {
			return c.unsupported("string constants")
		}
	}
	if c.a.err != nil {
		return c.a.err
	}
	if given != 1 || p == nil {
		return c.formatf("Constant needs exactly one value attribute, has %d", given)
	}
	if p.Int64 == nil && p.Data == nil {
		p.Data = []float32{}
	}
	p.Name = outs[0]
	p.Doc = c.n.GetDocString()
	c.imp.consts[p.Name] = true
	return c.imp.addParam(p)
}

var _ = fmt.Sprint
