package serve

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/onnxdigits/onnxdigits/classify"
	"github.com/onnxdigits/onnxdigits/graph"
)

// Extensions lists what GET /v2 reports beside the required API.
var Extensions = []string{"binary_tensor_data", "classification", "image", "model_configuration"}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// handle registers h for method and pattern, and a JSON 405 for the
	// pattern's other methods.
	handle := func(method, pattern string, h http.HandlerFunc) {
		mux.HandleFunc(method+" "+pattern, h)
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: use %s", r.Method, r.URL.Path, method))
		})
	}
	for _, v := range []string{"", "/versions/{version}"} {
		handle("GET", "/v2/models/{name}"+v, s.modelMetadata)
		handle("GET", "/v2/models/{name}"+v+"/ready", s.modelReady)
		handle("GET", "/v2/models/{name}"+v+"/config", s.modelConfig)
		handle("POST", "/v2/models/{name}"+v+"/infer", s.infer)
		handle("POST", "/v2/models/{name}"+v+"/image", s.images)
	}
	handle("GET", "/v2/health/live", func(w http.ResponseWriter, r *http.Request) {})
	handle("GET", "/v2/health/ready", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			w.WriteHeader(http.StatusBadRequest) // the protocol: 4xx means false
		}
	})
	handle("GET", "/v2", s.serverMetadata)
	handle("GET", "/metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}).ServeHTTP)
	s.pageRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return s.observe(mux)
}

// observe writes the access log line and the request metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		d := time.Since(start)
		model := r.PathValue("name") // set by the mux on r
		if s.models[model] == nil {
			model = "" // unknown names do not become label values
		}
		s.metrics.requests.WithLabelValues(model, strconv.Itoa(rec.status)).Inc()
		s.metrics.latency.WithLabelValues(model).Observe(d.Seconds())
		s.cfg.Logger.LogAttrs(r.Context(), levelFor(rec.status), "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
			slog.Duration("duration", d), slog.String("model", model),
			slog.String("remote", r.RemoteAddr))
	})
}

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status, bytes int
	wrote         bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, serverMetadata{Name: "onnxdigits", Version: s.cfg.Version, Extensions: Extensions})
}

// lookup finds the model (and version) the URL names: 404 otherwise.
func (s *Server) lookup(r *http.Request) (*served, error) {
	name := r.PathValue("name")
	m := s.models[name]
	if m == nil {
		return nil, httpErrorf(http.StatusNotFound, "unknown model %q (serving %s)", name, strings.Join(s.names, ", "))
	}
	if v := r.PathValue("version"); v != "" && v != Version {
		return nil, httpErrorf(http.StatusNotFound, "model %q has no version %q (only %q)", name, v, Version)
	}
	return m, nil
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	if _, err := s.lookup(r); err != nil {
		fail(w, err)
		return
	}
	if !s.ready.Load() {
		w.WriteHeader(http.StatusBadRequest)
	}
}

// Platform is the model platform the metadata reports: the protocol's name
// for an ONNX model (Triton reports "onnxruntime_onnx" for the same files).
const Platform = "onnx_onnxv1"

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	m, err := s.lookup(r)
	if err != nil {
		fail(w, err)
		return
	}
	md := modelMetadata{
		Name: m.name, Versions: []string{Version}, Platform: Platform,
		Inputs: []tensorMetadata{{Name: m.info.Input, Datatype: "FP32", Shape: batchDims(m.info.InputDims)}},
	}
	for _, o := range m.info.Outputs {
		md.Outputs = append(md.Outputs, tensorMetadata{Name: o.Name, Datatype: datatype(o.Type), Shape: batchDims(o.Shape)})
	}
	writeJSON(w, http.StatusOK, md)
}

func (s *Server) modelConfig(w http.ResponseWriter, r *http.Request) {
	m, err := s.lookup(r)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, TritonConfig(m.name, m.info, s.cfg.MaxBatch, s.cfg.BatchDelay))
}

// readBody reads the body, at most MaxBodyBytes (413 beyond), appending it to
// buf (which it grows as the bytes arrive, not by the declared length).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, buf []byte) ([]byte, error) {
	rd := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	if n := r.ContentLength; n > 0 && int64(cap(buf)) <= n && n < 64<<10 {
		buf = slices.Grow(buf, int(n)+1) // +1: room to read the end
	}
	var err error
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 512)
		}
		var n int
		n, err = rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case err == io.EOF:
		return buf, nil
	case errors.As(err, &tooLarge):
		return nil, httpErrorf(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", tooLarge.Limit)
	}
	return nil, fmt.Errorf("reading the body: %w", err)
}

// getBuffer takes a buffer from the pool; putBuffer returns it unless it
// has grown past 1 MiB (a rare large request or answer is not kept).
func getBuffer() *[]byte { return buffers.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) <= 1<<20 {
		*b = (*b)[:0]
		buffers.Put(b)
	}
}

// run queues a job for m and waits for its predictions, within the request's
// deadline.
func (s *Server) run(ctx context.Context, m *served, j *job) (jobResult, error) {
	if !s.ready.Load() {
		return jobResult{}, httpErrorf(http.StatusServiceUnavailable, "the server is shutting down")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	j.ctx = ctx
	res, err := m.batcher.submit(j)
	switch {
	case errors.Is(err, errQueueFull):
		return res, httpErrorf(http.StatusServiceUnavailable, "model %q: %d requests are waiting already; retry later", m.name, s.cfg.MaxQueue)
	case errors.Is(err, context.DeadlineExceeded):
		return res, httpErrorf(http.StatusServiceUnavailable, "model %q: no answer within the request deadline (%v)", m.name, s.cfg.RequestTimeout)
	case errors.Is(err, context.Canceled):
		return res, httpErrorf(http.StatusServiceUnavailable, "the request was canceled")
	case err != nil:
		return res, httpErrorf(http.StatusInternalServerError, "model %q: %v", m.name, err)
	}
	return res, nil
}

func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	m, err := s.lookup(r)
	if err != nil {
		fail(w, err)
		return
	}
	in := getBuffer()
	defer putBuffer(in)
	body, err := s.readBody(w, r, (*in)[:0])
	if err != nil {
		fail(w, err)
		return
	}
	*in = body
	headerLen := int64(-1)
	if h := r.Header.Get("Inference-Header-Content-Length"); h != "" {
		headerLen, err = strconv.ParseInt(h, 10, 64)
		if err != nil || headerLen < 0 {
			fail(w, fmt.Errorf("Inference-Header-Content-Length %q is not a length", h))
			return
		}
	}
	req, bin, err := decodeInferRequest(body, headerLen)
	if err != nil {
		fail(w, err)
		return
	}
	data, n, err := s.input(m, req, bin)
	if err != nil {
		fail(w, err)
		return
	}
	outs, err := outputs(m.info, req)
	if err != nil {
		fail(w, err)
		return
	}
	res, err := s.run(r.Context(), m, &job{n: n, data: data})
	if err != nil {
		fail(w, err) // data may still be read by a worker: not reused
		return
	}
	putTensor(data) // the batch has run
	resp := inferResponse{ModelName: m.name, ModelVersion: Version, ID: req.ID}
	var blob []byte
	for _, o := range outs {
		out := responseOutput{Name: o.name}
		var raw []byte
		switch t := res.output(o.name); {
		case o.classification > 0:
			out.Shape, out.Datatype = []int{n, o.classification}, "BYTES"
			labels := classifications(m.info, res.preds, o.classification)
			if o.binary {
				for _, l := range labels {
					raw = binary.LittleEndian.AppendUint32(raw, uint32(len(l)))
					raw = append(raw, l...)
				}
			} else {
				out.Data = labels
			}
		case t.Int64 != nil:
			out.Shape, out.Datatype = t.Shape, "INT64"
			if o.binary {
				for _, v := range t.Int64 {
					raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
				}
			} else {
				out.Data = t.Int64
			}
		default:
			out.Shape, out.Datatype = t.Shape, "FP32"
			if o.binary {
				for _, v := range t.Float {
					raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
				}
			} else {
				out.Data = nonNil(t.Float)
			}
		}
		if o.binary {
			out.Parameters = map[string]any{"binary_data_size": len(raw)}
			blob = append(blob, raw...)
		}
		resp.Outputs = append(resp.Outputs, out)
	}
	buf := getBuffer()
	defer putBuffer(buf)
	header, err := appendInferResponse((*buf)[:0], &resp)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	*buf = header
	if blob == nil {
		w.Header().Set("Content-Type", "application/json")
		w.Write(header)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Inference-Header-Content-Length", strconv.Itoa(len(header)))
	w.Header().Set("Content-Length", strconv.Itoa(len(header)+len(blob)))
	w.Write(header)
	w.Write(blob)
}

// input checks the request's one input against the model and returns its
// values in the model's layout (UINT8 pixels scaled to the pixel range) and
// the batch size.
func (s *Server) input(m *served, req *inferRequest, bin []byte) ([]float32, int, error) {
	info := m.info
	if len(req.Inputs) != 1 {
		return nil, 0, fmt.Errorf("the model takes one input (%q), the request has %d", info.Input, len(req.Inputs))
	}
	in := req.Inputs[0]
	if in.Name != info.Input {
		return nil, 0, fmt.Errorf("unknown input %q: the model's input is %q", in.Name, info.Input)
	}
	size, ok := inputDatatypes[in.Datatype]
	if !ok {
		return nil, 0, fmt.Errorf("input datatype %q: send FP32 values in the model's layout or UINT8 pixels", in.Datatype)
	}
	if len(in.Shape) != len(info.InputDims) {
		return nil, 0, fmt.Errorf("input shape %v does not match the model's %v", in.Shape, batchDims(info.InputDims))
	}
	shape := make([]int, len(in.Shape))
	for i, d := range in.Shape {
		switch {
		case i == 0 && (d < 1 || d > int64(s.cfg.MaxBatch)):
			return nil, 0, fmt.Errorf("input shape %v: the batch must be 1..%d", in.Shape, s.cfg.MaxBatch)
		case i > 0 && d != int64(info.InputDims[i]):
			return nil, 0, fmt.Errorf("input shape %v does not match the model's %v", in.Shape, batchDims(info.InputDims))
		}
		shape[i] = int(d)
	}
	count := 1
	for _, d := range shape {
		count *= d // bounded: the batch by MaxBatch, the rest by the model
	}
	var data []float32
	bsize, isBinary, err := in.Parameters.int("binary_data_size")
	switch {
	case err != nil:
		return nil, 0, err
	case isBinary:
		if in.Data != nil {
			return nil, 0, errors.New(`the input has both "data" and binary_data_size`)
		}
		if bsize != int64(count*size) {
			return nil, 0, fmt.Errorf("binary_data_size %d: shape %v of %s takes %d bytes", bsize, in.Shape, in.Datatype, count*size)
		}
		if int64(len(bin)) != bsize {
			return nil, 0, fmt.Errorf("binary data: %d bytes after the JSON header, binary_data_size says %d", len(bin), bsize)
		}
		data = decodeBinary(bin, count, in.Datatype)
	default:
		if len(bin) > 0 {
			return nil, 0, fmt.Errorf("%d bytes of binary data that no input claims (binary_data_size)", len(bin))
		}
		if in.Data == nil {
			return nil, 0, errors.New(`the input has no "data"`)
		}
		if pd := in.parsed; pd != nil && pd.datatype == in.Datatype && slices.Equal(pd.shape, in.Shape) {
			data = pd.values // the decoder read it
			break
		}
		data, err = parseTensorData(in.Data, shape, count, in.Datatype == "UINT8")
		if err != nil {
			return nil, 0, err
		}
	}
	if in.Datatype == "UINT8" {
		for i, v := range data {
			data[i] = info.PixelRange.FromUnit(v / 255)
		}
	} else if isBinary { // JSON numbers are finite (parseTensorData refuses overflow)
		if i := slices.IndexFunc(data, notFinite); i >= 0 {
			return nil, 0, fmt.Errorf("input value %d is %v", i, data[i])
		}
	}
	return data, shape[0], nil
}

// output is one requested output.
type output struct {
	name           string
	binary         bool
	classification int // top classes to answer as strings; 0 for the tensor
}

// outputs returns the outputs a request asks for (all when it names none).
func outputs(info classify.Info, req *inferRequest) ([]output, error) {
	all, err := req.Parameters.bool("binary_data_output")
	if err != nil {
		return nil, err
	}
	if len(req.Outputs) == 0 {
		var outs []output
		for _, o := range info.Outputs {
			outs = append(outs, output{name: o.Name, binary: all})
		}
		return outs, nil
	}
	var outs []output
	for _, o := range req.Outputs {
		if !slices.ContainsFunc(info.Outputs, func(v graph.Value) bool { return v.Name == o.Name }) {
			names := make([]string, len(info.Outputs))
			for i, v := range info.Outputs {
				names[i] = strconv.Quote(v.Name)
			}
			return nil, fmt.Errorf("unknown output %q: the model's outputs are %s", o.Name, strings.Join(names, ", "))
		}
		if slices.ContainsFunc(outs, func(p output) bool { return p.name == o.Name }) {
			return nil, fmt.Errorf("output %q requested twice", o.Name)
		}
		out := output{name: o.Name, binary: all}
		if _, ok := o.Parameters["binary_data"]; ok {
			if out.binary, err = o.Parameters.bool("binary_data"); err != nil {
				return nil, err
			}
		}
		k, ok, err := o.Parameters.int("classification")
		switch {
		case err != nil:
			return nil, err
		case ok && o.Name != info.Output:
			return nil, fmt.Errorf("classification: output %q does not hold class scores (%q does)", o.Name, info.Output)
		case ok && (k < 1 || k > int64(info.K)):
			return nil, fmt.Errorf("classification %d: the model has %d classes", k, info.K)
		}
		out.classification = int(k)
		outs = append(outs, out)
	}
	return outs, nil
}

// output returns the named output of a run.
func (r jobResult) output(name string) classify.Output {
	for _, o := range r.outs {
		if o.Name == name {
			return o
		}
	}
	return classify.Output{Name: name}
}

// datatype is the protocol's name of an element type.
func datatype(t graph.DType) string {
	if t == graph.Int64 {
		return "INT64"
	}
	return "FP32"
}

// batchDims returns dims with the batch (first) as -1: the server runs any
// batch up to MaxBatch, whatever the model declares.
func batchDims(dims []int) []int {
	d := slices.Clone(dims)
	if len(d) > 0 {
		d[0] = -1
	}
	return d
}

// nonNil makes an empty output encode as [] rather than null.
func nonNil(v []float32) []float32 {
	if v == nil {
		return []float32{}
	}
	return v
}

// classifications formats each prediction's top k outputs as
// "value:index:label", highest value first (ties: lower index first).
func classifications(info classify.Info, preds []classify.Prediction, k int) []string {
	out := make([]string, 0, len(preds)*k)
	order := make([]int, info.K)
	for _, p := range preds {
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmpDesc(p.Scores[a], p.Scores[b]) })
		for _, i := range order[:k] {
			out = append(out, strconv.FormatFloat(float64(p.Scores[i]), 'g', -1, 32)+":"+strconv.Itoa(i)+":"+info.Labels[i])
		}
	}
	return out
}

func cmpDesc(a, b float32) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

func notFinite(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }

// levelFor logs server errors as warnings.
func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
