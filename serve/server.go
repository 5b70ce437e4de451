package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onnxdigits/onnxdigits/classify"
)

// Config tunes a Server. Zero values mean the defaults given.
type Config struct {
	// MaxBatch is the most examples one model run takes, and so the largest
	// batch one request may send; 0 means 64.
	MaxBatch int
	// MaxQueue is the number of requests per model that may wait for a run; a
	// request beyond it is answered 503 with Retry-After. 0 means 4*MaxBatch.
	MaxQueue int
	// BatchDelay is how long a batch waits for more requests after its first;
	// 0 means 1ms, negative means no wait (only requests already queued join).
	BatchDelay time.Duration
	// NoBatching runs every request on its own.
	NoBatching bool
	// Workers is the number of batches per model that run at once; 0 means
	// GOMAXPROCS.
	Workers int
	// RequestTimeout is each request's deadline, queueing included; 0 means 10s.
	RequestTimeout time.Duration
	// MaxBodyBytes bounds a request body; 0 means 16 MiB. Larger bodies get 413.
	MaxBodyBytes int64
	// MaxImagePixels bounds width*height of an image sent to the image
	// endpoint, checked from its header; 0 means 2048*2048.
	MaxImagePixels int
	// Logger receives one line per request (method, path, status, bytes,
	// duration, model; never payloads). nil means no access log.
	Logger *slog.Logger
	// Version is the server version GET /v2 reports; "" means the module
	// version of the running binary.
	Version string
}

func (c Config) withDefaults() Config {
	if c.MaxBatch <= 0 {
		c.MaxBatch = 64
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = 4 * c.MaxBatch
	}
	if c.BatchDelay == 0 {
		c.BatchDelay = time.Millisecond
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 16 << 20
	}
	if c.MaxImagePixels <= 0 {
		c.MaxImagePixels = 2048 * 2048
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Version == "" {
		c.Version = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			c.Version = bi.Main.Version
		}
	}
	return c
}

// Version is the one version of every served model.
const Version = "1"

// Server serves models over HTTP. Create it with New.
type Server struct {
	cfg     Config
	models  map[string]*served
	names   []string // sorted
	ready   atomic.Bool
	metrics *metrics
	handler http.Handler
	http    *http.Server
	decodes chan struct{} // bounds the images decoded at once
}

type served struct {
	name    string
	model   Model
	info    classify.Info
	batcher *batcher
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// New prepares a server for the named models (names as they appear in URLs:
// letters, digits, '_', '.', '-'). It starts each model's batch workers; call
// Shutdown (or Close) to stop them.
func New(models map[string]Model, cfg Config) (*Server, error) {
	if len(models) == 0 {
		return nil, errors.New("serve: no models")
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, models: map[string]*served{}, metrics: newMetrics(),
		decodes: make(chan struct{}, runtime.GOMAXPROCS(0))}
	for name, m := range models {
		if !validName.MatchString(name) {
			return nil, fmt.Errorf("serve: model name %q: use letters, digits, '_', '.' and '-' (not first)", name)
		}
		info := m.Info()
		if len(info.InputDims) < 2 || info.K < 1 || len(info.Labels) != info.K {
			return nil, fmt.Errorf("serve: model %q: input dims %v and %d classes are not a classifier of images", name, info.InputDims, info.K)
		}
		sm := &served{name: name, model: m, info: info}
		batchSize := s.metrics.batch.WithLabelValues(name)
		sm.batcher = newBatcher(m, cfg, func(n int) { batchSize.Observe(float64(n)) })
		s.metrics.queueDepth(name, func() int { return len(sm.batcher.queue) })
		s.models[name] = sm
		s.names = append(s.names, name)
	}
	slices.Sort(s.names)
	s.handler = s.routes()
	s.ready.Store(true)
	return s, nil
}

// Handler returns the server's HTTP handler (all endpoints, metrics, access log).
func (s *Server) Handler() http.Handler { return s.handler }

// Registry returns the registry of the server's metrics.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.registry }

// Ready reports whether the server takes inference requests (false once
// Shutdown has begun).
func (s *Server) Ready() bool { return s.ready.Load() }

// Serve accepts connections on l until Shutdown, with every timeout set: 5s to
// read the headers, 30s for the body, the request deadline plus 10s to write
// the response, 2 min for an idle keep-alive connection. It returns
// http.ErrServerClosed after Shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s.http.Serve(l)
}

// Shutdown turns readiness false, stops accepting connections, waits for the
// requests in flight (until ctx ends) and stops the batch workers.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	var err error
	if s.http != nil {
		err = s.http.Shutdown(ctx)
	}
	for _, m := range s.models {
		m.batcher.close()
	}
	return err
}

// writeJSON writes v as the JSON response body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// writeError answers {"error": "..."} with status.
func writeError(w http.ResponseWriter, status int, err error) {
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// statusError is an error with the HTTP status that answers it.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

func httpErrorf(status int, format string, args ...any) error {
	return &statusError{status, fmt.Errorf(format, args...)}
}

// fail answers err with its status (400 unless it carries another).
func fail(w http.ResponseWriter, err error) {
	var se *statusError
	if errors.As(err, &se) {
		if se.status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, se.status, se.err)
		return
	}
	writeError(w, http.StatusBadRequest, err)
}
