package perf

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/graph"
)

// Options say how to measure. The zero value runs batch 1 for 10 s.
type Options struct {
	Batch    int           // images per run; 0 means 1
	Duration time.Duration // how long to time runs after the warm-up; 0 means 10 s
	// Warmup is how many untimed runs come first (graphs compiled, buffers
	// allocated, caches warm); 0 means 3.
	Warmup int
	// Seed draws the input values (uniform in [0,1)).
	Seed uint64
}

// Result is one measurement.
type Result struct {
	Path       string        // instruction path of the kernels (backend.InstructionPath)
	Threads    int           // GOMAXPROCS during the runs
	Batch      int           // images per run
	Inputs     []string      // each model input as name(N,C,H,W)
	Runs       int           // timed runs
	Elapsed    time.Duration // wall time of the timed runs
	Images     float64       // images per second: Runs*Batch/Elapsed
	P50, P90   time.Duration // latency of one run (a whole batch), percentiles
	P99, Max   time.Duration
	PeakRSS    int64   // the process's peak resident set size in bytes so far; 0 where unknown
	Allocation float64 // bytes allocated per timed run (runtime.MemStats.TotalAlloc)
}

// Run measures m's inference: after opts.Warmup untimed runs it runs the same
// batch of random inputs until opts.Duration has passed and at least 10 runs
// are timed, or ctx is done (after at least one timed run). Every model input must have the batch as its first
// dimension and fixed other dimensions; a model that fails to run is an error.
func Run(ctx context.Context, m *graph.Model, opts Options) (*Result, error) {
	batch := opts.Batch
	if batch == 0 {
		batch = 1
	}
	if batch < 0 {
		return nil, fmt.Errorf("perf: batch %d, want >= 1", batch)
	}
	dur := opts.Duration
	if dur == 0 {
		dur = 10 * time.Second
	}
	warm := opts.Warmup
	if warm == 0 {
		warm = 3
	}
	res := &Result{Path: backend.InstructionPath(), Threads: runtime.GOMAXPROCS(0), Batch: batch}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15))
	inputs := make([][]float32, len(m.Inputs))
	for i, in := range m.Inputs {
		if len(in.Shape) == 0 || in.Shape[0] != graph.Batch {
			return nil, fmt.Errorf("perf: input %q%s has no batch dimension first", in.Name, graph.FormatDims(in.Shape))
		}
		per := 1
		for _, d := range in.Shape[1:] {
			if d <= 0 {
				return nil, fmt.Errorf("perf: input %q%s has a symbolic dimension besides the batch", in.Name, graph.FormatDims(in.Shape))
			}
			per *= d
		}
		if per > maxInputValues/batch {
			return nil, fmt.Errorf("perf: input %q%s at batch %d is above %d values", in.Name, graph.FormatDims(in.Shape), batch, maxInputValues)
		}
		inputs[i] = make([]float32, batch*per)
		for j := range inputs[i] {
			inputs[i][j] = rng.Float32()
		}
		res.Inputs = append(res.Inputs, in.Name+graph.FormatDims(in.Shape))
	}
	r := backend.NewRunner(m)
	r.MaxBatch = batch
	defer r.Close()
	for range warm {
		if _, err := r.Run(batch, inputs...); err != nil {
			return nil, fmt.Errorf("perf: %w", err)
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	alloc0 := ms.TotalAlloc
	var lat []time.Duration
	start := time.Now()
	for len(lat) < 10 || time.Since(start) < dur {
		if ctx.Err() != nil && len(lat) > 0 {
			break
		}
		t0 := time.Now()
		if _, err := r.Run(batch, inputs...); err != nil {
			return nil, fmt.Errorf("perf: %w", err)
		}
		lat = append(lat, time.Since(t0))
	}
	res.Elapsed = time.Since(start)
	runtime.ReadMemStats(&ms)
	res.Runs = len(lat)
	res.Allocation = float64(ms.TotalAlloc-alloc0) / float64(res.Runs)
	res.Images = float64(res.Runs*batch) / res.Elapsed.Seconds()
	slices.Sort(lat)
	res.P50, res.P90, res.P99, res.Max = percentile(lat, 50), percentile(lat, 90), percentile(lat, 99), lat[len(lat)-1]
	res.PeakRSS = peakRSS()
	return res, nil
}

// maxInputValues bounds the random input Run allocates (1 GiB of float32).
const maxInputValues = 1 << 28

// percentile returns the p-th percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (p*len(sorted) + 99) / 100 // ceil(p/100 * n), 1-based
	return sorted[max(i, 1)-1]
}
