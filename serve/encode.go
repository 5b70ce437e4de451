package serve

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync"
)

// appendInferResponse appends resp as JSON to b, byte for byte what
// json.Marshal(resp) gives (TestEncodeLikeEncodingJSON), without reflection:
// the response's float data is most of the bytes an inference answers with.
// Strings that need escaping and parameters, both rare, go to encoding/json.
// A NaN or infinite value is an error, as for encoding/json.
func appendInferResponse(b []byte, resp *inferResponse) ([]byte, error) {
	b = append(b, `{"model_name":`...)
	b = appendString(b, resp.ModelName)
	if resp.ModelVersion != "" {
		b = append(b, `,"model_version":`...)
		b = appendString(b, resp.ModelVersion)
	}
	b = append(b, `,"id":`...)
	b = appendString(b, resp.ID)
	b = append(b, `,"outputs":`...)
	if resp.Outputs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, o := range resp.Outputs {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendOutput(b, &o); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func appendOutput(b []byte, o *responseOutput) ([]byte, error) {
	b = append(b, `{"name":`...)
	b = appendString(b, o.Name)
	b = append(b, `,"shape":`...)
	if o.Shape == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, d := range o.Shape {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		b = append(b, ']')
	}
	b = append(b, `,"datatype":`...)
	b = appendString(b, o.Datatype)
	if n, ok := o.Parameters["binary_data_size"].(int); ok && len(o.Parameters) == 1 {
		b = append(b, `,"parameters":{"binary_data_size":`...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, '}')
	} else if len(o.Parameters) > 0 {
		p, err := json.Marshal(o.Parameters)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"parameters":`...)
		b = append(b, p...)
	}
	switch data := o.Data.(type) {
	case nil:
	case []float32:
		b = append(b, `,"data":`...)
		if data == nil {
			b = append(b, "null"...)
			break
		}
		b = append(b, '[')
		for i, v := range data {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendFloat32(b, v); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	case []int64:
		b = append(b, `,"data":`...)
		if data == nil {
			b = append(b, "null"...)
			break
		}
		b = append(b, '[')
		for i, v := range data {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, v, 10)
		}
		b = append(b, ']')
	default:
		d, err := json.Marshal(data)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"data":`...)
		b = append(b, d...)
	}
	return append(b, '}'), nil
}

// appendFloat32 formats v as encoding/json does a float32: the shortest
// decimal that reads back as v, with an exponent only below 1e-6 or from 1e21,
// and e-7 rather than e-07.
func appendFloat32(b []byte, v float32) ([]byte, error) {
	if notFinite(v) {
		return nil, fmt.Errorf("serve: output value %v is not a JSON number", v)
	}
	format := byte('f')
	if a := float32(math.Abs(float64(v))); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, float64(v), format, -1, 32)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b, nil
}

// appendString appends s as a JSON string: printable ASCII other than what
// encoding/json escapes (", \, <, >, &) as it is, anything else through
// encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// buffers are the request and response buffers, reused across requests.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

// tensors are the buffers of requests' input values, reused across requests:
// getTensor returns an empty slice with room for n values, putTensor takes it
// back once no one reads it (tensors over 1M values are not kept).
var tensors sync.Pool

func getTensor(n int) []float32 {
	if p, ok := tensors.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]float32, 0, n)
}

func putTensor(t []float32) {
	if cap(t) > 0 && cap(t) <= 1<<20 {
		tensors.Put(&t)
	}
}
