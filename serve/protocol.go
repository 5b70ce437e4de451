package serve

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
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

// parseTensorData reads the JSON "data" of a tensor of the given shape, flat or
// nested as the shape, into count values. uint8 requires integers in 0..255;
// otherwise any finite number that fits float32.
func parseTensorData(raw []byte, shape []int, count int, uint8 bool) ([]float32, error) {
	p := dataParser{b: raw, s: string(raw), shape: shape, uint8: uint8, out: make([]float32, 0, count), count: count}
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return nil, errors.New(`"data" must be an array`)
	}
	if err := p.array(0); err != nil {
		return nil, err
	}
	if p.space(); p.i != len(p.b) {
		return nil, errors.New(`"data" has trailing bytes`)
	}
	if len(p.out) != count {
		return nil, fmt.Errorf(`"data" has %d values, the shape %v calls for %d`, len(p.out), shape, count)
	}
	return p.out, nil
}

type dataParser struct {
	b     []byte
	s     string // b as a string, so that numbers parse without a copy each
	i     int
	shape []int
	uint8 bool
	out   []float32
	count int
}

func (p *dataParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

// array reads the array at p.i, at nesting depth. A flat array (depth 0 of
// numbers) may hold the whole tensor; a nested one must follow the shape.
func (p *dataParser) array(depth int) error {
	if depth >= len(p.shape) {
		return fmt.Errorf(`"data" is nested deeper than the shape %v`, p.shape)
	}
	p.i++ // '['
	n, nested := 0, false
	for {
		p.space()
		if p.i >= len(p.b) {
			return errors.New(`"data" ends early`)
		}
		if p.b[p.i] == ']' && n == 0 {
			p.i++
			break
		}
		if p.b[p.i] == '[' {
			if n > 0 && !nested {
				return errors.New(`"data" mixes numbers and arrays`)
			}
			nested = true
			if err := p.array(depth + 1); err != nil {
				return err
			}
		} else {
			if nested {
				return errors.New(`"data" mixes numbers and arrays`)
			}
			if err := p.number(); err != nil {
				return err
			}
		}
		n++
		p.space()
		if p.i >= len(p.b) {
			return errors.New(`"data" ends early`)
		}
		if p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.b[p.i] != ']' {
			return fmt.Errorf(`"data": unexpected %q`, p.b[p.i])
		}
		p.i++
		break
	}
	switch {
	case nested && n != p.shape[depth]:
		return fmt.Errorf(`"data": %d arrays at depth %d, the shape %v calls for %d`, n, depth, p.shape, p.shape[depth])
	case !nested && depth > 0 && (depth != len(p.shape)-1 || n != p.shape[depth]):
		return fmt.Errorf(`"data": %d numbers at depth %d do not follow the shape %v`, n, depth, p.shape)
	}
	return nil
}

func (p *dataParser) number() error {
	start := p.i
	n := jsonNumberLen(p.b[p.i:])
	if n == 0 {
		if p.i < len(p.b) {
			return fmt.Errorf(`"data" holds a non-number at byte %d (%q)`, start, p.b[start])
		}
		return errors.New(`"data" ends early`)
	}
	p.i += n
	tok := p.s[start:p.i]
	if len(p.out) >= p.count {
		return fmt.Errorf(`"data" has more values than the shape %v calls for (%d)`, p.shape, p.count)
	}
	v, ok := parseFloat32(tok)
	if !ok {
		return fmt.Errorf(`"data": %q is not a float32 number`, tok)
	}
	if p.uint8 && (v != float32(math.Trunc(float64(v))) || v < 0 || v > 255) {
		return fmt.Errorf(`"data": %s is not a UINT8 value (0..255)`, tok)
	}
	p.out = append(p.out, v)
	return nil
}

// parseFloat32 returns the float32 nearest the JSON number tok, as
// strconv.ParseFloat(tok, 32) does; ok is false if it overflows float32.
// Numbers of at most 7 significant digits and a decimal exponent within ±10
// (a pixel such as 0.12156863 or 255) are computed exactly in float32
// arithmetic, whose one rounding is the correct one (Clinger's fast path, which
// strconv also takes, after a slower scan); the rest go to strconv.
func parseFloat32(tok string) (float32, bool) {
	i, neg := 0, false
	if i < len(tok) && tok[i] == '-' {
		neg, i = true, 1
	}
	var mant uint32
	digits, exp := 0, 0
	for ; i < len(tok) && '0' <= tok[i] && tok[i] <= '9'; i++ {
		if mant != 0 || tok[i] != '0' {
			digits++
		}
		mant = mant*10 + uint32(tok[i]-'0')
		if digits > 7 {
			return slowFloat32(tok)
		}
	}
	if i < len(tok) && tok[i] == '.' {
		for i++; i < len(tok) && '0' <= tok[i] && tok[i] <= '9'; i++ {
			if mant != 0 || tok[i] != '0' {
				digits++
			}
			mant = mant*10 + uint32(tok[i]-'0')
			exp--
			if digits > 7 || exp < -10 {
				return slowFloat32(tok)
			}
		}
	}
	if i < len(tok) {
		return slowFloat32(tok) // an exponent
	}
	v := float32(mant) // exact: mant < 1e7 < 2^24
	if exp < 0 {
		v /= pow10f32[-exp] // exact divisor: 10^10 < 2^24 * 2^10
	}
	if neg {
		v = -v
	}
	return v, true
}

// pow10f32 holds 10^0 .. 10^10, each exact in float32.
var pow10f32 = [...]float32{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10}

func slowFloat32(tok string) (float32, bool) {
	v, err := strconv.ParseFloat(tok, 32)
	if err != nil || math.IsInf(v, 0) {
		return 0, false
	}
	return float32(v), true
}

// decodeBinary reads count little-endian values of datatype FP32 or UINT8.
func decodeBinary(b []byte, count int, datatype string) []float32 {
	out := make([]float32, count)
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
