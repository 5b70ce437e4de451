package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
	"github.com/onnxdigits/onnxdigits/perf"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:      "bench",
		Usage:     "inference speed of an ONNX model: images/s, latency p50/p99, peak RSS",
		ArgsUsage: "model.onnx",
		Description: `Imports any ONNX file the importer reads and runs one batch of random inputs
   (uniform in [0,1)) again and again for --seconds after 3 untimed runs, like
   onnxruntime_perf_test. Prints the instruction path the kernels took
   (ONNXDIGITS_CPU lowers it), the threads (GOMAXPROCS), images per second, the
   latency of one run (a whole batch) at the 50th, 90th and 99th percentile, and the
   process's peak RSS.

   Examples:
     onnxdigits bench model.onnx
     onnxdigits bench --batch 256 --seconds 5 testdata/torch/lenet_opset11.onnx
     GOMAXPROCS=1 onnxdigits bench --batch 1 model.onnx`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "batch", Value: 1, Usage: "images per run (1..65536)"},
			&cli.Float64Flag{Name: "seconds", Value: 10, Usage: "how long to time runs (at least 10 runs are timed)"},
			maxMemoryFlag(),
		},
		Action: runBench,
	}
}

func runBench(c *cli.Context) error {
	if err := checkArgsOrder(c); err != nil {
		return err
	}
	if c.NArg() != 1 {
		return badUsage("bench takes one argument, the ONNX file (got %d)", c.NArg())
	}
	batch, secs := c.Int("batch"), c.Float64("seconds")
	if batch < 1 || batch > 65536 {
		return badUsage("--batch %d is not in 1..65536", batch)
	}
	if !(secs > 0 && secs <= 3600) {
		return badUsage("--seconds %g is not in (0, 3600]", secs)
	}
	maxMem, err := maxMemory(c)
	if err != nil {
		return err
	}
	path := c.Args().First()
	m, err := onnximport.ReadFile(path, onnximport.Options{MaxBytes: modelBytes(maxMem)})
	if err != nil {
		return err
	}
	// The memory plan at the batch, before the runner allocates.
	plan, err := m.Plan(graph.PlanOptions{Batch: batch})
	if err == nil {
		err = plan.Check(maxMem)
	}
	if err != nil {
		return withFile(err, path)
	}
	r, err := perf.Run(c.Context, m, perf.Options{Batch: batch, Duration: time.Duration(secs * float64(time.Second))})
	if err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "model: %s; inputs: %v\n", path, r.Inputs)
	fmt.Fprintf(w, "path: %s; threads: %d (GOMAXPROCS)\n", r.Path, r.Threads)
	fmt.Fprintf(w, "batch %d: %d runs in %.2fs, %.0f images/s\n", r.Batch, r.Runs, r.Elapsed.Seconds(), r.Images)
	fmt.Fprintf(w, "latency per run: p50 %s  p90 %s  p99 %s  max %s\n", ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
	fmt.Fprintf(w, "allocated per run: %.0f bytes; peak RSS: %.1f MB\n", r.Allocation, float64(r.PeakRSS)/1e6)
	return nil
}

// ms formats a duration in milliseconds with three decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", d.Seconds()*1000) }
