package graph

import (
	"math/rand"
	"testing"
)

func TestNewDefault(t *testing.T) {
	m, err := New("", DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	shapes, err := m.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]int{"conv1": {Batch, 20, 24, 24}, "bn1": {Batch, 20, 24, 24}, "flatten1": {Batch, 11520}, LogitsValue: {Batch, 10}, LabelOutput: {Batch}} {
		if got := shapes[name]; fmtShape(got) != fmtShape(want) {
			t.Errorf("shape of %s = %s, want %s", name, fmtShape(got), fmtShape(want))
		}
	}
	// 5*5*20+20 conv, 20+20 bn, 11520*10+10 fc.
	if got, want := m.NumParams(), 520+40+115210; got != want {
		t.Errorf("NumParams = %d, want %d", got, want)
	}
}

func TestArchErrors(t *testing.T) {
	for _, spec := range []string{"conv5x5,fc10", "conv5x5x20,bn,relu", "fc9", "blah,fc10", "conv5x5x20,maxpool0,fc10", "conv30x30x2,fc10", "dropout2,fc10"} {
		if _, err := New(spec, DigitsInput(), rand.New(rand.NewSource(1))); err == nil {
			t.Errorf("New(%q) succeeded, want an error", spec)
		}
	}
}
