package backend

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// executor evaluates an inference graph on the calling goroutine by calling
// each node's Op.Do in topological order: the same Gorgonia graph and ops a
// tape machine would run, without its per-run cost. Gorgonia's tapeMachine
// starts every RunAll on a new goroutine while the caller's OS thread stays
// locked, so each run pays two thread hand-offs (futex wake-ups): about 40 µs,
// more than the whole batch-1 forward pass of the paper's network. Training
// keeps the tape machine (it also runs the backward pass).
type executor struct {
	steps []step
	vals  []G.Value // per graph node, by position in order
	index map[*G.Node]int
	args  []G.Value // scratch for one op's arguments
}

type step struct {
	node *G.Node
	op   G.Op // nil for inputs and constants: their value is read as is
	args []int
}

func newExecutor(g *G.ExprGraph) (*executor, error) {
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	e := &executor{index: make(map[*G.Node]int, len(sorted))}
	for i := len(sorted) - 1; i >= 0; i-- { // Sort puts a node before its inputs
		n := sorted[i]
		s := step{node: n}
		if n.Op() != nil && !isConstant(n) {
			s.op = n.Op()
			children := g.From(n.ID())
			for children.Next() {
				c := children.Node().(*G.Node)
				j, ok := e.index[c]
				if !ok {
					return nil, fmt.Errorf("backend: node %v is evaluated before its input %v", n, c)
				}
				s.args = append(s.args, j)
			}
		}
		e.index[n] = len(e.steps)
		e.steps = append(e.steps, s)
	}
	e.vals = make([]G.Value, len(e.steps))
	return e, nil
}

// isConstant reports a node made by G.NewConstant: its op holds the value.
func isConstant(n *G.Node) bool {
	_, ok := n.Op().(interface{ Value() G.Value })
	return ok
}

// run evaluates every node; inputs must have been bound with G.Let.
func (e *executor) run() error {
	for i, s := range e.steps {
		if s.op == nil {
			v := s.node.Value()
			if v == nil {
				return fmt.Errorf("backend: input %s has no value", s.node.Name())
			}
			e.vals[i] = v
			continue
		}
		e.args = e.args[:0]
		for _, j := range s.args {
			e.args = append(e.args, e.vals[j])
		}
		v, err := s.op.Do(e.args...)
		if err != nil {
			return fmt.Errorf("backend: %s: %w", s.node.Name(), err)
		}
		e.vals[i] = v
	}
	return nil
}

// value returns the value run computed for n (nil for a node not in the graph).
func (e *executor) value(n *G.Node) G.Value {
	i, ok := e.index[n]
	if !ok {
		return nil
	}
	return e.vals[i]
}

// reset drops the references to the last run's values.
func (e *executor) reset() { clear(e.vals) }
