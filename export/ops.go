package export

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/onnxdigits/onnxdigits/onnx"

	"github.com/onnxdigits/onnxdigits/graph"
)

// This file holds one exporter per op kind of package graph, in the manner of
// torch.onnx's symbolic functions, and the one type switch that dispatches to
// them. Every attribute is written explicitly, also where it equals the ONNX
// default, so that the file does not depend on a reader knowing the defaults of
// opset 13 (ArgMax's are axis 0, keepdims 1: the opposite of what we need).

// node exports the i-th node of the model.
func (b *builder) node(i int, n *graph.Node) error {
	switch op := n.Op.(type) {
	case *graph.Conv:
		exportConv(b, n, op)
	case *graph.BatchNorm:
		exportBatchNorm(b, n, op)
	case *graph.Relu:
		exportRelu(b, n)
	case *graph.Pool:
		return exportPool(b, i, n, op)
	case *graph.GlobalAveragePool:
		exportGlobalAveragePool(b, n)
	case *graph.Flatten:
		exportFlatten(b, n, op)
	case *graph.Reshape:
		exportReshape(b, n)
	case *graph.Transpose:
		exportTranspose(b, n, op)
	case *graph.Identity:
		exportIdentity(b, n)
	case *graph.Dropout:
		exportDropout(b, n, op)
	case *graph.Gemm:
		exportGemm(b, n, op)
	case *graph.MatMul:
		exportMatMul(b, n)
	case *graph.Binary:
		return exportBinary(b, i, n, op)
	case *graph.Softmax:
		return exportSoftmax(b, i, n, op)
	case *graph.ArgMax:
		return exportArgMax(b, i, n, op)
	default:
		typ := "<nil>"
		if n.Op != nil {
			typ = n.Op.Type()
		}
		return &UnsupportedLayerError{Layer: n.Name, Index: i, Op: typ}
	}
	return nil
}

// SupportedOps lists the ONNX op types the exporter writes.
func SupportedOps() []string {
	return []string{"Add", "ArgMax", "AveragePool", "BatchNormalization", "Conv", "Div", "Dropout (omitted)",
		"Flatten", "Gemm", "GlobalAveragePool", "Identity", "LogSoftmax", "MatMul", "MaxPool", "Mul",
		"Relu", "Reshape", "Softmax", "Sub", "Transpose"}
}

func or1(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// exportConv: https://onnx.ai/onnx/operators/onnx__Conv.html. W is (M,C,kH,kW) in
// both; pads are [top,left,bottom,right] in both. The bias is the optional third
// input. Zero strides, dilations and group in graph.Conv mean 1.
func exportConv(b *builder, n *graph.Node, c *graph.Conv) {
	k := c.KernelShape
	if k == [2]int{} {
		// Inferred from W, as ONNX does when kernel_shape is absent.
		if w := b.shapes[n.Inputs[1]]; len(w) == 4 {
			k = [2]int{w[2], w[3]}
		}
	}
	s := [2]int{or1(c.Strides[0]), or1(c.Strides[1])}
	d := [2]int{or1(c.Dilations[0]), or1(c.Dilations[1])}
	filters := 0
	if w := b.shapes[n.Inputs[1]]; len(w) == 4 {
		filters = w[0]
	}
	bias := "no bias"
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		bias = "bias"
	}
	doc := fmt.Sprintf("%dx%d convolution, %d filters, %s, stride %d, pads %v", k[0], k[1], filters, bias, s[0], c.Pads)
	b.add(n, "Conv", doc,
		attrInts("dilations", d[:]...),
		attrInt("group", int64(or1(c.Group))),
		attrInts("kernel_shape", k[:]...),
		attrInts("pads", c.Pads[:]...),
		attrInts("strides", s[:]...),
	)
}

// exportBatchNorm: https://onnx.ai/onnx/operators/onnx__BatchNormalization.html
// (opset 9-13: inference form with one output; training_mode arrives in opset 14).
// Inputs X, scale, B, running mean, running var, as in graph.BatchNorm. ONNX's
// momentum has the same meaning as ours (the weight of the running value, 0.9).
func exportBatchNorm(b *builder, n *graph.Node, bn *graph.BatchNorm) {
	eps, mom := bn.Epsilon, bn.Momentum
	if eps == 0 {
		eps = 1e-5
	}
	if mom == 0 {
		mom = 0.9
	}
	b.add(n, "BatchNormalization",
		"batch normalization with the running statistics: y = scale*(x-mean)/sqrt(var+epsilon) + B",
		attrFloat("epsilon", eps),
		attrFloat("momentum", mom),
	)
}

// exportRelu: https://onnx.ai/onnx/operators/onnx__Relu.html.
func exportRelu(b *builder, n *graph.Node) {
	b.add(n, "Relu", "max(x, 0)")
}

// exportPool: https://onnx.ai/onnx/operators/onnx__MaxPool.html and
// https://onnx.ai/onnx/operators/onnx__AveragePool.html, 1-D to 3-D; the ONNX
// pads are all begin pads, then all end pads, as in graph.Pool.
// count_include_pad exists only for AveragePool, dilations only for MaxPool
// (AveragePool gains them in opset 19, so a dilated average pool cannot be
// written at opset 13).
func exportPool(b *builder, i int, n *graph.Node, p *graph.Pool) error {
	w, err := p.Normalized()
	if err != nil {
		return &UnsupportedLayerError{Layer: n.Name, Index: i, Op: p.Type(), Reason: err.Error()}
	}
	return writePool(b, i, n, w.Average, w.CeilMode, w.CountIncludePad, w.KernelShape, w.Strides, w.Dilations, w.Pads)
}

func writePool(b *builder, i int, n *graph.Node, average, ceil, includePad bool, kernel, strides, dilations, pads []int) error {
	attrs := []*onnx.AttributeProto{attrInt("ceil_mode", boolInt(ceil))}
	kind, op := "max", "MaxPool"
	if average {
		kind, op = "average", "AveragePool"
		dilated := slices.ContainsFunc(dilations, func(d int) bool { return d != 1 })
		if dilated && b.opset < 19 {
			return &UnsupportedLayerError{Layer: n.Name, Index: i, Op: op,
				Reason: fmt.Sprintf("dilations %v: AveragePool has no dilations before opset 19 (export with --opset 19 or later)", dilations)}
		}
		attrs = append(attrs, attrInt("count_include_pad", boolInt(includePad)))
		if dilated {
			attrs = append(attrs, attrInts("dilations", dilations...))
		}
	} else {
		attrs = append(attrs, attrInts("dilations", dilations...))
	}
	attrs = append(attrs,
		attrInts("kernel_shape", kernel...),
		attrInts("pads", pads...),
		attrInts("strides", strides...),
	)
	size := make([]string, len(kernel))
	for j, v := range kernel {
		size[j] = strconv.Itoa(v)
	}
	doc := fmt.Sprintf("%s %s pooling, strides %v", strings.Join(size, "x"), kind, strides)
	b.add(n, op, doc, attrs...)
	return nil
}

// exportGlobalAveragePool: https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html.
func exportGlobalAveragePool(b *builder, n *graph.Node) {
	b.add(n, "GlobalAveragePool", "mean over H and W: (N,C,H,W) -> (N,C,1,1)")
}

// exportFlatten: https://onnx.ai/onnx/operators/onnx__Flatten.html.
func exportFlatten(b *builder, n *graph.Node, f *graph.Flatten) {
	b.add(n, "Flatten", fmt.Sprintf("reshape to 2-D at axis %d", f.Axis), attrInt("axis", int64(f.Axis)))
}

// exportReshape: https://onnx.ai/onnx/operators/onnx__Reshape.html. The target shape
// is the int64 parameter at input #1, written as an initializer; opset 13 has no
// allowzero attribute (0 copies the input dim, as in graph.Reshape).
func exportReshape(b *builder, n *graph.Node) {
	b.add(n, "Reshape", "reshape to the int64 shape constant "+n.Inputs[1])
}

// exportTranspose: https://onnx.ai/onnx/operators/onnx__Transpose.html. An empty perm
// reverses the dims in both, so it is left out.
func exportTranspose(b *builder, n *graph.Node, t *graph.Transpose) {
	if len(t.Perm) == 0 {
		b.add(n, "Transpose", "reverse the dims")
		return
	}
	b.add(n, "Transpose", fmt.Sprintf("permute dims %v", t.Perm), attrInts("perm", t.Perm...))
}

// exportIdentity: https://onnx.ai/onnx/operators/onnx__Identity.html.
func exportIdentity(b *builder, n *graph.Node) {
	b.add(n, "Identity", "pass through")
}

// exportDropout omits the node: the file is for inference, where Dropout
// (https://onnx.ai/onnx/operators/onnx__Dropout.html) is the identity. Writing it
// would need its ratio as a tensor input (opset 12+) and would only add a no-op
// for every runtime; instead its consumers read its input and the graph's
// doc_string says so. When its output is a model output an Identity keeps that
// name.
func exportDropout(b *builder, n *graph.Node, d *graph.Dropout) {
	ratio := d.Ratio
	if ratio == 0 {
		ratio = 0.5
	}
	for _, out := range b.m.Outputs {
		if len(n.Outputs) > 0 && out.Name == n.Outputs[0] {
			nn := *n
			nn.Inputs = n.Inputs[:1]
			b.add(&nn, "Identity", fmt.Sprintf("dropout (ratio %g) is the identity at inference", ratio))
			return
		}
	}
	b.alias[n.Outputs[0]] = n.Inputs[0]
	b.notes = append(b.notes, fmt.Sprintf("Dropout %s (ratio %g) is omitted: it is the identity at inference.", n.Name, ratio))
}

// exportGemm: https://onnx.ai/onnx/operators/onnx__Gemm.html. Our dense weight B is
// (in,out) and multiplies as x·B, so transB is 0 (PyTorch's Linear writes (out,in)
// with transB=1). Zero Alpha and Beta in graph.Gemm mean 1.
func exportGemm(b *builder, n *graph.Node, g *graph.Gemm) {
	alpha, beta := g.Alpha, g.Beta
	if alpha == 0 {
		alpha = 1
	}
	if beta == 0 {
		beta = 1
	}
	out := 0
	if w := b.shapes[n.Inputs[1]]; len(w) == 2 {
		out = w[1]
		if g.TransB {
			out = w[0]
		}
	}
	b.add(n, "Gemm", fmt.Sprintf("fully connected, %d outputs: y = x·W + b", out),
		attrFloat("alpha", alpha),
		attrFloat("beta", beta),
		attrInt("transA", boolInt(g.TransA)),
		attrInt("transB", boolInt(g.TransB)),
	)
}

// exportMatMul: https://onnx.ai/onnx/operators/onnx__MatMul.html.
func exportMatMul(b *builder, n *graph.Node) {
	b.add(n, "MatMul", "matrix product")
}

// exportBinary: https://onnx.ai/onnx/operators/onnx__Add.html and Sub, Mul, Div
// (numpy broadcasting since opset 7, as graph.Binary). The input normalization of
// our models is the Sub named "normalize".
func exportBinary(b *builder, i int, n *graph.Node, o *graph.Binary) error {
	switch o.Kind {
	case "Add", "Sub", "Mul", "Div":
	default:
		return &UnsupportedLayerError{Layer: n.Name, Index: i, Op: o.Kind}
	}
	doc := "elementwise " + o.Kind
	if o.Kind == "Sub" && len(n.Inputs) == 2 && n.Inputs[1] == graph.MeanParam {
		doc = "input normalization: subtract the training mean image (zerocenter)"
	}
	b.add(n, o.Kind, doc)
	return nil
}

// exportSoftmax: https://onnx.ai/onnx/operators/onnx__Softmax.html and LogSoftmax,
// opset 13 semantics (a single axis); the axis is always written because the
// default changed from 1 to -1 in opset 13. A Coerce2D softmax (the opset < 13
// semantics an imported file may carry) is the same op when its axis is the
// last dim; otherwise it is written as opset 11 defined it: Flatten at the axis,
// Softmax over axis 1, Reshape back to the input's Shape.
//
// Before opset 13 (Options.Opset 11, 12) Softmax itself has the 2-D semantics:
// a Coerce2D softmax is written as it is, and a one-axis softmax only when its
// axis is the last dim (where both agree).
func exportSoftmax(b *builder, i int, n *graph.Node, s *graph.Softmax) error {
	x := b.shapes[n.Inputs[0]]
	axis := s.Axis
	if axis < 0 {
		axis += len(x)
	}
	if b.opset < 13 {
		if !s.Coerce2D && axis != len(x)-1 {
			return &UnsupportedLayerError{Layer: n.Name, Index: i, Op: s.Type(),
				Reason: fmt.Sprintf("a %s over axis %d of a rank-%d input cannot be written before opset 13 (it flattens the dims from the axis on); export at opset 13 or later", s.Type(), s.Axis, len(x))}
		}
		b.add(n, s.Type(), fmt.Sprintf("%s over axis %d (opset %d: over the dims from %d on, flattened)", s.Type(), s.Axis, b.opset, axis), attrInt("axis", int64(s.Axis)))
		return nil
	}
	if !s.Coerce2D || axis == len(x)-1 {
		b.add(n, s.Type(), fmt.Sprintf("%s over axis %d", s.Type(), s.Axis), attrInt("axis", int64(s.Axis)))
		return nil
	}
	in, out := b.in(n.Inputs[0]), n.Outputs[0]
	shape, flat, soft := out+"/shape", out+"/flat", out+"/2d"
	b.types[shape] = graph.Int64
	b.shapes[shape] = []int{len(x)}
	b.shapes[flat] = []int{prodDims(x[:axis]), prodDims(x[axis:])}
	b.shapes[soft] = b.shapes[flat]
	doc := fmt.Sprintf("%s over dims %d.. flattened together (opset < 13 semantics)", s.Type(), axis)
	b.add(&graph.Node{Name: n.Name + "/Shape", Inputs: []string{in}, Outputs: []string{shape}}, "Shape", "input shape, to restore it after the 2-D "+s.Type())
	b.types[shape] = graph.Int64
	b.add(&graph.Node{Name: n.Name + "/Flatten", Inputs: []string{in}, Outputs: []string{flat}}, "Flatten", doc, attrInt("axis", int64(axis)))
	b.add(&graph.Node{Name: n.Name + "/" + s.Type(), Inputs: []string{flat}, Outputs: []string{soft}}, s.Type(), doc, attrInt("axis", 1))
	b.add(&graph.Node{Name: n.Name + "/Reshape", Inputs: []string{soft, shape}, Outputs: []string{out}, Doc: n.Doc}, "Reshape", "back to the input's shape")
	return nil
}

// prodDims multiplies dims; any graph.Batch makes the result graph.Batch.
func prodDims(d []int) int {
	p := 1
	for _, v := range d {
		if v == graph.Batch {
			return graph.Batch
		}
		p *= v
	}
	return p
}

// exportArgMax: https://onnx.ai/onnx/operators/onnx__ArgMax.html. The defaults are
// axis 0 and keepdims 1, so both are always written; select_last_index (opset
// 12+) only when set.
func exportArgMax(b *builder, i int, n *graph.Node, a *graph.ArgMax) error {
	attrs := []*onnx.AttributeProto{
		attrInt("axis", int64(a.Axis)),
		attrInt("keepdims", boolInt(a.KeepDims)),
	}
	if a.SelectLastIndex {
		if b.opset < 12 {
			return &UnsupportedLayerError{Layer: n.Name, Index: i, Op: "ArgMax", Reason: "select_last_index exists from opset 12 on"}
		}
		attrs = append(attrs, attrInt("select_last_index", 1))
	}
	np := b.add(n, "ArgMax", fmt.Sprintf("index of the largest value along axis %d (int64)", a.Axis), attrs...)
	for _, out := range np.Output {
		b.types[out] = graph.Int64
	}
	return nil
}
