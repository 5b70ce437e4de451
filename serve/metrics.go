package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the server's Prometheus collectors, in a registry of its own.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec   // by model and HTTP status
	latency  *prometheus.HistogramVec // seconds from request to response, by model
	batch    *prometheus.HistogramVec // examples per model run, by model
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := promauto.With(reg)
	return &metrics{
		registry: reg,
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "onnxdigits_requests_total",
			Help: "HTTP requests by model (empty for requests that name none) and status code.",
		}, []string{"model", "code"}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "onnxdigits_request_duration_seconds",
			Help:    "Time from reading a request to writing its response, by model.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18), // 100 µs .. 13 s
		}, []string{"model"}),
		batch: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "onnxdigits_batch_size",
			Help:    "Examples per model run (requests grouped by the dynamic batcher).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10), // 1 .. 512
		}, []string{"model"}),
	}
}

// queueDepth registers a gauge reading the number of requests waiting for model.
func (m *metrics) queueDepth(model string, depth func() int) {
	promauto.With(m.registry).NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "onnxdigits_queue_depth",
		Help:        "Requests waiting for a batch, by model.",
		ConstLabels: prometheus.Labels{"model": model},
	}, func() float64 { return float64(depth()) })
}
