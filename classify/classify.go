package classify

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/bits"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
)

// Options configure Open and New. The zero value is ready to use.
type Options struct {
	// PixelRange is the scale of the model's input pixels; the zero value,
	// PixelRangeModel, reads the model's Image.NominalPixelRange metadata and
	// falls back to 0-1.
	PixelRange PixelRange
	// MaxBatch is the most images run as one batch; 0 means 256. Fewer run in
	// batches of powers of two (7 images: 4, 2, 1), so that each runner
	// compiles a few graphs only. A model with a fixed batch that cannot be
	// re-batched runs in its own batch size instead.
	MaxBatch int
	// Runners bounds how many batches run at once (each runner holds its own
	// compiled graphs and buffers); 0 means runtime.GOMAXPROCS(0).
	Runners int
	// Import configures Open's ONNX import.
	Import onnximport.Options
	// MaxMemory bounds what the runners may plan to hold (graph.Plan: the
	// parameters, the activations at the batch, the per-node overhead),
	// shared among them: 0 is graph.DefaultMaxMemory (1 GiB), negative no
	// limit. New refuses a model that does not fit at batch 1 before it runs
	// anything, and lowers MaxBatch to what fits.
	MaxMemory int64
}

// Info describes a model as the adapter reads it.
type Info struct {
	Name string // the model's name (for Open without one: the file's base name)

	Input      string // the image input's name
	InputDims  []int  // its declared shape; -1 for a symbolic batch
	Layout     Layout
	Channels   int // 1 or 3 (a grey image is copied into each)
	Height     int
	Width      int
	PixelRange PixelRange // what New resolved: never PixelRangeModel
	// PixelRangeFrom says where PixelRange came from: "option", "metadata" or
	// "default".
	PixelRangeFrom string
	// Batch is 0 when the model runs any batch size (its batch is symbolic, or
	// a fixed batch re-batched); otherwise the fixed batch every run is padded to.
	Batch int
	// Rebatched is true when a fixed batch was made symbolic (the graph's input
	// and the Reshape constants that carried it).
	Rebatched bool
	// BatchNote says why a fixed batch was not re-batched ("" otherwise).
	BatchNote string

	Output  string          // the output that holds the class scores
	Kind    graph.ScoreKind // what it holds
	K       int             // number of classes
	Labels  []string        // K class names: the model's, else "0".."K-1"
	Outputs []graph.Value   // every model output; -1 for a symbolic batch
	Meta    map[string]string
}

// Prediction is the result for one image.
type Prediction struct {
	Label int    // index of the most probable class (the first on a tie)
	Class string // its name
	// Probabilities are the K class probabilities: the model's output where it
	// emits probabilities, exp of it for log-probabilities, its softmax for
	// logits.
	Probabilities []float32
	// Scores are the model's K output values as emitted (for Tensor, a view
	// of the returned output's data).
	Scores []float32
	// Output is what the model emitted.
	Output graph.ScoreKind
}

// Output is one model output for a batch, the batch first in Shape: Float
// data for float32 outputs, Int64 for int64 ones.
type Output struct {
	Name  string
	Shape []int
	Float []float32
	Int64 []int64
}

// Model classifies images with a graph.Model. It is safe for concurrent use:
// each call takes a runner from a pool of at most Options.Runners (created on
// demand, each with its own compiled graphs) and puts it back after.
type Model struct {
	info   Info
	in     *input
	scores graph.ClassScores
	run    *graph.Model // the model as run: input batch symbolic
	chunk  int          // images per run
	pad    bool         // every run must hold exactly chunk images
	idle   chan *backend.Runner
	slots  chan struct{} // one per live runner
}

// Open imports the ONNX file at path (see onnximport.ReadFile) and prepares it
// with New.
func Open(path string, opts Options) (*Model, error) {
	m, err := onnximport.ReadFile(path, opts.Import)
	if err != nil {
		return nil, err
	}
	if m.Name == "" {
		m.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return New(m, opts)
}

// New prepares m for classification: it reads the image input's layout (see
// Layout), the pixel range and the classifier output (graph.Model.ClassScores).
// m must have one float32 image input; it is not modified, but the Model shares
// its parameters, so m must not change while the Model is in use. A fixed batch
// (an input declared [1,1,28,28]) is made symbolic when the graph allows it,
// checked by running two images both ways; otherwise every run is padded to the
// fixed batch.
func New(m *graph.Model, opts Options) (*Model, error) {
	if opts.MaxBatch < 0 || opts.Runners < 0 {
		return nil, fmt.Errorf("classify: MaxBatch %d and Runners %d must not be negative", opts.MaxBatch, opts.Runners)
	}
	if len(m.Inputs) != 1 {
		names := make([]string, len(m.Inputs))
		for i, v := range m.Inputs {
			names[i] = fmt.Sprintf("%q %s", v.Name, graph.FormatDims(v.Shape))
		}
		return nil, fmt.Errorf("classify: the model has %d inputs (%s); one image input is supported", len(m.Inputs), strings.Join(names, ", "))
	}
	in, err := describeInput(m.Inputs[0])
	if err != nil {
		return nil, err
	}
	scores, err := m.ClassScores()
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	if scores.K < 1 {
		return nil, fmt.Errorf("classify: output %q has %d classes", scores.Output, scores.K)
	}
	runners := opts.Runners
	if runners == 0 {
		runners = runtime.GOMAXPROCS(0)
	}
	// The memory plan, before anything runs (re-batching runs the model).
	plan, err := m.Plan(graph.PlanOptions{Batch: 1})
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	limit := opts.MaxMemory
	if limit == 0 {
		limit = graph.DefaultMaxMemory
	}
	limit /= int64(runners)
	if opts.MaxMemory >= 0 {
		if err := plan.Check(limit); err != nil {
			if runners > 1 {
				return nil, fmt.Errorf("classify: %w; MaxMemory (--max-memory) is shared by %d runners", err, runners)
			}
			return nil, fmt.Errorf("classify: %w", err)
		}
	}
	info := Info{
		Name: m.Name, Input: in.name, InputDims: slices.Clone(in.dims), Layout: in.layout,
		Channels: in.c, Height: in.h, Width: in.w,
		Output: scores.Output, Kind: scores.Kind, K: scores.K, Labels: m.Classes, Meta: m.Meta,
	}
	if len(info.Labels) != scores.K {
		info.Labels = make([]string, scores.K)
		for i := range info.Labels {
			info.Labels[i] = fmt.Sprint(i)
		}
	}
	for _, o := range m.Outputs {
		o.Shape = slices.Clone(o.Shape)
		info.Outputs = append(info.Outputs, o)
	}
	switch meta, found, err := pixelRangeFromMeta(m.Meta); {
	case opts.PixelRange != PixelRangeModel:
		in.pixelRange, info.PixelRangeFrom = opts.PixelRange, "option"
	case err != nil:
		return nil, err
	case found:
		in.pixelRange, info.PixelRangeFrom = meta, "metadata"
	default:
		in.pixelRange, info.PixelRangeFrom = PixelRange01, "default"
	}
	if in.pixelRange < PixelRange01 || in.pixelRange > PixelRange11 {
		return nil, fmt.Errorf("classify: unknown pixel range %v", in.pixelRange)
	}
	info.PixelRange = in.pixelRange

	c := &Model{in: in, scores: scores, chunk: opts.MaxBatch}
	if c.chunk == 0 {
		c.chunk = 256
	}
	if opts.MaxMemory >= 0 {
		c.chunk = max(1, plan.SafeBatch(c.chunk, limit))
	}
	c.run = m
	if b := in.dims[0]; b != graph.Batch {
		// A fixed batch: the run graph's input gets a symbolic batch either
		// way (the runner wants one), re-batched or run at exactly b.
		if rb, err := rebatch(m, b, in, scores); err == nil {
			c.run, info.Rebatched = rb, true
		} else {
			info.BatchNote = err.Error()
			c.run, c.chunk, c.pad, info.Batch = batchedCopy(m), b, true, b
			shapes, err := m.Shapes()
			if err != nil {
				return nil, fmt.Errorf("classify: %w", err)
			}
			if s := shapes[scores.Output]; s[0] != b {
				return nil, fmt.Errorf("classify: input %q has a fixed batch of %d but output %q is %s: one row of scores per image, (%d,K), is needed; nor does the graph run at another batch (%v)",
					in.name, b, scores.Output, graph.FormatDims(s), b, info.BatchNote)
			}
		}
	}
	for i, o := range info.Outputs {
		if len(o.Shape) > 0 && o.Shape[0] == in.dims[0] && info.Rebatched {
			info.Outputs[i].Shape[0] = graph.Batch
		}
	}
	c.info = info
	c.idle = make(chan *backend.Runner, runners)
	c.slots = make(chan struct{}, runners)
	return c, nil
}

// Info describes the model: its input as the adapter reads it and its
// classifier output. The slices and map are shared: do not modify them.
func (c *Model) Info() Info { return c.info }

// Close drops the pooled runners and their compiled graphs. A Model used after
// Close builds new ones.
func (c *Model) Close() {
	for {
		select {
		case r := <-c.idle:
			r.Close()
			<-c.slots
		default:
			return
		}
	}
}

// Images classifies images of any size and colour: each is made a grey digit
// on a dark background as digits.PrepareImageSize does (padded to a square,
// resized to the model's H x W, inverted when the background is light), put in
// the model's layout and pixel range, and run in batches.
func (c *Model) Images(ctx context.Context, images []image.Image) ([]Prediction, error) {
	in := c.in
	x := make([]float32, len(images)*in.perImage())
	for i, img := range images {
		if img == nil {
			return nil, fmt.Errorf("classify: image %d is nil", i)
		}
		in.fromGrey(x[i*in.perImage():], digits.PrepareImageSize(img, in.w, in.h))
	}
	return c.predict(ctx, x, len(images))
}

// Grey classifies n grey images (n,h,w) with values in [0,1], as digits.Set
// holds them (h = w = 28), resizing them to the model's H x W where they
// differ and putting them in its layout and pixel range.
func (c *Model) Grey(ctx context.Context, pixels []float32, n, h, w int) ([]Prediction, error) {
	if in := c.in; in.c == 1 && in.h == h && in.w == w && in.pixelRange == PixelRange01 && len(pixels) == n*h*w {
		// The model takes the grey values as they are: no copy (the runner
		// copies its input anyway).
		return c.predict(ctx, pixels, n)
	}
	x, err := c.Adapt(pixels, n, h, w)
	if err != nil {
		return nil, err
	}
	return c.predict(ctx, x, n)
}

// Adapt converts n grey images (n,h,w) in [0,1] into the model's input: its
// layout, H x W, channels and pixel range, as Grey feeds them.
func (c *Model) Adapt(pixels []float32, n, h, w int) ([]float32, error) {
	if n < 0 || h <= 0 || w <= 0 || (n > 0 && h > len(pixels)/n/w) || len(pixels) != n*h*w {
		return nil, fmt.Errorf("classify: %d values are not %d grey images of %dx%d", len(pixels), n, w, h)
	}
	in := c.in
	per := in.perImage()
	if n > graph.MaxElements/per {
		return nil, fmt.Errorf("classify: %d images of %d values exceed %d values", n, per, graph.MaxElements)
	}
	x := make([]float32, n*per)
	var grey []float32
	if h != in.h || w != in.w {
		grey = make([]float32, in.h*in.w)
	}
	for i := range n {
		src := pixels[i*h*w : (i+1)*h*w]
		if grey != nil {
			digits.Resize(src, w, h, grey, in.w, in.h)
			src = grey
		}
		in.fromGrey(x[i*per:], src)
	}
	return x, nil
}

// Tensor runs the model on data in its own layout and pixel range: shape is
// the declared input shape with the batch n first (any n >= 1 for a model
// that runs any batch size), data row-major. It returns every model output and
// the prediction for each of the n examples.
func (c *Model) Tensor(ctx context.Context, data []float32, shape []int) ([]Output, []Prediction, error) {
	in := c.in
	if len(shape) != len(in.dims) || len(shape) == 0 || shape[0] < 1 || !slices.Equal(shape[1:], in.dims[1:]) {
		want := slices.Clone(in.dims)
		want[0] = graph.Batch
		return nil, nil, fmt.Errorf("classify: input %q: got shape %v, want %s (N >= 1)", in.name, shape, graph.FormatDims(want))
	}
	n := shape[0]
	if n > graph.MaxElements/in.perImage() || len(data) != n*in.perImage() {
		return nil, nil, fmt.Errorf("classify: input %q: %d values for shape %v", in.name, len(data), shape)
	}
	outs, err := c.runAll(ctx, data, n)
	if err != nil {
		return nil, nil, err
	}
	preds, err := c.predictions(outs, n)
	return outs, preds, err
}

func (c *Model) predict(ctx context.Context, x []float32, n int) ([]Prediction, error) {
	if n == 0 {
		return nil, nil
	}
	outs, err := c.runAll(ctx, x, n)
	if err != nil {
		return nil, err
	}
	return c.predictions(outs, n)
}

// predictions reads the class scores out of a run's outputs.
func (c *Model) predictions(outs []Output, n int) ([]Prediction, error) {
	var scores []float32
	for _, o := range outs {
		if o.Name == c.scores.Output {
			scores = o.Float
		}
	}
	k := c.scores.K
	if len(scores) != n*k {
		return nil, fmt.Errorf("classify: output %q has %d values for %d images of %d classes", c.scores.Output, len(scores), n, k)
	}
	preds := make([]Prediction, n)
	probs := make([]float32, n*k)
	for i := range preds {
		row := scores[i*k : (i+1)*k : (i+1)*k]
		p := probs[i*k : (i+1)*k : (i+1)*k]
		for j, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("classify: model %q gives a non-finite score (%v) for image %d, class %d", c.info.Name, v, i, j)
			}
		}
		ToProbabilities(p, row, c.scores.Kind)
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		preds[i] = Prediction{Label: best, Class: c.info.Labels[best], Probabilities: p, Scores: row, Output: c.scores.Kind}
	}
	return preds, nil
}

// ToProbabilities writes to dst the K probabilities for one row of K scores of
// a kind: a copy of probabilities, exp of log-probabilities, the softmax of
// logits (computed in float64, shifted by the maximum). dst may be scores.
func ToProbabilities(dst, scores []float32, kind graph.ScoreKind) {
	switch kind {
	case graph.Probabilities:
		copy(dst, scores)
	case graph.LogProbabilities:
		for j, v := range scores {
			dst[j] = float32(math.Exp(float64(v)))
		}
	default: // logits: a softmax, shifted by the maximum for stability
		mx := math.Inf(-1)
		for _, v := range scores {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		for j, v := range scores {
			e := math.Exp(float64(v) - mx)
			dst[j] = float32(e)
			sum += e
		}
		for j := range dst {
			dst[j] = float32(float64(dst[j]) / sum)
		}
	}
}

// runAll runs n examples (in the model's layout) in chunks, each on a pooled
// runner, and joins the outputs.
func (c *Model) runAll(ctx context.Context, x []float32, n int) ([]Output, error) {
	per := c.in.perImage()
	var outs []Output
	for lo, hi := 0, 0; lo < n; lo = hi {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi = lo + c.chunkSize(n-lo)
		res, err := c.runChunk(ctx, x[lo*per:hi*per], hi-lo)
		if err != nil {
			return nil, err
		}
		if outs == nil {
			outs = make([]Output, len(res))
			for i, r := range res {
				outs[i] = Output{Name: r.Name, Shape: append([]int{0}, r.Shape[1:]...)}
			}
		}
		for i, r := range res {
			outs[i].Shape[0] += hi - lo
			outs[i].Float = append(outs[i].Float, r.Float...)
			outs[i].Int64 = append(outs[i].Int64, r.Int64...)
		}
	}
	return outs, nil
}

// chunkSize is how many of the left examples the next run takes: MaxBatch, or
// the largest power of two below it and left, so that a runner compiles at
// most log2(MaxBatch)+2 graphs (one per batch size) whatever sizes the
// callers ask for; a fixed batch that is not re-batched runs at its size.
func (c *Model) chunkSize(left int) int {
	if c.pad || left >= c.chunk {
		return min(left, c.chunk)
	}
	return 1 << (bits.Len(uint(left)) - 1)
}

// runChunk runs n <= chunk examples on one runner; a fixed-batch model gets
// them padded with zeros to its batch and the padding's outputs dropped.
func (c *Model) runChunk(ctx context.Context, x []float32, n int) (res []backend.Result, err error) {
	r, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			// A runner that panicked may hold a half-run graph: drop it.
			r.Close()
			<-c.slots
			res, err = nil, fmt.Errorf("classify: running the model: %v", p)
			return
		}
		c.idle <- r
	}()
	m := n
	if c.pad && n < c.chunk {
		m = c.chunk
		x = append(slices.Clone(x), make([]float32, (m-n)*c.in.perImage())...)
	}
	res, err = r.Run(m, x)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	if m != n {
		for i := range res {
			per := 0
			if len(res[i].Float) > 0 {
				per = len(res[i].Float) / m
				res[i].Float = res[i].Float[:n*per]
			}
			if len(res[i].Int64) > 0 {
				per = len(res[i].Int64) / m
				res[i].Int64 = res[i].Int64[:n*per]
			}
			res[i].Shape[0] = n
		}
	}
	return res, nil
}

// acquire takes an idle runner, or makes one while fewer than Runners exist,
// or waits for one to come back.
func (c *Model) acquire(ctx context.Context) (*backend.Runner, error) {
	select {
	case r := <-c.idle:
		return r, nil
	default:
	}
	select {
	case r := <-c.idle:
		return r, nil
	case c.slots <- struct{}{}:
		r := backend.NewRunner(c.run)
		r.MaxBatch = c.chunk
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// errNotRebatched is wrapped by rebatch's errors.
var errNotRebatched = errors.New("the graph does not run at another batch size")
