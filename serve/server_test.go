package serve

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/classify"
	"github.com/onnxdigits/onnxdigits/internal/testutil"
)

func TestHealth(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/v2/health/live", 200},
		{"/v2/health/ready", 200},
		{"/v2/models/mnist/ready", 200},
		{"/v2/models/mnist/versions/1/ready", 200},
		{"/v2/models/other/ready", 404},
		{"/v2/models/mnist/versions/2/ready", 404},
	} {
		status, _, body := do(t, "GET", ts.URL+tc.path, "", nil)
		if status != tc.status {
			t.Errorf("GET %s: status %d, want %d (%s)", tc.path, status, tc.status, body)
		}
		if status == 200 && len(body) != 0 {
			t.Errorf("GET %s: body %q, want none (the protocol's health answers are status codes)", tc.path, body)
		}
		if status == 404 {
			var e struct{ Error string }
			if json.Unmarshal(body, &e) != nil || e.Error == "" {
				t.Errorf("GET %s: body %q, want {\"error\": ...}", tc.path, body)
			}
		}
	}
}

func TestMetadata(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	for _, tc := range []struct{ path, golden string }{
		{"/v2", "server_metadata.json"},
		{"/v2/models/mnist", "model_metadata.json"},
		{"/v2/models/mnist/versions/1", "model_metadata.json"},
	} {
		status, h, body := do(t, "GET", ts.URL+tc.path, "", nil)
		if status != 200 || h.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: status %d, %s: %s", tc.path, status, h.Get("Content-Type"), body)
		}
		jsonMatch(t, body, readFile(t, tc.golden))
	}
}

func TestInferGolden(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	for _, tc := range []struct{ path, request, response string }{
		{"/v2/models/mnist/infer", "infer_request.json", "infer_response.json"},
		{"/v2/models/mnist/versions/1/infer", "infer_request.json", "infer_response.json"},
		{"/v2/models/mnist/infer", "infer_request_nested.json", "infer_response_nested.json"},
		{"/v2/models/mnist/infer", "infer_request_uint8.json", "infer_response_uint8.json"},
		{"/v2/models/mnist/infer", "classification_request.json", "classification_response.json"},
	} {
		t.Run(tc.request+tc.path, func(t *testing.T) {
			status, _, body := do(t, "POST", ts.URL+tc.path, "application/json", readFile(t, tc.request))
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			jsonMatch(t, body, readFile(t, tc.response))
		})
	}
}

// splitBinary splits a binary tensor data response into its JSON header and
// the bytes after it.
func splitBinary(t *testing.T, h http.Header, body []byte) ([]byte, []byte) {
	t.Helper()
	n, err := strconv.Atoi(h.Get("Inference-Header-Content-Length"))
	if err != nil || n > len(body) {
		t.Fatalf("Inference-Header-Content-Length %q for %d bytes", h.Get("Inference-Header-Content-Length"), len(body))
	}
	if h.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("Content-Type %q", h.Get("Content-Type"))
	}
	return body[:n], body[n:]
}

func TestInferBinary(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	header := readFile(t, "binary_request_header.json")
	body := append(append([]byte{}, header...), readFile(t, "binary_request.bin")...)
	status, h, resp := do(t, "POST", ts.URL+"/v2/models/mnist/infer", "application/octet-stream", body,
		"Inference-Header-Content-Length", strconv.Itoa(len(header)))
	if status != 200 {
		t.Fatalf("status %d: %s", status, resp)
	}
	js, bin := splitBinary(t, h, resp)
	jsonMatch(t, js, readFile(t, "binary_response_header.json"))
	got, want := float32s(bin), float32s(readFile(t, "binary_response.bin"))
	if len(bin) != 80 || len(got) != len(want) {
		t.Fatalf("%d bytes of binary output, want 80", len(bin))
	}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > tolerance {
			t.Errorf("probability %d: %v, onnxruntime %v", i, got[i], want[i])
		}
	}
}

// TestInferBinaryOutputs asks for every output in binary with the request's
// binary_data_output, and for the classification strings in binary (BYTES:
// a 4-byte little-endian length before each string).
func TestInferBinaryOutputs(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	images, probs := fixtures(t)
	x, _ := json.Marshal(images[2])
	req := `{"parameters": {"binary_data_output": true}, "inputs": [{"name": "image", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": ` + string(x) + `}]}`
	status, h, resp := do(t, "POST", ts.URL+"/v2/models/mnist/infer", "application/json", []byte(req))
	if status != 200 {
		t.Fatalf("status %d: %s", status, resp)
	}
	js, bin := splitBinary(t, h, resp)
	jsonMatch(t, js, []byte(`{"model_name": "mnist", "model_version": "1", "id": "", "outputs": [{"name": "probabilities", "shape": [1, 10], "datatype": "FP32", "parameters": {"binary_data_size": 40}}]}`))
	for i, v := range float32s(bin) {
		if math.Abs(float64(v-probs[2][i])) > tolerance {
			t.Errorf("probability %d: %v, onnxruntime %v", i, v, probs[2][i])
		}
	}

	req = `{"inputs": [{"name": "image", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": ` + string(x) +
		`}], "outputs": [{"name": "probabilities", "parameters": {"classification": 1, "binary_data": true}}]}`
	status, h, resp = do(t, "POST", ts.URL+"/v2/models/mnist/infer", "application/json", []byte(req))
	if status != 200 {
		t.Fatalf("status %d: %s", status, resp)
	}
	js, bin = splitBinary(t, h, resp)
	var r inferResponse
	if err := json.Unmarshal(js, &r); err != nil || len(r.Outputs) != 1 || r.Outputs[0].Datatype != "BYTES" {
		t.Fatalf("%s (%v)", js, err)
	}
	n := binary.LittleEndian.Uint32(bin)
	if int(n) != len(bin)-4 {
		t.Fatalf("BYTES element of %d bytes in %d", n, len(bin)-4)
	}
	parts := strings.Split(string(bin[4:]), ":")
	v, _ := strconv.ParseFloat(parts[0], 64)
	// MNIST test image 2 is a 1 (manifest.json input_labels).
	if len(parts) != 3 || parts[1] != "1" || parts[2] != "1" || math.Abs(v-float64(probs[2][1])) > tolerance {
		t.Errorf("classification %q, want %v:1:1", bin[4:], probs[2][1])
	}
}

func TestErrors(t *testing.T) {
	s, ts := newTestServer(t, Config{MaxBatch: 4, MaxBodyBytes: 1 << 20})
	_ = s
	input := func(shape, datatype, data string) string {
		return `{"inputs": [{"name": "image", "shape": ` + shape + `, "datatype": "` + datatype + `", "data": ` + data + `}]}`
	}
	zeros := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat("0,", n), ",") + "]" }
	one := zeros(784)
	binSize3000 := `{"inputs": [{"name": "image", "shape": [1,1,28,28], "datatype": "FP32", "parameters": {"binary_data_size": 3000}}]}`
	binSize784 := `{"inputs": [{"name": "image", "shape": [1,1,28,28], "datatype": "UINT8", "parameters": {"binary_data_size": 784}}]}`
	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		status                   int
		want                     string // in the error message
	}{
		{"unknown model", "POST", "/v2/models/nope/infer", input("[1,1,28,28]", "FP32", one), nil, 404, `unknown model "nope"`},
		{"unknown version", "POST", "/v2/models/mnist/versions/7/infer", input("[1,1,28,28]", "FP32", one), nil, 404, `no version "7"`},
		{"unknown model metadata", "GET", "/v2/models/nope", "", nil, 404, "unknown model"},
		{"unknown endpoint", "GET", "/v3", "", nil, 404, "no endpoint GET /v3"},
		{"wrong method", "GET", "/v2/models/mnist/infer", "", nil, 405, "use POST"},
		{"not JSON", "POST", "/v2/models/mnist/infer", "{inputs", nil, 400, "not a valid inference request"},
		{"trailing bytes", "POST", "/v2/models/mnist/infer", input("[1,1,28,28]", "FP32", one) + "xx", nil, 400, "after its JSON"},
		{"no inputs", "POST", "/v2/models/mnist/infer", `{"inputs": []}`, nil, 400, "the request has 0"},
		{"wrong input name", "POST", "/v2/models/mnist/infer", strings.Replace(input("[1,1,28,28]", "FP32", one), `"image"`, `"x"`, 1), nil, 400, `unknown input "x"`},
		{"datatype", "POST", "/v2/models/mnist/infer", input("[1,1,28,28]", "INT64", one), nil, 400, `datatype "INT64"`},
		{"rank", "POST", "/v2/models/mnist/infer", input("[1,784]", "FP32", one), nil, 400, "does not match the model's [-1 1 28 28]"},
		{"dims", "POST", "/v2/models/mnist/infer", input("[1,1,27,29]", "FP32", zeros(783)), nil, 400, "does not match"},
		{"batch 0", "POST", "/v2/models/mnist/infer", input("[0,1,28,28]", "FP32", "[]"), nil, 400, "batch must be 1..4"},
		{"batch over max", "POST", "/v2/models/mnist/infer", input("[5,1,28,28]", "FP32", zeros(5*784)), nil, 400, "batch must be 1..4"},
		{"negative dim", "POST", "/v2/models/mnist/infer", input("[1,-1,28,28]", "FP32", one), nil, 400, "does not match"},
		{"too few values", "POST", "/v2/models/mnist/infer", input("[1,1,28,28]", "FP32", zeros(783)), nil, 400, "has 783 values"},
		{"too many values", "POST", "/v2/models/mnist/infer", input("[1,1,28,28]", "FP32", zeros(785)), nil, 400, "more values than"},
		{"nesting off the shape", "POST", "/v2/models/mnist/infer", input("[1,1,28,28]", "FP32", "[["+strings.Repeat("[0],", 783)+"[0]]]"), nil, 400, "do not follow the shape"},
		{"string value", "POST", "/v2/models/mnist/infer", input("[1,1,28,28]", "FP32", `["a"]`), nil, 400, "non-number"},
		{"data not an array", "POST", "/v2/models/mnist/infer", input("[1,1,28,28]", "FP32", `5`), nil, 400, "must be an array"},
		{"no data", "POST", "/v2/models/mnist/infer", `{"inputs": [{"name": "image", "shape": [1,1,28,28], "datatype": "FP32"}]}`, nil, 400, `no "data"`},
		{"float overflow", "POST", "/v2/models/mnist/infer", input("[1,1,28,28]", "FP32", "[1e39,"+one[1:]), nil, 400, "not a float32"},
		{"uint8 range", "POST", "/v2/models/mnist/infer", input("[1,1,28,28]", "UINT8", "[256,"+one[1:]), nil, 400, "not a UINT8"},
		{"uint8 fraction", "POST", "/v2/models/mnist/infer", input("[1,1,28,28]", "UINT8", "[0.5,"+one[1:]), nil, 400, "not a UINT8"},
		{"unknown output", "POST", "/v2/models/mnist/infer", strings.TrimSuffix(input("[1,1,28,28]", "FP32", one), "}") + `, "outputs": [{"name": "logits"}]}`, nil, 400, `unknown output "logits"`},
		{"classification 0", "POST", "/v2/models/mnist/infer", strings.TrimSuffix(input("[1,1,28,28]", "FP32", one), "}") + `, "outputs": [{"name": "probabilities", "parameters": {"classification": 0}}]}`, nil, 400, "classification 0"},
		{"classification 11", "POST", "/v2/models/mnist/infer", strings.TrimSuffix(input("[1,1,28,28]", "FP32", one), "}") + `, "outputs": [{"name": "probabilities", "parameters": {"classification": 11}}]}`, nil, 400, "10 classes"},
		{"binary_data not bool", "POST", "/v2/models/mnist/infer", strings.TrimSuffix(input("[1,1,28,28]", "FP32", one), "}") + `, "outputs": [{"name": "probabilities", "parameters": {"binary_data": "yes"}}]}`, nil, 400, "must be a boolean"},
		{"header length over body", "POST", "/v2/models/mnist/infer", `{}`, []string{"Inference-Header-Content-Length", "100"}, 400, "larger than the body"},
		{"header length not a number", "POST", "/v2/models/mnist/infer", `{}`, []string{"Inference-Header-Content-Length", "x"}, 400, "not a length"},
		{"binary size mismatch", "POST", "/v2/models/mnist/infer", binSize3000, []string{"Inference-Header-Content-Length", strconv.Itoa(len(binSize3000))}, 400, "takes 3136 bytes"},
		{"binary missing", "POST", "/v2/models/mnist/infer", binSize784, []string{"Inference-Header-Content-Length", strconv.Itoa(len(binSize784))}, 400, "0 bytes after the JSON header"},
		{"binary unclaimed", "POST", "/v2/models/mnist/infer", input("[1,1,28,28]", "FP32", one) + "abcd", []string{"Inference-Header-Content-Length", strconv.Itoa(len(input("[1,1,28,28]", "FP32", one)))}, 400, "no input claims"},
		{"body too large", "POST", "/v2/models/mnist/infer", input("[1,1,28,28]", "FP32", "["+strings.Repeat("0.000000000000000,", 70000)+"0]"), nil, 413, "larger than 1048576 bytes"},
		{"image not an image", "POST", "/v2/models/mnist/image", "hello", nil, 400, "not a PNG or JPEG"},
		{"image top", "POST", "/v2/models/mnist/image?top=11", "", nil, 400, "want 1..10"},
		{"image unknown model", "POST", "/v2/models/nope/image", "", nil, 404, "unknown model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := do(t, tc.method, ts.URL+tc.path, "application/json", []byte(tc.body), tc.header...)
			if status != tc.status {
				t.Errorf("status %d, want %d: %s", status, tc.status, body)
			}
			var e map[string]string
			if err := json.Unmarshal(body, &e); err != nil || len(e) != 1 || !strings.Contains(e["error"], tc.want) {
				t.Errorf("body %s, want {\"error\": \"...%s...\"}", body, tc.want)
			}
			if h.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", h.Get("Content-Type"))
			}
		})
	}
}

// TestBinaryNaN: binary FP32 can carry what JSON cannot; a NaN input is refused.
func TestBinaryNaN(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	header := `{"inputs": [{"name": "image", "shape": [1,1,28,28], "datatype": "FP32", "parameters": {"binary_data_size": 3136}}]}`
	data := make([]byte, 3136)
	binary.LittleEndian.PutUint32(data[400:], math.Float32bits(float32(math.NaN())))
	status, _, body := do(t, "POST", ts.URL+"/v2/models/mnist/infer", "application/octet-stream", append([]byte(header), data...),
		"Inference-Header-Content-Length", strconv.Itoa(len(header)))
	if status != 400 || !strings.Contains(string(body), "input value 100 is NaN") {
		t.Errorf("status %d: %s", status, body)
	}
}

// mnistPNG encodes fixture image i (pixels 0..255, mnist_pixels.u8) as PNG.
func mnistImage(t *testing.T, i int) *image.Gray {
	px := readFile(t, "mnist_pixels.u8")[i*784 : (i+1)*784]
	return &image.Gray{Pix: px, Stride: 28, Rect: image.Rect(0, 0, 28, 28)}
}

func TestImage(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	status, _, body := do(t, "POST", ts.URL+"/v2/models/mnist/image", "image/png", testutil.EncodePNG(t, mnistImage(t, 0)))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	jsonMatch(t, body, readFile(t, "image_response.json"))

	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	for i, name := range []string{"seven.png", "two.png"} {
		f, _ := w.CreateFormFile("image", name)
		f.Write(testutil.EncodePNG(t, mnistImage(t, i)))
	}
	w.Close()
	status, _, body = do(t, "POST", ts.URL+"/v2/models/mnist/image", w.FormDataContentType(), mp.Bytes())
	if status != 200 {
		t.Fatalf("multipart: status %d: %s", status, body)
	}
	jsonMatch(t, body, readFile(t, "image_multipart_response.json"))

	// A JPEG of dark ink on white paper, 3x larger: the adapter inverts and
	// resizes it; MNIST test image 0 is a 7.
	big := image.NewGray(image.Rect(0, 0, 84, 84))
	src := mnistImage(t, 0)
	for y := range 84 {
		for x := range 84 {
			big.SetGray(x, y, color.Gray{255 - src.GrayAt(x/3, y/3).Y})
		}
	}
	var jb bytes.Buffer
	jpeg.Encode(&jb, big, &jpeg.Options{Quality: 95})
	status, _, body = do(t, "POST", ts.URL+"/v2/models/mnist/image?top=1", "image/jpeg", jb.Bytes())
	var got []classify.Report
	if status != 200 || json.Unmarshal(body, &got) != nil || len(got) != 1 || got[0].Label != "7" || len(got[0].Top) != 1 {
		t.Errorf("JPEG: status %d: %s", status, body)
	}
}

// TestImageLimits: sizes are checked from the header before decoding, and a
// request holds at most MaxBatch images.
func TestImageLimits(t *testing.T) {
	_, ts := newTestServer(t, Config{MaxBatch: 2, MaxImagePixels: 100 * 100})
	status, _, body := do(t, "POST", ts.URL+"/v2/models/mnist/image", "image/png", testutil.EncodePNG(t, image.NewGray(image.Rect(0, 0, 101, 100))))
	if status != 400 || !strings.Contains(string(body), "png image of 101x100 pixels: at most 10000 pixels") {
		t.Errorf("large image: status %d: %s", status, body)
	}
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	for range 3 {
		f, _ := w.CreateFormFile("image", "x.png")
		f.Write(testutil.EncodePNG(t, mnistImage(t, 0)))
	}
	w.Close()
	status, _, body = do(t, "POST", ts.URL+"/v2/models/mnist/image", w.FormDataContentType(), mp.Bytes())
	if status != 400 || !strings.Contains(string(body), "more than 2 images") {
		t.Errorf("3 images: status %d: %s", status, body)
	}
	status, _, body = do(t, "POST", ts.URL+"/v2/models/mnist/image", "multipart/form-data; boundary=x", []byte("--x--\r\n"))
	if status != 400 || !strings.Contains(string(body), "no image") {
		t.Errorf("empty multipart: status %d: %s", status, body)
	}
}
