package train

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/digits"
)

// TestTally checks counts, accuracy, recall and precision on labels written by
// hand for three classes: true 0,0,1,1,2,2 predicted 0,1,1,1,2,0.
func TestTally(t *testing.T) {
	s := &digits.Set{Classes: []string{"a", "b", "c"}, Labels: []uint8{0, 0, 1, 1, 2, 2}, Images: make([]float32, 6*28*28)}
	e, err := Tally([]string{"a", "b", "c"}, []int{0, 1, 1, 1, 2, 0}, s)
	if err != nil {
		t.Fatal(err)
	}
	if e.N != 6 || e.Correct != 4 || e.Accuracy != 4.0/6 {
		t.Errorf("N %d correct %d accuracy %g; want 6, 4, 0.667", e.N, e.Correct, e.Accuracy)
	}
	for i, want := range [][]int{{1, 1, 0}, {0, 2, 0}, {1, 0, 1}} {
		if !slices.Equal(e.Confusion[i], want) {
			t.Errorf("confusion row %d = %v, want %v", i, e.Confusion[i], want)
		}
	}
	if !slices.Equal(e.Recall, []float64{0.5, 1, 0.5}) || !slices.Equal(e.Precision, []float64{0.5, 2.0 / 3, 1}) {
		t.Errorf("recall %v precision %v", e.Recall, e.Precision)
	}
	var buf bytes.Buffer
	if err := e.Format(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{"accuracy 66.67% (4 of 6)", "confusion (rows: true class, columns: predicted)", "recall", "precision", "100.00%"} {
		if !strings.Contains(out, s) {
			t.Errorf("Format output lacks %q:\n%s", s, out)
		}
	}
	if lines := strings.Count(out, "\n"); lines != 7 {
		t.Errorf("Format wrote %d lines, want 7:\n%s", lines, out)
	}
}

func TestTallyErrors(t *testing.T) {
	s := &digits.Set{Classes: []string{"a", "b"}, Labels: []uint8{0, 1}, Images: make([]float32, 2*28*28)}
	for _, tc := range []struct {
		classes []string
		labels  []int
		set     *digits.Set
		want    string
	}{
		{[]string{"a", "b"}, nil, &digits.Set{}, "no images"},
		{[]string{"a", "b"}, []int{0}, s, "1 predicted labels for 2 images"},
		{[]string{"a"}, []int{0, 0}, s, "the model has 1 classes, the data 2"},
		{[]string{"0", "1"}, []int{0, 0}, s, `model class 0 is "0", data class 0 is "a"`},
		{[]string{"a", "b"}, []int{0, 2}, s, "image 1: label 2 out of range"},
	} {
		if _, err := Tally(tc.classes, tc.labels, tc.set); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want %q", tc.classes, tc.labels, err, tc.want)
		}
	}
}
