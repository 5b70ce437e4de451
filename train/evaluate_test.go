package train

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
)

// TestEvaluate checks the counts against labels computed by backend.Classify, so
// that the confusion matrix, accuracy, recall and precision agree by
// construction, whatever a random network predicts.
func TestEvaluate(t *testing.T) {
	m, err := graph.New("conv5x5x4,bn,relu,fc10", graph.DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	s := digits.Synthetic(3, 2)
	e, err := Evaluate(m, s)
	if err != nil {
		t.Fatal(err)
	}
	_, labels, err := backend.Classify(m, s.Images, s.Len())
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	want := make([][]int, 10)
	for i := range want {
		want[i] = make([]int, 10)
	}
	for i, l := range labels {
		want[s.Labels[i]][l]++
		if int(l) == int(s.Labels[i]) {
			correct++
		}
	}
	if e.N != 30 || e.Correct != correct || e.Accuracy != float64(correct)/30 {
		t.Errorf("N %d correct %d accuracy %g; want 30, %d", e.N, e.Correct, e.Accuracy, correct)
	}
	for tc := range 10 {
		for p := range 10 {
			if e.Confusion[tc][p] != want[tc][p] {
				t.Fatalf("confusion[%d][%d] = %d, want %d", tc, p, e.Confusion[tc][p], want[tc][p])
			}
		}
		if r := float64(want[tc][tc]) / 3; e.Recall[tc] != r {
			t.Errorf("recall[%d] = %g, want %g", tc, e.Recall[tc], r)
		}
	}
	var buf bytes.Buffer
	if err := e.Format(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{"accuracy ", "confusion (rows: true class, columns: predicted)", "recall", "precision"} {
		if !strings.Contains(out, s) {
			t.Errorf("Format output lacks %q:\n%s", s, out)
		}
	}
	if lines := strings.Count(out, "\n"); lines != 14 {
		t.Errorf("Format wrote %d lines, want 14:\n%s", lines, out)
	}
}

// TestEvaluateOneClass: a hand-made perfect case. A set whose images are all of
// one class and a model biased to that class gives 100% for it and recall 0
// elsewhere (no images), precision 0 for unused predictions.
func TestEvaluateOneClass(t *testing.T) {
	m, err := graph.New("conv5x5x2,relu,fc10", graph.DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Param("fc1.weight").Data {
		m.Param("fc1.weight").Data[i] = 0
	}
	m.Param("fc1.bias").Data[7] = 5
	s := digits.Synthetic(2, 1).Subset([]int{0, 1, 2})
	for i := range s.Labels {
		s.Labels[i] = 7
	}
	e, err := Evaluate(m, s)
	if err != nil {
		t.Fatal(err)
	}
	if e.Accuracy != 1 || e.Recall[7] != 1 || e.Precision[7] != 1 || e.Recall[0] != 0 || e.Precision[0] != 0 {
		t.Errorf("accuracy %g recall %v precision %v", e.Accuracy, e.Recall, e.Precision)
	}
}

func TestEvaluateErrors(t *testing.T) {
	m, err := graph.New("conv5x5x2,relu,fc10", graph.DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Evaluate(m, &digits.Set{}); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("empty set: %v", err)
	}
	s := digits.Synthetic(1, 1)
	s.Classes = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	if _, err := Evaluate(m, s); err == nil || !strings.Contains(err.Error(), `model class 0 is "0", data class 0 is "a"`) {
		t.Errorf("class mismatch: %v", err)
	}
}
