package digits

import (
	"math"
	"runtime"
	"slices"
	"sort"
	"testing"
)

func TestSyntheticDeterministic(t *testing.T) {
	a, b := Synthetic(20, 1), Synthetic(20, 1)
	if !slices.Equal(a.Images, b.Images) || !slices.Equal(a.Angles, b.Angles) || !slices.Equal(a.Labels, b.Labels) {
		t.Fatal("same seed, different sets")
	}
	c := Synthetic(20, 2)
	same := 0
	for i := range c.Len() {
		if slices.Equal(a.Image(i), c.Image(i)) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seeds 1 and 2 share %d of %d images", same, c.Len())
	}
	// Image i depends on (seed, i) only: a smaller set is a prefix, and
	// the number of goroutines does not matter.
	small := Synthetic(3, 1)
	if !slices.Equal(small.Images, a.Images[:len(small.Images)]) {
		t.Error("Synthetic(3, 1) is not a prefix of Synthetic(20, 1)")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if one := Synthetic(20, 1); !slices.Equal(one.Images, a.Images) {
		t.Error("GOMAXPROCS=1 gives different images")
	}
}

func TestSyntheticShape(t *testing.T) {
	if s := Synthetic(0, 1); s.Len() != 0 || len(s.Classes) != 10 {
		t.Errorf("Synthetic(0): Len %d, %d classes", s.Len(), len(s.Classes))
	}
	const per = 200
	s := Synthetic(per, 3)
	if s.Len() != 10*per || len(s.Images) != 10*per*pixels || len(s.Angles) != 10*per {
		t.Fatalf("Len %d, %d values, %d angles", s.Len(), len(s.Images), len(s.Angles))
	}
	if !slices.Equal(s.Classes, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}) {
		t.Errorf("classes %v", s.Classes)
	}
	for k, c := range ClassCounts(s) {
		if c != per {
			t.Errorf("class %d: %d images, want %d", k, c, per)
		}
	}

	// Angles: whole degrees, uniform on -45..45. The mean of n uniform
	// draws has standard deviation 26.3/sqrt(n) = 0.59 for n = 2000; allow 5.
	var sum float64
	hist := map[float32]int{}
	for i, a := range s.Angles {
		if a != float32(math.Round(float64(a))) || a < -45 || a > 45 {
			t.Fatalf("image %d: angle %v, want a whole degree in [-45,45]", i, a)
		}
		sum += float64(a)
		hist[a]++
	}
	if m := sum / float64(s.Len()); math.Abs(m) > 3 {
		t.Errorf("mean angle %.2f, want about 0", m)
	}
	if len(hist) < 85 { // 91 values, 2000 draws: each is missed with probability (90/91)^2000 ~ 3e-10
		t.Errorf("only %d distinct angles", len(hist))
	}

	var inks []float64
	var cx, cy float64
	border := 0
	for i := range s.Len() {
		img := s.Image(i)
		var peak float32
		var ink, faint, mass, mx, my float64
		touches := false
		for p, v := range img {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("image %d pixel %d: %v outside [0,1]", i, p, v)
			}
			peak = max(peak, v)
			y, x := p/Width, p%Width
			if v > 0.25 {
				faint++
			}
			if v > 0.5 {
				ink++
				touches = touches || x == 0 || y == 0 || x == Width-1 || y == Height-1
			}
			mass += float64(v)
			mx += float64(v) * (float64(x) + 0.5)
			my += float64(v) * (float64(y) + 0.5)
		}
		if touches {
			border++
		}
		// The generator sets the brightest stroke pixel to 0.8..1 before
		// noise; even a thin, small, blurred 1 covers a dozen pixels.
		if peak < 0.6 || faint < 12 {
			t.Errorf("image %d (label %d): peak %v, %v pixels above 0.25: nearly blank", i, s.Labels[i], peak, faint)
		}
		inks = append(inks, ink/pixels)
		cx += mx / mass
		cy += my / mass
	}
	// Roughly centred: the mean centre of mass is within a pixel of the
	// image centre (14,14); shifts are at most 3 px either way.
	cx, cy = cx/float64(s.Len()), cy/float64(s.Len())
	if math.Hypot(cx-14, cy-14) > 1 {
		t.Errorf("mean centre of mass (%.2f,%.2f), want about (14,14)", cx, cy)
	}
	// A few digits may touch the edge (so do some of MATLAB's), most not.
	if border > s.Len()/50 {
		t.Errorf("%d of %d images have ink on the border: digits not kept inside", border, s.Len())
	}
	// Variety: stroke width and size vary a lot, so the heaviest tenth
	// of images carries at least twice the ink of the lightest tenth.
	sort.Float64s(inks)
	p10, p90 := inks[len(inks)/10], inks[len(inks)*9/10]
	if p90 < 2*p10 {
		t.Errorf("ink fraction 10th..90th percentile %.3f..%.3f: too uniform", p10, p90)
	}
	t.Logf("ink fraction p10 %.3f median %.3f p90 %.3f; centre (%.2f,%.2f)", p10, inks[len(inks)/2], p90, cx, cy)
}

// TestSyntheticAngleSign checks the recorded angle against the image: the
// principal axis of a "1" leans left (counter-clockwise) for positive
// angles. Slant, flags and bases spread the estimate, so the test asks for
// a strong correlation rather than equality.
func TestSyntheticAngleSign(t *testing.T) {
	s := Synthetic(300, 5)
	var xs, ys []float64
	for i := range s.Len() {
		if s.Labels[i] != 1 {
			continue
		}
		var m, mx, my float64
		img := s.Image(i)
		for p, v := range img {
			x, y := float64(p%Width), -float64(p/Width) // y up
			m += float64(v)
			mx += float64(v) * x
			my += float64(v) * y
		}
		mx, my = mx/m, my/m
		var mu20, mu02, mu11 float64
		for p, v := range img {
			x, y := float64(p%Width)-mx, -float64(p/Width)-my
			mu20 += float64(v) * x * x
			mu02 += float64(v) * y * y
			mu11 += float64(v) * x * y
		}
		phi := 0.5 * math.Atan2(2*mu11, mu20-mu02) * 180 / math.Pi // axis angle from +x, y up
		est := math.Mod(phi-90+270, 180) - 90                      // tilt from vertical, CCW positive, in [-90,90)
		xs = append(xs, float64(s.Angles[i]))
		ys = append(ys, est)
	}
	if r := correlation(xs, ys); r < 0.8 {
		t.Errorf("correlation of recorded angle and the tilt of 1s: %.3f, want > 0.8", r)
	} else {
		t.Logf("correlation %.3f over %d images", r, len(xs))
	}
}

func correlation(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxx, syy, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		syy += y[i] * y[i]
		sxy += x[i] * y[i]
	}
	return (sxy - sx*sy/n) / math.Sqrt((sxx-sx*sx/n)*(syy-sy*sy/n))
}

// BenchmarkSynthetic renders 1000 images per iteration on GOMAXPROCS
// goroutines. Measured on the 2-core build machine: ~15-20k images/s.
func BenchmarkSynthetic(b *testing.B) {
	const n = 1000
	Synthetic(1, 1) // parse the fonts outside the timing
	b.ReportAllocs()
	seed := int64(0)
	for b.Loop() {
		seed++
		Synthetic(n/10, seed)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}
