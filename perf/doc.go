// Package perf measures how fast a model infers, the way onnxruntime_perf_test
// does: the same random batch run again and again for a fixed time, reporting
// throughput (images/s), per-run latency percentiles, the process's peak RSS
// and which instruction path the kernels took.
package perf
