package train

import (
	"math"
	"testing"
)

// TestStepByHand checks one and two steps of each optimizer against values
// computed by hand from the update rules in optimizer.go (MATLAB's sgdm and adam).
func TestStepByHand(t *testing.T) {
	h := Hyper{LearnRate: 0.1, Momentum: 0.9, L2: 0.5, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, Rho: 0.9}
	for _, tc := range []struct {
		kind        Optimizer
		decay       bool
		after1, at2 float64 // w after the first and second step, w0 = 1, g = 2 both times
	}{
		// sgdm: v1 = -0.1*2 = -0.2, w1 = 0.8; v2 = 0.9*-0.2 - 0.1*2 = -0.38, w2 = 0.42
		{SGDM, false, 0.8, 0.42},
		// with L2 0.5: g1 = 2.5, v1 = -0.25, w1 = 0.75; g2 = 2.375, v2 = -0.225-0.2375, w2 = 0.2875
		{SGDM, true, 0.75, 0.2875},
		// adam: bias-corrected m̂ = g and v̂ = g² while g is constant, so each step is
		// -lr * g/(|g|+eps) ≈ -0.1
		{Adam, false, 1 - 0.1*2/(2+1e-8), 1 - 2*0.1*2/(2+1e-8)},
		// nadam: m̂ = g as for adam, so the Nesterov mix β1·m̂ + (1−β1)·g/(1−β1^t)
		// is 0.9·2 + 0.1·2/0.1 = 3.8 at t=1 and 0.9·2 + 0.1·2/0.19 at t=2, over √v̂ = 2.
		{Nadam, false, 1 - 0.1*3.8/2, 1 - 0.1*3.8/2 - 0.1*(1.8+0.2/0.19)/2},
		// rmsprop (ρ = β2 = 0.999): v1 = 0.004, step 0.1·2/√0.004; v2 = 0.999·0.004+0.004
		{RMSProp, false, 1 - 0.2/math.Sqrt(0.004), 1 - 0.2/math.Sqrt(0.004) - 0.2/math.Sqrt(0.999*0.004+0.004)},
		// adagrad: s1 = 4, step 0.1·2/2 = 0.1; s2 = 8, step 0.2/√8
		{Adagrad, false, 0.9, 0.9 - 0.2/math.Sqrt(8)},
		// adadelta (ρ 0.9, ε 1e-8 here): u1 = 0.4, Δ1 = √1e-8/√0.4·2; d1 = 0.1·Δ1²;
		// u2 = 0.76, Δ2 = √(d1+1e-8)/√0.76·2; each step is α·Δ
		{Adadelta, false, 1 - 0.1*adadeltaD1, 1 - 0.1*adadeltaD1 - 0.1*math.Sqrt(0.1*adadeltaD1*adadeltaD1+1e-8)/math.Sqrt(0.76+1e-8)*2},
	} {
		s, err := NewStepper(tc.kind, h, []int{1})
		if err != nil {
			t.Fatal(err)
		}
		w := []float32{1}
		s.Step([][]float32{w}, [][]float32{{2}}, []bool{tc.decay})
		// float32 weights: 1e-6 is a few ulps at 1.
		if math.Abs(float64(w[0])-tc.after1) > 1e-6 {
			t.Errorf("%s decay=%v: w1 = %v, want %v", tc.kind, tc.decay, w[0], tc.after1)
		}
		s.Step([][]float32{w}, [][]float32{{2}}, []bool{tc.decay})
		if math.Abs(float64(w[0])-tc.at2) > 1e-6 {
			t.Errorf("%s decay=%v: w2 = %v, want %v", tc.kind, tc.decay, w[0], tc.at2)
		}
	}
}

var adadeltaD1 = math.Sqrt(1e-8) / math.Sqrt(0.4+1e-8) * 2

func TestHyperDefaults(t *testing.T) {
	h := Hyper{}.Defaults()
	if h.LearnRate != 0.01 || h.Momentum != 0.9 || h.L2 != 1e-4 || h.Beta1 != 0.9 || h.Beta2 != 0.999 || h.Epsilon != 1e-8 {
		t.Errorf("defaults %+v are not MATLAB's", h)
	}
	// Negative L2 and Momentum mean zero, and stay negative through Defaults
	// (which the trainer and the stepper both apply): two plain SGD steps
	// of rate 1 on w=2 with gradient 0.5 give 1.5 then 1.0.
	s, err := NewStepper(SGDM, Hyper{LearnRate: 1, L2: -1, Momentum: -1}.Defaults(), []int{1})
	if err != nil {
		t.Fatal(err)
	}
	w := []float32{2}
	for _, want := range []float32{1.5, 1} {
		if err := s.Step([][]float32{w}, [][]float32{{0.5}}, []bool{true}); err != nil {
			t.Fatal(err)
		}
		if w[0] != want {
			t.Fatalf("w = %v, want %v (L2 or momentum applied)", w[0], want)
		}
	}
}
