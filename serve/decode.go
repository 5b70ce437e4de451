package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// decodeInferRequest reads an inference request: JSON, or JSON followed by
// binary tensor data when headerLen >= 0 (the Inference-Header-Content-Length
// header). It returns the request and the binary part; each input's Data is a
// slice of body (the raw JSON of its "data" value), not a copy.
//
// It decodes exactly as encoding/json's Decoder (UseNumber) into inferRequest
// would, in one pass and without reflection: the keys match the fields without
// regard to case, null leaves a field as it is, a repeated key decodes over
// the earlier value, unknown keys are skipped, the nesting is limited to
// 10,000 levels. FuzzDecodeInferRequest holds it to encoding/json. Strings with
// escapes or non-ASCII bytes and the values of parameters, both small and
// rare, are handed to encoding/json itself.
func decodeInferRequest(body []byte, headerLen int64) (*inferRequest, []byte, error) {
	var bin []byte
	if headerLen >= 0 {
		if headerLen > int64(len(body)) {
			return nil, nil, fmt.Errorf("Inference-Header-Content-Length %d is larger than the body (%d bytes)", headerLen, len(body))
		}
		body, bin = body[:headerLen], body[headerLen:]
	}
	d := jsonDecoder{b: body}
	var req inferRequest
	if err := d.request(&req); err != nil {
		return nil, nil, fmt.Errorf("the request is not a valid inference request object: %w", err)
	}
	if len(bytes.TrimSpace(body[d.i:])) > 0 {
		return nil, nil, errors.New("the request has data after its JSON object (binary data needs the Inference-Header-Content-Length header)")
	}
	return &req, bin, nil
}

// maxDepth is encoding/json's limit on nested arrays and objects.
const maxDepth = 10000

// jsonDecoder reads JSON from b at i.
type jsonDecoder struct {
	b     []byte
	i     int
	depth int // arrays and objects open
}

func (d *jsonDecoder) space() { d.i = skipSpace(d.b, d.i) }

// skipSpace returns the index of the first byte from i on that is not JSON
// white space (len(b) if none).
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// peek returns the first byte of the next value (after white space), or an
// error at the end of the input.
func (d *jsonDecoder) peek() (byte, error) {
	d.space()
	if d.i >= len(d.b) {
		return 0, d.syntax("the input ends")
	}
	return d.b[d.i], nil
}

func (d *jsonDecoder) syntax(what string) error {
	return fmt.Errorf("JSON syntax: %s at byte %d", what, d.i)
}

func (d *jsonDecoder) unexpected(where string) error {
	if d.i >= len(d.b) {
		return d.syntax("the input ends " + where)
	}
	return d.syntax(fmt.Sprintf("unexpected %q %s", d.b[d.i], where))
}

// null consumes a null literal if one comes next.
func (d *jsonDecoder) null() (bool, error) {
	c, err := d.peek()
	if err != nil || c != 'n' {
		return false, err
	}
	return true, d.literal("null")
}

func (d *jsonDecoder) literal(lit string) error {
	if !bytes.HasPrefix(d.b[d.i:], []byte(lit)) {
		return d.syntax("invalid literal")
	}
	d.i += len(lit)
	return nil
}

// push and pop count the open arrays and objects.
func (d *jsonDecoder) push() error {
	d.depth++
	if d.depth > maxDepth {
		return d.syntax(fmt.Sprintf("more than %d nested arrays and objects", maxDepth))
	}
	return nil
}

func (d *jsonDecoder) pop() { d.depth-- }

// object reads an object (the caller has seen its '{' at d.i), calling field for each key with d.i at
// its value; field must read the value.
func (d *jsonDecoder) object(field func(key []byte) error) error {
	if err := d.push(); err != nil {
		return err
	}
	d.i++ // '{'
	if c, err := d.peek(); err != nil {
		return err
	} else if c == '}' {
		d.i++
		d.pop()
		return nil
	}
	for {
		if c, err := d.peek(); err != nil {
			return err
		} else if c != '"' {
			return d.unexpected("looking for an object key")
		}
		key, err := d.stringValue()
		if err != nil {
			return err
		}
		if c, err := d.peek(); err != nil {
			return err
		} else if c != ':' {
			return d.unexpected("after an object key")
		}
		d.i++
		if _, err := d.peek(); err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
		c, err := d.peek()
		if err != nil {
			return err
		}
		d.i++
		switch c {
		case ',':
			continue
		case '}':
			d.pop()
			return nil
		}
		d.i--
		return d.unexpected("after an object value")
	}
}

// array reads an array (the caller has seen its '[' at d.i), calling elem with d.i at each element;
// elem must read the element.
func (d *jsonDecoder) array(elem func() error) error {
	if err := d.push(); err != nil {
		return err
	}
	d.i++ // '['
	if c, err := d.peek(); err != nil {
		return err
	} else if c == ']' {
		d.i++
		d.pop()
		return nil
	}
	for {
		if _, err := d.peek(); err != nil {
			return err
		}
		if err := elem(); err != nil {
			return err
		}
		c, err := d.peek()
		if err != nil {
			return err
		}
		d.i++
		switch c {
		case ',':
			continue
		case ']':
			d.pop()
			return nil
		}
		d.i--
		return d.unexpected("after an array element")
	}
}

// skip reads any value and returns its bytes.
func (d *jsonDecoder) skip() ([]byte, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	start := d.i
	switch {
	case c == '{':
		err = d.object(func([]byte) error { _, err := d.skip(); return err })
	case c == '[':
		err = d.array(func() error { _, err := d.skip(); return err })
	case c == '"':
		_, _, err = d.str()
	case c == '-' || '0' <= c && c <= '9':
		err = d.number()
	case c == 't':
		err = d.literal("true")
	case c == 'f':
		err = d.literal("false")
	case c == 'n':
		err = d.literal("null")
	default:
		return nil, d.unexpected("looking for a value")
	}
	return d.b[start:d.i], err
}

// number reads a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *jsonDecoder) number() error {
	n := jsonNumberLen(d.b[d.i:])
	if n == 0 {
		return d.syntax("invalid number")
	}
	d.i += n
	return nil
}

// jsonNumberLen returns the length of the JSON number b starts with, or 0.
func jsonNumberLen(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	default:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0
		}
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0
		}
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	}
	return i
}

// str reads a string (d.i at its quote) and returns its bytes with the quotes
// and whether it is plain: no escapes, only printable ASCII, so that its
// value is the bytes between the quotes.
func (d *jsonDecoder) str() (raw []byte, plain bool, err error) {
	start := d.i
	plain = true
	for d.i++; d.i < len(d.b); d.i++ {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return d.b[start:d.i], plain, nil
		case c < 0x20:
			return nil, false, d.syntax("control character in a string")
		case c >= 0x80:
			plain = false // encoding/json replaces invalid UTF-8
		case c == '\\':
			plain = false
			d.i++
			if d.i >= len(d.b) {
				return nil, false, d.syntax("the input ends in a string")
			}
			switch d.b[d.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for range 4 {
					d.i++
					if d.i >= len(d.b) || !isHex(d.b[d.i]) {
						return nil, false, d.syntax(`invalid \u escape`)
					}
				}
			default:
				return nil, false, d.syntax("invalid escape in a string")
			}
		}
	}
	return nil, false, d.syntax("the input ends in a string")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// stringValue reads a string and returns its value.
func (d *jsonDecoder) stringValue() ([]byte, error) {
	raw, plain, err := d.str()
	if err != nil {
		return nil, err
	}
	if plain {
		return raw[1 : len(raw)-1], nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// typeError says that the value at d.i is not what field takes.
func (d *jsonDecoder) typeError(field, want string) error {
	return fmt.Errorf("%s must be %s (byte %d)", field, want, d.i)
}

// request reads an inferRequest (the top-level value) into req.
func (d *jsonDecoder) request(req *inferRequest) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	if d.b[d.i] != '{' {
		return d.typeError("the request", "an object")
	}
	return d.object(func(key []byte) error {
		switch {
		case bytes.EqualFold(key, []byte("id")):
			return d.string(&req.ID, "id")
		case bytes.EqualFold(key, []byte("parameters")):
			return d.parameters(&req.Parameters, "parameters")
		case bytes.EqualFold(key, []byte("inputs")):
			return decodeSlice(d, &req.Inputs, "inputs", d.input)
		case bytes.EqualFold(key, []byte("outputs")):
			return decodeSlice(d, &req.Outputs, "outputs", d.output)
		}
		_, err := d.skip()
		return err
	})
}

func (d *jsonDecoder) input(in *requestInput) error {
	if d.b[d.i] != '{' {
		return d.typeError("inputs[]", "an object")
	}
	return d.object(func(key []byte) error {
		switch {
		case bytes.EqualFold(key, []byte("name")):
			return d.string(&in.Name, "inputs[].name")
		case bytes.EqualFold(key, []byte("shape")):
			return decodeSlice(d, &in.Shape, "inputs[].shape", func(v *int64) error { return d.int64(v, "inputs[].shape[]") })
		case bytes.EqualFold(key, []byte("datatype")):
			return d.string(&in.Datatype, "inputs[].datatype")
		case bytes.EqualFold(key, []byte("parameters")):
			return d.parameters(&in.Parameters, "inputs[].parameters")
		case bytes.EqualFold(key, []byte("data")):
			start := d.i
			in.parsed = d.tensor(in.Shape, in.Datatype)
			if in.parsed != nil {
				in.Data = d.b[start:d.i]
				return nil
			}
			raw, err := d.skip() // json.RawMessage: any value, null included
			in.Data = raw
			return err
		}
		_, err := d.skip()
		return err
	})
}

func (d *jsonDecoder) output(out *requestOutput) error {
	if d.b[d.i] != '{' {
		return d.typeError("outputs[]", "an object")
	}
	return d.object(func(key []byte) error {
		switch {
		case bytes.EqualFold(key, []byte("name")):
			return d.string(&out.Name, "outputs[].name")
		case bytes.EqualFold(key, []byte("parameters")):
			return d.parameters(&out.Parameters, "outputs[].parameters")
		}
		_, err := d.skip()
		return err
	})
}

// tensor reads the value at d.i as tensor data of shape and datatype, as
// parseTensorData does, if it can: it returns nil (and leaves d.i) when the
// data is anything else (the input's check then says why). The shape's count is
// bounded by the bytes left, two a number, before anything is allocated.
func (d *jsonDecoder) tensor(shape []int64, datatype string) *parsedData {
	if d.b[d.i] != '[' || len(shape) == 0 || len(shape) > 8 || datatype != "FP32" && datatype != "UINT8" {
		return nil
	}
	count, most := 1, (len(d.b)-d.i)/2+1
	for _, n := range shape {
		if n < 1 || n > int64(most) || count*int(n) > most {
			return nil
		}
		count *= int(n)
	}
	dims := make([]int, len(shape))
	for i, n := range shape {
		dims[i] = int(n)
	}
	p := dataParser{b: d.b, i: d.i, shape: dims, uint8: datatype == "UINT8", out: getTensor(count), count: count}
	if err := p.array(0); err != nil || len(p.out) != count {
		putTensor(p.out)
		return nil
	}
	d.i = p.i
	return &parsedData{shape: slices.Clone(shape), datatype: datatype, values: p.out}
}

// decodeSlice reads an array into *s as encoding/json does: null sets nil;
// elements decode over the slice's earlier elements (elem leaves what its
// value does not set); an empty array sets an empty slice. elem reads one
// element, an object for a slice of structs; null leaves the element as it is.
func decodeSlice[T any](d *jsonDecoder, s *[]T, field string, elem func(*T) error) error {
	if null, err := d.null(); null || err != nil {
		if null {
			*s = nil
		}
		return err
	}
	if d.b[d.i] != '[' {
		return d.typeError(field, "an array")
	}
	v := *s
	n := 0
	err := d.array(func() error {
		if n >= cap(v) {
			v = append(v[:cap(v)], *new(T))
		}
		v = v[:max(len(v), n+1)]
		n++
		if null, err := d.null(); null || err != nil {
			return err
		}
		return elem(&v[n-1])
	})
	if err != nil {
		return err
	}
	if n == 0 {
		v = []T{}
	}
	*s = v[:n]
	return nil
}

// string reads a string field (null leaves it).
func (d *jsonDecoder) string(s *string, field string) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	if d.b[d.i] != '"' {
		return d.typeError(field, "a string")
	}
	v, err := d.stringValue()
	*s = string(v)
	return err
}

// int64 reads an integer (null leaves it).
func (d *jsonDecoder) int64(v *int64, field string) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	start := d.i
	if c := d.b[d.i]; c != '-' && (c < '0' || c > '9') {
		return d.typeError(field, "an integer")
	}
	if err := d.number(); err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
	if err != nil {
		d.i = start
		return d.typeError(field, "an integer that fits int64")
	}
	*v = n
	return nil
}

// parameters reads a $parameters object into *p: null sets nil, the keys of
// an object are added to (or replace those of) the map, each value decoded by
// encoding/json with UseNumber.
func (d *jsonDecoder) parameters(p *parameters, field string) error {
	if null, err := d.null(); null || err != nil {
		if null {
			*p = nil
		}
		return err
	}
	if d.b[d.i] != '{' {
		return d.typeError(field, "an object")
	}
	if *p == nil {
		*p = parameters{}
	}
	return d.object(func(key []byte) error {
		raw, err := d.skip()
		if err != nil {
			return err
		}
		var v any
		switch s := string(raw); {
		case len(raw) > 0 && jsonNumberLen(raw) == len(raw): // binary_data_size, classification
			v = json.Number(s)
		case s == "true", s == "false": // binary_data
			v = s == "true"
		case s == "null":
		default:
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				return err
			}
		}
		(*p)[string(key)] = v
		return nil
	})
}
