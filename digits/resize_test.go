package digits

import (
	"image"
	"math"
	"math/rand"
	"testing"
)

// naiveArea is the reference for shrinking: each output pixel is the mean of
// the source over its footprint, every source pixel weighted by the area it
// shares with it.
func naiveArea(src []float32, sw, sh, dw, dh int) []float32 {
	sx, sy := float64(sw)/float64(dw), float64(sh)/float64(dh)
	out := make([]float32, dw*dh)
	for y := range dh {
		for x := range dw {
			var acc float64
			for j := range sh {
				oy := math.Min(float64(y+1)*sy, float64(j+1)) - math.Max(float64(y)*sy, float64(j))
				if oy <= 0 {
					continue
				}
				for i := range sw {
					ox := math.Min(float64(x+1)*sx, float64(i+1)) - math.Max(float64(x)*sx, float64(i))
					if ox > 0 {
						acc += ox * oy * float64(src[j*sw+i])
					}
				}
			}
			out[y*dw+x] = float32(acc / (sx * sy))
		}
	}
	return out
}

// TestResizeArea: shrinking by integer and fractional factors, also different
// per axis, from 8-bit and finer values, matches the area average within
// 16-bit rounding (1e-4); enlarging
// is bilinear (checked on a ramp, which bilinear keeps linear inside).
func TestResizeArea(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for k, sz := range [][2]int{{56, 56}, {40, 30}, {30, 29}, {100, 57}, {29, 280}, {90, 64}} {
		src := make([]float32, sz[0]*sz[1])
		for i := range src {
			src[i] = r.Float32()
			if k%2 == 1 { // 8-bit steps: resize's *image.Gray path
				src[i] = float32(r.Intn(256)) / 255
			}
		}
		got := make([]float32, pixels)
		resize(src, sz[0], sz[1], got, Width, Height, image.Rect(0, 0, Width, Height))
		want := naiveArea(src, sz[0], sz[1], Width, Height)
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-4 {
				t.Fatalf("%dx%d: pixel %d: %g, area average %g", sz[0], sz[1], i, got[i], want[i])
			}
		}
	}

	// 7 -> 28 on a horizontal ramp: output centres map to source x =
	// (x+0.5)/4 - 0.5, and bilinear reproduces the ramp between the first and
	// last source centres.
	src := make([]float32, 7*7)
	for i := range src {
		src[i] = float32(i%7) / 6
	}
	got := make([]float32, pixels)
	resize(src, 7, 7, got, Width, Height, image.Rect(0, 0, Width, Height))
	for x := 2; x < 26; x++ {
		want := ((float64(x)+0.5)/4 - 0.5) / 6
		if d := math.Abs(float64(got[5*Width+x]) - want); d > 1e-4 {
			t.Errorf("ramp x=%d: %g, want %g", x, got[5*Width+x], want)
		}
	}

	// Only r is written.
	dst := make([]float32, pixels)
	for i := range dst {
		dst[i] = 0.5
	}
	resize(src, 7, 7, dst, Width, Height, image.Rect(10, 0, 17, 28))
	if dst[9] != 0.5 || dst[17] != 0.5 || dst[10] == 0.5 {
		t.Errorf("outside r changed or inside not: %g %g %g", dst[9], dst[17], dst[10])
	}
}
