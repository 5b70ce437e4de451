package onnximport

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/onnx"
	"google.golang.org/protobuf/proto"
)

// TestDecodeErrors follows image/png's readerErrors: input -> expected substring,
// plus the error type a caller can act on.
func TestDecodeErrors(t *testing.T) {
	conv, err := os.ReadFile("testdata/node/test_conv_with_strides_and_asymmetric_padding/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(s *modelSpec)) func(testing.TB) []byte {
		return func(tb testing.TB) []byte {
			s := reluModel()
			f(&s)
			return s.bytes(tb)
		}
	}
	raw := func(b []byte) func(testing.TB) []byte { return func(testing.TB) []byte { return b } }
	var (
		format      *FormatError
		unsupported *UnsupportedOpError
		opset       *UnsupportedOpsetError
	)
	tests := []struct {
		name  string
		data  func(testing.TB) []byte
		opts  Options
		want  string // substring of the error message
		as    any    // pointer to the error type errors.As must find, or nil
		check func(t *testing.T, err error)
	}{
		{name: "truncated", data: raw(conv[:len(conv)-7]), want: "malformed protobuf", as: &format},
		{name: "garbage", data: raw([]byte("this is not an ONNX model\x00\xff")), want: "malformed protobuf", as: &format},
		{name: "empty", data: raw(nil), want: "no graph", as: &format},
		{name: "too big", data: with(func(*modelSpec) {}), opts: Options{MaxBytes: 10}, want: "larger than 10 bytes", as: &format},
		{name: "no graph", data: func(tb testing.TB) []byte {
			mp := reluModel().proto()
			mp.Graph = nil
			data, _ := proto.Marshal(mp)
			return data
		}, want: "no graph", as: &format},
		{name: "no default opset", data: func(tb testing.TB) []byte {
			mp := reluModel().proto()
			mp.OpsetImport[0].Domain = "com.example"
			data, _ := proto.Marshal(mp)
			return data
		}, want: "no entry for the default domain", as: &format},
		{name: "unsupported op", data: with(func(s *modelSpec) {
			s.nodes = []*onnx.NodeProto{node("LSTM", "lstm1", []string{"x"}, []string{"y"})}
		}), want: `node "lstm1": op LSTM (domain ai.onnx, opset 13) is not supported`, as: &unsupported,
			check: func(t *testing.T, err error) {
				var e *UnsupportedOpError
				errors.As(err, &e)
				if e.Op != "LSTM" || e.Node != "lstm1" || e.Opset != 13 || e.Domain != "" {
					t.Errorf("fields %+v", e)
				}
				if !strings.Contains(err.Error(), "hint: supported ops are") {
					t.Errorf("no hint in %q", err)
				}
			}},
		{name: "custom domain", data: with(func(s *modelSpec) {
			n := node("Relu", "r", []string{"x"}, []string{"y"})
			n.Domain = "com.microsoft"
			s.nodes = []*onnx.NodeProto{n}
		}), want: "domain com.microsoft", as: &unsupported},
		{name: "bad attribute type", data: with(func(s *modelSpec) {
			s.nodes = []*onnx.NodeProto{node("Flatten", "flat", []string{"x"}, []string{"y"}, attrFloat("axis", 1))}
		}), want: `attribute "axis" has type FLOAT, want INT`, as: &format},
		{name: "unknown attribute", data: with(func(s *modelSpec) {
			s.nodes = []*onnx.NodeProto{node("Relu", "relu", []string{"x"}, []string{"y"}, attrFloat("alpha", 0.1))}
		}), want: `unknown attribute "alpha"`, as: &format},
		{name: "attribute twice", data: with(func(s *modelSpec) {
			s.nodes = []*onnx.NodeProto{node("Flatten", "flat", []string{"x"}, []string{"y"}, attrInt("axis", 1), attrInt("axis", 1))}
		}), want: `attribute "axis" is given twice`, as: &format},
		{name: "huge dims", data: with(func(s *modelSpec) {
			s.inits = []*onnx.TensorProto{{Name: "w", Dims: []int64{1 << 40}, DataType: int32(onnx.TensorProto_FLOAT)}}
		}), want: "dim #0 is 1099511627776", as: &format},
		{name: "dims overflow", data: with(func(s *modelSpec) {
			s.inits = []*onnx.TensorProto{{Name: "w", Dims: []int64{1 << 20, 1 << 20, 1 << 20}, DataType: int32(onnx.TensorProto_FLOAT)}}
		}), want: "exceed 268435456 elements", as: &format},
		{name: "negative dim", data: with(func(s *modelSpec) {
			s.inits = []*onnx.TensorProto{{Name: "w", Dims: []int64{-1}, DataType: int32(onnx.TensorProto_FLOAT)}}
		}), want: "dim #0 is -1", as: &format},
		{name: "raw_data too short", data: with(func(s *modelSpec) {
			s.inits = []*onnx.TensorProto{floatInit("w", []int64{2, 3}, 1, 2, 3, 4, 5)}
		}), want: `"w": has 5 values for dims [2 3] (6 elements)`, as: &format},
		{name: "raw_data odd length", data: with(func(s *modelSpec) {
			s.inits = []*onnx.TensorProto{{Name: "w", Dims: []int64{1}, DataType: int32(onnx.TensorProto_FLOAT), RawData: []byte{1, 2, 3}}}
		}), want: "raw_data has 3 bytes, not a multiple of 4", as: &format},
		{name: "float_data count", data: with(func(s *modelSpec) {
			s.inits = []*onnx.TensorProto{{Name: "w", Dims: []int64{4}, DataType: int32(onnx.TensorProto_FLOAT), FloatData: []float32{1}}}
		}), want: "has 1 values for dims [4]", as: &format},
		{name: "float16 initializer", data: with(func(s *modelSpec) {
			s.inits = []*onnx.TensorProto{{Name: "w", Dims: []int64{1}, DataType: int32(onnx.TensorProto_FLOAT16), RawData: []byte{0, 0}}}
		}), want: "FLOAT16 is not supported", as: &format,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrDataType) {
					t.Errorf("not ErrDataType: %v", err)
				}
			}},
		{name: "undefined input", data: with(func(s *modelSpec) {
			s.nodes = []*onnx.NodeProto{node("Relu", "relu", []string{"nowhere"}, []string{"y"})}
		}), want: `input #0 "nowhere" is not defined`, as: &format},
		{name: "output twice", data: with(func(s *modelSpec) {
			s.nodes = append(s.nodes, node("Relu", "relu2", []string{"x"}, []string{"y"}))
		}), want: `output #0 "y" is already defined`, as: &format},
		{name: "output shadows input", data: with(func(s *modelSpec) {
			s.nodes = []*onnx.NodeProto{node("Relu", "relu", []string{"x"}, []string{"x"})}
		}), want: `"x" is already defined`, as: &format},
		{name: "graph output missing", data: with(func(s *modelSpec) {
			s.outputs = []*onnx.ValueInfoProto{vi("z", onnx.TensorProto_FLOAT, "N", 3)}
		}), want: `graph output #0 is not produced`, as: &format},
		{name: "no outputs", data: with(func(s *modelSpec) { s.outputs = nil }), want: "graph has no outputs", as: &format},
		{name: "opset 5", data: with(func(s *modelSpec) { s.opset = 5 }), want: "ai.onnx opset 5 is not supported (7..21 are", as: &opset},
		{name: "opset 22", data: with(func(s *modelSpec) { s.opset = 22 }), want: "opset 22 is not supported (7..21 are; hint: re-export at an opset in that range", as: &opset},
		{name: "symbolic inner dim", data: with(func(s *modelSpec) {
			s.inputs = []*onnx.ValueInfoProto{vi("x", onnx.TensorProto_FLOAT, "N", "C")}
		}), want: `dim #1 ("C") is symbolic`, as: &unsupported},
		{name: "uint8 input", data: with(func(s *modelSpec) {
			s.inputs = []*onnx.ValueInfoProto{vi("x", onnx.TensorProto_UINT8, "N", 3)}
		}), want: "element type UINT8", as: &format},
		{name: "reshape shape not constant", data: with(func(s *modelSpec) {
			s.inputs = append(s.inputs, vi("shape", onnx.TensorProto_INT64, 2))
			s.nodes = []*onnx.NodeProto{node("Reshape", "r", []string{"x", "shape"}, []string{"y"})}
		}), want: `shape input "shape" is computed at run time from values not known at import`, as: &unsupported},
		{name: "conv group", data: with(func(s *modelSpec) {
			s.inputs = []*onnx.ValueInfoProto{vi("x", onnx.TensorProto_FLOAT, "N", 2, 5, 5)}
			s.inits = []*onnx.TensorProto{floatInit("w", []int64{2, 1, 1, 1}, 1, 1)}
			s.nodes = []*onnx.NodeProto{node("Conv", "c", []string{"x", "w"}, []string{"y"}, attrInt("group", 3))}
		}), want: "group 3 does not fit X [-1 2 5 5] and W [2 1 1 1]", as: &format},
		{name: "gemm without C before opset 11", data: with(func(s *modelSpec) {
			s.opset = 9
			s.inits = []*onnx.TensorProto{floatInit("w", []int64{3, 1}, 1, 1, 1)}
			s.nodes = []*onnx.NodeProto{node("Gemm", "fc", []string{"x", "w"}, []string{"y"})}
		}), want: "Gemm takes 3 to 3 inputs, has 2", as: &format},
		{name: "shape mismatch", data: with(func(s *modelSpec) {
			s.inits = []*onnx.TensorProto{floatInit("w", []int64{4, 1}, 1, 1, 1, 1)}
			s.nodes = []*onnx.NodeProto{node("Gemm", "fc", []string{"x", "w"}, []string{"y"})}
		}), want: "inputs do not fit Gemm", as: &format},
		{name: "training dropout", data: with(func(s *modelSpec) {
			s.inputs = append(s.inputs, vi("train", onnx.TensorProto_BOOL))
			s.nodes = []*onnx.NodeProto{node("Dropout", "d", []string{"x", "", "train"}, []string{"y"})}
		}), want: "element type BOOL", as: &format},
		{name: "batchnorm stats as inputs", data: with(func(s *modelSpec) {
			s.inputs = []*onnx.ValueInfoProto{vi("x", onnx.TensorProto_FLOAT, "N", 3), vi("s", onnx.TensorProto_FLOAT, 3)}
			s.nodes = []*onnx.NodeProto{node("BatchNormalization", "bn", []string{"x", "s", "s", "s", "s"}, []string{"y"})}
		}), want: `scale (input #1 "s") must be a float initializer`, as: &unsupported},
		{name: "constants names no input", data: with(func(*modelSpec) {}), opts: Options{Constants: map[string]*graph.Tensor{"nope": nil}},
			want: `Options.Constants names "nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.data(t), tc.opts)
			if err == nil {
				t.Fatalf("Decode succeeded (%d nodes), want error containing %q", len(m.Nodes), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
			if tc.as != nil && !errors.As(err, tc.as) {
				t.Errorf("error %T is not %T", err, tc.as)
			}
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
}
