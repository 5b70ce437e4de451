package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/onnxdigits/onnxdigits/classify"
)

// gated holds every run of the real model until the test lets it go, so that
// tests can fill the queue or reach a deadline deterministically.
type gated struct {
	Model
	gate    chan struct{}
	started chan struct{} // receives once per run, when it begins
}

func newGated(m Model) *gated {
	return &gated{Model: m, gate: make(chan struct{}), started: make(chan struct{}, 100)}
}

func (g *gated) Tensor(ctx context.Context, data []float32, shape []int) ([]classify.Output, []classify.Prediction, error) {
	g.started <- struct{}{}
	<-g.gate
	return g.Model.Tensor(ctx, data, shape)
}

func (g *gated) Images(ctx context.Context, images []image.Image) ([]classify.Prediction, error) {
	g.started <- struct{}{}
	<-g.gate
	return g.Model.Images(ctx, images)
}

// inferBody is a JSON inference request for fixture image i.
func inferBody(t testing.TB, images [][]float32, i int) []byte {
	x, err := json.Marshal(images[i])
	if err != nil {
		t.Fatal(err)
	}
	return []byte(`{"id": "` + fmt.Sprint(i) + `", "inputs": [{"name": "image", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": ` + string(x) + `}]}`)
}

// checkAnswer checks a 200 answer for fixture image i against onnxruntime.
func checkAnswer(body []byte, probs [][]float32, i int) error {
	var r inferResponse
	var data []float32
	r.Outputs = []responseOutput{{Data: &data}}
	if err := json.Unmarshal(body, &r); err != nil {
		return err
	}
	if r.ID != fmt.Sprint(i) || len(data) != 10 {
		return fmt.Errorf("answer for request %d: id %q, %d values", i, r.ID, len(data))
	}
	for j, v := range data {
		if d := v - probs[i][j]; d > tolerance || d < -tolerance {
			return fmt.Errorf("request %d: probability %d is %v, onnxruntime %v", i, j, v, probs[i][j])
		}
	}
	return nil
}

func TestDynamicBatching(t *testing.T) {
	images, probs := fixtures(t)
	for _, tc := range []struct {
		name     string
		cfg      Config
		maxRuns  int // most model runs the 5 requests may take
		minRuns  int
		maxBatch float64
	}{
		// The gate holds the first run; the other 4 requests queue meanwhile
		// and go as one batch: 2 runs.
		{"batching", Config{Workers: 1, MaxBatch: 8, BatchDelay: -1}, 2, 2, 4},
		{"max batch 2", Config{Workers: 1, MaxBatch: 2, BatchDelay: -1}, 3, 3, 2},
		{"off", Config{Workers: 1, NoBatching: true}, 5, 5, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g *gated
			s, ts := newTestServer(t, tc.cfg, func(m Model) Model { g = newGated(m); return g })
			var wg sync.WaitGroup
			errs := make(chan error, 6)
			send := func(i int) {
				defer wg.Done()
				resp, err := http.Post(ts.URL+"/v2/models/mnist/infer", "application/json", bytes.NewReader(inferBody(t, images, i)))
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				var b bytes.Buffer
				b.ReadFrom(resp.Body)
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d: %s", resp.StatusCode, b.Bytes())
					return
				}
				errs <- checkAnswer(b.Bytes(), probs, i)
			}
			wg.Add(1)
			go send(0)
			<-g.started // the first run holds the worker
			for i := 1; i < 5; i++ {
				wg.Add(1)
				go send(i)
			}
			waitQueued(t, s, 4)
			close(g.gate)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			runs, largest := batchStats(t, s)
			if runs < tc.minRuns || runs > tc.maxRuns || largest > tc.maxBatch {
				t.Errorf("%d runs, largest batch %v; want %d..%d runs, at most %v", runs, largest, tc.minRuns, tc.maxRuns, tc.maxBatch)
			}
		})
	}
}

func queued(s *Server) int { return len(s.models["mnist"].batcher.queue) }

// batchStats reads the batch size histogram: the number of runs and the
// largest bucket bound that holds a run.
func batchStats(t *testing.T, s *Server) (runs int, largest float64) {
	mfs, err := s.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "onnxdigits_batch_size" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		runs = int(h.GetSampleCount())
		prev := uint64(0)
		for _, b := range h.GetBucket() {
			if b.GetCumulativeCount() > prev {
				largest = b.GetUpperBound()
			}
			prev = b.GetCumulativeCount()
		}
	}
	return runs, largest
}

func TestQueueFull(t *testing.T) {
	images, _ := fixtures(t)
	var g *gated
	s, ts := newTestServer(t, Config{Workers: 1, MaxBatch: 1, MaxQueue: 2}, func(m Model) Model { g = newGated(m); return g })
	type answer struct {
		status int
		retry  string
		body   []byte
	}
	answers := make(chan answer, 4)
	send := func(i int) {
		status, h, body := do(t, "POST", ts.URL+"/v2/models/mnist/infer", "application/json", inferBody(t, images, i))
		answers <- answer{status, h.Get("Retry-After"), body}
	}
	go send(0)
	<-g.started // request 0 runs (held); 1 and 2 fill the queue
	go send(1)
	go send(2)
	waitQueued(t, s, 2)
	send(3)
	a := <-answers
	if a.status != 503 || a.retry == "" || !strings.Contains(string(a.body), "requests are waiting already") {
		t.Fatalf("4th request: status %d, Retry-After %q: %s", a.status, a.retry, a.body)
	}
	close(g.gate)
	for range 3 {
		a := <-answers
		if a.status != 200 {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	}
	if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues("mnist", "503")); got != 1 {
		t.Errorf("onnxdigits_requests_total{model=mnist,code=503} = %v, want 1", got)
	}
}

// waitQueued waits until n requests wait in the model's queue.
func waitQueued(t *testing.T, s *Server, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); queued(s) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued after 10s, want %d", queued(s), n)
		}
	}
}

func TestDeadline(t *testing.T) {
	images, _ := fixtures(t)
	var g *gated
	_, ts := newTestServer(t, Config{RequestTimeout: 50 * time.Millisecond}, func(m Model) Model { g = newGated(m); return g })
	defer close(g.gate)
	status, h, body := do(t, "POST", ts.URL+"/v2/models/mnist/infer", "application/json", inferBody(t, images, 0))
	if status != 503 || h.Get("Retry-After") == "" || !strings.Contains(string(body), "no answer within the request deadline (50ms)") {
		t.Errorf("status %d, Retry-After %q: %s", status, h.Get("Retry-After"), body)
	}
}

// TestShutdown: readiness turns false first, the request in flight finishes
// with its answer, Shutdown returns nil, new connections are refused.
func TestShutdown(t *testing.T) {
	images, probs := fixtures(t)
	var g *gated
	m := openMNIST(t)
	g = newGated(m)
	s, err := New(map[string]Model{"mnist": g}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	url := "http://" + l.Addr().String()
	inFlight := make(chan error, 1)
	go func() {
		status, _, body := do(t, "POST", url+"/v2/models/mnist/infer", "application/json", inferBody(t, images, 3))
		if status != 200 {
			inFlight <- fmt.Errorf("status %d: %s", status, body)
			return
		}
		inFlight <- checkAnswer(body, probs, 3)
	}()
	<-g.started
	shutdown := make(chan error, 1)
	go func() { shutdown <- s.Shutdown(context.Background()) }()
	for s.Ready() {
		time.Sleep(time.Millisecond)
	}
	for _, path := range []string{"/v2/health/ready", "/v2/models/mnist/ready"} {
		rec := newRecorder()
		s.Handler().ServeHTTP(rec, mustRequest(t, "GET", path))
		if rec.status != 400 {
			t.Errorf("GET %s during shutdown: %d, want 400 (not ready)", path, rec.status)
		}
	}
	close(g.gate)
	if err := <-inFlight; err != nil {
		t.Errorf("request in flight: %v", err)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	if _, err := http.Get(url + "/v2/health/live"); err == nil {
		t.Error("a new connection was served after Shutdown")
	}
}

type testRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *testRecorder { return &testRecorder{header: http.Header{}, status: 200} }

func (r *testRecorder) Header() http.Header         { return r.header }
func (r *testRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *testRecorder) WriteHeader(status int)      { r.status = status }

func mustRequest(t *testing.T, method, path string) *http.Request {
	r, err := http.NewRequest(method, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMetricsAndLog(t *testing.T) {
	images, _ := fixtures(t)
	var logs syncBuffer
	_, ts := newTestServer(t, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	for i := range 3 {
		do(t, "POST", ts.URL+"/v2/models/mnist/infer", "application/json", inferBody(t, images, i))
	}
	do(t, "GET", ts.URL+"/v2/models/nope", "", nil)
	status, _, body := do(t, "GET", ts.URL+"/metrics", "", nil)
	if status != 200 {
		t.Fatalf("/metrics: %d", status)
	}
	for _, want := range []string{
		`onnxdigits_requests_total{code="200",model="mnist"} 3`,
		`onnxdigits_requests_total{code="404",model=""} 1`,
		`onnxdigits_request_duration_seconds_count{model="mnist"} 3`,
		`onnxdigits_batch_size_sum{model="mnist"} 3`,
		`onnxdigits_queue_depth{model="mnist"} 0`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	// One line per request; the /metrics line may come after its answer.
	if len(lines) < 4 || len(lines) > 5 || !strings.Contains(lines[3], `"status":404`) {
		t.Fatalf("%d log lines, want 4 or 5:\n%s", len(lines), logs.String())
	}
	var rec struct {
		Msg, Method, Path, Model string
		Status, Bytes            int
		Duration                 float64
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Msg != "request" || rec.Method != "POST" || rec.Path != "/v2/models/mnist/infer" || rec.Model != "mnist" || rec.Status != 200 || rec.Bytes == 0 || rec.Duration <= 0 {
		t.Errorf("log line %s", lines[0])
	}
	if strings.Contains(logs.String(), "probabilities") || len(lines[0]) > 400 {
		t.Errorf("the log holds a payload: %s", lines[0])
	}
}

func TestModelRepository(t *testing.T) {
	onnx, err := os.ReadFile(mnistModel)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteRepository(dir, "mnist", onnx, 64); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "mnist", "1", "model.onnx"))
	if !bytes.Equal(got, onnx) {
		t.Error("model.onnx differs from the model")
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "mnist", "config.pbtxt"))
	if want := readFile(t, "config.pbtxt"); !bytes.Equal(cfg, want) {
		t.Errorf("config.pbtxt:\n%s\nwant:\n%s", cfg, want)
	}
	labels, _ := os.ReadFile(filepath.Join(dir, "mnist", LabelFile))
	if string(labels) != "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n" {
		t.Errorf("labels.txt %q", labels)
	}
	if err := WriteRepository(dir, "../x", onnx, 64); err == nil {
		t.Error("a model name with a slash was accepted")
	}

	// GET .../config answers the same configuration as JSON.
	_, ts := newTestServer(t, Config{})
	status, _, body := do(t, "GET", ts.URL+"/v2/models/mnist/config", "", nil)
	var c ModelConfig
	if status != 200 || json.Unmarshal(body, &c) != nil {
		t.Fatalf("status %d: %s", status, body)
	}
	if c.Platform != "onnxruntime_onnx" || c.MaxBatchSize != 64 || c.Input[0].Format != "FORMAT_NCHW" ||
		c.Parameters["classes"].StringValue != `["0","1","2","3","4","5","6","7","8","9"]` || c.Parameters["pixel_range"].StringValue != "0-1" {
		t.Errorf("config %s", body)
	}
}

// TestLoad runs 64 concurrent clients at batch 1 for a fixed number of
// requests on 127.0.0.1, checking every answer against onnxruntime.
func TestLoad(t *testing.T) {
	images, probs := fixtures(t)
	_, ts := newTestServer(t, Config{})
	const clients, each = 64, 20
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range each {
				i := (c + r) % len(images)
				resp, err := http.Post(ts.URL+"/v2/models/mnist/infer", "application/json", bytes.NewReader(inferBody(t, images, i)))
				if err != nil {
					errs <- err
					return
				}
				var b bytes.Buffer
				b.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d: %s", resp.StatusCode, b.Bytes())
					return
				}
				if err := checkAnswer(b.Bytes(), probs, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestOverload sends far more than the queue holds, twice: the excess gets
// 503 with Retry-After, every 200 is right, and the heap after the second
// round is not larger than after the first (plus slack for the GC's timing).
func TestOverload(t *testing.T) {
	images, probs := fixtures(t)
	s, ts := newTestServer(t, Config{Workers: 1, MaxBatch: 4, MaxQueue: 4})
	round := func() (ok, busy int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for c := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range 10 {
					i := (c + r) % len(images)
					status, h, body := do(t, "POST", ts.URL+"/v2/models/mnist/infer", "application/json", inferBody(t, images, i))
					mu.Lock()
					switch {
					case status == 200:
						if err := checkAnswer(body, probs, i); err != nil {
							t.Error(err)
						}
						ok++
					case status == 503 && h.Get("Retry-After") != "":
						busy++
					default:
						t.Errorf("status %d: %s", status, body)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return ok, busy
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	ok1, busy1 := round()
	h1 := heap()
	ok2, busy2 := round()
	h2 := heap()
	t.Logf("round 1: %d ok, %d 503; round 2: %d ok, %d 503; heap in use %d -> %d KiB", ok1, busy1, ok2, busy2, h1>>10, h2>>10)
	if busy1 == 0 || busy2 == 0 {
		t.Error("no 503 under overload")
	}
	if queued(s) != 0 {
		t.Errorf("%d requests left queued", queued(s))
	}
	if h2 > h1+16<<20 {
		t.Errorf("heap grew from %d to %d KiB between two equal rounds", h1>>10, h2>>10)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
