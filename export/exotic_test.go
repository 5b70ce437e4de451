package export

import (
	"math/rand"

	"github.com/onnxdigits/onnxdigits/graph"
)

// exoticModel exercises the exporters graph.New never uses: asymmetric conv
// pads, a Coerce2D (opset < 13) softmax over a 4-D tensor, Mul and Div with
// constants, Reshape with 0 and -1, 1-D max and average pooling (graph.Pool), Transpose,
// a stacked MatMul, GlobalAveragePool, Gemm with transB, alpha and beta, Add,
// Identity, and a Dropout that is a graph output. Its weights are random from
// seed; the result is (N,10) probabilities like any classifier here.
func exoticModel(seed int64) *graph.Model {
	rng := rand.New(rand.NewSource(seed))
	param := func(name string, dims ...int) *graph.Tensor {
		t := &graph.Tensor{Name: name, Dims: dims, Trainable: true}
		t.Data = make([]float32, t.Size())
		for i := range t.Data {
			t.Data[i] = rng.Float32() - 0.5
		}
		return t
	}
	shape := func(name string, dims ...int64) *graph.Tensor {
		return &graph.Tensor{Name: name, Dims: []int{len(dims)}, Int64: dims}
	}
	scale := param("scale", 1)
	scale.Data[0] = 300
	vr := param("bn1.running_var", 4)
	for i := range vr.Data {
		vr.Data[i] += 1
	}
	m := &graph.Model{
		Name:    "exotic",
		Inputs:  []graph.Value{{Name: graph.ImageInput, Type: graph.Float32, Shape: []int{graph.Batch, 1, 28, 28}}},
		Classes: graph.DigitsInput().Classes,
		Meta:    map[string]string{"arch": "exotic test model"},
		Params: []*graph.Tensor{
			param(graph.MeanParam, 1, 1, 28, 28),
			param("conv1.weight", 4, 1, 3, 3), param("conv1.bias", 4),
			param("bn1.weight", 4), param("bn1.bias", 4), param("bn1.running_mean", 4), vr,
			scale,
			shape("r1.shape", 0, 4, -1),
			param("mm.weight", 4, 3),
			shape("r2.shape", 0, 3, 14, 14),
			param("fc.weight", 10, 3*49), param("fc.bias", 10),
			param("div", 10),
		},
		Nodes: []*graph.Node{
			{Name: "normalize", Op: &graph.Binary{Kind: "Sub"}, Inputs: []string{graph.ImageInput, graph.MeanParam}, Outputs: []string{"normalize"}},
			{Name: "conv1", Op: &graph.Conv{KernelShape: [2]int{3, 3}, Pads: [4]int{1, 2, 1, 0}}, Inputs: []string{"normalize", "conv1.weight", "conv1.bias"}, Outputs: []string{"conv1"}},
			{Name: "bn1", Op: &graph.BatchNorm{}, Inputs: []string{"conv1", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"}, Outputs: []string{"bn1"}},
			{Name: "relu1", Op: &graph.Relu{}, Inputs: []string{"bn1"}, Outputs: []string{"relu1"}},
			{Name: "sm", Op: &graph.Softmax{Axis: 1, Coerce2D: true}, Inputs: []string{"relu1"}, Outputs: []string{"sm"}},
			{Name: "scaled", Op: &graph.Binary{Kind: "Mul"}, Inputs: []string{"sm", "scale"}, Outputs: []string{"scaled"}},
			{Name: "r1", Op: &graph.Reshape{}, Inputs: []string{"scaled", "r1.shape"}, Outputs: []string{"r1"}},
			{Name: "p1", Op: &graph.Pool{KernelShape: []int{4}, Strides: []int{4}}, Inputs: []string{"r1"}, Outputs: []string{"p1"}},
			{Name: "p2", Op: &graph.Pool{Average: true, KernelShape: []int{2}, Strides: []int{1}, Pads: []int{0, 1}, CountIncludePad: true}, Inputs: []string{"p1"}, Outputs: []string{"p2"}},
			{Name: "t1", Op: &graph.Transpose{Perm: []int{0, 2, 1}}, Inputs: []string{"p2"}, Outputs: []string{"t1"}},
			{Name: "mm", Op: &graph.MatMul{}, Inputs: []string{"t1", "mm.weight"}, Outputs: []string{"mm"}},
			{Name: "t2", Op: &graph.Transpose{Perm: []int{0, 2, 1}}, Inputs: []string{"mm"}, Outputs: []string{"t2"}},
			{Name: "r2", Op: &graph.Reshape{}, Inputs: []string{"t2", "r2.shape"}, Outputs: []string{"r2"}},
			{Name: "pool", Op: &graph.Pool{KernelShape: []int{2, 2}, Strides: []int{2, 2}}, Inputs: []string{"r2"}, Outputs: []string{"pool"}},
			{Name: "flat", Op: &graph.Flatten{Axis: 1}, Inputs: []string{"pool"}, Outputs: []string{"flat"}},
			{Name: "fc", Op: &graph.Gemm{TransB: true, Alpha: 0.5, Beta: 2}, Inputs: []string{"flat", "fc.weight", "fc.bias"}, Outputs: []string{"fc"}},
			{Name: "drop", Op: &graph.Dropout{Ratio: 0.2}, Inputs: []string{"fc"}, Outputs: []string{"drop"}},
			{Name: "divided", Op: &graph.Binary{Kind: "Div"}, Inputs: []string{"drop", "div"}, Outputs: []string{"divided"}},
			{Name: "shift", Op: &graph.Binary{Kind: "Add"}, Inputs: []string{"divided", "fc.bias"}, Outputs: []string{"shift"}},
			{Name: "id", Op: &graph.Identity{}, Inputs: []string{"shift"}, Outputs: []string{graph.LogitsValue}},
			{Name: "softmax", Op: &graph.Softmax{Axis: 1}, Inputs: []string{graph.LogitsValue}, Outputs: []string{graph.ProbsOutput}},
			{Name: "argmax", Op: &graph.ArgMax{Axis: 1}, Inputs: []string{graph.ProbsOutput}, Outputs: []string{graph.LabelOutput}},
		},
		Outputs: []graph.Value{
			{Name: graph.ProbsOutput, Type: graph.Float32, Shape: []int{graph.Batch, 10}},
			{Name: graph.LabelOutput, Type: graph.Int64, Shape: []int{graph.Batch}},
		},
	}
	return m
}
