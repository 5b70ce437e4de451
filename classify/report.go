package classify

import "slices"

// Report is one image's result in the form `onnxdigits predict --json` prints
// and the server's image endpoint answers.
type Report struct {
	File          string      `json:"file"`
	Label         string      `json:"label"`
	Index         int         `json:"class_index"`
	Top           []ClassProb `json:"top"`
	Probabilities []float32   `json:"probabilities"`
	// Output is what the model emitted: "probabilities", "log-probabilities"
	// or "logits" (Probabilities are probabilities either way).
	Output string `json:"output"`
}

// ClassProb is a class name with its probability.
type ClassProb struct {
	Class       string  `json:"class"`
	Probability float32 `json:"probability"`
}

// NewReport reports p for the image named file with its top most probable
// classes (all of them when top exceeds their number; ties keep class order).
// labels name the classes (Info().Labels).
func NewReport(file string, p Prediction, labels []string, top int) Report {
	order := make([]int, len(p.Probabilities))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch pa, pb := p.Probabilities[a], p.Probabilities[b]; {
		case pa > pb:
			return -1
		case pa < pb:
			return 1
		}
		return 0
	})
	r := Report{File: file, Label: p.Class, Index: p.Label, Probabilities: p.Probabilities, Output: p.Output.String()}
	for _, i := range order[:min(max(top, 0), len(order))] {
		r.Top = append(r.Top, ClassProb{labels[i], p.Probabilities[i]})
	}
	return r
}
