package train

import (
	"fmt"
	"io"
	"strings"

	"github.com/onnxdigits/onnxdigits/digits"
)

// Evaluation is a classifier's result on a labelled set.
type Evaluation struct {
	Classes  []string // class names, index = label
	N        int      // images evaluated
	Correct  int      // images whose predicted label equals the true one
	Accuracy float64  // Correct / N, in [0,1]
	// Confusion[t][p] counts images of true class t predicted as p.
	Confusion [][]int
	// Recall[t] is Confusion[t][t] over the images of class t (NaN-free: 0 for
	// a class with no images). Precision[p] is Confusion[p][p] over the images
	// predicted as p (0 when none are).
	Recall, Precision []float64
}

// Tally counts a classifier's predicted labels (one per image of s, indices
// into classes) against the true ones, per class. The model's classes must
// cover the set's: len(classes) >= len(s.Classes), with the same names in the
// same order. An empty set, a label count that differs from the set's, or a
// label out of range is an error. classify.Model.Evaluate runs a model and
// calls it.
func Tally(classes []string, predicted []int, s *digits.Set) (*Evaluation, error) {
	if s == nil || s.Len() == 0 {
		return nil, fmt.Errorf("train: evaluate: no images")
	}
	if len(predicted) != s.Len() {
		return nil, fmt.Errorf("train: evaluate: %d predicted labels for %d images", len(predicted), s.Len())
	}
	k := len(classes)
	if k < len(s.Classes) {
		return nil, fmt.Errorf("train: evaluate: the model has %d classes, the data %d", k, len(s.Classes))
	}
	for i := range len(s.Classes) {
		if classes[i] != s.Classes[i] {
			return nil, fmt.Errorf("train: evaluate: model class %d is %q, data class %d is %q", i, classes[i], i, s.Classes[i])
		}
	}
	e := &Evaluation{Classes: classes, N: s.Len(), Confusion: make([][]int, k), Recall: make([]float64, k), Precision: make([]float64, k)}
	for i := range e.Confusion {
		e.Confusion[i] = make([]int, k)
	}
	for i, want := range s.Labels {
		got := predicted[i]
		if got < 0 || got >= k {
			return nil, fmt.Errorf("train: evaluate: image %d: label %d out of range", i, got)
		}
		e.Confusion[want][got]++
		if got == int(want) {
			e.Correct++
		}
	}
	e.Accuracy = float64(e.Correct) / float64(e.N)
	for c := range k {
		row, col := 0, 0
		for j := range k {
			row += e.Confusion[c][j]
			col += e.Confusion[j][c]
		}
		if row > 0 {
			e.Recall[c] = float64(e.Confusion[c][c]) / float64(row)
		}
		if col > 0 {
			e.Precision[c] = float64(e.Confusion[c][c]) / float64(col)
		}
	}
	return e, nil
}

// Format writes the accuracy, the confusion matrix (rows: true class, columns:
// predicted) and per-class recall and precision.
func (e *Evaluation) Format(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "accuracy %.2f%% (%d of %d)\n\n", 100*e.Accuracy, e.Correct, e.N)
	width := 5
	for _, row := range e.Confusion {
		for _, v := range row {
			width = max(width, len(fmt.Sprint(v))+1)
		}
	}
	for _, c := range e.Classes {
		width = max(width, len(c)+1)
	}
	b.WriteString("confusion (rows: true class, columns: predicted)\n")
	fmt.Fprintf(&b, "%*s", width, "")
	for _, c := range e.Classes {
		fmt.Fprintf(&b, "%*s", width, c)
	}
	fmt.Fprintf(&b, "  %8s %9s\n", "recall", "precision")
	for t, row := range e.Confusion {
		fmt.Fprintf(&b, "%*s", width, e.Classes[t])
		for _, v := range row {
			fmt.Fprintf(&b, "%*d", width, v)
		}
		fmt.Fprintf(&b, "  %7.2f%% %8.2f%%\n", 100*e.Recall[t], 100*e.Precision[t])
	}
	_, err := io.WriteString(w, b.String())
	return err
}
