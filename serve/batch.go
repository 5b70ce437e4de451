package serve

import (
	"context"
	"errors"
	"image"
	"time"
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
	preds []Prediction
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
}

func newBatcher(m Model, cfg Config, observe func(int)) *batcher {
	b := &batcher{
		model: m, shape: append([]int(nil), m.Info().Dims...), maxBatch: cfg.MaxBatch,
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
func (b *batcher) submit(j *job) ([]Prediction, error) {
	j.done = make(chan jobResult, 1)
	select {
	case b.queue <- j:
	default:
		return nil, errQueueFull
	}
	select {
	case r := <-j.done:
		return r.preds, r.err
	case <-j.ctx.Done():
		return nil, j.ctx.Err()
	}
}

// close stops the workers after the batches they run; queued jobs still wait
// for their contexts (close is called after the HTTP server has finished).
func (b *batcher) close() {
	close(b.stop)
	<-b.done
}

// work takes a first job, then, with batching, more of the same kind arriving
// within delay until maxBatch examples, and runs them as one batch.
func (b *batcher) work() {
	var held *job // a job that did not fit the last batch
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
			var timeout <-chan time.Time
			var timer *time.Timer
			if b.delay > 0 {
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
		b.run(batch)
	}
}

// run runs the live jobs of batch as one call and hands each its predictions.
func (b *batcher) run(batch []*job) {
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
		return
	}
	var preds []Prediction
	var err error
	ctx := context.Background()
	if live[0].images != nil {
		images := make([]image.Image, 0, n)
		for _, j := range live {
			images = append(images, j.images...)
		}
		preds, err = b.model.Images(ctx, images)
	} else {
		data := live[0].data
		if len(live) > 1 {
			data = make([]float32, 0, n*len(live[0].data)/live[0].n)
			for _, j := range live {
				data = append(data, j.data...)
			}
		}
		shape := append([]int{n}, b.shape[1:]...)
		preds, err = b.model.Tensor(ctx, data, shape)
	}
	if err == nil && len(preds) != n {
		err = errors.New("serve: the model returned the wrong number of predictions")
	}
	b.observe(n)
	for _, j := range live {
		if err != nil {
			j.done <- jobResult{err: err}
			continue
		}
		j.done <- jobResult{preds: preds[:j.n:j.n]}
		preds = preds[j.n:]
	}
}
