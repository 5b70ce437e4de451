package graph

import (
	"fmt"
	"strings"
)

// ScoreKind says what a classifier's K class scores are.
type ScoreKind int

const (
	// Logits are unnormalised scores: softmax turns them into probabilities.
	Logits ScoreKind = iota
	// Probabilities are softmax outputs: each row sums to 1.
	Probabilities
	// LogProbabilities are log-softmax outputs: exp turns them into probabilities.
	LogProbabilities
)

// String gives the kind as predict --json writes it: "logits",
// "probabilities" or "log-probabilities".
func (k ScoreKind) String() string {
	switch k {
	case Logits:
		return "logits"
	case Probabilities:
		return "probabilities"
	case LogProbabilities:
		return "log-probabilities"
	}
	return fmt.Sprintf("ScoreKind(%d)", int(k))
}

// ClassScores names the output of a classifier that holds its class scores.
type ClassScores struct {
	Output string    // the model output, float32 (N,K) or (N,K,1,...,1)
	Kind   ScoreKind // what the scores are, from the op that computes them
	K      int       // number of classes
	// Label is an int64 (N) output computed by ArgMax from the scores, or "".
	Label string
}

// passThrough lists the ops that carry scores unchanged in value (only their
// shape may change): the rule looks through them for the op that computed the
// scores, as in Softmax -> Flatten -> output or Softmax -> Identity -> output.
var passThrough = map[string]bool{
	"Identity": true, "Flatten": true, "Reshape": true, "Dropout": true,
	"Squeeze": true, "Unsqueeze": true,
}

// ClassScores applies the classifier-output rule that predict, eval, verify
// and the server share: among the model's float32 outputs of shape (N,K), or
// (N,K,1,...,1), with K >= 1 and N the batch (symbolic, 1, or the fixed first
// dim of the model's input),
// it picks the first that holds probabilities, else the first that holds
// log-probabilities, else the first (logits). The kind comes from the op that
// computes the output, looking through Identity, Flatten, Reshape, Dropout,
// Squeeze and Unsqueeze: Softmax over the class axis gives probabilities,
// LogSoftmax (or Log of a Softmax) log-probabilities, anything else logits.
// An int64 label output never holds the scores; one computed by ArgMax from the
// chosen output is reported as Label. A model with no such float output is an
// error that lists the outputs and their shapes.
func (m *Model) ClassScores() (ClassScores, error) {
	shapes, err := m.Shapes()
	if err != nil {
		shapes = nil // fall back to the declared shapes
	}
	fixedBatch := 1
	if len(m.Inputs) > 0 && len(m.Inputs[0].Shape) > 0 && m.Inputs[0].Shape[0] > 0 {
		fixedBatch = m.Inputs[0].Shape[0]
	}
	var best ClassScores
	bestRank := -1
	for _, o := range m.Outputs {
		if o.Type != Float32 {
			continue
		}
		shape := o.Shape
		if s, ok := shapes[o.Name]; ok {
			shape = s
		}
		k, ok := scoreWidth(shape, fixedBatch)
		if !ok {
			continue
		}
		kind := m.scoreKind(o.Name, len(shape))
		// Probabilities first, then log-probabilities, then logits.
		rank := map[ScoreKind]int{Probabilities: 2, LogProbabilities: 1, Logits: 0}[kind]
		if rank > bestRank {
			best, bestRank = ClassScores{Output: o.Name, Kind: kind, K: k}, rank
		}
	}
	if bestRank < 0 {
		return ClassScores{}, fmt.Errorf("graph: the model has no float32 output of class scores, shape (N,K) (outputs: %s)", describeValues(m.Outputs, shapes))
	}
	for _, o := range m.Outputs {
		if o.Type != Int64 {
			continue
		}
		if p := m.Producer(o.Name); p != nil && p.Op.Type() == "ArgMax" && len(p.Inputs) > 0 && p.Inputs[0] == best.Output {
			best.Label = o.Name
			break
		}
	}
	return best, nil
}

// scoreWidth returns K for a shape (N,K) or (N,K,1,...,1) whose N is the batch
// (Batch, 1 or the input's fixed batch b).
func scoreWidth(shape []int, b int) (int, bool) {
	if len(shape) < 2 || (shape[0] != Batch && shape[0] != 1 && shape[0] != b) || shape[1] < 1 {
		return 0, false
	}
	for _, d := range shape[2:] {
		if d != 1 {
			return 0, false
		}
	}
	return shape[1], true
}

// scoreKind follows value back through pass-through ops to the op that
// computed it. rank is the rank of the output (the class axis is 1).
func (m *Model) scoreKind(value string, rank int) ScoreKind {
	seen := map[string]bool{}
	for !seen[value] {
		seen[value] = true
		p := m.Producer(value)
		if p == nil || len(p.Inputs) == 0 {
			return Logits
		}
		switch t := p.Op.Type(); {
		case passThrough[t]:
			value = p.Inputs[0]
		case t == "Softmax" || t == "LogSoftmax":
			if !softmaxOverClasses(p.Op, rank) {
				return Logits
			}
			if t == "LogSoftmax" {
				return LogProbabilities
			}
			return Probabilities
		case t == "Log":
			if q := m.Producer(p.Inputs[0]); q != nil && q.Op.Type() == "Softmax" && softmaxOverClasses(q.Op, rank) {
				return LogProbabilities
			}
			return Logits
		default:
			return Logits
		}
	}
	return Logits
}

// softmaxOverClasses reports whether a (Log)Softmax normalises over the class
// axis (1) of a rank-r value, or over all dims after the batch (opset < 13's
// 2-D coercion at axis 1), or over the last axis when that is the class axis.
func softmaxOverClasses(op Op, rank int) bool {
	s, ok := op.(*Softmax)
	if !ok {
		return true // another implementation of the op: trust its name
	}
	axis := s.Axis
	if axis < 0 {
		axis += rank
	}
	return axis == 1 || (axis == rank-1 && rank == 2)
}

func describeValues(vs []Value, shapes map[string][]int) string {
	if len(vs) == 0 {
		return "none"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		s := v.Shape
		if inferred, ok := shapes[v.Name]; ok {
			s = inferred
		}
		parts[i] = fmt.Sprintf("%q %s %s", v.Name, v.Type, FormatDims(s))
	}
	return strings.Join(parts, ", ")
}
