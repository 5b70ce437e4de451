package train

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
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

// Evaluate runs m (a classifier with the outputs of graph.New, or an imported
// model with a float (N,K) output; see backend.Classify) on every image of s and
// counts correct labels per class. The model's classes must cover the set's:
// K >= len(s.Classes). An empty set is an error.
func Evaluate(m *graph.Model, s *digits.Set) (*Evaluation, error) {
	if s == nil || s.Len() == 0 {
		return nil, fmt.Errorf("train: evaluate: no images")
	}
	probs, labels, err := Predict(m, s.Images, s.Len())
	if err != nil {
		return nil, fmt.Errorf("train: evaluate: %w", err)
	}
	k := len(probs) / s.Len()
	classes := m.Classes
	if len(classes) != k {
		classes = make([]string, k)
		for i := range classes {
			classes[i] = fmt.Sprint(i)
		}
	}
	if k < len(s.Classes) {
		return nil, fmt.Errorf("train: evaluate: the model has %d classes, the data %d", k, len(s.Classes))
	}
	for i := range min(k, len(s.Classes)) {
		if classes[i] != s.Classes[i] {
			return nil, fmt.Errorf("train: evaluate: model class %d is %q, data class %d is %q", i, classes[i], i, s.Classes[i])
		}
	}
	e := &Evaluation{Classes: classes, N: s.Len(), Confusion: make([][]int, k), Recall: make([]float64, k), Precision: make([]float64, k)}
	for i := range e.Confusion {
		e.Confusion[i] = make([]int, k)
	}
	for i, want := range s.Labels {
		got := labels[i]
		if got < 0 || int(got) >= k {
			return nil, fmt.Errorf("train: evaluate: image %d: label %d out of range", i, got)
		}
		e.Confusion[want][got]++
		if int(got) == int(want) {
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

// Predict runs a classifier on n images ((n,C,H,W) float32) and returns
// probabilities (n,K) and labels (n): backend.Classify for models with
// graph.ProbsOutput and graph.LabelOutput, otherwise the first float (N,K)
// output and its argmax (a foreign model without an ArgMax head), exponentiated
// when a LogSoftmax computes it (log-probabilities).
func Predict(m *graph.Model, images []float32, n int) ([]float32, []int64, error) {
	has := func(name string) bool {
		for _, o := range m.Outputs {
			if o.Name == name {
				return true
			}
		}
		return false
	}
	if has(graph.ProbsOutput) && has(graph.LabelOutput) {
		return backend.Classify(m, images, n)
	}
	out := ""
	for _, o := range m.Outputs {
		if o.Type == graph.Float32 && len(o.Shape) == 2 && o.Shape[0] == graph.Batch {
			out = o.Name
			break
		}
	}
	if out == "" {
		return nil, nil, fmt.Errorf("the model has no float (N,K) output")
	}
	r := backend.NewRunner(m, out)
	defer r.Close()
	res, err := r.Run(n, images)
	if err != nil {
		return nil, nil, err
	}
	p := res[0].Float
	if prod := m.Producer(out); prod != nil && prod.Op.Type() == "LogSoftmax" {
		for i, v := range p {
			p[i] = float32(math.Exp(float64(v)))
		}
	}
	k := len(p) / n
	labels := make([]int64, n)
	for i := range n {
		row := p[i*k : (i+1)*k]
		for j, v := range row {
			if v > row[labels[i]] {
				labels[i] = int64(j)
			}
		}
	}
	return p, labels, nil
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
