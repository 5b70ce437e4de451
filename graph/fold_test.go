package graph

import (
	"math/rand"
	"testing"
)

func TestFoldBatchNormSharedOutput(t *testing.T) {
	// The conv output is also a model output: folding would change it, so the
	// batch norm stays.
	m, err := New(DefaultArch, DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	m.Outputs = append(m.Outputs, Value{Name: "conv1", Type: Float32, Shape: []int{Batch, 20, 24, 24}})
	f, err := FoldBatchNorm(m)
	if err != nil {
		t.Fatal(err)
	}
	if f.Node("bn1") == nil || f.Meta["folded_batchnorm"] != "" {
		t.Errorf("bn1 was folded although conv1 is a model output")
	}
}
