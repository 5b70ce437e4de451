package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Float is the element type of the kernels: float32 for training and
// inference, float64 for gradient checks.
type Float interface{ float32 | float64 }

// ElementGrain is the number of elements below which an elementwise loop stays
// on one goroutine.
const ElementGrain = 1 << 15

// ParallelRange splits [0,n) into pieces of at least ElementGrain elements and
// calls fn on each, in parallel.
func ParallelRange(n int, fn func(lo, hi int)) {
	pieces := NumChunks(n/ElementGrain, 2*NumWorkers(n/ElementGrain))
	ParallelFor(pieces, func(_, c int) {
		lo, hi := ChunkRange(n, pieces, c)
		fn(lo, hi)
	})
}

// ReduceChunks is the number of batch chunks whose partial sums a reduction
// keeps (fewer for small batches): fixed, so the summation order is too.
const ReduceChunks = 8

// ChunkRange returns the images [lo,hi) of chunk c when n images are cut into
// chunks contiguous pieces.
func ChunkRange(n, chunks, c int) (lo, hi int) {
	return c * n / chunks, (c + 1) * n / chunks
}

// NumChunks is min(n, max) but at least 1.
func NumChunks(n, max int) int {
	if n < max {
		if n < 1 {
			return 1
		}
		return n
	}
	return max
}

// NumWorkers is how many goroutines ParallelFor uses for the given chunks.
func NumWorkers(chunks int) int {
	return max(1, min(runtime.GOMAXPROCS(0), chunks))
}

// ParallelFor calls fn(worker, chunk) for every chunk in [0,chunks) on
// NumWorkers(chunks) goroutines; worker < NumWorkers(chunks) indexes per-worker
// scratch. The calling goroutine is one of the workers.
func ParallelFor(chunks int, fn func(worker, chunk int)) {
	nw := NumWorkers(chunks)
	if nw == 1 {
		for c := range chunks {
			fn(0, c)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	work := func(w int) {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			fn(w, c)
		}
	}
	wg.Add(nw - 1)
	for w := 1; w < nw; w++ {
		go func() {
			defer wg.Done()
			work(w)
		}()
	}
	work(0)
	wg.Wait()
}
