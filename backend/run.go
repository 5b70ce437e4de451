package backend

import (
	"fmt"

	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
)

// Runner evaluates a Model's outputs in inference mode on float32 inputs of any
// batch size, splitting into chunks of at most MaxBatch and keeping one compiled
// graph per chunk size. It is not safe for concurrent use.
type Runner struct {
	Model    *graph.Model
	MaxBatch int // 0 means 256
	want     []string
	graphs   map[int]*compiled
}

type compiled struct {
	b     *Builder
	exec  *executor
	in    [][]float32 // reused copies of the inputs (an op may overwrite its input)
	hdr   []buffer    // their tensor headers
	shape []int
}

// NewRunner prepares to compute the named values (nil means the model outputs).
func NewRunner(m *graph.Model, want ...string) *Runner {
	if len(want) == 0 {
		for _, o := range m.Outputs {
			want = append(want, o.Name)
		}
	}
	return &Runner{Model: m, want: want, graphs: map[int]*compiled{}}
}

// Close releases the compiled graphs.
func (r *Runner) Close() {
	r.graphs = map[int]*compiled{}
}

// Reset makes the compiled graphs read the Model's parameters and statistics
// again: float32 parameters are shared with the graphs, batch-norm statistics
// are copied back in. A graph whose parameters no longer share the Model's
// arrays (a parameter was replaced) is dropped and rebuilt on the next Run.
// Keeping the graphs saves rebuilding them and re-allocating their buffers
// after every training epoch.
func (r *Runner) Reset() {
	for batch, c := range r.graphs {
		if !c.b.sharesParams() || c.b.AfterMachine() != nil {
			delete(r.graphs, batch)
		}
	}
}

// Result holds one output for the whole batch: Float data or Int64 data, with
// the batch as first dim of Shape.
type Result struct {
	Name  string
	Shape []int
	Float []float32
	Int64 []int64
}

// Run evaluates the model on n examples. inputs holds, per model input in order,
// n*size(example) float32 values (a single image input for our classifiers).
func (r *Runner) Run(n int, inputs ...[]float32) ([]Result, error) {
	m := r.Model
	if len(inputs) != len(m.Inputs) {
		return nil, fmt.Errorf("backend: model has %d inputs, got %d", len(m.Inputs), len(inputs))
	}
	per := make([]int, len(inputs))
	for i, in := range m.Inputs {
		if len(in.Shape) == 0 || in.Shape[0] != graph.Batch {
			return nil, fmt.Errorf("backend: input %q has no batch dimension", in.Name)
		}
		per[i] = graph.ProdDims(in.Shape[1:])
		if per[i] < 0 || len(inputs[i]) != n*per[i] {
			return nil, fmt.Errorf("backend: input %q: got %d values, want %d examples x %d", in.Name, len(inputs[i]), n, per[i])
		}
	}
	maxB := r.MaxBatch
	if maxB <= 0 {
		maxB = 256
	}
	results := make([]Result, len(r.want))
	for lo := 0; lo < n; lo += maxB {
		hi := min(n, lo+maxB)
		c, err := r.graph(hi - lo)
		if err != nil {
			return nil, err
		}
		for i, in := range m.Inputs {
			c.shape = append(c.shape[:0], in.Shape...)
			c.shape[0] = hi - lo
			for len(c.in) <= i {
				c.in = append(c.in, nil)
				c.hdr = append(c.hdr, buffer{})
			}
			c.in[i] = append(c.in[i][:0], inputs[i][lo*per[i]:hi*per[i]]...)
			t := output(&c.hdr[i], c.in[i], c.shape)
			if node := c.b.Value(in.Name); node != nil {
				if err := G.Let(node, t); err != nil {
					return nil, err
				}
			}
		}
		if err := c.exec.run(); err != nil {
			c.exec.reset()
			return nil, fmt.Errorf("backend: run: %w", err)
		}
		for i, w := range r.want {
			v := c.exec.value(c.b.Value(w))
			res := &results[i]
			res.Name = w
			if res.Shape == nil {
				res.Shape = append([]int{n}, v.Shape()[1:]...)
			}
			switch d := v.Data().(type) {
			case []float32:
				res.Float = append(res.Float, d...)
			case []int64:
				res.Int64 = append(res.Int64, d...)
			case int64:
				res.Int64 = append(res.Int64, d)
			default:
				return nil, fmt.Errorf("backend: output %q has unsupported type %T", w, d)
			}
		}
		c.exec.reset()
	}
	return results, nil
}

func (r *Runner) graph(batch int) (*compiled, error) {
	if c := r.graphs[batch]; c != nil {
		return c, nil
	}
	b, err := Build(r.Model, batch, r.want, Options{Mode: Infer})
	if err != nil {
		return nil, err
	}
	if err := b.AfterMachine(); err != nil { // batch-norm statistics and mode
		return nil, err
	}
	exec, err := newExecutor(b.G)
	if err != nil {
		return nil, err
	}
	c := &compiled{b: b, exec: exec}
	r.graphs[batch] = c
	return c, nil
}

// Classify runs a classifier built by New (or imported with the same outputs) and
// returns probabilities (n,K) and labels (n).
func Classify(m *graph.Model, images []float32, n int) (probs []float32, labels []int64, err error) {
	r := NewRunner(m, graph.ProbsOutput, graph.LabelOutput)
	defer r.Close()
	res, err := r.Run(n, images)
	if err != nil {
		return nil, nil, err
	}
	return res[0].Float, res[1].Int64, nil
}
