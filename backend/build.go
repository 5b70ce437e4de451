package backend

import (
	"fmt"
	"math/rand"
	"slices"

	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Mode selects how a graph is built.
type Mode int

const (
	// Infer uses running statistics for batch normalization and skips dropout.
	Infer Mode = iota
	// Train uses batch statistics (and updates the running ones), applies dropout
	// and makes trainable parameters learnable nodes.
	Train
)

// Options configure Build. The zero value builds a float32 inference graph.
type Options struct {
	Mode Mode
	// Float64 builds the graph in float64 (for gradient checks). Parameters are
	// then copied, not shared; SyncParams writes them back.
	Float64 bool
	// Rand drives dropout masks in training mode; nil means a fixed seed of 1.
	Rand *rand.Rand
}

// Builder holds a Gorgonia graph built from a Model for one batch size.
type Builder struct {
	Model *graph.Model
	Batch int
	Opts  Options
	G     *G.ExprGraph

	values    map[string]*G.Node   // every value built so far
	want      map[string]bool      // the values Build was asked for
	paramNode map[string]*G.Node   // parameter name -> node
	learn     []*G.Node            // learnable nodes, in Model.Params order
	learnT    []*graph.Tensor      // the tensor behind each learnable node
	bns       []bnState            // batch-norm ops and their running statistics
	prepare   []func(r *rand.Rand) // run before each step (dropout masks)
	rng       *rand.Rand
	fuse      fusion // which ops apply the node after them (planFusion)
}

type bnState struct {
	op        batchNormStats
	mean, vr  *graph.Tensor
	node      string
	gorgoniaM float64
}

// Build creates the Gorgonia graph that computes the named values (for example
// the model outputs, or "logits" for a training head) for a fixed batch size.
// Only the nodes those values depend on are built. Graph inputs become input
// nodes named as in the Model; bind them with Let before each run.
func Build(m *graph.Model, batch int, want []string, opts Options) (b *Builder, err error) {
	if batch <= 0 {
		return nil, fmt.Errorf("backend: batch size %d must be positive", batch)
	}
	defer func() {
		// Gorgonia panics on some shape errors while building; report them.
		if r := recover(); r != nil {
			err = fmt.Errorf("backend: building %q: %v", m.Name, r)
		}
	}()
	b = &Builder{
		Model: m, Batch: batch, Opts: opts, G: G.NewGraph(),
		values: map[string]*G.Node{}, paramNode: map[string]*G.Node{},
		want: map[string]bool{}, rng: opts.Rand,
	}
	for _, w := range want {
		b.want[w] = true
	}
	b.fuse = b.planFusion()
	if b.rng == nil {
		b.rng = rand.New(rand.NewSource(1))
	}
	needed, err := needed(m, want)
	if err != nil {
		return nil, err
	}
	for _, in := range m.Inputs {
		if !needed[in.Name] {
			continue
		}
		shape := slices.Clone(in.Shape)
		for i, d := range shape {
			if d == graph.Batch {
				shape[i] = batch
			}
		}
		if in.Type != graph.Float32 {
			return nil, fmt.Errorf("backend: input %q: only float32 inputs can be built, not %v", in.Name, in.Type)
		}
		b.values[in.Name] = G.NewTensor(b.G, b.dtype(), len(shape), G.WithShape(shape...), G.WithName(in.Name))
	}
	for _, n := range m.Nodes {
		if !needed[n.Name] {
			continue
		}
		outs, err := b.forward(n)
		if err != nil {
			return nil, err
		}
		if len(outs) != len(n.Outputs) {
			return nil, fmt.Errorf("backend: node %q (%s) built %d outputs, want %d", n.Name, n.Op.Type(), len(outs), len(n.Outputs))
		}
		for i, name := range n.Outputs {
			if outs[i] != nil {
				b.values[name] = outs[i]
			}
		}
	}
	for _, w := range want {
		if b.values[w] == nil {
			return nil, fmt.Errorf("backend: value %q was not built", w)
		}
	}
	return b, nil
}

func (b *Builder) forward(n *graph.Node) (outs []*G.Node, err error) {
	outs, err = b.lower(n)
	if err != nil {
		return nil, &BuildError{Node: n.Name, Op: n.Op.Type(), Err: err}
	}
	return outs, nil
}

// BuildError reports a node that Gorgonia could not build.
type BuildError struct {
	Node, Op string
	Err      error
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("backend: node %q (%s): %v", e.Node, e.Op, e.Err)
}

func (e *BuildError) Unwrap() error { return e.Err }

// needed marks the nodes and inputs the wanted values depend on.
func needed(m *graph.Model, want []string) (map[string]bool, error) {
	need := map[string]bool{}
	var visit func(v string) error
	visit = func(v string) error {
		if need[v] {
			return nil
		}
		need[v] = true
		if p := m.Producer(v); p != nil {
			need[p.Name] = true
			for _, in := range p.Inputs {
				if in == "" {
					continue
				}
				if err := visit(in); err != nil {
					return err
				}
			}
			return nil
		}
		for _, in := range m.Inputs {
			if in.Name == v {
				return nil
			}
		}
		if m.Param(v) != nil {
			return nil
		}
		return fmt.Errorf("backend: value %q is not an input, parameter or node output", v)
	}
	for _, w := range want {
		if err := visit(w); err != nil {
			return nil, err
		}
	}
	return need, nil
}

func (b *Builder) dtype() tensor.Dtype {
	if b.Opts.Float64 {
		return tensor.Float64
	}
	return tensor.Float32
}

// Value returns the node built for a value name, or nil.
func (b *Builder) Value(name string) *G.Node { return b.values[name] }

// Input returns the node for input i of n: an earlier value or a parameter
// (made a learnable node in training mode when the parameter is trainable).
// It returns nil for an omitted optional input.
func (b *Builder) Input(n *graph.Node, i int) (*G.Node, error) {
	if i >= len(n.Inputs) || n.Inputs[i] == "" {
		return nil, nil
	}
	name := n.Inputs[i]
	if v := b.values[name]; v != nil {
		return v, nil
	}
	p := b.Model.Param(name)
	if p == nil {
		return nil, fmt.Errorf("input %q is not built", name)
	}
	return b.paramAs(p, p.Dims)
}

// ParamAs returns a node for parameter p viewed with the given shape (same number
// of elements); used where Gorgonia wants a (1,C,1,1) view of a (C) tensor.
func (b *Builder) ParamAs(n *graph.Node, i int, shape []int) (*G.Node, error) {
	if i >= len(n.Inputs) || n.Inputs[i] == "" {
		return nil, nil
	}
	p := b.Model.Param(n.Inputs[i])
	if p == nil {
		return nil, fmt.Errorf("input #%d %q must be a parameter", i, n.Inputs[i])
	}
	if shapeSize(shape) != p.Size() {
		return nil, fmt.Errorf("parameter %q has %d elements, cannot view as %v", p.Name, p.Size(), shape)
	}
	return b.paramAs(p, shape)
}

// Tensor returns the parameter behind input i of n, or nil.
func (b *Builder) Tensor(n *graph.Node, i int) *graph.Tensor {
	if i >= len(n.Inputs) || n.Inputs[i] == "" {
		return nil
	}
	return b.Model.Param(n.Inputs[i])
}

func (b *Builder) paramAs(p *graph.Tensor, shape []int) (*G.Node, error) {
	key := p.Name + fmt.Sprint(shape) // sharesParams cuts the name at the last "["
	if v := b.paramNode[key]; v != nil {
		return v, nil
	}
	if p.Int64 != nil {
		return nil, fmt.Errorf("parameter %q is int64 and cannot be a Gorgonia value", p.Name)
	}
	if len(shape) == 0 {
		shape = []int{1}
	}
	var t *tensor.Dense
	if b.Opts.Float64 {
		d := make([]float64, len(p.Data))
		for i, v := range p.Data {
			d[i] = float64(v)
		}
		t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
	} else {
		// Share memory with the model: optimizer steps update the Model in place.
		t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(p.Data))
	}
	learn := b.Opts.Mode == Train && p.Trainable
	for _, prev := range b.learnT {
		if learn && prev == p {
			return nil, fmt.Errorf("trainable parameter %q is used with two shapes", p.Name)
		}
	}
	// Constants are value-bound tensor nodes too: Gorgonia's NewConstant has no
	// graph until used, which breaks broadcasting against it.
	v := G.NewTensor(b.G, b.dtype(), len(shape), G.WithShape(shape...), G.WithName(p.Name), G.WithValue(t))
	if learn {
		b.learn = append(b.learn, v)
		b.learnT = append(b.learnT, p)
	}
	b.paramNode[key] = v
	return v, nil
}

// Learnables returns the learnable nodes and the tensors behind them, in the order
// they were built. In float32 the node values share memory with the tensors.
func (b *Builder) Learnables() ([]*G.Node, []*graph.Tensor) { return b.learn, b.learnT }

// Prepare draws per-step random state (dropout masks). Call it before each run in
// training mode.
func (b *Builder) Prepare() {
	for _, f := range b.prepare {
		f(b.rng)
	}
}

// SetRand replaces the random source of dropout masks; the trainer reseeds it
// every epoch so that a resumed run draws the same masks.
func (b *Builder) SetRand(r *rand.Rand) { b.rng = r }

// AfterMachine must be called once a tape machine exists for the graph:
// NewTapeMachine switches every batch-norm op to training mode, which wipes its
// running statistics, so this restores them from the Model and sets the mode.
func (b *Builder) AfterMachine() error {
	for _, s := range b.bns {
		if err := s.op.SetTraining(b.Opts.Mode == Train); err != nil {
			return err
		}
		if err := s.op.SetStats(b.statTensor(s.mean), b.statTensor(s.vr)); err != nil {
			return fmt.Errorf("backend: node %q: %w", s.node, err)
		}
	}
	return nil
}

func (b *Builder) statTensor(p *graph.Tensor) tensor.Tensor {
	if b.Opts.Float64 {
		d := make([]float64, len(p.Data))
		for i, v := range p.Data {
			d[i] = float64(v)
		}
		return tensor.New(tensor.WithShape(len(d)), tensor.WithBacking(d))
	}
	return tensor.New(tensor.WithShape(len(p.Data)), tensor.WithBacking(slices.Clone(p.Data)))
}

// SyncStats copies the running statistics that training updated inside Gorgonia's
// batch-norm ops back into the Model's tensors.
func (b *Builder) SyncStats() {
	for _, s := range b.bns {
		mean, vr := s.op.Stats()
		copyInto(s.mean.Data, mean.Data())
		copyInto(s.vr.Data, vr.Data())
	}
}

// SyncParams copies learnable values back into the Model (needed in float64 mode;
// in float32 they already share memory).
func (b *Builder) SyncParams() {
	if !b.Opts.Float64 {
		return
	}
	for i, n := range b.learn {
		copyInto(b.learnT[i].Data, n.Value().Data())
	}
}

func copyInto(dst []float32, src any) {
	switch s := src.(type) {
	case []float32:
		copy(dst, s)
	case []float64:
		for i := range dst {
			dst[i] = float32(s[i])
		}
	}
}

// Machine makes a tape machine for the graph (binding gradients for the given
// learnables when non-nil) and prepares batch-norm state for the mode.
func (b *Builder) Machine(extra ...G.VMOpt) (G.VM, error) {
	opts := slices.Clone(extra)
	if b.Opts.Mode == Train && len(b.learn) > 0 {
		opts = append(opts, G.BindDualValues(b.learn...))
	}
	if b.Opts.Mode == Infer {
		opts = append(opts, G.EvalMode())
	}
	vm := G.NewTapeMachine(b.G, opts...)
	if err := b.AfterMachine(); err != nil {
		vm.Close()
		return nil, err
	}
	return vm, nil
}
