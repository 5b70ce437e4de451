package serve

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/onnxdigits/onnxdigits/classify"
)

// errQueueFull is returned when a model's queue holds MaxQueue requests.
var errQueueFull = errors.New("serve: the queue is full")

// job is one request's examples: a tensor in the model's layout (n examples)
// or n images.
type job struct {
	ctx    context.Context
	n      int
	data   []float32
	images []image.Image
	done   chan jobResult // buffered: the worker never blocks on it
}

type jobResult struct {
	outs  []classify.Output // the job's slice of every model output (tensor jobs)
	preds []classify.Prediction
	err   error
}

// batcher queues the requests for one model and runs them in batches.
type batcher struct {
	model    Model
	shape    []int // the input's dims; shape[0] is set per batch
	maxBatch int
	delay    time.Duration
	batching bool
	queue    chan *job
	stop     chan struct{}
	done     chan struct{}
	observe  func(batch int) // called with each run's batch size
	running  atomic.Int32    // batches being run
}

func newBatcher(m Model, cfg Config, observe func(int)) *batcher {
	b := &batcher{
		model: m, shape: append([]int(nil), m.Info().InputDims...), maxBatch: cfg.MaxBatch,
		delay: cfg.BatchDelay, batching: !cfg.NoBatching, observe: observe,
		queue: make(chan *job, cfg.MaxQueue), stop: make(chan struct{}), done: make(chan struct{}),
	}
	workers := make(chan struct{}, cfg.Workers)
	go func() {
		defer close(b.done)
		for range cfg.Workers {
			workers <- struct{}{}
			go func() {
				defer func() { <-workers }()
				b.work()
			}()
		}
		<-b.stop
		for range cfg.Workers { // wait for every worker to leave
			workers <- struct{}{}
		}
	}()
	return b
}

// submit queues j and waits for its result, its context's end or the queue
// being full (errQueueFull, at once).
func (b *batcher) submit(j *job) (jobResult, error) {
	j.done = make(chan jobResult, 1)
	select {
	case b.queue <- j:
	default:
		return jobResult{}, errQueueFull
	}
	select {
	case r := <-j.done:
		return r, r.err
	case <-j.ctx.Done():
		return jobResult{}, j.ctx.Err()
	}
}

// close stops the workers after the batches they run; queued jobs still wait
// for their contexts (close is called after the HTTP server has finished).
func (b *batcher) close() {
	close(b.stop)
	<-b.done
}

// work takes a first job, then, with batching, more of the same kind until
// maxBatch examples, and runs them as one batch. Before it looks for more it
// yields once to the goroutines ready to run: a handler hands its job over and
// blocks, and the runtime runs the worker it woke at once (the channel
// hand-off), so without the yield every job would run alone while the other
// handlers, decoding their requests, wait for a processor (measured: batches
// of 1.7 on average at 64 clients, 9 with the yield). It waits up to delay for
// more only while another batch runs (its clients are about to send again); on
// an idle server a lone request runs at once, with what is queued already.
func (b *batcher) work() {
	var held *job        // a job that did not fit the last batch
	var joined []float32 // the values of the last batch's jobs, reused
	for {
		first := held
		held = nil
		if first == nil {
			select {
			case first = <-b.queue:
			case <-b.stop:
				return
			}
		}
		batch, n := []*job{first}, first.n
		if b.batching {
			runtime.Gosched() // the handlers ready to run queue their jobs

			var timeout <-chan time.Time
			var timer *time.Timer
			if b.delay > 0 && b.running.Load() > 0 {
				timer = time.NewTimer(b.delay)
				timeout = timer.C
			}
		collect:
			for n < b.maxBatch {
				var j *job
				if timeout == nil {
					select { // no delay: take what is queued already
					case j = <-b.queue:
					default:
						break collect
					}
				} else {
					select {
					case j = <-b.queue:
					case <-timeout:
						break collect
					}
				}
				if n+j.n > b.maxBatch || (j.images == nil) != (first.images == nil) {
					held = j
					break
				}
				batch, n = append(batch, j), n+j.n
			}
			if timer != nil {
				timer.Stop()
			}
		}
		b.running.Add(1)
		joined = b.run(batch, joined)
		b.running.Add(-1)
	}
}

// run runs the live jobs of batch as one batch and hands each its part. The
// values of several tensor jobs are joined in buf (grown as needed), which it
// returns for the next batch: the model reads its input only while it runs.
func (b *batcher) run(batch []*job, buf []float32) []float32 {
	live := batch[:0]
	n := 0
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.done <- jobResult{err: err}
			continue
		}
		live = append(live, j)
		n += j.n
	}
	if len(live) == 0 {
		return buf
	}
	var res jobResult
	if live[0].images != nil {
		images := make([]image.Image, 0, n)
		for _, j := range live {
			images = append(images, j.images...)
		}
		res = b.runImages(images)
	} else {
		data := live[0].data
		if len(live) > 1 {
			data = buf[:0]
			for _, j := range live {
				data = append(data, j.data...)
			}
			buf = data
		}
		res = b.runTensor(data, n)
	}
	if res.err == nil && len(res.preds) != n {
		res.err = fmt.Errorf("serve: %d predictions for %d examples", len(res.preds), n)
	}
	b.observe(n)
	lo := 0
	for _, j := range live {
		if res.err != nil {
			j.done <- jobResult{err: res.err}
			continue
		}
		part := jobResult{preds: res.preds[lo : lo+j.n : lo+j.n]}
		for _, o := range res.outs {
			part.outs = append(part.outs, sliceOutput(o, n, lo, lo+j.n))
		}
		j.done <- part
		lo += j.n
	}
	return buf
}

func (b *batcher) runTensor(data []float32, n int) jobResult {
	shape := append([]int{n}, b.shape[1:]...)
	outs, preds, err := b.model.Tensor(context.Background(), data, shape)
	return jobResult{outs: outs, preds: preds, err: err}
}

func (b *batcher) runImages(images []image.Image) jobResult {
	preds, err := b.model.Images(context.Background(), images)
	return jobResult{preds: preds, err: err}
}

// sliceOutput returns examples lo..hi of an output holding n examples.
func sliceOutput(o classify.Output, n, lo, hi int) classify.Output {
	s := classify.Output{Name: o.Name, Shape: append([]int{hi - lo}, o.Shape[1:]...)}
	if len(o.Float) > 0 {
		per := len(o.Float) / n
		s.Float = o.Float[lo*per : hi*per : hi*per]
	}
	if len(o.Int64) > 0 {
		per := len(o.Int64) / n
		s.Int64 = o.Int64[lo*per : hi*per : hi*per]
	}
	return s
}
