package digits

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

// numbered returns a set of n images whose pixels all equal i/n for image
// i, labels i%classes and angles i, so copies can be traced back.
func numbered(n, classes int) *Set {
	s := &Set{Images: make([]float32, n*pixels), Labels: make([]uint8, n), Angles: make([]float32, n)}
	for k := range classes {
		s.Classes = append(s.Classes, fmt.Sprint(k))
	}
	for i := range n {
		for p := range pixels {
			s.Images[i*pixels+p] = float32(i) / float32(n)
		}
		s.Labels[i] = uint8(i % classes)
		s.Angles[i] = float32(i)
	}
	return s
}

// origin returns which image of numbered(n, _) img is a copy of.
func origin(img []float32, n int) int { return int(img[0]*float32(n) + 0.5) }

func TestSubsetGather(t *testing.T) {
	s := numbered(20, 10)
	idx := []int{3, 17, 3, 0}
	sub := s.Subset(idx)
	if sub.Len() != 4 || len(sub.Images) != 4*pixels {
		t.Fatalf("Subset: Len %d, %d values", sub.Len(), len(sub.Images))
	}
	for j, i := range idx {
		if o := origin(sub.Image(j), 20); o != i || sub.Labels[j] != s.Labels[i] || sub.Angles[j] != float32(i) {
			t.Errorf("Subset image %d: from %d, label %d, angle %v; want %d", j, o, sub.Labels[j], sub.Angles[j], i)
		}
	}
	sub.Images[0] = 99 // a copy, not a view
	if s.Images[3*pixels] == 99 {
		t.Error("Subset shares image memory with the set")
	}

	images := make([]float32, len(idx)*pixels)
	labels := make([]uint8, len(idx))
	if a := testing.AllocsPerRun(10, func() { s.Gather(idx, images, labels) }); a != 0 {
		t.Errorf("Gather allocates %v times", a)
	}
	if !slices.Equal(images, s.Subset(idx).Images) || !slices.Equal(labels, sub.Labels) {
		t.Error("Gather differs from Subset")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Gather into a short buffer did not panic")
			}
		}()
		s.Gather(idx, images[:pixels], labels)
	}()
}

func TestShuffle(t *testing.T) {
	p := Shuffle(100, rand.New(rand.NewSource(1)))
	q := Shuffle(100, rand.New(rand.NewSource(1)))
	if !slices.Equal(p, q) {
		t.Error("same seed, different permutation")
	}
	sorted := slices.Clone(p)
	slices.Sort(sorted)
	for i, v := range sorted {
		if v != i {
			t.Fatalf("not a permutation of 0..99: %v", p)
		}
	}
	if slices.IsSorted(p) {
		t.Error("permutation of 100 is the identity")
	}
}

func TestMeanImage(t *testing.T) {
	s := numbered(4, 2) // pixels 0, 1/4, 2/4, 3/4: mean 3/8
	for p, v := range MeanImage(s) {
		if v != 0.375 {
			t.Fatalf("pixel %d: mean %v, want 0.375", p, v)
		}
	}
	if m := MeanImage(&Set{}); len(m) != pixels || slices.Max(m) != 0 {
		t.Error("mean of an empty set is not 784 zeros")
	}
}

func TestSplit(t *testing.T) {
	// 10 classes of unequal size: class k has 20+k images.
	var labels []uint8
	for k := range 10 {
		for range 20 + k {
			labels = append(labels, uint8(k))
		}
	}
	n := len(labels)
	s := numbered(n, 10)
	copy(s.Labels, labels)

	for _, frac := range []float64{0.75, 0.5, 0, 1} {
		t.Run(fmt.Sprint(frac), func(t *testing.T) {
			train, val := Split(s, frac, 42)
			train2, val2 := Split(s, frac, 42)
			if !slices.Equal(train.Images, train2.Images) || !slices.Equal(val.Labels, val2.Labels) {
				t.Error("same seed, different split")
			}
			// Exact per-class counts: round(frac * n_k).
			tc, vc := ClassCounts(train), ClassCounts(val)
			for k := range 10 {
				want := int(frac*float64(20+k) + 0.5)
				if tc[k] != want || tc[k]+vc[k] != 20+k {
					t.Errorf("class %d: %d train + %d val, want %d + %d", k, tc[k], vc[k], want, 20+k-want)
				}
			}
			// Disjoint and covering, labels kept.
			seen := make([]int, n)
			for _, part := range []*Set{train, val} {
				for j := range part.Len() {
					i := origin(part.Image(j), n)
					seen[i]++
					if part.Labels[j] != s.Labels[i] || part.Angles[j] != float32(i) {
						t.Fatalf("image from %d has label %d angle %v", i, part.Labels[j], part.Angles[j])
					}
				}
			}
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("image %d appears %d times", i, c)
				}
			}
			// Shuffled: classes interleave rather than come in blocks.
			if train.Len() > 20 && slices.IsSorted(train.Labels) {
				t.Error("train labels are sorted: not shuffled")
			}
		})
	}
	a, _ := Split(s, 0.75, 1)
	b, _ := Split(s, 0.75, 2)
	if slices.Equal(a.Images, b.Images) {
		t.Error("different seeds give the same split")
	}
}

// SplitInPlace gives Split's sets, as views into the reordered input.
func TestSplitInPlace(t *testing.T) {
	for _, n := range []int{0, 1, 57, 200} {
		s := numbered(n, 10)
		for i := range s.Labels {
			s.Labels[i] = uint8(i * 7 % 10)
		}
		train, val := Split(s, 0.75, 3)
		c := &Set{Images: slices.Clone(s.Images), Labels: slices.Clone(s.Labels), Angles: slices.Clone(s.Angles), Classes: s.Classes}
		train2, val2 := SplitInPlace(c, 0.75, 3)
		for _, p := range [][2]*Set{{train, train2}, {val, val2}} {
			if !slices.Equal(p[0].Images, p[1].Images) || !slices.Equal(p[0].Labels, p[1].Labels) || !slices.Equal(p[0].Angles, p[1].Angles) {
				t.Fatalf("n=%d: SplitInPlace differs from Split", n)
			}
		}
		if n > 0 && &train2.Images[0] != &c.Images[0] {
			t.Errorf("n=%d: train is a copy, not a view", n)
		}
		if cap(train2.Images) != len(train2.Images) || cap(train2.Labels) != train2.Len() {
			t.Errorf("n=%d: train's capacity reaches into val", n)
		}
	}
}

func TestSplitPaper(t *testing.T) {
	train, val := Split(Synthetic(40, 1), 0.75, 1)
	for k, c := range ClassCounts(train) {
		if c != 30 || ClassCounts(val)[k] != 10 {
			t.Errorf("class %d: %d/%d, want 30/10", k, c, ClassCounts(val)[k])
		}
	}
}

func ExampleSplit() {
	s := Synthetic(100, 1) // 1000 images, 100 per digit
	train, val := Split(s, 0.75, 1)
	fmt.Println(train.Len(), val.Len(), ClassCounts(val))
	// Output: 750 250 [25 25 25 25 25 25 25 25 25 25]
}

// TestPixelValue: an 8-bit pixel converts to exactly the float32 v/255 that
// ReadIDX stored before sets kept 8-bit pixels, so training on MNIST or an
// image folder sees the same inputs bit for bit. (v * (1/255) would not:
// it differs in the last bit for some v.)
func TestPixelValue(t *testing.T) {
	for v := range 256 {
		if got, want := PixelValue(uint8(v)), float32(v)/255; got != want {
			t.Errorf("PixelValue(%d) = %v, want %v", v, got, want)
		}
	}
}

// TestEightBitSet: every accessor gives the same float32 values for a set held
// as 8-bit pixels as for the same set held as float32.
func TestEightBitSet(t *testing.T) {
	const n = 37
	rng := rand.New(rand.NewSource(5))
	s8 := &Set{Pixels: make([]uint8, n*pixels), Labels: make([]uint8, n), Angles: make([]float32, n), Classes: DigitClasses()}
	rng.Read(s8.Pixels)
	for i := range n {
		s8.Labels[i] = uint8(rng.Intn(10))
		s8.Angles[i] = float32(i)
	}
	s32 := &Set{Images: s8.AppendImages(nil, 0, n), Labels: slices.Clone(s8.Labels), Angles: slices.Clone(s8.Angles), Classes: s8.Classes}
	for i, v := range s8.Pixels {
		if s32.Images[i] != float32(v)/255 {
			t.Fatalf("AppendImages value %d: %v, want %v", i, s32.Images[i], float32(v)/255)
		}
	}
	if got := s8.AppendImages([]float32{7}, 3, 5); got[0] != 7 || !slices.Equal(got[1:], s32.Images[3*pixels:5*pixels]) {
		t.Error("AppendImages(dst, 3, 5) differs")
	}
	if !slices.Equal(s8.Image(9), s32.Image(9)) {
		t.Error("Image differs")
	}
	if !slices.Equal(MeanImage(s8), MeanImage(s32)) {
		t.Error("MeanImage differs")
	}
	idx := []int{4, 0, 36, 4}
	g8, g32 := make([]float32, len(idx)*pixels), make([]float32, len(idx)*pixels)
	l8, l32 := make([]uint8, len(idx)), make([]uint8, len(idx))
	if a := testing.AllocsPerRun(10, func() { s8.Gather(idx, g8, l8) }); a != 0 {
		t.Errorf("Gather of 8-bit pixels allocates %v times", a)
	}
	s32.Gather(idx, g32, l32)
	if !slices.Equal(g8, g32) || !slices.Equal(l8, l32) {
		t.Error("Gather differs")
	}
	sub := s8.Subset(idx)
	if sub.Images != nil || !slices.Equal(sub.AppendImages(nil, 0, sub.Len()), g32) || !slices.Equal(sub.Labels, l32) {
		t.Error("Subset of an 8-bit set is not the same 8-bit images")
	}
	tr8, va8 := SplitInPlace(s8, 0.75, 3)
	tr32, va32 := SplitInPlace(s32, 0.75, 3)
	for _, p := range [][2]*Set{{tr8, tr32}, {va8, va32}} {
		if p[0].Images != nil || !slices.Equal(p[0].AppendImages(nil, 0, p[0].Len()), p[1].Images) ||
			!slices.Equal(p[0].Labels, p[1].Labels) || !slices.Equal(p[0].Angles, p[1].Angles) {
			t.Error("SplitInPlace of the 8-bit set differs from the float32 set's")
		}
	}
}
