// Package serve answers classification requests over HTTP: the Open Inference
// Protocol v2 REST API (kserve docs/predict-api/v2/required_api.md) with
// Triton's binary tensor data and classification extensions, an image endpoint
// answered like `onnxdigits predict --json`, a draw-a-digit page at "/",
// Prometheus metrics at /metrics and one log/slog line per request.
//
// Requests for one model that arrive within Config.BatchDelay of each other run
// as one batch of at most Config.MaxBatch examples (dynamic batching, as
// Triton's dynamic batcher); at most Config.MaxQueue requests wait, and a
// request beyond that is answered 503 with Retry-After. Every request has a
// deadline (Config.RequestTimeout), every body a size limit, and Shutdown turns
// readiness false before it stops accepting connections and lets the requests
// in flight finish.
package serve
