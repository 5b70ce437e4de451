package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// decodeReference is decodeInferRequest as encoding/json does it (the
// server's decoder before the hand-written one): the reference the fast
// decoder is held to.
func decodeReference(body []byte, headerLen int64) (*inferRequest, []byte, error) {
	var bin []byte
	if headerLen >= 0 {
		if headerLen > int64(len(body)) {
			return nil, nil, fmt.Errorf("Inference-Header-Content-Length %d is larger than the body (%d bytes)", headerLen, len(body))
		}
		body, bin = body[:headerLen], body[headerLen:]
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var req inferRequest
	if err := dec.Decode(&req); err != nil {
		return nil, nil, fmt.Errorf("the request is not a valid inference request object: %w", err)
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return nil, nil, errors.New("the request has data after its JSON object (binary data needs the Inference-Header-Content-Length header)")
	}
	return &req, bin, nil
}

// sameDecoding fails t unless the fast decoder and encoding/json agree on
// body: both refuse it, or both give the same request.
func sameDecoding(t *testing.T, body []byte) {
	t.Helper()
	got, _, err := decodeInferRequest(body, -1)
	want, _, wantErr := decodeReference(body, -1)
	if err == nil {
		for i, in := range got.Inputs {
			if in.parsed != nil {
				checkParsed(t, body, in)
			}
			got.Inputs[i].parsed = nil // encoding/json has no such field
		}
	}
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("body %.300q:\nfast decoder: %v\nencoding/json: %v", body, err, wantErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("body %.300q:\nfast decoder:  %#v\nencoding/json: %#v", body, got, want)
	}
}

// checkParsed fails t unless the values the decoder read for in are what
// parseTensorData reads from its data.
func checkParsed(t *testing.T, body []byte, in requestInput) {
	t.Helper()
	pd := in.parsed
	if !slices.Equal(pd.shape, in.Shape) || pd.datatype != in.Datatype {
		return // a later key changed them: the handler parses again
	}
	shape, count := make([]int, len(in.Shape)), 1
	for i, n := range in.Shape {
		shape[i] = int(n)
		count *= int(n)
	}
	want, err := parseTensorData(in.Data, shape, count, in.Datatype == "UINT8")
	if err != nil || !slices.EqualFunc(pd.values, want, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
		t.Fatalf("body %.300q: the decoder read %v, parseTensorData %v (%v)", body, pd.values, want, err)
	}
}

// decodeCases are bodies at the edges of JSON and of the request object; the
// fuzz corpus starts from them.
var decodeCases = []string{
	``, ` `, `null`, ` null `, `{}`, `[]`, `"x"`, `1`, `true`, `{`, `}`, `{"inputs"`, `{inputs`,
	`{"id": "a"}`, `{"id": null}`, `{"id": 1}`, `{"ID": "a"}`, `{"Id": "a", "id": "b"}`,
	`{"id": "a\"b\\c\/\b\f\n\r\t\u00e9\ud83d\ude00"}`, `{"id": "\ud800"}`, `{"id": "\x"}`, `{"id": "\u12"}`,
	"{\"id\": \"caf\xc3\xa9\"}", "{\"id\": \"\xff\"}", "{\"id\": \"a\nb\"}", "{\"id\": \"a\x00\"}",
	`{"\u0069d": "a"}`, "{\"\xe2\x84\xaaey\": 1}", `{"ſd": 1}`, `{"unknown": {"a": [1, {"b": null}]}, "id": "x"}`,
	`{"parameters": {"binary_data_output": true, "n": 1.5e3, "s": "x", "z": null, "a": [1, "b"], "o": {"k": -0}}}`,
	`{"parameters": {"f": false, "m": -0, "e": 1E2, "t": true, "x": tru, "y": 01}}`, `{"parameters": {"binary_data_size": 3136}}`,
	`{"parameters": null}`, `{"parameters": {"a": 1}, "parameters": {"b": 2}}`, `{"parameters": []}`, `{"parameters": {"a": }}`,
	`{"inputs": null}`, `{"inputs": []}`, `{"inputs": [null]}`, `{"inputs": [1]}`, `{"inputs": {}}`,
	`{"inputs": [{"name": "image", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [0, 1.5, -2e-3]}]}`,
	`{"inputs": [{"name": "a", "datatype": "FP32"}, {"name": "b"}], "inputs": [{"name": "c"}]}`,
	`{"inputs": [{"name": "a"}, {"name": "b"}, {"name": "c"}], "inputs": [{"shape": [1]}], "inputs": [null, null, {}]}`,
	`{"inputs": [{"shape": [1, 2, 3]}, {"shape": null}]}`, `{"inputs": [{"shape": [1, 2], "shape": [null]}]}`,
	`{"inputs": [{"shape": [1.0]}]}`, `{"inputs": [{"shape": [1e2]}]}`, `{"inputs": [{"shape": [-0]}]}`,
	`{"inputs": [{"shape": [9223372036854775807]}]}`, `{"inputs": [{"shape": [9223372036854775808]}]}`, `{"inputs": [{"shape": ["1"]}]}`,
	`{"inputs": [{"data": null}]}`, `{"inputs": [{"shape": [2], "datatype": "FP32", "data": [1, -0.5]}]}`,
	`{"inputs": [{"shape": [2, 1], "datatype": "UINT8", "data": [[1], [255]], "shape": [1, 2]}]}`,
	`{"inputs": [{"shape": [2], "datatype": "UINT8", "data": [1, 256]}]}`, `{"inputs": [{"shape": [2], "datatype": "FP32", "data": [1 2]}]}`,
	`{"inputs": [{"shape": [3], "datatype": "FP32", "data": [1, 2]}]}`, `{"inputs": [{"shape": [1], "datatype": "FP32", "data": [1, "a"]}]}`,
	`{"inputs": [{"shape": [1], "datatype": "FP32", "data": [1e39]}]}`, `{"inputs": [{"shape": [1], "datatype": "FP32", "data": [1], "data": [2]}]}`, `{"inputs": [{"data": "abc"}]}`, `{"inputs": [{"data": [[1, 2], [3]]}]}`,
	`{"inputs": [{"data": [01]}]}`, `{"inputs": [{"data": [1.]}]}`, `{"inputs": [{"data": [.5]}]}`, `{"inputs": [{"data": [+1]}]}`,
	`{"inputs": [{"data": [1e]}]}`, `{"inputs": [{"data": [1e+]}]}`, `{"inputs": [{"data": [-]}]}`, `{"inputs": [{"data": [NaN]}]}`,
	`{"inputs": [{"data": [Infinity]}]}`, `{"inputs": [{"data": [1,]}]}`, `{"inputs": [{"data": [,1]}]}`, `{"inputs": [{"data": [1 2]}]}`,
	`{"inputs": [{"data": [tru]}]}`, `{"inputs": [{"data": [true, false, null]}]}`, `{"inputs": [{"Data": [1], "DATA": [2]}]}`,
	`{"outputs": [{"name": "label", "parameters": {"classification": 3}}], "outputs": [{}]}`, `{"outputs": [{"name": 1}]}`,
	`{"id": "a",}`, `{"id" "a"}`, `{,}`, `{"a": 1 "b": 2}`, `{'id': 'a'}`, `{"id": "a"} `, "{}\n\t\r ", "\ufeff{}",
	`{}x`, `{} {}`, `{}` + "\v", `{}` + "\u00a0", `{} 1`, `{"id": "a"`, `[{"id": "a"}]`, `{"id": tRue}`, `{"a": nul}`,
	`{"a": [` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `]}`,
	`{"a": [` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `]}`,
}

// TestDecodeLikeEncodingJSON: the fast decoder gives what encoding/json gives
// on the edge cases, the protocol's examples and the golden requests.
func TestDecodeLikeEncodingJSON(t *testing.T) {
	for _, body := range decodeCases {
		sameDecoding(t, []byte(body))
	}
	files, _ := filepath.Glob("testdata/*request*.json")
	if len(files) == 0 {
		t.Fatal("no testdata/*request*.json")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sameDecoding(t, b)
		if _, _, err := decodeInferRequest(b, -1); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestDecodeDepth: 10,000 nested arrays and objects are read, 10,001 are not
// (encoding/json's limit).
func TestDecodeDepth(t *testing.T) {
	for _, tc := range []struct {
		levels int // arrays inside the top-level object
		ok     bool
	}{{9999, true}, {10000, false}} {
		body := `{"a": ` + strings.Repeat("[", tc.levels) + strings.Repeat("]", tc.levels) + `}`
		_, _, err := decodeInferRequest([]byte(body), -1)
		if (err == nil) != tc.ok {
			t.Errorf("%d levels: %v", tc.levels+1, err)
		}
	}
}

// TestDecodeDataSpan: an input's Data is its "data" value's bytes, as
// json.RawMessage holds them.
func TestDecodeDataSpan(t *testing.T) {
	body := `{"inputs": [{"data" : [ [1, 2],[3, 4] ] , "name": "x"}]}`
	req, _, err := decodeInferRequest([]byte(body), -1)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(req.Inputs[0].Data); got != `[ [1, 2],[3, 4] ]` {
		t.Errorf("data %q", got)
	}
}

// FuzzDecodeInferRequest holds the fast decoder to encoding/json on arbitrary
// bodies: the same requests, the same refusals, never a panic.
func FuzzDecodeInferRequest(f *testing.F) {
	for _, body := range decodeCases {
		f.Add([]byte(body))
	}
	files, _ := filepath.Glob("testdata/*request*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sameDecoding(t, body)
	})
}

// sameFloat32 fails t unless scanFloat32 reads all of the JSON number tok
// and agrees with strconv.ParseFloat(tok, 32) bit for bit (overflow: both
// refuse).
func sameFloat32(t *testing.T, tok string) {
	t.Helper()
	got, n, ok := scanFloat32([]byte(tok + ","))
	want, err := strconv.ParseFloat(tok, 32)
	wantOK := err == nil && !math.IsInf(want, 0)
	if n != len(tok) || ok != wantOK || ok && math.Float32bits(got) != math.Float32bits(float32(want)) {
		t.Fatalf("%q: scanFloat32 %v (length %d, %v), strconv %v (%v)", tok, got, n, ok, float32(want), err)
	}
}

var floatCases = []string{
	"0", "-0", "0.0", "-0.0", "1", "-1", "255", "0.5", "0.12156863", "0.121568635", "-2e-3", "1e39", "-1e39",
	"3.4028235e38", "3.4028236e38", "1e-45", "1e-46", "1.4e-45", "0.00000000001", "0.0000000001",
	"9999999", "99999999", "16777217", "16777219", "33554434", "-16777217.0", "0.000000000000000000001", "123456789012345", "1234567890123456", "0.1", "0.3", "1E2", "1e+2", "1e-2", "123456.7", "1234567.8",
	"0.9999999", "0.99999999", "1.0000001", "5e-324", "1e400", "0e999", "-0e-999", "100000000000000000000",
}

// TestParseFloat32 checks scanFloat32's fast path against strconv on numbers at its
// edges (7 and 8 digits, 10^-10 and 10^-11, subnormals, overflow) and on every
// fixture pixel as JSON writes it.
func TestParseFloat32(t *testing.T) {
	for _, tok := range floatCases {
		sameFloat32(t, tok)
	}
	images, _ := fixtures(t)
	for _, img := range images {
		for _, v := range img {
			b, _ := json.Marshal(v)
			sameFloat32(t, string(b))
		}
	}
	for i := range 256 {
		sameFloat32(t, strconv.Itoa(i))
		sameFloat32(t, strconv.FormatFloat(float64(float32(i)/255), 'g', -1, 32))
	}
}

// FuzzParseFloat32 holds scanFloat32 to strconv on any JSON number, and to
// jsonNumberLen on what is a number.
func FuzzParseFloat32(f *testing.F) {
	for _, tok := range floatCases {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if _, n, _ := scanFloat32([]byte(tok)); n != jsonNumberLen([]byte(tok)) {
			t.Fatalf("%q: scanFloat32 reads %d bytes, jsonNumberLen %d", tok, n, jsonNumberLen([]byte(tok)))
		}
		if tok == "" || jsonNumberLen([]byte(tok)) != len(tok) {
			return
		}
		sameFloat32(t, tok)
	})
}

// TestParseTensorData: flat and nested data, white space, exponents, negative
// zero, and the refusals (shape, count, type, range).
func TestParseTensorData(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for _, tc := range []struct {
		data  string
		shape []int
		uint8 bool
		want  []float32 // nil: refused
		err   string    // in the refusal
	}{
		{`[1, 2, 3, 4]`, []int{1, 4}, false, []float32{1, 2, 3, 4}, ""},
		{" \t\n[ 1 ,2,\r3 , 4 ] \n", []int{2, 2}, false, []float32{1, 2, 3, 4}, ""},
		{`[[1, 2], [3, 4]]`, []int{2, 2}, false, []float32{1, 2, 3, 4}, ""},
		{`[[[1], [2]], [[3], [4]]]`, []int{2, 2, 1}, false, []float32{1, 2, 3, 4}, ""},
		{`[-0, 0.0, -0.0, 1e2]`, []int{1, 4}, false, []float32{negZero, 0, negZero, 100}, ""},
		{`[1E-2, 2.5e+1, -3e0, 0.12156863]`, []int{4}, false, []float32{0.01, 25, -3, 0.12156863}, ""},
		{`[0, 255, 2e2, 1.0]`, []int{4}, true, []float32{0, 255, 200, 1}, ""},
		{`[1, 2, 3]`, []int{1, 4}, false, nil, "has 3 values"},
		{`[1, 2, 3, 4, 5]`, []int{1, 4}, false, nil, "more values than"},
		{`[[1, 2, 3], [4]]`, []int{2, 2}, false, nil, "do not follow the shape"},
		{`[[1, 2]]`, []int{2, 2}, false, nil, "1 arrays at depth 0"},
		{`[[[1, 2]], [[3, 4]]]`, []int{2, 2}, false, nil, "nested deeper"},
		{`[1, [2]]`, []int{2}, false, nil, "mixes numbers and arrays"},
		{`[[1], 2]`, []int{2, 1}, false, nil, "mixes numbers and arrays"},
		{`["1", 2]`, []int{2}, false, nil, "non-number"},
		{`[1, NaN]`, []int{2}, false, nil, "non-number"},
		{`[1, 01]`, []int{2}, false, nil, "unexpected"},
		{`[1e39, 1]`, []int{2}, false, nil, "not a float32"},
		{`[256, 1]`, []int{2}, true, nil, "not a UINT8"},
		{`[-1, 1]`, []int{2}, true, nil, "not a UINT8"},
		{`[0.5, 1]`, []int{2}, true, nil, "not a UINT8"},
		{`[1, 2`, []int{2}, false, nil, "ends early"},
		{`[1, 2] x`, []int{2}, false, nil, "trailing bytes"},
		{`{"a": 1}`, []int{1}, false, nil, "must be an array"},
	} {
		count := 1
		for _, d := range tc.shape {
			count *= d
		}
		got, err := parseTensorData([]byte(tc.data), tc.shape, count, tc.uint8)
		switch {
		case tc.want == nil && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q %v: %v, want an error with %q", tc.data, tc.shape, err, tc.err)
		case tc.want != nil && err != nil:
			t.Errorf("%q %v: %v", tc.data, tc.shape, err)
		case tc.want != nil && !slices.EqualFunc(got, tc.want, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }):
			t.Errorf("%q %v: %v, want %v", tc.data, tc.shape, got, tc.want)
		}
	}
}
