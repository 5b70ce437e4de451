package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"

	"github.com/onnxdigits/onnxdigits/train"
)

// memoryHeadroom is how far above what training holds the heap may grow
// between collections. Two MNIST epochs then run 40 collections instead of 7,
// ~0.3 s of GC phases in 20 s (measured with GODEBUG=gctrace=1): the data
// set is pointer-free, so marking is cheap.
const memoryHeadroom = 8 << 20

// memoryLimiter is a train.Recorder that passes progress on and, after the
// first step and after every epoch (when the trainer and the validation
// graph have allocated what they keep), sets a soft memory limit of what the
// process holds plus memoryHeadroom, unless GOMEMLIMIT is set.
//
// Why: GOGC lets the heap grow in proportion to the live heap, and with MNIST
// most of that is the 55 MB of images that never change: at GOGC=50 the heap
// reached 95 MB and the process 118 MB RSS; with the limit `train --data
// mnist` peaks at ~98 MB. A limit from the measured size, instead of a fixed
// one, keeps a larger data set or network from running the collector
// continuously.
type memoryLimiter struct {
	train.Recorder
	started bool
}

func (m *memoryLimiter) Batch(p train.Progress) {
	if !m.started {
		m.started = true
		limitMemory()
	}
	m.Recorder.Batch(p)
}

func (m *memoryLimiter) Epoch(s train.EpochStats, epochs int) {
	limitMemory()
	m.Recorder.Epoch(s, epochs)
}

// limitMemory collects garbage and sets the soft memory limit to the memory
// the Go runtime then holds plus memoryHeadroom; it does nothing when
// GOMEMLIMIT is set.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	runtime.GC()
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(s)
	held := s[0].Value.Uint64() - s[1].Value.Uint64() - s[2].Value.Uint64()
	debug.SetMemoryLimit(int64(held) + memoryHeadroom)
}
