package backend

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestSoftmaxOp checks values against a direct formula on rows where the first
// logit dominates (Gorgonia's own softmax overflows there), and gradients of
// L = Σ w·softmax(x) (and log-softmax) against central differences.
func TestSoftmaxOp(t *testing.T) {
	x := []float64{0, 0, 0, 120, 1, -3, -50, 40, 39.5, 2, 2, 2}
	w := []float64{0.3, -1, 2, 0.5, 0.1, -0.7, 1.5, -2, 0.25, 1, 2, 3}
	for _, log := range []bool{false, true} {
		eval := func(xs []float64) (float64, []float64, []float64) {
			g := G.NewGraph()
			xn := G.NewTensor(g, G.Float64, 2, G.WithShape(4, 3), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(4, 3), tensor.WithBacking(append([]float64(nil), xs...)))))
			wn := G.NewTensor(g, G.Float64, 2, G.WithShape(4, 3), G.WithName("w"), G.WithValue(tensor.New(tensor.WithShape(4, 3), tensor.WithBacking(w))))
			y := G.Must(SoftmaxNode(xn, 1, log))
			l := G.Must(G.Sum(G.Must(G.HadamardProd(y, wn))))
			if _, err := G.Grad(l, xn); err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(g, G.BindDualValues(xn))
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			gr, _ := xn.Grad()
			return l.Value().Data().(float64), append([]float64(nil), y.Value().Data().([]float64)...), append([]float64(nil), gr.Data().([]float64)...)
		}
		_, y, grad := eval(x)
		for r := range 4 {
			row := x[r*3 : r*3+3]
			m := math.Max(row[0], math.Max(row[1], row[2]))
			s := 0.0
			for _, v := range row {
				s += math.Exp(v - m)
			}
			for j, v := range row {
				want := math.Exp(v-m) / s
				if log {
					want = v - m - math.Log(s)
				}
				if got := y[r*3+j]; math.IsNaN(got) || math.Abs(got-want) > 1e-12 {
					t.Errorf("log=%v y[%d][%d] = %v, want %v", log, r, j, got, want)
				}
			}
		}
		const h = 1e-6
		for i := range x {
			xp := append([]float64(nil), x...)
			xp[i] += h
			up, _, _ := eval(xp)
			xp[i] -= 2 * h
			down, _, _ := eval(xp)
			num := (up - down) / (2 * h)
			if math.Abs(num-grad[i]) > 1e-6*math.Max(1, math.Abs(num)) {
				t.Errorf("log=%v d/dx[%d] = %v, numeric %v", log, i, grad[i], num)
			}
		}
	}
}
