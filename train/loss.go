package train

import (
	"fmt"
	"math"

	"github.com/onnxdigits/onnxdigits/backend"
	G "gorgonia.org/gorgonia"
)

// Loss names a classification layer. Y is the softmax output (N,K), T the one-hot
// target, r = Y - T, N the batch and K the classes:
//
//	crossentropy: L = -(1/N) Σi Σj Tij ln Yij
//	mae:          L =  (1/N) Σi (1/K) Σj |rij|
//	sse:          L =  (1/N) Σi Σj rij²
//
// The robust losses the paper names as future work are L = (1/N) Σi Σj ρ(rij)
// with a scale c (Config.LossScale; 0 takes the classic 95%-efficiency constant):
//
//	huber:  ρ = r²/2 for |r| <= c, else c(|r| - c/2)        (c = 1.345)
//	tukey:  ρ = c²/6 (1 - (1 - (r/c)²)³) for |r| <= c, else c²/6   (c = 4.685)
//	welch:  ρ = c²/2 (1 - exp(-(r/c)²))                       (c = 2.9846)
//	cauchy: ρ = c²/2 ln(1 + (r/c)²)                           (c = 2.3849)
//
// Softmax residuals lie in [-1,1], so scales above 1 keep Huber and Tukey in
// their quadratic-like region; smaller scales make the robustness bite.
type Loss string

const (
	CrossEntropy Loss = "crossentropy"
	MAE          Loss = "mae"
	SSE          Loss = "sse"
	Huber        Loss = "huber"
	Tukey        Loss = "tukey"
	Welch        Loss = "welch"
	Cauchy       Loss = "cauchy"
)

// Losses lists the valid loss names.
var Losses = []Loss{CrossEntropy, MAE, SSE, Huber, Tukey, Welch, Cauchy}

// DefaultScale is the scale c a robust loss uses when none is given (0 for the
// losses without one).
func (l Loss) DefaultScale() float64 {
	switch l {
	case Huber:
		return 1.345
	case Tukey:
		return 4.685
	case Welch:
		return 2.9846
	case Cauchy:
		return 2.3849
	}
	return 0
}

func (l Loss) scale(c float64) float64 {
	if c == 0 {
		return l.DefaultScale()
	}
	return c
}

// ParseLoss checks a loss name.
func ParseLoss(s string) (Loss, error) {
	for _, l := range Losses {
		if string(l) == s {
			return l, nil
		}
	}
	return "", fmt.Errorf("train: unknown loss %q (want one of %v)", s, Losses)
}

// Node adds the loss of logits (N,K) against target (N,K) to the graph.
// Cross-entropy uses log-softmax on the logits for stability; the others
// softmax. Both are backend.SoftmaxNode, not Gorgonia's: its softmax overflows
// when a row's first logit dominates, and its softmax and log-softmax of one
// input merge into one node (gorgonia issue #569, DESIGN §9).
// scale is the robust losses' c (0 for the default).
func (l Loss) Node(logits, target *G.Node, scale float64) (*G.Node, error) {
	s := logits.Shape()
	if len(s) != 2 || !s.Eq(target.Shape()) {
		return nil, fmt.Errorf("train: logits %v and target %v must be equal (N,K) shapes", s, target.Shape())
	}
	n, k := float64(s[0]), float64(s[1])
	mul := func(x *G.Node, f float64) (*G.Node, error) {
		if x.Dtype() == G.Float64 {
			return G.Mul(x, G.NewConstant(f))
		}
		return G.Mul(x, G.NewConstant(float32(f)))
	}
	switch l {
	case CrossEntropy:
		logp, err := backend.SoftmaxNode(logits, 1, true)
		if err != nil {
			return nil, err
		}
		prod, err := G.HadamardProd(logp, target)
		if err != nil {
			return nil, err
		}
		sum, err := G.Sum(prod)
		if err != nil {
			return nil, err
		}
		return mul(sum, -1/n)
	case MAE, SSE, Huber, Tukey, Welch, Cauchy:
		y, err := backend.SoftmaxNode(logits, 1, false)
		if err != nil {
			return nil, err
		}
		d, err := G.Sub(y, target)
		if err != nil {
			return nil, err
		}
		e, err := l.rho(d, l.scale(scale), mul)
		if err != nil {
			return nil, err
		}
		sum, err := G.Sum(e)
		if err != nil {
			return nil, err
		}
		if l == MAE {
			return mul(sum, 1/(n*k))
		}
		return mul(sum, 1/n)
	}
	return nil, fmt.Errorf("train: unknown loss %q", l)
}

// rho applies the elementwise penalty to residuals r, built from differentiable
// Gorgonia ops: min(a, c) is written a - relu(a - c).
func (l Loss) rho(r *G.Node, c float64, mul func(*G.Node, float64) (*G.Node, error)) (*G.Node, error) {
	var err error
	must := func(n *G.Node, e error) *G.Node {
		if err == nil {
			err = e
		}
		return n
	}
	add := func(x *G.Node, f float64) *G.Node {
		if x.Dtype() == G.Float64 {
			return must(G.Add(x, G.NewConstant(f)))
		}
		return must(G.Add(x, G.NewConstant(float32(f))))
	}
	m := func(x *G.Node, f float64) *G.Node { return must(mul(x, f)) }
	var out *G.Node
	switch l {
	case MAE:
		out = must(G.Abs(r))
	case SSE:
		out = must(G.Square(r))
	case Huber:
		a := must(G.Abs(r))
		q := must(G.Sub(a, must(G.Rectify(add(a, -c))))) // min(|r|, c)
		out = must(G.HadamardProd(q, must(G.Sub(a, m(q, 0.5)))))
	case Tukey:
		u2 := m(must(G.Square(r)), 1/(c*c))
		w := must(G.Sub(u2, must(G.Rectify(add(u2, -1))))) // min(u², 1)
		out = m(add(m(must(G.Cube(add(m(w, -1), 1))), -1), 1), c*c/6)
	case Welch:
		u2 := m(must(G.Square(r)), 1/(c*c))
		out = m(add(m(must(G.Exp(m(u2, -1))), -1), 1), c*c/2)
	case Cauchy:
		u2 := m(must(G.Square(r)), 1/(c*c))
		out = m(must(G.Log1p(u2)), c*c/2)
	default:
		return nil, fmt.Errorf("train: %q has no elementwise penalty", l)
	}
	return out, err
}

// Value computes the loss from probabilities (N,K) and labels, in float64, for
// validation sets evaluated outside the training graph.
func (l Loss) Value(probs []float32, labels []uint8, k int, scale float64) float64 {
	c := l.scale(scale)
	n := len(labels)
	if n == 0 {
		return 0
	}
	total := 0.0
	for i, lab := range labels {
		row := probs[i*k : (i+1)*k]
		for j, p := range row {
			t := 0.0
			if j == int(lab) {
				t = 1
			}
			if l == CrossEntropy {
				if t == 1 {
					total -= math.Log(math.Max(float64(p), 1e-38))
				}
				continue
			}
			e := l.Rho(float64(p)-t, c)
			if l == MAE {
				e /= float64(k)
			}
			total += e
		}
	}
	return total / float64(n)
}

// Rho is the elementwise penalty of the residual-based losses, in float64
// (MAE's 1/K is applied by the caller). Cross-entropy has none and returns NaN.
func (l Loss) Rho(r, c float64) float64 {
	a := math.Abs(r)
	switch l {
	case MAE:
		return a
	case SSE:
		return r * r
	case Huber:
		if a <= c {
			return r * r / 2
		}
		return c * (a - c/2)
	case Tukey:
		if a > c {
			return c * c / 6
		}
		w := 1 - r*r/(c*c)
		return c * c / 6 * (1 - w*w*w)
	case Welch:
		return c * c / 2 * (1 - math.Exp(-r*r/(c*c)))
	case Cauchy:
		return c * c / 2 * math.Log1p(r*r/(c*c))
	}
	return math.NaN()
}
