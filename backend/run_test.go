package backend

import (
	"math"
	"math/rand"
	"testing"

	"github.com/onnxdigits/onnxdigits/graph"
)

func TestClassify(t *testing.T) {
	m, err := graph.New("conv3x3x4p1,bn,relu,maxpool2,conv3x3x6,relu,avgpool2,dropout0.3,fc16,relu,fc10", graph.DigitsInput(), rand.New(rand.NewSource(2)))
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
