package classify

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/export"
	"github.com/onnxdigits/onnxdigits/graph"
)

// TestEvaluate checks Evaluate's counts against the labels Grey gives, on a
// random network of graph.New (probabilities and label outputs), so that the
// confusion matrix agrees by construction whatever the network predicts.
func TestEvaluate(t *testing.T) {
	g, err := graph.New("conv5x5x4,bn,relu,fc10", graph.DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := digits.Synthetic(3, 2)
	e, err := m.Evaluate(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	preds, err := m.Grey(context.Background(), s.AppendImages(nil, 0, s.Len()), s.Len(), 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, p := range preds {
		if p.Label == int(s.Labels[i]) {
			correct++
		}
	}
	if e.N != 30 || e.Correct != correct {
		t.Errorf("N %d correct %d; want 30, %d", e.N, e.Correct, correct)
	}
}

// TestEvaluateOneClass: a hand-made perfect case. A set whose images are all
// of one class and a model biased to that class gives 100% for it.
func TestEvaluateOneClass(t *testing.T) {
	g, err := graph.New("conv5x5x2,relu,fc10", graph.DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	clear(g.Param("fc1.weight").Data)
	g.Param("fc1.bias").Data[7] = 5
	s := digits.Synthetic(2, 1).Subset([]int{0, 1, 2})
	for i := range s.Labels {
		s.Labels[i] = 7
	}
	m, err := New(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := m.Evaluate(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if e.Accuracy != 1 || e.Recall[7] != 1 || e.Precision[7] != 1 || e.Recall[0] != 0 || e.Precision[0] != 0 {
		t.Errorf("accuracy %g recall %v precision %v", e.Accuracy, e.Recall, e.Precision)
	}
}

func TestEvaluateErrors(t *testing.T) {
	g, err := graph.New("conv5x5x2,relu,fc10", graph.DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Evaluate(context.Background(), &digits.Set{}); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("empty set: %v", err)
	}
	s := digits.Synthetic(1, 1)
	s.Classes = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	if _, err := m.Evaluate(context.Background(), s); err == nil || !strings.Contains(err.Error(), `model class 0 is "0", data class 0 is "a"`) {
		t.Errorf("class mismatch: %v", err)
	}
}

// TestExportedMetadata: our export writes Image.NominalPixelRange, which Open
// reads back as the pixel range.
func TestExportedMetadata(t *testing.T) {
	g, err := graph.New("conv5x5x2,relu,fc10", graph.DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := export.WriteFile(path, g, export.Options{}); err != nil {
		t.Fatal(err)
	}
	m, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	i := m.Info()
	if i.PixelRange != PixelRange01 || i.PixelRangeFrom != "metadata" || i.Meta[graph.MetaPixelFormat] != "Gray8" {
		t.Errorf("pixel range %v from %s, format %q", i.PixelRange, i.PixelRangeFrom, i.Meta[graph.MetaPixelFormat])
	}
}

func TestChunkSize(t *testing.T) {
	c := &Model{chunk: 100}
	var got []int
	for left := 301; left > 0; {
		k := c.chunkSize(left)
		got = append(got, k)
		left -= k
	}
	if fmt.Sprint(got) != "[100 100 100 1]" {
		t.Errorf("301 images in MaxBatch 100: %v", got)
	}
	got = got[:0]
	for left := 77; left > 0; {
		k := c.chunkSize(left)
		got = append(got, k)
		left -= k
	}
	if fmt.Sprint(got) != "[64 8 4 1]" {
		t.Errorf("77 images: %v", got)
	}
	if k := (&Model{chunk: 1, pad: true}).chunkSize(5); k != 1 {
		t.Errorf("fixed batch 1: %d", k)
	}
}

// fixedModel is x (b,4) -> Flatten(axis) -> Gemm -> scores; axis 0 puts the
// whole batch in one row, axis 1 keeps one row per example.
func fixedModel(b, axis int) *graph.Model {
	w := make([]float32, 4*b*3)
	for i := range w {
		w[i] = float32(i%7) - 3
	}
	rows := 4
	if axis == 0 {
		rows = 4 * b
	}
	return &graph.Model{
		Inputs: []graph.Value{{Name: "x", Shape: []int{b, 4}}},
		Params: []*graph.Tensor{{Name: "w", Dims: []int{rows, 3}, Data: w[:rows*3]}},
		Nodes: []*graph.Node{
			{Name: "flat", Op: &graph.Flatten{Axis: axis}, Inputs: []string{"x"}, Outputs: []string{"f"}},
			{Name: "gemm", Op: &graph.Gemm{}, Inputs: []string{"f", "w"}, Outputs: []string{"scores"}},
		},
		Outputs: []graph.Value{{Name: "scores", Shape: []int{map[bool]int{true: 1, false: b}[axis == 0], 3}}},
	}
}

// TestFixedBatch: a fixed batch of 2 that re-batches runs 5 examples at once;
// one whose output mixes the batch into one row is refused with a message
// naming the shapes.
func TestFixedBatch(t *testing.T) {
	m, err := New(fixedModel(2, 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if i := m.Info(); !i.Rebatched || i.Batch != 0 || i.Layout != Flat || i.Height != 2 {
		t.Errorf("info %+v", i)
	}
	x := make([]float32, 5*4)
	for i := range x {
		x[i] = float32(i) / 10
	}
	outs, preds, err := m.Tensor(context.Background(), x, []int{5, 4})
	if err != nil {
		t.Fatal(err)
	}
	// Row j of the scores is x_j · w, computed here.
	w := fixedModel(2, 1).Params[0].Data
	for j := range 5 {
		for k := range 3 {
			var want float32
			for i := range 4 {
				want += x[j*4+i] * w[i*3+k]
			}
			if got := outs[0].Float[j*3+k]; math.Abs(float64(got-want)) > 1e-5 {
				t.Errorf("example %d class %d: %g, want %g", j, k, got, want)
			}
		}
	}
	if len(preds) != 5 {
		t.Errorf("%d predictions", len(preds))
	}
	_, err = New(fixedModel(2, 0), Options{})
	if err == nil || !strings.Contains(err.Error(), `input "x" has a fixed batch of 2 but output "scores" is (1,3): one row of scores per image, (2,K), is needed`) {
		t.Errorf("batch mixed into one row: %v", err)
	}
}
