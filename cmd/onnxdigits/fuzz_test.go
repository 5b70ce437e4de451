package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fuzzMaxMemory is the --max-memory FuzzPredictModel runs with, and
// fuzzMaxAlloc what one run may allocate in all: the plan's limit, the file
// (a quarter of it), decoding and the engine's own allocations, with slack.
const (
	fuzzMaxMemory = "64MiB"
	fuzzMaxAlloc  = 512 << 20
)

// FuzzPredictModel is predict's run-time sizes: a decoded model (any bytes),
// a batch of 1 to 8 images, the memory plan. Whatever the file holds, the
// command exits 0 or 1 (never 2, the usage code), no panic reaches the
// command boundary ("internal error"), and the run allocates at most
// fuzzMaxAlloc: the plan bounds what runs.
func FuzzPredictModel(f *testing.F) {
	for _, mp := range [][]byte{
		marshalModel(f, convModel(1, 3, 0, 10)),
		marshalModel(f, convModel(1, 3, 5000, 10)),
		marshalModel(f, convModel(4, 3, 40, 10)),
		marshalModel(f, reluChain(200)),
		marshalModel(f, argMaxWide()),
		marshalModel(f, convModel(1, 3, 0, 0)),
	} {
		f.Add(mp, uint8(1))
	}
	for _, mp := range hugeOps() {
		f.Add(marshalModel(f, mp), uint8(3))
	}
	dir := f.TempDir()
	img := filepath.Join(dir, "digit.png")
	if err := os.WriteFile(img, encodePNG(f, 28, 28, nil), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, model []byte, batch uint8) {
		path := filepath.Join(t.TempDir(), "m.onnx")
		if err := os.WriteFile(path, model, 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"predict", "--max-memory", fuzzMaxMemory, path}
		for range 1 + int(batch%8) {
			args = append(args, img)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, stderr, code := runCLI(t, args...)
		runtime.ReadMemStats(&after)
		if code != 0 && code != 1 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if strings.Contains(stderr, "internal error") {
			t.Fatalf("a panic reached the command boundary: %s", stderr)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > fuzzMaxAlloc {
			t.Fatalf("allocated %d MB under --max-memory %s (%s)", n>>20, fuzzMaxMemory, strings.TrimSpace(stderr))
		}
	})
}
