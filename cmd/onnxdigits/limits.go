package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/onnxdigits/onnxdigits/classify"
	onnximport "github.com/onnxdigits/onnxdigits/import"
)

// maxMemoryFlag is shared by the commands that run a model.
func maxMemoryFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "max-memory", Value: "1GiB",
		Usage: "stop before running when the memory plan (parameters, activations at the batch, gradients and optimizer state, data) needs more; e.g. 512MiB, 4GiB, 2e9"}
}

// maxMemory reads --max-memory: bytes with an optional unit (B, KB, MB, GB,
// KiB, MiB, GiB, TiB), at least 1 MiB.
func maxMemory(c *cli.Context) (int64, error) {
	s := strings.TrimSpace(c.String("max-memory"))
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	mult := 1.0
	num := s
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	bytes := v * mult
	if err != nil || math.IsNaN(bytes) || bytes < 1<<20 || bytes > 1<<50 {
		return 0, badUsage("--max-memory %q: want a size from 1MiB to 1PiB, e.g. 512MiB, 4GiB, 2e9", s)
	}
	return int64(bytes), nil
}

// floatIn checks a float flag: finite and within [lo, hi] (open at an end
// when loOpen or hiOpen), else a usage error listing the range.
func floatIn(c *cli.Context, name string, lo, hi float64, loOpen, hiOpen bool) (float64, error) {
	v := c.Float64(name)
	ok := !math.IsNaN(v) && !math.IsInf(v, 0) && v >= lo && v <= hi && !(loOpen && v == lo) && !(hiOpen && v == hi)
	if ok {
		return v, nil
	}
	l, r := "[", "]"
	if loOpen {
		l = "("
	}
	if hiOpen {
		r = ")"
	}
	return 0, badUsage("--%s %v is out of range: want a finite value in %s%g, %g%s", name, v, l, lo, hi, r)
}

// intIn checks an int flag against [lo, hi].
func intIn(c *cli.Context, name string, lo, hi int) (int, error) {
	v := c.Int(name)
	if v < lo || v > hi {
		return 0, badUsage("--%s %d is out of range: want %d..%d", name, v, lo, hi)
	}
	return v, nil
}

// classifyOptions are the classify options of a command with pixel range pr
// and memory limit maxMem: the plan's limit and the largest file read.
func classifyOptions(pr classify.PixelRange, maxMem int64) classify.Options {
	return classify.Options{PixelRange: pr, MaxMemory: maxMem, Import: onnximport.Options{MaxBytes: modelBytes(maxMem)}}
}

// modelBytes is the largest ONNX file a command with the memory limit
// maxMem reads: a quarter of it (decoding holds the file, its messages and
// the model's tensors at once), and never more than the importer's default.
func modelBytes(maxMem int64) int64 {
	return min(onnximport.DefaultMaxBytes, maxMem/4)
}

// withFile adds the file's name to err unless it already names it (the
// importer's errors do; classify.New's memory plan does not).
func withFile(err error, path string) error {
	if strings.Contains(err.Error(), path) {
		return err
	}
	return fmt.Errorf("%w (file %s)", err, path)
}
