package graph

import (
	"strings"
	"testing"
)

// scoresModel is x (N,4) -> Gemm -> "z" (N,3) followed by the given nodes, with
// the given outputs.
func scoresModel(nodes []*Node, outputs ...Value) *Model {
	return &Model{
		Inputs: []Value{{Name: "x", Shape: []int{Batch, 4}}},
		Params: []*Tensor{
			{Name: "w", Dims: []int{4, 3}, Data: make([]float32, 12)},
			{Name: "shape4", Dims: []int{4}, Int64: []int64{0, 3, 1, 1}},
		},
		Nodes:   append([]*Node{{Name: "gemm", Op: &Gemm{}, Inputs: []string{"x", "w"}, Outputs: []string{"z"}}}, nodes...),
		Outputs: outputs,
	}
}

func TestClassScores(t *testing.T) {
	nk := []int{Batch, 3}
	f := func(name string) Value { return Value{Name: name, Shape: nk} }
	label := Value{Name: "label", Type: Int64, Shape: []int{Batch}}
	for _, tc := range []struct {
		name  string
		m     *Model
		want  ClassScores
		error string // substring of the error, when one is expected
	}{
		{"logits", scoresModel(nil, f("z")), ClassScores{Output: "z", Kind: Logits, K: 3}, ""},
		{"softmax through identity",
			scoresModel([]*Node{
				{Name: "sm", Op: &Softmax{Axis: 1}, Inputs: []string{"z"}, Outputs: []string{"p"}},
				{Name: "id", Op: &Identity{}, Inputs: []string{"p"}, Outputs: []string{"out"}},
			}, f("out")),
			ClassScores{Output: "out", Kind: Probabilities, K: 3}, ""},
		{"log-softmax through flatten, axis -1",
			scoresModel([]*Node{
				{Name: "lsm", Op: &Softmax{Axis: -1, Log: true}, Inputs: []string{"z"}, Outputs: []string{"lp"}},
				{Name: "fl", Op: &Flatten{Axis: 1}, Inputs: []string{"lp"}, Outputs: []string{"out"}},
			}, f("out")),
			ClassScores{Output: "out", Kind: LogProbabilities, K: 3}, ""},
		{"probabilities preferred over logits listed first, with the ArgMax label",
			scoresModel([]*Node{
				{Name: "sm", Op: &Softmax{Axis: 1}, Inputs: []string{"z"}, Outputs: []string{"p"}},
				{Name: "am", Op: &ArgMax{Axis: 1}, Inputs: []string{"p"}, Outputs: []string{"label"}},
			}, label, f("z"), f("p")),
			ClassScores{Output: "p", Kind: Probabilities, K: 3, Label: "label"}, ""},
		{"softmax over the batch axis is not probabilities",
			scoresModel([]*Node{{Name: "sm", Op: &Softmax{Axis: 0}, Inputs: []string{"z"}, Outputs: []string{"p"}}}, f("p")),
			ClassScores{Output: "p", Kind: Logits, K: 3}, ""},
		{"(N,K,1,1) through reshape",
			scoresModel([]*Node{
				{Name: "sm", Op: &Softmax{Axis: 1}, Inputs: []string{"z"}, Outputs: []string{"p"}},
				{Name: "rs", Op: &Reshape{}, Inputs: []string{"p", "shape4"}, Outputs: []string{"p4"}},
			}, Value{Name: "p4", Shape: []int{Batch, 3, 1, 1}}),
			ClassScores{Output: "p4", Kind: Probabilities, K: 3}, ""},
		{"only an int64 label",
			scoresModel([]*Node{{Name: "am", Op: &ArgMax{Axis: 1}, Inputs: []string{"z"}, Outputs: []string{"label"}}}, label),
			ClassScores{}, `no float32 output of class scores, shape (N,K) (outputs: "label" int64 (N))`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.m.ClassScores()
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("error %v, want %q", err, tc.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
