package onnximport

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/internal/testutil"
	"github.com/onnxdigits/onnxdigits/onnx"
)

// Builders for shape computations.

func attrTensor(name string, t *onnx.TensorProto) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_TENSOR, T: t}
}

// constInts is a Constant node making an int64 tensor out of dims (nil: a scalar).
func constInts(out string, dims []int64, v ...int64) *onnx.NodeProto {
	t := &onnx.TensorProto{Dims: dims, DataType: int32(onnx.TensorProto_INT64), Int64Data: v}
	return node("Constant", out+"/Constant", nil, []string{out}, attrTensor("value", t))
}

// unsq is Unsqueeze(in, axes) in the form of opset: attribute before 13, input since.
func unsq(opset int64, in, out string, axes ...int64) []*onnx.NodeProto {
	if opset < 13 {
		return []*onnx.NodeProto{node("Unsqueeze", out+"/Unsqueeze", []string{in}, []string{out}, attrInts("axes", axes...))}
	}
	return []*onnx.NodeProto{constInts(out+".axes", []int64{int64(len(axes))}, axes...),
		node("Unsqueeze", out+"/Unsqueeze", []string{in, out + ".axes"}, []string{out})}
}

// viewChain is PyTorch's x.view(x.size(0), -1) as exported with dynamic axes:
// Shape -> Gather(0) -> Unsqueeze -> Concat(with [-1]), from r into "shape".
func viewChain(opset int64) []*onnx.NodeProto {
	nodes := []*onnx.NodeProto{
		node("Shape", "/Shape", []string{"r"}, []string{"s"}),
		constInts("zero", nil, 0),
		node("Gather", "/Gather", []string{"s", "zero"}, []string{"n"}, attrInt("axis", 0)),
	}
	nodes = append(nodes, unsq(opset, "n", "n1", 0)...)
	return append(nodes, constInts("minus1", []int64{1}, -1),
		node("Concat", "/Concat", []string{"n1", "minus1"}, []string{"shape"}, attrInt("axis", 0)))
}

// shapeModel is x (N,2,3,4) -> Relu -> r; chain computes "shape" from r; y =
// Reshape(r, shape), declared with outDims.
func shapeModel(opset int64, chain []*onnx.NodeProto, outDims ...any) modelSpec {
	f32 := onnx.TensorProto_FLOAT
	nodes := []*onnx.NodeProto{node("Relu", "/Relu", []string{"x"}, []string{"r"})}
	nodes = append(nodes, chain...)
	nodes = append(nodes, node("Reshape", "/Reshape", []string{"r", "shape"}, []string{"y"}))
	return modelSpec{opset: opset, nodes: nodes,
		inputs:  []*onnx.ValueInfoProto{vi("x", f32, "N", 2, 3, 4)},
		outputs: []*onnx.ValueInfoProto{vi("y", f32, outDims...)},
	}
}

// TestFoldShapeChain imports hand-built shape computations feeding Reshape and runs
// each at two batch sizes: the symbolic batch entry must become 0 so that one
// imported graph serves any batch.
func TestFoldShapeChain(t *testing.T) {
	tests := []struct {
		name  string
		opset int64
		chain []*onnx.NodeProto // computes "shape" from "r" (N,2,3,4)
		want  []int             // per-example dims of y
		param []int64           // the folded shape parameter Reshape reads
	}{
		{"view/opset11", 11, viewChain(11), []int{24}, []int64{0, -1}},
		{"view/opset13", 13, viewChain(13), []int{24}, []int64{0, -1}},
		{"gather 1-D indices", 13, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			constInts("idx", []int64{1}, 0),
			node("Gather", "/Gather", []string{"s", "idx"}, []string{"n1"}),
			constInts("minus1", []int64{1}, -1),
			node("Concat", "/Concat", []string{"n1", "minus1"}, []string{"shape"}, attrInt("axis", -1)),
		}, []int{24}, []int64{0, -1}},
		{"slice inputs, keep dim 1", 13, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			constInts("starts", []int64{1}, 0), constInts("ends", []int64{1}, 2),
			node("Slice", "/Slice", []string{"s", "starts", "ends"}, []string{"s01"}),
			constInts("minus1", []int64{1}, -1),
			node("Concat", "/Concat", []string{"s01", "minus1"}, []string{"shape"}, attrInt("axis", 0)),
		}, []int{2, 12}, []int64{0, 2, -1}},
		{"slice attributes (opset 9), step and axes inputs", 9, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			node("Slice", "/Slice", []string{"s"}, []string{"s0"}, attrInts("starts", 0), attrInts("ends", 1), attrInts("axes", 0)),
			constInts("minus1", []int64{1}, -1),
			node("Concat", "/Concat", []string{"s0", "minus1"}, []string{"shape"}, attrInt("axis", 0)),
		}, []int{24}, []int64{0, -1}},
		{"backward slice", 13, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			// s[-1::-3] = [4, N]: reversed below by another backward slice.
			constInts("starts", []int64{1}, -1), constInts("ends", []int64{1}, math.MinInt64),
			constInts("axes", []int64{1}, 0), constInts("steps", []int64{1}, -3),
			node("Slice", "/Slice", []string{"s", "starts", "ends", "axes", "steps"}, []string{"s4n"}),
			constInts("steps2", []int64{1}, -1), constInts("big", []int64{1}, math.MaxInt64),
			node("Slice", "/Slice2", []string{"s4n", "big", "ends", "axes", "steps2"}, []string{"sn4"}),
			constInts("minus1", []int64{1}, -1),
			node("Concat", "/Concat", []string{"sn4", "minus1"}, []string{"shape"}, attrInt("axis", 0)),
		}, []int{4, 6}, []int64{0, 4, -1}},
		{"cast, squeeze, identity", 11, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			constInts("zero", []int64{1}, 0),
			node("Gather", "/Gather", []string{"s", "zero"}, []string{"n1"}),
			node("Unsqueeze", "/Unsqueeze", []string{"n1"}, []string{"n11"}, attrInts("axes", 0)),
			node("Squeeze", "/Squeeze", []string{"n11"}, []string{"n1b"}, attrInts("axes", 0)),
			node("Identity", "/Identity", []string{"n1b"}, []string{"n1c"}),
			node("Cast", "/Cast", []string{"n1c"}, []string{"n1d"}, attrInt("to", int64(onnx.TensorProto_INT64))),
			node("Constant", "/Constant", nil, []string{"f"}, attrTensor("value", &onnx.TensorProto{Dims: []int64{2}, DataType: int32(onnx.TensorProto_FLOAT), FloatData: []float32{6.9, -1}})),
			node("Cast", "/Cast2", []string{"f"}, []string{"rest"}, attrInt("to", int64(onnx.TensorProto_INT64))),
			node("Concat", "/Concat", []string{"n1d", "rest"}, []string{"shape"}, attrInt("axis", 0)),
		}, []int{6, 4}, []int64{0, 6, -1}},
		{"squeeze without axes, opset 13", 13, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			constInts("zero", []int64{1, 1}, 0),
			node("Gather", "/Gather", []string{"s", "zero"}, []string{"n11"}),
			node("Squeeze", "/Squeeze", []string{"n11"}, []string{"n"}),
			constInts("ax", []int64{1}, 0),
			node("Unsqueeze", "/Unsqueeze", []string{"n", "ax"}, []string{"n1"}),
			constInts("rest", []int64{2}, 3, -1),
			node("Concat", "/Concat", []string{"n1", "rest"}, []string{"shape"}, attrInt("axis", 0)),
		}, []int{3, 8}, []int64{0, 3, -1}},
		{"constant of shape", 13, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			constInts("one", []int64{1}, 1),
			node("ConstantOfShape", "/ConstantOfShape", []string{"one"}, []string{"minus1"},
				attrTensor("value", &onnx.TensorProto{Dims: []int64{1}, DataType: int32(onnx.TensorProto_INT64), Int64Data: []int64{-1}})),
			constInts("zero", []int64{1}, 0),
			node("Slice", "/Slice", []string{"s", "zero", "one"}, []string{"n1"}),
			node("Concat", "/Concat", []string{"n1", "minus1"}, []string{"shape"}, attrInt("axis", 0)),
		}, []int{24}, []int64{0, -1}},
		{"shape start and end (opset 15)", 15, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"n1"}, attrInt("end", -3)),
			node("Shape", "/Shape2", []string{"r"}, []string{"hw"}, attrInt("start", 2), attrInt("end", 99)),
			constInts("two", []int64{1}, 2),
			node("Concat", "/Concat", []string{"n1", "hw", "two"}, []string{"shape"}, attrInt("axis", 0)),
		}, []int{3, 4, 2}, []int64{0, 3, 4, 2}},
		{"fully constant", 13, []*onnx.NodeProto{
			constInts("a", []int64{2}, 3, 4), constInts("b", []int64{1}, -1),
			node("Concat", "/Concat", []string{"b", "a"}, []string{"shape"}, attrInt("axis", 0)),
		}, nil, []int64{-1, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := []any{"N"}
			for _, d := range tc.want {
				out = append(out, d)
			}
			spec := shapeModel(tc.opset, tc.chain, out...)
			if tc.want == nil {
				spec.outputs = []*onnx.ValueInfoProto{vi("y", onnx.TensorProto_FLOAT, "M", 3, 4)}
			}
			m, err := Decode(spec.bytes(t), Options{})
			if err != nil {
				t.Fatal(err)
			}
			// Only Relu and Reshape remain, and one parameter: the folded shape.
			var ops []string
			for _, n := range m.Nodes {
				ops = append(ops, n.Op.Type())
			}
			if !slices.Equal(ops, []string{"Relu", "Reshape"}) {
				t.Errorf("graph ops %v, want [Relu Reshape]", ops)
			}
			if len(m.Params) != 1 || !slices.Equal(m.Params[0].Int64, tc.param) || m.Params[0].Trainable {
				t.Fatalf("params %+v, want one constant with %v", m.Params, tc.param)
			}
			if m.Nodes[1].Inputs[1] != m.Params[0].Name {
				t.Errorf("Reshape reads %q, want %q", m.Nodes[1].Inputs[1], m.Params[0].Name)
			}
			if tc.want == nil {
				return
			}
			for _, batch := range []int{2, 5} {
				x := randFloats(rand.New(rand.NewSource(int64(batch))), batch*24)
				res, err := backend.NewRunner(m).Run(batch, x)
				if err != nil {
					t.Fatalf("batch %d: %v", batch, err)
				}
				if want := append([]int{batch}, tc.want...); !slices.Equal(res[0].Shape, want) {
					t.Errorf("batch %d: y shape %v, want %v", batch, res[0].Shape, want)
				}
				for i, v := range x {
					if w := max(v, 0); res[0].Float[i] != w {
						t.Fatalf("batch %d: y[%d] = %g, want %g", batch, i, res[0].Float[i], w)
					}
				}
			}
		})
	}
}

// TestFoldErrors: shape ops outside shape computations, and shape computations
// that cannot be folded, are UnsupportedOpErrors naming the op and node; bad
// arguments are FormatErrors.
func TestFoldErrors(t *testing.T) {
	f32, i64 := onnx.TensorProto_FLOAT, onnx.TensorProto_INT64
	tests := []struct {
		name   string
		spec   modelSpec
		op     string // UnsupportedOpError.Op; "" for a FormatError
		node   string
		substr string
	}{
		{"shape feeds a float op", modelSpec{opset: 13,
			nodes: []*onnx.NodeProto{
				node("Shape", "/Shape", []string{"x"}, []string{"s"}),
				node("Add", "/Add", []string{"x", "s"}, []string{"y"}),
			},
			inputs:  []*onnx.ValueInfoProto{vi("x", f32, "N", 4)},
			outputs: []*onnx.ValueInfoProto{vi("y", f32, "N", 4)},
		}, "Shape", "/Shape", `only supported in shape computations evaluated at import time (feeding Reshape's shape), but its value "s" feeds input #1 of Add node "/Add"`},
		{"shape is a graph output", modelSpec{opset: 13,
			nodes:   []*onnx.NodeProto{node("Shape", "/Shape", []string{"x"}, []string{"s"})},
			inputs:  []*onnx.ValueInfoProto{vi("x", f32, "N", 4)},
			outputs: []*onnx.ValueInfoProto{vi("s", i64, 2)},
		}, "Shape", "/Shape", `its value "s" is graph output #0`},
		{"gather on run-time data", modelSpec{opset: 13,
			nodes: []*onnx.NodeProto{
				constInts("i", nil, 1),
				node("Gather", "/Gather", []string{"x", "i"}, []string{"y"}),
			},
			inputs:  []*onnx.ValueInfoProto{vi("x", f32, "N", 4)},
			outputs: []*onnx.ValueInfoProto{vi("y", f32, "N")},
		}, "Gather", "/Gather", `Gather is only supported in shape computations evaluated at import time (feeding Reshape's shape): input #0 "x" is computed at run time`},
		{"cast to float", modelSpec{opset: 13,
			nodes: []*onnx.NodeProto{
				node("Shape", "/Shape", []string{"x"}, []string{"s"}),
				node("Cast", "/Cast", []string{"s"}, []string{"y"}, attrInt("to", int64(f32))),
			},
			inputs:  []*onnx.ValueInfoProto{vi("x", f32, "N", 4)},
			outputs: []*onnx.ValueInfoProto{vi("y", f32, 2)},
		}, "Cast", "/Cast", `its value "y" is graph output #0`},
		{"batch moved", shapeModel(13, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			constInts("zero", []int64{1}, 0),
			node("Gather", "/Gather", []string{"s", "zero"}, []string{"n1"}),
			constInts("minus1", []int64{1}, -1),
			node("Concat", "/Concat", []string{"minus1", "n1"}, []string{"shape"}, attrInt("axis", 0)),
		}, 24, "N"), "Reshape", "/Reshape", `shape "shape" holds the batch size at position 1, where the data input (N,2,3,4) has no batch dim`},
		{"constant of shape with the batch", modelSpec{opset: 13,
			nodes: []*onnx.NodeProto{
				node("Shape", "/Shape", []string{"x"}, []string{"s"}),
				node("ConstantOfShape", "/ConstantOfShape", []string{"s"}, []string{"z"}),
				node("Add", "/Add", []string{"x", "z"}, []string{"y"}),
			},
			inputs:  []*onnx.ValueInfoProto{vi("x", f32, "N", 4)},
			outputs: []*onnx.ValueInfoProto{vi("y", f32, "N", 4)},
		}, "ConstantOfShape", "/ConstantOfShape", `input #0 "s" holds the batch size, which is known only at run time`},
		{"gather index out of range", shapeModel(13, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			constInts("i", []int64{1}, 4),
			node("Gather", "/Gather", []string{"s", "i"}, []string{"shape"}),
		}, "N", 24), "", "/Gather", "index 4 out of range for rank 4"},
		{"unsqueeze axis twice", shapeModel(11, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			node("Unsqueeze", "/Unsqueeze", []string{"s"}, []string{"shape"}, attrInts("axes", 0, -3)),
		}, "N", 24), "", "/Unsqueeze", "axis -3 is given twice"},
		{"unsqueeze axes input before opset 13", shapeModel(11, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			constInts("ax", []int64{1}, 0),
			node("Unsqueeze", "/Unsqueeze", []string{"s", "ax"}, []string{"shape"}),
		}, "N", 24), "", "/Unsqueeze", "takes 1 input before opset 13"},
		{"squeeze a dim that is not 1", shapeModel(13, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			constInts("ax", []int64{1}, 0),
			node("Squeeze", "/Squeeze", []string{"s", "ax"}, []string{"shape"}),
		}, "N", 24), "", "/Squeeze", "cannot squeeze axis 0 of size 4"},
		{"slice step 0", shapeModel(13, []*onnx.NodeProto{
			node("Shape", "/Shape", []string{"r"}, []string{"s"}),
			constInts("a", []int64{1}, 0), constInts("b", []int64{1}, 2), constInts("z", []int64{1}, 0),
			node("Slice", "/Slice", []string{"s", "a", "b", "z", "z"}, []string{"shape"}),
		}, "N", 24), "", "/Slice", "step 0"},
		{"concat of a matrix", shapeModel(13, []*onnx.NodeProto{
			constInts("m", []int64{1, 2}, 0, -1),
			node("Concat", "/Concat", []string{"m"}, []string{"shape"}, attrInt("axis", 0)),
		}, "N", 24), "Concat", "/Concat", `input #0 "m" has rank 2`},
		{"constant of shape too big", modelSpec{opset: 13,
			nodes: []*onnx.NodeProto{
				constInts("dims", []int64{2}, 1<<10, 1<<10),
				node("ConstantOfShape", "/ConstantOfShape", []string{"dims"}, []string{"y"}),
			},
			outputs: []*onnx.ValueInfoProto{vi("y", f32, 1<<10, 1<<10)},
		}, "ConstantOfShape", "/ConstantOfShape", "the result has 1048576 elements (limit 65536)"},
		{"reshape allowzero with a 0 and the batch", func() modelSpec {
			s := shapeModel(14, viewChain(14), "N", 24)
			for _, n := range s.nodes {
				if n.GetName() == "minus1/Constant" {
					n.Attribute[0].T.Int64Data = []int64{0}
				}
			}
			s.nodes[len(s.nodes)-1].Attribute = []*onnx.AttributeProto{attrInt("allowzero", 1)}
			return s
		}(), "Reshape", "/Reshape", "allowzero=1 with both a 0 and the batch size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.spec.bytes(t), Options{})
			if err == nil {
				t.Fatal("decoded")
			}
			if !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.substr)
			}
			var ue *UnsupportedOpError
			var fe *FormatError
			switch {
			case tc.op != "":
				if !errors.As(err, &ue) || ue.Op != tc.op || ue.Node != tc.node || ue.Opset != tc.spec.opset {
					t.Errorf("got %T %v, want an UnsupportedOpError for %s node %q", err, err, tc.op, tc.node)
				}
			case !errors.As(err, &fe) || fe.Node != tc.node:
				t.Errorf("got %T %v, want a FormatError for %q", err, err, tc.node)
			}
		})
	}
}

func TestShapeOps(t *testing.T) {
	ops := ShapeOps()
	want := []string{"And", "Cast", "Ceil", "ConstantOfShape", "Equal", "Floor", "Gather", "Greater",
		"Less", "Mod", "Not", "Or", "Range", "Round", "Shape", "Where"}
	if !slices.Equal(ops, want) {
		t.Errorf("ShapeOps() = %v, want %v", ops, want)
	}
	for _, op := range ops {
		if OpSpec(op) != "https://onnx.ai/onnx/operators/onnx__"+op+".html" {
			t.Errorf("%s: spec %q", op, OpSpec(op))
		}
		if slices.Contains(SupportedOps(), op) {
			t.Errorf("%s is in SupportedOps too", op)
		}
	}
}

// readRawF32 reads raw little-endian float32 values.
// TestTorchView imports PyTorch exports of x.view(x.size(0), -1) with a dynamic
// batch (testdata/make_view_models.py) and matches PyTorch's outputs within 1e-5,
// at the reference batch of 3 and for the first example alone.
func TestTorchView(t *testing.T) {
	x := testutil.ReadF32(t, "testdata/torch_view_input.f32") // 3x1x8x8
	for _, opset := range []int{11, 13} {
		t.Run(fmt.Sprintf("opset%d", opset), func(t *testing.T) {
			m, err := ReadFile(fmt.Sprintf("testdata/torch_view_opset%d.onnx", opset), Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := testutil.ReadF32(t, fmt.Sprintf("testdata/torch_view_opset%d.out.f32", opset)) // 3x10
			var ops []string
			for _, n := range m.Nodes {
				ops = append(ops, n.Op.Type())
			}
			if !slices.Equal(ops, []string{"Conv", "Relu", "Reshape", "Gemm"}) {
				t.Errorf("graph ops %v", ops)
			}
			if len(m.Params) != 5 {
				t.Errorf("%d params, want 4 weights and the folded shape", len(m.Params))
			}
			r := backend.NewRunner(m)
			defer r.Close()
			for _, batch := range []int{3, 1} {
				res, err := r.Run(batch, x[:batch*64])
				if err != nil {
					t.Fatalf("batch %d: %v", batch, err)
				}
				if !slices.Equal(res[0].Shape, []int{batch, 10}) {
					t.Fatalf("batch %d: shape %v", batch, res[0].Shape)
				}
				maxAbs := 0.0
				for i, g := range res[0].Float {
					maxAbs = max(maxAbs, math.Abs(float64(g)-float64(want[i])))
				}
				if maxAbs > 1e-5 {
					t.Errorf("batch %d: max |diff| %.3g from PyTorch (got %v, want %v)", batch, maxAbs, res[0].Float[:5], want[:5])
				}
			}
		})
	}
}
