package backend

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func randSlice[T float](rng *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(rng.NormFloat64())
	}
	return s
}

// opCase is a one-op model whose inputs are all trainable parameters, for
// checking the custom ops' gradients by central differences.
type opCase struct {
	name   string
	params map[string][]int
	nodes  []*graph.Node
	out    string
}

func (c opCase) model(rng *rand.Rand) *graph.Model {
	m := &graph.Model{Name: c.name}
	for _, name := range sortedKeys(c.params) {
		dims := c.params[name]
		p := &graph.Tensor{Name: name, Dims: dims, Trainable: true, Data: randSlice[float32](rng, shapeSize(dims))}
		if name == "var" {
			p.Trainable = false
			for i := range p.Data {
				p.Data[i] = 0.5 + rng.Float32()
			}
		}
		if name == "mean" {
			p.Trainable = false
		}
		m.Params = append(m.Params, p)
	}
	m.Nodes = c.nodes
	return m
}

func sortedKeys(m map[string][]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func TestOpGradients(t *testing.T) {
	relu := func(in, out string) *graph.Node {
		return &graph.Node{Name: out, Op: &graph.Relu{}, Inputs: []string{in}, Outputs: []string{out}}
	}
	cases := []opCase{
		{name: "conv pads strides", params: map[string][]int{"x": {2, 3, 7, 9}, "w": {4, 3, 3, 2}, "b": {4}},
			nodes: []*graph.Node{{Name: "conv", Op: &graph.Conv{Strides: [2]int{2, 3}, Pads: [4]int{1, 2, 0, 1}}, Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}}}, out: "y"},
		{name: "conv dilation relu", params: map[string][]int{"x": {2, 2, 8, 8}, "w": {3, 2, 3, 3}, "b": {3}},
			nodes: []*graph.Node{{Name: "conv", Op: &graph.Conv{Dilations: [2]int{2, 2}, Pads: [4]int{2, 1, 2, 1}}, Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"}}, relu("c", "y")}, out: "y"},
		{name: "conv 1x1 no bias", params: map[string][]int{"x": {3, 4, 5, 5}, "w": {2, 4, 1, 1}},
			nodes: []*graph.Node{{Name: "conv", Op: &graph.Conv{}, Inputs: []string{"x", "w"}, Outputs: []string{"y"}}}, out: "y"},
		{name: "bn relu 4d", params: map[string][]int{"x": {5, 3, 4, 4}, "s": {3}, "b": {3}, "mean": {3}, "var": {3}},
			nodes: []*graph.Node{{Name: "bn", Op: &graph.BatchNorm{}, Inputs: []string{"x", "s", "b", "mean", "var"}, Outputs: []string{"z"}}, relu("z", "y")}, out: "y"},
		{name: "bn 2d", params: map[string][]int{"x": {7, 5}, "s": {5}, "b": {5}, "mean": {5}, "var": {5}},
			nodes: []*graph.Node{{Name: "bn", Op: &graph.BatchNorm{}, Inputs: []string{"x", "s", "b", "mean", "var"}, Outputs: []string{"y"}}}, out: "y"},
		{name: "relu", params: map[string][]int{"x": {3, 4, 5}},
			nodes: []*graph.Node{relu("x", "y")}, out: "y"},
	}
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, cs := range [][]int{{6}, {5, 1}, {5, 6}, {1, 1}, nil} {
				a, w := []int{5, 7}, []int{7, 6}
				if ta {
					a = []int{7, 5}
				}
				if tb {
					w = []int{6, 7}
				}
				params := map[string][]int{"a": a, "w": w}
				in := []string{"a", "w"}
				if cs != nil {
					params["c"] = cs
					in = append(in, "c")
				}
				nodes := []*graph.Node{{Name: "gemm", Op: &graph.Gemm{TransA: ta, TransB: tb, Alpha: 0.7, Beta: 1.3}, Inputs: in, Outputs: []string{"g"}}}
				out := "g"
				if ta && tb {
					nodes = append(nodes, relu("g", "y"))
					out = "y"
				}
				cases = append(cases, opCase{name: fmt.Sprintf("gemm tA=%v tB=%v C=%v", ta, tb, cs), params: params, nodes: nodes, out: out})
			}
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(5))
			m := tc.model(rng)
			b, err := Build(m, 1, []string{tc.out}, Options{Mode: Train, Float64: true})
			if err != nil {
				t.Fatal(err)
			}
			y := b.Value(tc.out)
			r := randSlice[float64](rng, y.Shape().TotalSize())
			rn := G.NewTensor(b.G, G.Float64, y.Dims(), G.WithShape(y.Shape()...), G.WithName("r"),
				G.WithValue(tensor.New(tensor.WithShape(y.Shape()...), tensor.WithBacking(r))))
			prod, err := G.HadamardProd(y, rn)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := G.Sum(prod)
			if err != nil {
				t.Fatal(err)
			}
			learn, tensors := b.Learnables()
			if _, err := G.Grad(loss, learn...); err != nil {
				t.Fatal(err)
			}
			vm, err := b.Machine()
			if err != nil {
				t.Fatal(err)
			}
			defer vm.Close()
			eval := func() float64 {
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				v := loss.Value().Data().(float64)
				vm.Reset()
				return v
			}
			// Gradients accumulate over runs: read them after the first.
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			grads := make([][]float64, len(learn))
			for i, n := range learn {
				g, err := n.Grad()
				if err != nil {
					t.Fatal(err)
				}
				grads[i] = append([]float64(nil), g.Data().([]float64)...)
			}
			vm.Reset()
			const h = 1e-6
			for i, n := range learn {
				vals := n.Value().Data().([]float64)
				for j := range vals {
					orig := vals[j]
					vals[j] = orig + h
					up := eval()
					vals[j] = orig - h
					down := eval()
					vals[j] = orig
					num := (up - down) / (2 * h)
					// Central differences in float64 are good to ~1e-8 here; a ReLU
					// kink inside ±h would show as a much larger error.
					if math.Abs(num-grads[i][j]) > 1e-6*(1+math.Abs(num)) {
						t.Errorf("%s[%d]: analytic %.9g, numeric %.9g", tensors[i].Name, j, grads[i][j], num)
					}
				}
			}
		})
	}
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// TestRepeatBinary checks the fused elementwise op (a tensor and a trailing
// block of it repeated) against numpy broadcasting, both operand orders.
func TestRepeatBinary(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	for _, kind := range []string{"Add", "Sub", "Mul", "Div"} {
		for _, pdims := range [][]int{{3}, {2, 3}, {1, 2, 3}, {1, 1, 1}} {
			for _, swap := range []bool{false, true} {
				p := &graph.Tensor{Name: "p", Dims: pdims, Data: randSlice[float32](rng, shapeSize(pdims))}
				in := []string{"x", "p"}
				if swap {
					in = []string{"p", "x"}
				}
				m := &graph.Model{Inputs: []graph.Value{{Name: "x", Type: graph.Float32, Shape: []int{graph.Batch, 2, 3}}}, Params: []*graph.Tensor{p},
					Nodes:   []*graph.Node{{Name: "op", Op: &graph.Binary{Kind: kind}, Inputs: in, Outputs: []string{"y"}}},
					Outputs: []graph.Value{{Name: "y", Type: graph.Float32}}}
				x := randSlice[float32](rng, 4*6)
				res, err := NewRunner(m).Run(4, x)
				if err != nil {
					t.Fatal(err)
				}
				for i, got := range res[0].Float {
					a, b := float64(x[i]), float64(p.Data[(i%6)%len(p.Data)])
					if len(p.Data) == 1 {
						b = float64(p.Data[0])
					}
					if swap {
						a, b = b, a
					}
					want := map[string]float64{"Add": a + b, "Sub": a - b, "Mul": a * b, "Div": a / b}[kind]
					if math.Abs(float64(got)-want) > 1e-5*(1+math.Abs(want)) {
						t.Fatalf("%s p%v swap=%v: y[%d] = %g, want %g", kind, pdims, swap, i, got, want)
					}
				}
			}
		}
	}
}

// TestConvBNFused compares inference with the batch norm folded into the conv
// op (and a ReLU after it) with the same graph built unfused (the conv output
// wanted as well).
func TestConvBNFused(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, withBias := range []bool{false, true} {
		for _, withRelu := range []bool{false, true} {
			m := &graph.Model{Inputs: []graph.Value{{Name: "x", Type: graph.Float32, Shape: []int{graph.Batch, 2, 6, 5}}}}
			add := func(name string, dims ...int) {
				p := &graph.Tensor{Name: name, Dims: dims, Data: randSlice[float32](rng, shapeSize(dims))}
				if name == "var" {
					for i := range p.Data {
						p.Data[i] = 0.5 + rng.Float32()
					}
				}
				m.Params = append(m.Params, p)
			}
			add("w", 3, 2, 3, 3)
			add("s", 3)
			add("sh", 3)
			add("mean", 3)
			add("var", 3)
			in := []string{"x", "w"}
			if withBias {
				add("b", 3)
				in = append(in, "b")
			}
			m.Nodes = []*graph.Node{
				{Name: "conv", Op: &graph.Conv{Pads: [4]int{1, 0, 1, 1}}, Inputs: in, Outputs: []string{"c"}},
				{Name: "bn", Op: &graph.BatchNorm{}, Inputs: []string{"c", "s", "sh", "mean", "var"}, Outputs: []string{"z"}},
			}
			out := "z"
			if withRelu {
				m.Nodes = append(m.Nodes, &graph.Node{Name: "relu", Op: &graph.Relu{}, Inputs: []string{"z"}, Outputs: []string{"y"}})
				out = "y"
			}
			x := randSlice[float32](rng, 3*60)
			fused, err := NewRunner(m, out).Run(3, x)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := NewRunner(m, "c", out).Run(3, x)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range fused[0].Float {
				if w := plain[1].Float[i]; math.Abs(float64(v-w)) > 1e-5*(1+math.Abs(float64(w))) {
					t.Fatalf("bias=%v relu=%v: fused[%d] = %g, unfused %g", withBias, withRelu, i, v, w)
				}
			}
		}
	}
}

// TestRunnerReset checks that Reset makes a Runner see changed statistics and
// parameters, changed in place or replaced, as a new Runner does.
func TestRunnerReset(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	m, err := graph.New("", graph.DigitsInput(), rng)
	if err != nil {
		t.Fatal(err)
	}
	x := randSlice[float32](rng, 3*784)
	r := NewRunner(m, graph.ProbsOutput)
	defer r.Close()
	if _, err := r.Run(3, x); err != nil {
		t.Fatal(err)
	}
	for step, change := range []func(){
		func() { randomizeStats(m, rng) },                                        // statistics, in place
		func() { m.Param("fc1.weight").Data[5] += 1 },                            // a weight, in place
		func() { m.Param("conv1.weight").Data = randSlice[float32](rng, 20*25) }, // a replaced weight
	} {
		change()
		r.Reset()
		got, err := r.Run(3, x)
		if err != nil {
			t.Fatal(err)
		}
		want, err := NewRunner(m, graph.ProbsOutput).Run(3, x)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got[0].Float {
			if v != want[0].Float[i] {
				t.Fatalf("change %d: probability %d is %g after Reset, a new Runner says %g", step, i, v, want[0].Float[i])
			}
		}
	}
}

// TestOpsNotMerged pins that two of our ops with equal attributes and equal
// inputs stay two nodes (DESIGN §9: Gorgonia merges nodes whose op hashes and
// inputs are equal): two batch norms sharing input, scale and shift but not
// their running statistics must give different outputs.
func TestOpsNotMerged(t *testing.T) {
	one := func(v float32) []float32 { return []float32{v, v} }
	m := &graph.Model{
		Inputs: []graph.Value{{Name: "x", Type: graph.Float32, Shape: []int{graph.Batch, 2}}},
		Params: []*graph.Tensor{{Name: "s", Dims: []int{2}, Data: one(1)}, {Name: "b", Dims: []int{2}, Data: one(0)},
			{Name: "m1", Dims: []int{2}, Data: one(0)}, {Name: "v1", Dims: []int{2}, Data: one(1)},
			{Name: "m2", Dims: []int{2}, Data: one(5)}, {Name: "v2", Dims: []int{2}, Data: one(4)}},
		Nodes: []*graph.Node{
			{Name: "bn1", Op: &graph.BatchNorm{}, Inputs: []string{"x", "s", "b", "m1", "v1"}, Outputs: []string{"y1"}},
			{Name: "bn2", Op: &graph.BatchNorm{}, Inputs: []string{"x", "s", "b", "m2", "v2"}, Outputs: []string{"y2"}},
		},
	}
	res, err := NewRunner(m, "y1", "y2").Run(1, []float32{1, 1})
	if err != nil {
		t.Fatal(err)
	}
	y1, y2 := res[0].Float[0], res[1].Float[0]
	if math.Abs(float64(y1)-1) > 1e-4 || math.Abs(float64(y2)+2) > 1e-4 {
		t.Errorf("y1 = %g (want 1), y2 = %g (want (1-5)/2 = -2)", y1, y2)
	}
}

// TestMatMulAddFused checks the fusion of MatMul, the Add of a bias parameter
// (on either side) and a ReLU into one dense op at inference: the fused graph
// has no Add or ReLU op left, and its outputs are bit-identical to the
// unfused graph's (asking for the MatMul's output keeps the ops apart). An
// Add of a second input is not fused.
func TestMatMulAddFused(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	for _, biasFirst := range []bool{false, true} {
		for _, withRelu := range []bool{false, true} {
			m := &graph.Model{Inputs: []graph.Value{{Name: "x", Type: graph.Float32, Shape: []int{graph.Batch, 4}}}}
			m.Params = []*graph.Tensor{
				{Name: "w", Dims: []int{4, 3}, Data: randSlice[float32](rng, 12)},
				{Name: "b", Dims: []int{3}, Data: randSlice[float32](rng, 3)},
			}
			addIn := []string{"mm", "b"}
			if biasFirst {
				addIn = []string{"b", "mm"}
			}
			m.Nodes = []*graph.Node{
				{Name: "matmul", Op: &graph.MatMul{}, Inputs: []string{"x", "w"}, Outputs: []string{"mm"}},
				{Name: "add", Op: &graph.Binary{Kind: "Add"}, Inputs: addIn, Outputs: []string{"z"}},
			}
			out := "z"
			if withRelu {
				m.Nodes = append(m.Nodes, &graph.Node{Name: "relu", Op: &graph.Relu{}, Inputs: []string{"z"}, Outputs: []string{"y"}})
				out = "y"
			}
			b, err := Build(m, 5, []string{out}, Options{Mode: Infer})
			if err != nil {
				t.Fatal(err)
			}
			ops := 0
			for _, n := range b.G.AllNodes() {
				if n.Op() != nil && !isConstant(n) {
					ops++
					if d, ok := stateOf(n.Op()).(*denseOp); !ok || d.add != "add" || (d.relu != "") != withRelu {
						t.Errorf("bias first %v, relu %v: op %v in the fused graph", biasFirst, withRelu, n.Op())
					}
				}
			}
			if ops != 1 {
				t.Errorf("bias first %v, relu %v: %d ops, want 1", biasFirst, withRelu, ops)
			}
			x := randSlice[float32](rng, 5*4)
			fused, err := NewRunner(m, out).Run(5, x)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := NewRunner(m, "mm", out).Run(5, x)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(fused[0].Float, plain[1].Float) {
				t.Errorf("bias first %v, relu %v: fused %v, unfused %v", biasFirst, withRelu, fused[0].Float, plain[1].Float)
			}
		}
	}
	// x + x·w: the addend is an input, not a parameter.
	m := &graph.Model{Inputs: []graph.Value{{Name: "x", Type: graph.Float32, Shape: []int{graph.Batch, 3}}}}
	m.Params = []*graph.Tensor{{Name: "w", Dims: []int{3, 3}, Data: randSlice[float32](rng, 9)}}
	m.Nodes = []*graph.Node{
		{Name: "matmul", Op: &graph.MatMul{}, Inputs: []string{"x", "w"}, Outputs: []string{"mm"}},
		{Name: "add", Op: &graph.Binary{Kind: "Add"}, Inputs: []string{"x", "mm"}, Outputs: []string{"z"}},
	}
	x := randSlice[float32](rng, 2*3)
	res, err := NewRunner(m, "z").Run(2, x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		for j := range 3 {
			want := float64(x[i*3+j])
			for k := range 3 {
				want += float64(x[i*3+k]) * float64(m.Params[0].Data[k*3+j])
			}
			if got := res[0].Float[i*3+j]; math.Abs(float64(got)-want) > 1e-5 {
				t.Fatalf("x + x·w [%d,%d] = %g, want %g", i, j, got, want)
			}
		}
	}
}

// TestConvPoolFused checks the fusion of a conv, its ReLU and a 2x2 stride-2
// max pool into the conv's op at inference: the fused graph has one op, and
// its outputs are bit-identical to the unfused ops' (asking for the ReLU's
// output keeps them apart), for even and odd output sizes.
func TestConvPoolFused(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, size := range []int{8, 9} {
		for _, pads := range [][4]int{{}, {1, 2, 1, 0}} {
			m := &graph.Model{Inputs: []graph.Value{{Name: "x", Type: graph.Float32, Shape: []int{graph.Batch, 2, size, size}}}}
			m.Params = []*graph.Tensor{
				{Name: "w", Dims: []int{5, 2, 3, 3}, Data: randSlice[float32](rng, 90)},
				{Name: "b", Dims: []int{5}, Data: randSlice[float32](rng, 5)},
			}
			m.Nodes = []*graph.Node{
				{Name: "conv", Op: &graph.Conv{Pads: pads}, Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"}},
				{Name: "relu", Op: &graph.Relu{}, Inputs: []string{"c"}, Outputs: []string{"r"}},
				{Name: "pool", Op: &graph.Pool{KernelShape: []int{2, 2}, Strides: []int{2, 2}}, Inputs: []string{"r"}, Outputs: []string{"y"}},
			}
			b, err := Build(m, 3, []string{"y"}, Options{Mode: Infer})
			if err != nil {
				t.Fatal(err)
			}
			ops := 0
			for _, n := range b.G.AllNodes() {
				if n.Op() != nil && !isConstant(n) {
					ops++
					if c, ok := stateOf(n.Op()).(*convOp); !ok || c.pool != "pool" || c.relu != "relu" {
						t.Errorf("size %d pads %v: op %v in the fused graph", size, pads, n.Op())
					}
				}
			}
			if ops != 1 {
				t.Errorf("size %d pads %v: %d ops, want 1", size, pads, ops)
			}
			x := randSlice[float32](rng, 3*2*size*size)
			fused, err := NewRunner(m, "y").Run(3, x)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := NewRunner(m, "r", "y").Run(3, x)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(fused[0].Shape, plain[1].Shape) || !slices.Equal(fused[0].Float, plain[1].Float) {
				t.Errorf("size %d pads %v: fused %v %v, unfused %v %v", size, pads, fused[0].Shape, fused[0].Float, plain[1].Shape, plain[1].Float)
			}
		}
	}
}
