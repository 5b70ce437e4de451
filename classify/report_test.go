package classify

import (
	"reflect"
	"testing"

	"github.com/onnxdigits/onnxdigits/graph"
)

// TestNewReport: the top classes come most probable first, a tie keeps class
// order, and a top beyond K lists every class once.
func TestNewReport(t *testing.T) {
	p := Prediction{Label: 2, Class: "two", Probabilities: []float32{0.25, 0.1, 0.4, 0.25}, Output: graph.Logits}
	labels := []string{"zero", "one", "two", "three"}
	r := NewReport("a.png", p, labels, 3)
	want := []ClassProb{{"two", 0.4}, {"zero", 0.25}, {"three", 0.25}}
	if !reflect.DeepEqual(r.Top, want) || r.File != "a.png" || r.Label != "two" || r.Index != 2 || r.Output != "logits" {
		t.Errorf("report %+v, want top %v", r, want)
	}
	if got := len(NewReport("a.png", p, labels, 10).Top); got != 4 {
		t.Errorf("top 10 of 4 classes lists %d", got)
	}
}
