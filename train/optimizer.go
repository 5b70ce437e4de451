package train

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Optimizer names an update rule.
type Optimizer string

// The update rules, with g the gradient plus the L2 term λw:
const (
	SGDM Optimizer = "sgdm" // v ← μv − αg; w ← w + v (MATLAB's sgdm)
	Adam Optimizer = "adam" // m ← β1m+(1−β1)g; v ← β2v+(1−β2)g²; w ← w − α m̂/(√v̂+ε) (MATLAB's adam)
	// RMSProp: v ← ρv+(1−ρ)g²; w ← w − α g/(√v+ε), ρ = Beta2 (MATLAB's rmsprop,
	// whose SquaredGradientDecayFactor defaults to 0.9 there; here 0.999 unless set).
	RMSProp Optimizer = "rmsprop"
	// Adagrad: s ← s+g²; w ← w − α g/(√s+ε) (Duchi et al.).
	Adagrad Optimizer = "adagrad"
	// Adadelta: u ← ρu+(1−ρ)g²; Δ = √(d+ε)/√(u+ε)·g; d ← ρd+(1−ρ)Δ²; w ← w − αΔ
	// (Zeiler; ρ = Rho, default 0.9; α scales the step as in PyTorch, where 1.0 is the
	// paper's rule; ε defaults to 1e-6 for it).
	Adadelta Optimizer = "adadelta"
	// Nadam: Adam with Nesterov momentum (Dozat): w ← w − α (β1 m̂ + (1−β1) g/(1−β1^t))/(√v̂+ε).
	Nadam Optimizer = "nadam"
)

// Optimizers lists the valid optimizer names.
var Optimizers = []Optimizer{SGDM, Adam, RMSProp, Adagrad, Adadelta, Nadam}

// ParseOptimizer checks an optimizer name.
func ParseOptimizer(s string) (Optimizer, error) {
	for _, o := range Optimizers {
		if string(o) == s {
			return o, nil
		}
	}
	return "", fmt.Errorf("train: unknown optimizer %q (want one of %v)", s, Optimizers)
}

// Hyper holds optimizer hyper-parameters; zero fields take MATLAB's
// trainingOptions defaults (see Defaults). For Momentum and L2, where zero is
// a meaningful value, a negative field means zero.
type Hyper struct {
	LearnRate float64 // α, default 0.01
	Momentum  float64 // μ for sgdm, default 0.9; negative: 0 (plain SGD)
	L2        float64 // λ, default 1e-4 (negative: none); applied to weights, not to conv/dense biases
	Beta1     float64 // adam, default 0.9
	Beta2     float64 // adam, default 0.999
	Epsilon   float64 // adam, nadam, rmsprop, adagrad: default 1e-8 (adadelta: 1e-6)
	Rho       float64 // adadelta decay, default 0.9
}

// Defaults fills zero fields with MATLAB's defaults. A negative Momentum or L2
// (zero) stays negative, so that Defaults can be applied twice; the update
// reads it as zero.
func (h Hyper) Defaults() Hyper {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&h.LearnRate, 0.01)
	def(&h.Momentum, 0.9)
	def(&h.L2, 1e-4)
	def(&h.Beta1, 0.9)
	def(&h.Beta2, 0.999)
	def(&h.Epsilon, 1e-8)
	def(&h.Rho, 0.9)

	return h
}

// State is an optimizer's memory: one or two moment vectors per parameter and the
// step count. It is saved in checkpoints so that resuming is exact.
type State struct {
	Step int
	M, V [][]float32
}

// Stepper applies one update to params given their gradients. decay[i] says
// whether L2 regularization applies to params[i].
type Stepper struct {
	Kind  Optimizer
	Hyper Hyper
	State State
	// Rates, when set, multiplies the learning rate of each parameter.
	Rates []float64
}

// NewStepper prepares an optimizer for parameters of the given sizes.
func NewStepper(kind Optimizer, h Hyper, sizes []int) (*Stepper, error) {
	if _, err := ParseOptimizer(string(kind)); err != nil {
		return nil, err
	}
	if kind == Adadelta && h.Epsilon == 0 {
		h.Epsilon = 1e-6
	}
	s := &Stepper{Kind: kind, Hyper: h.Defaults()}
	for _, n := range sizes {
		s.State.M = append(s.State.M, make([]float32, n))
		if kind == Adam || kind == Nadam || kind == Adadelta {
			s.State.V = append(s.State.V, make([]float32, n))
		}
	}
	return s, nil
}

// Step updates params in place. grads are the loss gradients (without L2).
// The update runs on all cores in chunks of at most stepChunk values: Adam's
// float64 update of the paper's 115,200 dense weights is a fifth of a batch-43
// training step on one core.
func (s *Stepper) Step(params, grads [][]float32, decay []bool) error {
	if len(params) != len(s.State.M) || len(grads) != len(params) || len(decay) != len(params) {
		return fmt.Errorf("train: optimizer has state for %d parameters, got %d params, %d grads and %d decay flags", len(s.State.M), len(params), len(grads), len(decay))
	}
	for i, w := range params {
		if len(grads[i]) != len(w) || len(s.State.M[i]) != len(w) {
			return fmt.Errorf("train: parameter #%d has %d values, gradient %d, state %d", i, len(w), len(grads[i]), len(s.State.M[i]))
		}
	}
	s.State.Step++
	type chunk struct{ i, lo, hi int }
	var chunks []chunk
	for i, w := range params {
		for lo := 0; lo < len(w); lo += stepChunk {
			chunks = append(chunks, chunk{i, lo, min(lo+stepChunk, len(w))})
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(chunks))
	var next atomic.Int64
	var wg sync.WaitGroup
	work := func() {
		for {
			k := int(next.Add(1) - 1)
			if k >= len(chunks) {
				return
			}
			c := chunks[k]
			s.update(c.i, params[c.i][c.lo:c.hi], grads[c.i][c.lo:c.hi], decay[c.i], c.lo, c.hi)
		}
	}
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return nil
}

// stepChunk is the most values one goroutine updates at a time.
const stepChunk = 16384

// update applies the step to w = params[i][lo:hi] with gradient g.
func (s *Stepper) update(i int, w, g []float32, decay bool, lo, hi int) {
	h := s.Hyper
	t := float64(s.State.Step)
	c1 := 1 - math.Pow(h.Beta1, t)
	c2 := 1 - math.Pow(h.Beta2, t)
	lr := h.LearnRate
	if s.Rates != nil {
		lr *= s.Rates[i]
	}
	l2 := 0.0
	if decay {
		l2 = max(h.L2, 0)
	}
	mom := max(h.Momentum, 0)
	m := s.State.M[i][lo:hi]
	switch s.Kind {
	case SGDM:
		for j := range w {
			gj := float64(g[j]) + l2*float64(w[j])
			v := mom*float64(m[j]) - lr*gj
			m[j] = float32(v)
			w[j] = float32(float64(w[j]) + v)
		}
	case Adam, Nadam:
		v := s.State.V[i][lo:hi]
		for j := range w {
			gj := float64(g[j]) + l2*float64(w[j])
			mj := h.Beta1*float64(m[j]) + (1-h.Beta1)*gj
			vj := h.Beta2*float64(v[j]) + (1-h.Beta2)*gj*gj
			m[j], v[j] = float32(mj), float32(vj)
			mhat := mj / c1
			if s.Kind == Nadam {
				mhat = h.Beta1*mhat + (1-h.Beta1)*gj/c1
			}
			w[j] = float32(float64(w[j]) - lr*mhat/(math.Sqrt(vj/c2)+h.Epsilon))
		}
	case RMSProp:
		for j := range w {
			gj := float64(g[j]) + l2*float64(w[j])
			vj := h.Beta2*float64(m[j]) + (1-h.Beta2)*gj*gj
			m[j] = float32(vj)
			w[j] = float32(float64(w[j]) - lr*gj/(math.Sqrt(vj)+h.Epsilon))
		}
	case Adagrad:
		for j := range w {
			gj := float64(g[j]) + l2*float64(w[j])
			sj := float64(m[j]) + gj*gj
			m[j] = float32(sj)
			w[j] = float32(float64(w[j]) - lr*gj/(math.Sqrt(sj)+h.Epsilon))
		}
	case Adadelta:
		d := s.State.V[i][lo:hi]
		for j := range w {
			gj := float64(g[j]) + l2*float64(w[j])
			uj := h.Rho*float64(m[j]) + (1-h.Rho)*gj*gj
			delta := math.Sqrt(float64(d[j])+h.Epsilon) / math.Sqrt(uj+h.Epsilon) * gj
			m[j] = float32(uj)
			d[j] = float32(h.Rho*float64(d[j]) + (1-h.Rho)*delta*delta)
			w[j] = float32(float64(w[j]) - lr*delta)
		}
	}
}
