package backend

import (
	"fmt"
	"math"
	"math/rand"
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

// TestGemmKernels compares gemmNN and gemmNT (assembly where the CPU has it)
// with float64 loops over shapes that hit every edge of the micro-kernels:
// row blocks of 1 to 13, column tails of 1 to 33, short and long k.
func TestGemmKernels(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	type shape struct{ m, n, k int }
	var shapes []shape
	for _, m := range []int{1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 20, 25} {
		for _, n := range []int{1, 3, 8, 15, 16, 17, 31, 32, 33, 64, 65, 100} {
			for _, k := range []int{1, 2, 5, 16, 25, 37} {
				shapes = append(shapes, shape{m, n, k})
			}
		}
	}
	shapes = append(shapes, shape{10, 11520, 128}, shape{128, 10, 11520}, shape{20, 25, 576}, shape{1, 10, 5000}, shape{3, 40, 3000})
	for _, s := range shapes {
		// Row strides larger than the rows, to catch stride mix-ups.
		lda, ldb, ldc := s.k+3, s.n+5, s.n+2
		a := randSlice[float32](rng, s.m*lda)
		b := randSlice[float32](rng, s.k*ldb)
		bias := randSlice[float32](rng, s.m)
		c0 := randSlice[float32](rng, s.m*ldc)
		for _, acc := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				c := append([]float32(nil), c0...)
				gemmNN(s.m, s.n, s.k, a, lda, b, ldb, c, ldc, acc, bias, relu)
				for i := range s.m {
					for j := range s.n {
						want := float64(bias[i])
						if acc {
							want += float64(c0[i*ldc+j])
						}
						mag := math.Abs(want)
						for p := range s.k {
							want += float64(a[i*lda+p]) * float64(b[p*ldb+j])
							mag += math.Abs(float64(a[i*lda+p]) * float64(b[p*ldb+j]))
						}
						if relu {
							want = math.Max(want, 0)
						}
						// float32 rounding: a few ulps (6e-8) of the sum of magnitudes.
						if got := float64(c[i*ldc+j]); math.Abs(got-want) > 1e-6*(1+mag) {
							t.Fatalf("gemmNN %+v acc=%v relu=%v: C[%d][%d] = %g, want %g", s, acc, relu, i, j, got, want)
						}
					}
				}
				if !relu {
					// Nothing outside the m×n block changes.
					for i := range s.m {
						for j := s.n; j < ldc; j++ {
							if c[i*ldc+j] != c0[i*ldc+j] {
								t.Fatalf("gemmNN %+v wrote C[%d][%d] outside the block", s, i, j)
							}
						}
					}
				}
			}
		}
		// gemmNT: B is (n,k) with row stride ldbt.
		ldbt := s.k + 1
		bt := randSlice[float32](rng, s.n*ldbt)
		for _, acc := range []bool{false, true} {
			c := append([]float32(nil), c0...)
			gemmNT(s.m, s.n, s.k, a, lda, bt, ldbt, c, ldc, acc)
			for i := range s.m {
				for j := range s.n {
					want := 0.0
					if acc {
						want = float64(c0[i*ldc+j])
					}
					mag := math.Abs(want)
					for p := range s.k {
						want += float64(a[i*lda+p]) * float64(bt[j*ldbt+p])
						mag += math.Abs(float64(a[i*lda+p]) * float64(bt[j*ldbt+p]))
					}
					if got := float64(c[i*ldc+j]); math.Abs(got-want) > 1e-6*(1+mag) {
						t.Fatalf("gemmNT %+v acc=%v: C[%d][%d] = %g, want %g", s, acc, i, j, got, want)
					}
				}
				for j := s.n; j < ldc; j++ {
					if c[i*ldc+j] != c0[i*ldc+j] {
						t.Fatalf("gemmNT %+v wrote C[%d][%d] outside the block", s, i, j)
					}
				}
			}
		}
	}
}

var testGeoms = []convGeom{
	{n: 2, c: 1, h: 28, w: 28, m: 20, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1},
	{n: 2, c: 3, h: 7, w: 9, m: 4, kh: 3, kw: 2, sh: 2, sw: 3, pt: 1, pl: 2, dh: 1, dw: 1},
	{n: 1, c: 2, h: 8, w: 8, m: 3, kh: 3, kw: 3, sh: 1, sw: 2, pt: 2, pl: 0, dh: 2, dw: 2},
	{n: 3, c: 4, h: 5, w: 5, m: 2, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1},
}

func fillOut(g convGeom, padBottom, padRight int) convGeom {
	g.oh = (g.h+g.pt+padBottom-g.dh*(g.kh-1)-1)/g.sh + 1
	g.ow = (g.w+g.pl+padRight-g.dw*(g.kw-1)-1)/g.sw + 1
	return g
}

// TestIm2colAdjoint checks im2col against the definition and col2im as its
// adjoint: <im2col(x), c> = <x, col2im(c)>.
func TestIm2colAdjoint(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, g := range testGeoms {
		g := fillOut(g, 1, 0)
		x := randSlice[float64](rng, g.inSize())
		col := make([]float64, g.k()*g.p())
		im2col(&g, x, col)
		for ci := range g.c {
			for ky := range g.kh {
				for kx := range g.kw {
					for oy := range g.oh {
						for ox := range g.ow {
							iy, ix := oy*g.sh-g.pt+ky*g.dh, ox*g.sw-g.pl+kx*g.dw
							want := 0.0
							if iy >= 0 && iy < g.h && ix >= 0 && ix < g.w {
								want = x[(ci*g.h+iy)*g.w+ix]
							}
							if got := col[((ci*g.kh+ky)*g.kw+kx)*g.p()+oy*g.ow+ox]; got != want {
								t.Fatalf("%v: col = %g, want %g", &g, got, want)
							}
						}
					}
				}
			}
		}
		c := randSlice[float64](rng, len(col))
		dx := make([]float64, len(x))
		col2im(&g, c, dx)
		var l, r float64
		for i := range col {
			l += col[i] * c[i]
		}
		for i := range x {
			r += x[i] * dx[i]
		}
		if math.Abs(l-r) > 1e-9*(1+math.Abs(l)) {
			t.Errorf("%v: <im2col x, c> = %g, <x, col2im c> = %g", &g, l, r)
		}
	}
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

func near(a float32, b, mag float64) bool {
	return math.Abs(float64(a)-b) <= 1e-6*(1+mag)
}

// TestElementwiseKernels compares the float32 loops (assembly where the CPU has
// it) with the float64 ones, over lengths that cover every tail of the
// 16-lane vectors.
func TestElementwiseKernels(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for n := 0; n <= 70; n++ {
		x, dy, y := randSlice[float32](rng, n), randSlice[float32](rng, n), randSlice[float32](rng, n)
		if n > 3 {
			y[1], y[2] = 0, float32(math.Copysign(0, -1)) // ReLU masks are strict: y > 0
		}
		x64, dy64, y64 := to64(x), to64(dy), to64(y)
		mag := 0.0
		for i := range x {
			mag += math.Abs(x64[i]) * (1 + math.Abs(dy64[i]))
		}
		if got, want := sum(x), sum(x64); !near(got, want, mag) {
			t.Errorf("n=%d: sum %g, want %g", n, got, want)
		}
		s1, s2 := shiftedSums(x, 0.3)
		w1, w2 := shiftedSums(x64, 0.3)
		if !near(s1, w1, mag+float64(n)) || !near(s2, w2, 4*(mag+float64(n))) {
			t.Errorf("n=%d: shiftedSums %g %g, want %g %g", n, s1, s2, w1, w2)
		}
		for _, masked := range []bool{false, true} {
			ym, ym64 := y, y64
			if !masked {
				ym, ym64 = nil, nil
			}
			g0, g1 := gradSums(x, dy, ym, 0.2)
			e0, e1 := gradSums(x64, dy64, ym64, 0.2)
			if !near(g0, e0, mag) || !near(g1, e1, 2*mag) {
				t.Errorf("n=%d masked=%v: gradSums %g %g, want %g %g", n, masked, g0, g1, e0, e1)
			}
			dx, dx64 := make([]float32, n+1), make([]float64, n)
			dx[n] = 42 // a guard past the end
			bnDx(x, dy, ym, dx[:n], 0.7, -0.4, 0.1)
			bnDx(x64, dy64, ym64, dx64, 0.7, -0.4, 0.1)
			for i := range n {
				if !near(dx[i], dx64[i], 2) {
					t.Fatalf("n=%d masked=%v: bnDx[%d] = %g, want %g", n, masked, i, dx[i], dx64[i])
				}
			}
			if dx[n] != 42 {
				t.Fatalf("n=%d: bnDx wrote past the end", n)
			}
		}
		for _, r := range []bool{false, true} {
			out, out64 := make([]float32, n+1), make([]float64, n)
			out[n] = 42
			affine(x, out[:n], 1.5, -0.25, r)
			affine(x64, out64, 1.5, -0.25, r)
			for i := range n {
				if !near(out[i], out64[i], 2) || (r && out[i] < 0) {
					t.Fatalf("n=%d relu=%v: affine[%d] = %g, want %g", n, r, i, out[i], out64[i])
				}
			}
			if out[n] != 42 {
				t.Fatalf("n=%d: affine wrote past the end", n)
			}
		}
		out, mask := make([]float32, n+1), make([]float32, n+1)
		out[n], mask[n] = 42, 42
		relu(x, out[:n])
		reluMask(y, dy, mask[:n])
		for i := range n {
			if out[i] != max(x[i], 0) {
				t.Fatalf("n=%d: relu[%d] = %g", n, i, out[i])
			}
			want := float32(0)
			if y[i] > 0 {
				want = dy[i]
			}
			if mask[i] != want {
				t.Fatalf("n=%d: reluMask[%d] = %g, want %g", n, i, mask[i], want)
			}
		}
		if out[n] != 42 || mask[n] != 42 {
			t.Fatalf("n=%d: relu wrote past the end", n)
		}
	}
	// NaN survives the ReLU, so that the trainer's NaN guard still sees it.
	nan := []float32{float32(math.NaN()), -1, 2}
	out := make([]float32, 3)
	relu(nan, out)
	affine(nan, out[:1], 1, 0, true)
	if !math.IsNaN(float64(out[0])) {
		t.Errorf("relu(NaN) = %g", out[0])
	}
}

// TestIm2col32 checks the float32 im2col (assembly row copies) against the
// float64 one.
func TestIm2col32(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, g := range append(testGeoms, convGeom{n: 1, c: 2, h: 40, w: 37, m: 1, kh: 3, kw: 4, sh: 2, sw: 1, dh: 1, dw: 1}) {
		g := fillOut(g, 0, 1)
		x := randSlice[float32](rng, g.inSize())
		col := make([]float32, g.k()*g.p())
		col64 := make([]float64, len(col))
		im2col(&g, x, col)
		im2col(&g, to64(x), col64)
		for i := range col {
			if float64(col[i]) != col64[i] {
				t.Fatalf("%v: col[%d] = %g, want %g", &g, i, col[i], col64[i])
			}
		}
	}
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

// TestConvGradW32 compares the float32 conv weight gradient (assembly sums
// over the images of a chunk) with the float64 one.
func TestConvGradW32(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, g := range append(testGeoms, convGeom{n: 13, c: 1, h: 28, w: 28, m: 20, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1}) {
		g := fillOut(g, 0, 0)
		op := &convGradWOp{opBase: newOpBase(), fwd: newConvOp(g, true)}
		x := randSlice[float32](rng, g.n*g.inSize())
		dy := randSlice[float32](rng, g.n*g.m*g.p())
		xs, ys := []int{g.n, g.c, g.h, g.w}, []int{g.n, g.m, g.oh, g.ow}
		got, err := op.Do(wrap(x, xs), wrap(dy, ys))
		if err != nil {
			t.Fatal(err)
		}
		op64 := &convGradWOp{opBase: newOpBase(), fwd: op.fwd}
		want, err := op64.Do(wrap(to64(x), xs), wrap(to64(dy), ys))
		if err != nil {
			t.Fatal(err)
		}
		w := want.Data().([]float64)
		for i, v := range got.Data().([]float32) {
			// Sums of n*oH*oW products of unit normals.
			if math.Abs(float64(v)-w[i]) > 1e-5*math.Sqrt(float64(g.n*g.p())) {
				t.Fatalf("%v: dW[%d] = %g, want %g", &g, i, v, w[i])
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
