package train

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
)

// Loss names a classification layer. Y is the softmax output (N,K), T the one-hot
// target, N the batch and K the classes:
//
//	crossentropy: L = -(1/N) Σi Σj Tij ln Yij
//	mae:          L =  (1/N) Σi (1/K) Σj |Yij - Tij|
//	sse:          L =  (1/N) Σi Σj (Yij - Tij)²
type Loss string

const (
	CrossEntropy Loss = "crossentropy"
	MAE          Loss = "mae"
	SSE          Loss = "sse"
)

// Losses lists the valid loss names.
var Losses = []Loss{CrossEntropy, MAE, SSE}

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
// Cross-entropy uses LogSoftMax on the logits for stability; MAE and SSE apply
// SoftMax with the axis given explicitly. Together these avoid Gorgonia's
// softmax/log-softmax hash collision (gorgonia issue #569, DESIGN §9), which
// would make the "probabilities" hold log-probabilities.
func (l Loss) Node(logits, target *G.Node) (*G.Node, error) {
	s := logits.Shape()
	if len(s) != 2 || !s.Eq(target.Shape()) {
		return nil, fmt.Errorf("train: logits %v and target %v must be equal (N,K) shapes", s, target.Shape())
	}
	n, k := float64(s[0]), float64(s[1])
	scale := func(x *G.Node, f float64) (*G.Node, error) {
		if x.Dtype() == G.Float64 {
			return G.Mul(x, G.NewConstant(f))
		}
		return G.Mul(x, G.NewConstant(float32(f)))
	}
	switch l {
	case CrossEntropy:
		logp, err := G.LogSoftMax(logits)
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
		return scale(sum, -1/n)
	case MAE, SSE:
		y, err := G.SoftMax(logits, 1)
		if err != nil {
			return nil, err
		}
		d, err := G.Sub(y, target)
		if err != nil {
			return nil, err
		}
		var e *G.Node
		if l == MAE {
			e, err = G.Abs(d)
		} else {
			e, err = G.Square(d)
		}
		if err != nil {
			return nil, err
		}
		sum, err := G.Sum(e)
		if err != nil {
			return nil, err
		}
		if l == MAE {
			return scale(sum, 1/(n*k))
		}
		return scale(sum, 1/n)
	}
	return nil, fmt.Errorf("train: unknown loss %q", l)
}

// Value computes the loss from probabilities (N,K) and labels, in float64, for
// validation sets evaluated outside the training graph.
func (l Loss) Value(probs []float32, labels []uint8, k int) float64 {
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
			switch l {
			case CrossEntropy:
				if t == 1 {
					total -= math.Log(math.Max(float64(p), 1e-38))
				}
			case MAE:
				total += math.Abs(float64(p)-t) / float64(k)
			case SSE:
				d := float64(p) - t
				total += d * d
			}
		}
	}
	return total / float64(n)
}
