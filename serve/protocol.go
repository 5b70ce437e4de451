package serve

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
)

// The JSON objects of the Open Inference Protocol v2 (kserve
// docs/predict-api/v2/required_api.md), with the parameters of Triton's binary
// tensor data and classification extensions
// (triton-inference-server/server docs/protocol/extension_binary_data.md and
// extension_classification.md).

type serverMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

type tensorMetadata struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
}

type modelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions,omitempty"`
	Platform string           `json:"platform"`
	Inputs   []tensorMetadata `json:"inputs"`
	Outputs  []tensorMetadata `json:"outputs"`
}

type inferRequest struct {
	ID         string          `json:"id"`
	Parameters parameters      `json:"parameters"`
	Inputs     []requestInput  `json:"inputs"`
	Outputs    []requestOutput `json:"outputs"`
}

type requestInput struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters parameters      `json:"parameters"`
	Data       json.RawMessage `json:"data"`

	// parsed is Data read as a tensor by the decoder, which does so in its one
	// pass when "shape" and "datatype" come before "data"; nil otherwise.
	parsed *parsedData
}

// parsedData is an input's data as parseTensorData reads it for shape and
// datatype.
type parsedData struct {
	shape    []int64
	datatype string
	values   []float32
}

type requestOutput struct {
	Name       string     `json:"name"`
	Parameters parameters `json:"parameters"`
}

type inferResponse struct {
	ModelName    string           `json:"model_name"`
	ModelVersion string           `json:"model_version,omitempty"`
	ID           string           `json:"id"`
	Outputs      []responseOutput `json:"outputs"`
}

type responseOutput struct {
	Name       string         `json:"name"`
	Shape      []int          `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       any            `json:"data,omitempty"`
}

// parameters is a $parameters object: values are strings, numbers (decoded as
// json.Number) or booleans.
type parameters map[string]any

// bool returns the boolean parameter key (false when absent).
func (p parameters) bool(key string) (bool, error) {
	v, ok := p[key]
	if !ok {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("parameter %q must be a boolean, not %v", key, v)
	}
	return b, nil
}

// int returns the integer parameter key, ok false when absent.
func (p parameters) int(key string) (n int64, ok bool, err error) {
	v, ok := p[key]
	if !ok {
		return 0, false, nil
	}
	num, isNum := v.(json.Number)
	if isNum {
		n, err = num.Int64()
	}
	if !isNum || err != nil {
		return 0, true, fmt.Errorf("parameter %q must be an integer, not %v", key, v)
	}
	return n, true, nil
}

// datatypes that may carry an input, with their size in bytes.
var inputDatatypes = map[string]int{"FP32": 4, "UINT8": 1}

// decodeBinary reads count little-endian values of datatype FP32 or UINT8.
func decodeBinary(b []byte, count int, datatype string) []float32 {
	out := getTensor(count)[:count]
	if datatype == "UINT8" {
		for i := range out {
			out[i] = float32(b[i])
		}
		return out
	}
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
