package perf

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/onnxdigits/onnxdigits/backend"
	onnximport "github.com/onnxdigits/onnxdigits/import"
)

// TestRun measures the PyTorch LeNet fixture briefly and checks that the
// figures are consistent with each other.
func TestRun(t *testing.T) {
	m, err := onnximport.ReadFile("../testdata/torch/lenet_opset11.onnx", onnximport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), m, Options{Batch: 3, Duration: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Path != backend.InstructionPath() || !slices.Contains([]string{"avx512", "avx2", "generic"}, r.Path) {
		t.Errorf("path %q, backend says %q", r.Path, backend.InstructionPath())
	}
	if r.Batch != 3 || r.Threads != runtime.GOMAXPROCS(0) || !slices.Equal(r.Inputs, []string{"input(N,1,28,28)"}) {
		t.Errorf("batch %d, threads %d, inputs %v", r.Batch, r.Threads, r.Inputs)
	}
	if r.Runs < 10 || r.Elapsed < 50*time.Millisecond {
		t.Errorf("%d runs in %v, want >= 10 runs and >= 50ms", r.Runs, r.Elapsed)
	}
	if want := float64(3*r.Runs) / r.Elapsed.Seconds(); r.Images != want {
		t.Errorf("%v images/s, want %v", r.Images, want)
	}
	if !(0 < r.P50 && r.P50 <= r.P90 && r.P90 <= r.P99 && r.P99 <= r.Max) {
		t.Errorf("latencies p50 %v p90 %v p99 %v max %v not ordered", r.P50, r.P90, r.P99, r.Max)
	}
	// The runs' latencies cannot add up to more than the elapsed time.
	if time.Duration(r.Runs)*r.P50/2 > r.Elapsed {
		t.Errorf("%d runs of median %v in %v", r.Runs, r.P50, r.Elapsed)
	}
	if runtime.GOOS == "linux" && r.PeakRSS < 1<<20 {
		t.Errorf("peak RSS %d bytes", r.PeakRSS)
	}

	if _, err := Run(context.Background(), m, Options{Batch: -1}); err == nil {
		t.Error("batch -1: no error")
	}
	// A cancelled context stops after the first timed run, not after 10 s.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r, err := Run(ctx, m, Options{}); err != nil || r.Runs < 1 || r.Elapsed > 5*time.Second {
		t.Errorf("cancelled: %+v, %v", r, err)
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct{ p, want int }{{50, 5}, {90, 9}, {99, 10}, {100, 10}, {1, 1}, {0, 1}} {
		if got := percentile(d, tc.p); got != time.Duration(tc.want) {
			t.Errorf("percentile(1..10, %d) = %d, want %d", tc.p, got, tc.want)
		}
	}
}
