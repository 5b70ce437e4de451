package backend

// Shared plumbing of the custom Gorgonia ops (kernels_*.go): the conv, batch
// norm, ReLU and dense layers run as our own ops with fused, allocation-free
// loops instead of Gorgonia's built-ins, which materialise broadcasts, kernels.Transpose
// the conv output and re-allocate every intermediate value after each
// vm.Reset() (DESIGN §8).
//
// Every op owns its output and scratch buffers and reuses them from run to run.
// A forward op returns its header of the last run through output(), which
// makes a new one only when Gorgonia's in-place ops (Reshape's UnsafeDo) have
// reshaped, transposed or re-backed it; backward ops return a fresh header
// over the same array each time (wrap), since the training tape may. A
// backward op receives the forward values it reads as graph inputs, so that
// Gorgonia's register allocation keeps them alive; only small per-channel
// statistics (batch mean, inverse deviation) pass through op state.
//
// Work is split over the batch on up to GOMAXPROCS goroutines. Reductions over
// the batch (weight and bias gradients, batch-norm statistics) sum per-chunk
// partials whose boundaries depend only on the batch size, in chunk order, so
// results are bit-identical from run to run whatever the scheduling.

import (
	"fmt"
	"hash"
	"hash/fnv"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// shapeSize is the number of elements of a tensor of the given shape.
func shapeSize(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// float is the element type of the kernels: float32 for training and
// inference, float64 for gradient checks.
type float interface{ float32 | float64 }

// buffer is a reusable float32 or float64 array, and the tensor header an op
// last returned over it (see output).
type buffer struct {
	f32 []float32
	f64 []float64
	hdr *tensor.Dense
}

// get returns the first n elements of b as []T, growing it if needed. The
// contents are whatever the last user left.
func get[T float](b *buffer, n int) []T {
	var z T
	switch any(z).(type) {
	case float32:
		if cap(b.f32) < n {
			b.f32 = make([]float32, n)
		}
		return any(b.f32[:n]).([]T)
	default:
		if cap(b.f64) < n {
			b.f64 = make([]float64, n)
		}
		return any(b.f64[:n]).([]T)
	}
}

// buffers is one buffer per worker.
type buffers []buffer

func (bs *buffers) worker(w int) *buffer {
	for len(*bs) <= w {
		*bs = append(*bs, buffer{})
	}
	return &(*bs)[w]
}

// prepare makes sure that workers buffers exist before goroutines index them.
func (bs *buffers) prepare(workers int) {
	bs.worker(workers - 1)
}

// dataOf returns the backing array of a dense tensor value, materialising views.
func dataOf[T float](v G.Value) ([]T, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("want a dense tensor, have %T", v)
	}
	if d.IsView() {
		d = d.Materialize().(*tensor.Dense)
	}
	var s []T
	switch p := any(&s).(type) {
	case *[]float32:
		if d.Dtype() == tensor.Float32 && !d.IsScalar() {
			*p = d.Float32s() // typed, unlike Data(), which builds the slice by reflection
			return s, nil
		}
	case *[]float64:
		if d.Dtype() == tensor.Float64 && !d.IsScalar() {
			*p = d.Float64s()
			return s, nil
		}
	}
	s, ok = d.Data().([]T)
	if !ok {
		return nil, fmt.Errorf("want %T data, have %v", s, d.Dtype())
	}
	return s, nil
}

// wrap returns a new tensor header over data with the given shape.
func wrap[T float](data []T, shape []int) *tensor.Dense {
	return tensor.New(tensor.WithShape(append([]int(nil), shape...)...), tensor.WithBacking(data))
}

// output returns a tensor header of the given shape over data, a forward op's
// result in its buffer b: the header b returned last time while it is still
// a plain dense tensor of that shape over data (nobody reshaped, transposed
// or re-backed it in place), else a new one. Making a header costs about half
// a microsecond and a few allocations; at batch 1 an op's whole kernel is a
// few microseconds.
func output[T float](b *buffer, data []T, shape []int) *tensor.Dense {
	if h := b.hdr; h != nil && len(data) > 0 && !h.IsMaterializable() && slices.Equal(h.Shape(), shape) && contiguous(h.Strides(), shape) {
		if s, err := dataOf[T](h); err == nil && len(s) == len(data) && &s[0] == &data[0] {
			return h
		}
	}
	b.hdr = wrap(data, shape)
	return b.hdr
}

// contiguous reports whether strides are the row-major strides of shape.
func contiguous(strides, shape []int) bool {
	if len(strides) != len(shape) {
		return false
	}
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && strides[i] != n {
			return false
		}
		n *= shape[i]
	}
	return true
}

// opIDs numbers op instances: every custom op writes its number into its hash,
// so that Gorgonia never merges two layers' nodes (two nodes with equal op
// hashes and equal inputs are one node to it).
var opIDs atomic.Int64

func nextOpID() int64 { return opIDs.Add(1) }

// opBase holds the number of a layer's op, which its gradient ops' hashes
// name too.
type opBase struct {
	id int64
}

func newOpBase() opBase { return opBase{id: nextOpID()} }

// opHash is every op's Hashcode: FNV-1a of what its WriteHash writes.
func opHash(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// tt is a tensor type of the given rank over the type variable a.
func tt(dims int) hm.Type {
	if dims == 0 {
		return hm.TypeVariable('a')
	}
	return G.TensorType{Dims: dims, Of: hm.TypeVariable('a')}
}

// fnType is the type of an op taking tensors of the given ranks and returning
// one of rank out.
func fnType(out int, in ...int) hm.Type {
	ts := make([]hm.Type, 0, len(in)+1)
	for _, d := range in {
		ts = append(ts, tt(d))
	}
	ts = append(ts, tt(out))
	return hm.NewFnType(ts...)
}

// needsGrad reports whether a gradient flows back to x in a training graph: x
// depends on a learnable node. Ops use it to leave out gradients nobody reads
// (the first conv's input gradient, Gorgonia's Conv2d computes it anyway).
func (b *Builder) needsGrad(x *G.Node) bool {
	if b.Opts.Mode != Train || x == nil {
		return false
	}
	learn := make(map[*G.Node]bool, len(b.learn))
	for _, l := range b.learn {
		learn[l] = true
	}
	seen := map[int64]bool{}
	var walk func(n *G.Node) bool
	walk = func(n *G.Node) bool {
		if learn[n] {
			return true
		}
		if seen[n.ID()] {
			return false
		}
		seen[n.ID()] = true
		it := b.G.From(n.ID())
		for it.Next() {
			if c, ok := it.Node().(*G.Node); ok && walk(c) {
				return true
			}
		}
		return false
	}
	return walk(x)
}

// sharesParams reports whether every parameter node of a float32 build still
// uses the backing array of the Model's parameter of that name.
func (b *Builder) sharesParams() bool {
	if b.Opts.Float64 {
		return false
	}
	for key, node := range b.paramNode {
		p := b.Model.Param(key[:strings.LastIndex(key, "[")])
		t, ok := node.Value().(*tensor.Dense)
		if p == nil || !ok {
			return false
		}
		d, ok := t.Data().([]float32)
		if !ok || len(d) != len(p.Data) || (len(d) > 0 && &d[0] != &p.Data[0]) {
			return false
		}
	}
	return true
}

// fuser is the state of an op that may compute the model nodes after it
// itself, as planFusion decided: a ReLU (conv, batch norm, dense), a 2x2 max
// pool (conv) or a bias Add (dense).
type fuser interface {
	absorbs(node string) bool
}
