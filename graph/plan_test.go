package graph

import (
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// TestPlanDefaultArch checks the plan of the default network by hand: the
// parameter bytes are 4 x the element count New allocates, and activations
// grow linearly with the batch.
func TestPlanDefaultArch(t *testing.T) {
	m, err := New("", DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	elems := 0
	for _, p := range m.Params {
		elems += len(p.Data)
	}
	p1, err := m.Plan(PlanOptions{Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p1.Params != int64(4*elems) {
		t.Errorf("params %d bytes, want %d", p1.Params, 4*elems)
	}
	// normalize (784) + conv1 (20x24x24) + bn1 + relu1 (same) + flatten1
	// (11520) + logits (10) + probabilities (10) floats, label 1 int64.
	want := int64(4*(784+4*11520+10+10) + 8)
	if p1.Activations != want {
		t.Errorf("activations at batch 1: %d bytes, want %d", p1.Activations, want)
	}
	p8, _ := m.Plan(PlanOptions{Batch: 8})
	if p8.Activations != 8*want {
		t.Errorf("activations at batch 8: %d, want %d", p8.Activations, 8*want)
	}
	// conv1's im2col: 1x5x5 rows by 24x24 columns.
	if p1.Workspace != 4*25*576 {
		t.Errorf("workspace %d, want %d", p1.Workspace, 4*25*576)
	}
	tr, _ := m.Plan(PlanOptions{Batch: 1, Train: true, OptimizerSlots: 2})
	if tr.Optimizer != 2*int64(4*m.NumParams()) || tr.Gradients != int64(4*m.NumParams())+tr.Activations {
		t.Errorf("training plan %+v", tr)
	}
	if err := p1.Check(0); err != nil {
		t.Error(err)
	}
	if b := p1.SafeBatch(1000, 0); b != 1000 {
		t.Errorf("SafeBatch(1000, 1 GiB) = %d", b)
	}
	// A limit that fits the fixed part and ten examples.
	limit := p1.Total + 9*p1.PerExample
	if b := p1.SafeBatch(1000, limit); b != 10 {
		t.Errorf("SafeBatch(1000, fixed+9 per example) = %d, want 10", b)
	}
	if p10, _ := m.Plan(PlanOptions{Batch: 10}); p10.Total > limit {
		t.Errorf("batch 10 plans %d bytes, over the limit %d SafeBatch chose it under", p10.Total, limit)
	}
}

// TestPlanOverLimit: the crafted cases of issue 12 fail naming the tensor.
func TestPlanOverLimit(t *testing.T) {
	pads := &Model{
		Inputs: []Value{{Name: "x", Shape: []int{Batch, 1, 28, 28}}},
		Params: []*Tensor{{Name: "w", Dims: []int{10, 1, 3, 3}, Data: make([]float32, 90)}},
		Nodes: []*Node{
			{Name: "conv", Op: &Conv{KernelShape: [2]int{3, 3}, Pads: [4]int{5000, 5000, 5000, 5000}}, Inputs: []string{"x", "w"}, Outputs: []string{"c"}},
			{Name: "gap", Op: &GlobalAveragePool{}, Inputs: []string{"c"}, Outputs: []string{"y"}},
		},
		Outputs: []Value{{Name: "y"}},
	}
	pads1 := pads.Clone()
	pads1.Params[0] = &Tensor{Name: "w", Dims: []int{1, 1, 3, 3}, Data: make([]float32, 9)}
	chain := &Model{Inputs: []Value{{Name: "r0", Shape: []int{Batch, 1, 28, 28}}}}
	for i := range 65000 {
		chain.Nodes = append(chain.Nodes, &Node{Name: fmt.Sprint("relu", i), Op: &Relu{}, Inputs: []string{fmt.Sprint("r", i)}, Outputs: []string{fmt.Sprint("r", i+1)}})
	}
	for _, tc := range []struct {
		name string
		m    *Model
		want string
	}{
		{"conv pads 5000", pads, `node "conv" (Conv) output (1,10,10026,10026): 3.7 GiB`},
		{"conv pads 5000, one filter", pads1, `node "conv" (Conv) needs a column matrix of 3.4 GiB`},
		{"65000 relu", chain, "65000 nodes at 16.0 KiB each take 1015.6 MiB"},
	} {
		p, err := tc.m.Plan(PlanOptions{Batch: 1})
		if err != nil {
			t.Fatal(err)
		}
		err = p.Check(0)
		var me *MemoryError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a MemoryError saying %q", tc.name, err, tc.want)
		}
		if p.SafeBatch(64, 0) != 0 {
			t.Errorf("%s: SafeBatch found a batch", tc.name)
		}
	}
}

// TestArchModelAllocatesNothing: the skeleton of a 4.6 TB architecture has
// shapes and no data, and New refuses it before allocating.
func TestArchModelAllocatesNothing(t *testing.T) {
	const spec = "conv5x5x20,fc100000000,fc10"
	m, err := ArchModel(spec, DigitsInput())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params {
		if p.Data != nil {
			t.Fatalf("parameter %s has data", p.Name)
		}
	}
	if w := m.Param("fc1.weight"); w == nil || w.Dims[0] != 11520 || w.Dims[1] != 100000000 {
		t.Fatalf("fc1.weight %+v", w)
	}
	if _, err := New(spec, DigitsInput(), rand.New(rand.NewSource(1))); err == nil || !strings.Contains(err.Error(), "exceed") {
		t.Errorf("New(%q): %v, want the per-tensor limit", spec, err)
	}
}
