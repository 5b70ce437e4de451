package serve

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/classify"
)

// mnistModel is a model PyTorch trained on MNIST (testdata/torch/README.md);
// the golden files hold onnxruntime's outputs for its fixture images.
const mnistModel = "../testdata/torch/mnist_ce_adam.onnx"

// tolerance of our outputs against onnxruntime's: the importer's parity bound
// (float32, DESIGN §5).
const tolerance = 1e-5

func openMNIST(t testing.TB) Model {
	t.Helper()
	m, err := classify.Open(mnistModel, classify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// newTestServer serves the MNIST model as "mnist" on an httptest server.
func newTestServer(t testing.TB, cfg Config, wrap ...func(Model) Model) (*Server, *httptest.Server) {
	t.Helper()
	var m Model = openMNIST(t)
	for _, w := range wrap {
		m = w(m)
	}
	if cfg.Version == "" {
		cfg.Version = "test"
	}
	s, err := New(map[string]Model{"mnist": m}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Shutdown(t.Context())
	})
	return s, ts
}

// newHTTPServer serves s on an httptest server and returns its URL.
func newHTTPServer(t testing.TB, s *Server) string {
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// do sends a request and returns the status, headers and body.
func do(t testing.TB, method, url, contentType string, body []byte, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// jsonMatch compares two JSON documents: the same objects, arrays and
// strings; numbers within tolerance; "value:index:label" strings (the
// classification extension) with their values within tolerance.
func jsonMatch(t testing.TB, got, want []byte) {
	t.Helper()
	var g, w any
	for _, x := range []struct {
		b []byte
		v *any
	}{{got, &g}, {want, &w}} {
		d := json.NewDecoder(bytes.NewReader(x.b))
		d.UseNumber()
		if err := d.Decode(x.v); err != nil {
			t.Fatalf("invalid JSON (%v): %.300s", err, x.b)
		}
	}
	if err := jsonDiff("$", g, w); err != nil {
		t.Errorf("%v\ngot:  %.600s\nwant: %.600s", err, got, want)
	}
}

func jsonDiff(path string, got, want any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %T, want an object", path, got)
		}
		for k := range w {
			if _, ok := g[k]; !ok {
				return fmt.Errorf("%s: missing %q", path, k)
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				return fmt.Errorf("%s: unexpected %q", path, k)
			}
			if err := jsonDiff(path+"."+k, g[k], w[k]); err != nil {
				return err
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %v, want an array of %d", path, got, len(w))
		}
		for i := range w {
			if err := jsonDiff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); err != nil {
				return err
			}
		}
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return fmt.Errorf("%s: got %v, want the number %v", path, got, w)
		}
		gf, _ := g.Float64()
		wf, _ := w.Float64()
		if math.Abs(gf-wf) > tolerance {
			return fmt.Errorf("%s: got %v, want %v (tolerance %g)", path, g, w, tolerance)
		}
	case string:
		g, ok := got.(string)
		if !ok {
			return fmt.Errorf("%s: got %v, want the string %q", path, got, w)
		}
		gp, wp := strings.Split(g, ":"), strings.Split(w, ":")
		if len(wp) == 3 && len(gp) == 3 && gp[1] == wp[1] && gp[2] == wp[2] {
			gf, err1 := strconv.ParseFloat(gp[0], 64)
			wf, err2 := strconv.ParseFloat(wp[0], 64)
			if err1 == nil && err2 == nil && math.Abs(gf-wf) <= tolerance {
				return nil
			}
		}
		if g != w {
			return fmt.Errorf("%s: got %q, want %q", path, g, w)
		}
	default:
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
	return nil
}

func float32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// fixtures returns the MNIST fixture images (7 x 784 values in [0,1]) and
// onnxruntime's probabilities for them (7 x 10).
func fixtures(t testing.TB) (images [][]float32, probs [][]float32) {
	x, err := os.ReadFile("../testdata/torch/mnist_ce_adam.input.f32")
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.ReadFile("../testdata/torch/mnist_ce_adam.ort.f32")
	if err != nil {
		t.Fatal(err)
	}
	xs, ps := float32s(x), float32s(p)
	for i := range 7 {
		images = append(images, xs[i*784:(i+1)*784])
		probs = append(probs, ps[i*10:(i+1)*10])
	}
	return images, probs
}
