package serve

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// TestEncodeLikeEncodingJSON: appendInferResponse writes what json.Marshal
// writes, for floats across float32's range (the e-notation bounds 1e-6 and
// 1e21, subnormals, negative zero), integers, odd strings and parameters.
func TestEncodeLikeEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	floats := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0.1, 1e-6, 9.999999e-7, 1e-7, 1e21, 9.999999e20, 1e20,
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1.17549435e-38, 123456789, 0.12156863, 3e-45}
	for range 2000 {
		// Random bits: every exponent, finite values only.
		if v := math.Float32frombits(r.Uint32()); !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			floats = append(floats, v)
		}
	}
	for _, resp := range []inferResponse{
		{},
		{ModelName: "mnist", ModelVersion: "1", ID: "42", Outputs: []responseOutput{
			{Name: "probabilities", Shape: []int{len(floats)}, Datatype: "FP32", Data: floats},
			{Name: "label", Shape: []int{3}, Datatype: "INT64", Data: []int64{7, -1, math.MaxInt64}},
			{Name: "empty", Shape: []int{0}, Datatype: "FP32", Data: []float32{}},
			{Name: "nil", Datatype: "FP32", Data: []float32(nil)},
			{Name: "ints nil", Shape: []int{}, Datatype: "INT64", Data: []int64(nil)},
		}},
		{ModelName: "m", ID: "<a & \"b\" \\ é \u2028 \x01 \xff>", Outputs: []responseOutput{
			{Name: "probabilities", Shape: []int{1, 2}, Datatype: "BYTES", Data: []string{"0.9:7:seven", "0.1:<&>:x"}},
			{Name: "binary", Shape: []int{1, 10}, Datatype: "FP32", Parameters: map[string]any{"binary_data_size": 40}},
		}},
		{ModelName: "m", Outputs: []responseOutput{}},
	} {
		want, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendInferResponse([]byte("prefix"), &resp)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "prefix"+string(want) {
			t.Errorf("appendInferResponse:\n%.2000s\njson.Marshal:\n%.2000s", got[6:], want)
		}
	}
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		resp := inferResponse{Outputs: []responseOutput{{Data: []float32{1, v}}}}
		if _, err := appendInferResponse(nil, &resp); err == nil {
			t.Errorf("%v: no error", v)
		}
	}
}
