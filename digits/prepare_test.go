package digits

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"
)

// canvas returns a w x h grey image of background bg with the rectangle r
// painted ink.
func canvas(w, h int, bg, ink uint8, r image.Rectangle) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := bg
			if (image.Point{x, y}).In(r) {
				v = ink
			}
			img.SetGray(x, y, color.Gray{v})
		}
	}
	return img
}

func at(p []float32, x, y int) float32 { return p[y*Width+x] }

func TestPrepareImage(t *testing.T) {
	t.Run("28x28 white on black is unchanged", func(t *testing.T) {
		s := Synthetic(1, 1)
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		for i, v := range s.Image(3) {
			img.Pix[i] = uint8(math.Round(float64(v) * 255))
		}
		got := PrepareImage(img)
		for i, v := range got {
			if d := math.Abs(float64(v) - float64(img.Pix[i])/255); d > 1e-6 {
				t.Fatalf("pixel %d: %g, want %g", i, v, float64(img.Pix[i])/255)
			}
		}
	})
	t.Run("dark ink on paper is inverted and shrunk", func(t *testing.T) {
		// 280x280, a black square at [100,180)^2: after the 10x area shrink it
		// covers [10,18)^2 exactly, white on black.
		got := PrepareImage(canvas(280, 280, 255, 0, image.Rect(100, 100, 180, 180)))
		if at(got, 14, 14) != 1 || at(got, 0, 0) != 0 || at(got, 9, 14) != 0 || at(got, 17, 17) != 1 {
			t.Errorf("centre %g corner %g edge %g %g", at(got, 14, 14), at(got, 0, 0), at(got, 9, 14), at(got, 17, 17))
		}
	})
	t.Run("non-square is padded, not stretched", func(t *testing.T) {
		// 56 wide, 28 high, black background, a white 14x14 square in the
		// middle (on even pixels): padded to 56x56 then halved, it becomes 7x7, still square.
		got := PrepareImage(canvas(56, 28, 0, 255, image.Rect(20, 6, 34, 20)))
		lit, minX, maxX, minY, maxY := 0, 28, -1, 28, -1
		for y := range 28 {
			for x := range 28 {
				if at(got, x, y) > 0.5 {
					lit++
					minX, maxX, minY, maxY = min(minX, x), max(maxX, x), min(minY, y), max(maxY, y)
				}
			}
		}
		if lit != 49 || maxX-minX != 6 || maxY-minY != 6 {
			t.Errorf("%d lit pixels in x %d..%d y %d..%d, want a 7x7 square", lit, minX, maxX, minY, maxY)
		}
	})
	t.Run("transparent page counts as white", func(t *testing.T) {
		img := image.NewNRGBA(image.Rect(0, 0, 28, 28)) // all transparent
		for y := 10; y < 18; y++ {
			for x := 10; x < 18; x++ {
				img.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 255}) // opaque black ink
			}
		}
		got := PrepareImage(img)
		if at(got, 12, 12) != 1 || at(got, 2, 2) != 0 {
			t.Errorf("ink %g, page %g; want 1 and 0", at(got, 12, 12), at(got, 2, 2))
		}
	})
	t.Run("enlarging a tiny image", func(t *testing.T) {
		got := PrepareImage(canvas(7, 7, 0, 255, image.Rect(3, 3, 4, 4)))
		if len(got) != 784 || at(got, 14, 14) < 0.5 || at(got, 0, 0) != 0 {
			t.Errorf("centre %g corner %g", at(got, 14, 14), at(got, 0, 0))
		}
	})
	t.Run("empty", func(t *testing.T) {
		if got := PrepareImage(image.NewGray(image.Rect(0, 0, 0, 0))); len(got) != 784 {
			t.Errorf("%d values", len(got))
		}
	})
}

func TestReadImage(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, canvas(40, 30, 250, 5, image.Rect(15, 5, 25, 25))); err != nil {
		t.Fatal(err)
	}
	got, err := ReadImage(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 784 || at(got, 14, 14) < 0.9 || at(got, 1, 1) > 0.1 {
		t.Errorf("centre %g corner %g", at(got, 14, 14), at(got, 1, 1))
	}
	_, err = ReadImage(strings.NewReader("not an image"))
	var fe FormatError
	if !errors.As(err, &fe) {
		t.Errorf("garbage: %v, want a FormatError", err)
	}
}
