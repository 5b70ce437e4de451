package onnximport

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/onnxdigits/onnxdigits/onnx"
	"google.golang.org/protobuf/proto"
)

// Small builders for hand-written ModelProtos.

func vi(name string, elem onnx.TensorProto_DataType, dims ...any) *onnx.ValueInfoProto {
	shape := &onnx.TensorShapeProto{}
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			shape.Dim = append(shape.Dim, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		case string:
			shape.Dim = append(shape.Dim, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: d}})
		}
	}
	return &onnx.ValueInfoProto{Name: name, Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{
		TensorType: &onnx.TypeProto_Tensor{ElemType: int32(elem), Shape: shape}}}}
}

func node(op, name string, ins, outs []string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	return &onnx.NodeProto{OpType: op, Name: name, Input: ins, Output: outs, Attribute: attrs}
}

func attrInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

func attrFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_FLOAT, F: v}
}

func attrInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

// floatInit is a FLOAT initializer in raw_data, as PyTorch writes them.
func floatInit(name string, dims []int64, v ...float32) *onnx.TensorProto {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return &onnx.TensorProto{Name: name, Dims: dims, DataType: int32(onnx.TensorProto_FLOAT), RawData: raw}
}

func int64Init(name string, v ...int64) *onnx.TensorProto {
	return &onnx.TensorProto{Name: name, Dims: []int64{int64(len(v))}, DataType: int32(onnx.TensorProto_INT64), Int64Data: v}
}

type modelSpec struct {
	opset   int64
	nodes   []*onnx.NodeProto
	inits   []*onnx.TensorProto
	inputs  []*onnx.ValueInfoProto
	outputs []*onnx.ValueInfoProto
	meta    map[string]string
}

func (s modelSpec) proto() *onnx.ModelProto {
	if s.opset == 0 {
		s.opset = 13
	}
	mp := &onnx.ModelProto{
		IrVersion:    7,
		OpsetImport:  []*onnx.OperatorSetIdProto{{Version: s.opset}},
		ProducerName: "onnximport test",
		Graph: &onnx.GraphProto{Name: "test", Node: s.nodes, Initializer: s.inits,
			Input: s.inputs, Output: s.outputs},
	}
	for k, v := range s.meta {
		mp.MetadataProps = append(mp.MetadataProps, &onnx.StringStringEntryProto{Key: k, Value: v})
	}
	return mp
}

func (s modelSpec) bytes(t testing.TB) []byte {
	t.Helper()
	data, err := proto.Marshal(s.proto())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// reluModel is the smallest valid model: y = Relu(x), x (N,3).
func reluModel() modelSpec {
	return modelSpec{
		nodes:   []*onnx.NodeProto{node("Relu", "relu", []string{"x"}, []string{"y"})},
		inputs:  []*onnx.ValueInfoProto{vi("x", onnx.TensorProto_FLOAT, "N", 3)},
		outputs: []*onnx.ValueInfoProto{vi("y", onnx.TensorProto_FLOAT, "N", 3)},
	}
}
