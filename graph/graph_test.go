package graph

import (
	"math"
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

func TestClassify(t *testing.T) {
	m, err := New("conv3x3x4p1,bn,relu,maxpool2,conv3x3x6,relu,avgpool2,dropout0.3,fc16,relu,fc10", DigitsInput(), rand.New(rand.NewSource(2)))
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	rng := rand.New(rand.NewSource(3))
	img := make([]float32, n*28*28)
	for i := range img {
		img[i] = rng.Float32()
	}
	probs, labels, err := Classify(m, img, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != n*10 || len(labels) != n {
		t.Fatalf("got %d probabilities and %d labels", len(probs), len(labels))
	}
	for i := range n {
		sum, best := 0.0, 0
		for j := range 10 {
			p := probs[i*10+j]
			sum += float64(p)
			if p > probs[i*10+best] {
				best = j
			}
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("row %d sums to %v", i, sum)
		}
		if int64(best) != labels[i] {
			t.Errorf("row %d: label %d, argmax %d", i, labels[i], best)
		}
	}
}
