package digits

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"runtime"
	"testing"
)

// maxImageAlloc bounds what one ReadImage may allocate in all: the file (at
// most 64 MiB), the decoded image (at most MaxImagePixels pixels of 8 bytes
// in 16-bit RGBA: 128 MiB) and the grey copy (64 MiB), with slack.
const maxImageAlloc = 320 << 20

// FuzzReadImage is predict's image path (decode, header limits, prepare):
// it never panics, errors are typed, what it returns is 28x28 values in [0,1],
// and one call allocates at most maxImageAlloc bytes however the header lies.
func FuzzReadImage(f *testing.F) {
	for _, name := range []string{"folder/5/train0.png", "folder/4/train2.jpg", "badsize/7/wide.png"} {
		f.Add(readTestdata(f, name))
	}
	// Tiny files that claim huge sizes (the 16,777,216 x 1 and
	// 8,192 x 8), encoded here rather than kept in testdata.
	for _, wh := range [][2]int{{16777216, 1}, {8192, 8}, {1, 3}} {
		var buf bytes.Buffer
		if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, wh[0], wh[1]))); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		x, err := ReadImage(bytes.NewReader(data))
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > maxImageAlloc {
			t.Fatalf("allocated %d MB for a %d-byte file", n>>20, len(data))
		}
		if err != nil {
			var fe FormatError
			var ue UnsupportedError
			if !errors.As(err, &fe) && !errors.As(err, &ue) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(x) != Width*Height {
			t.Fatalf("%d values", len(x))
		}
		for p, v := range x {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("pixel %d is %v", p, v)
			}
		}
	})
}
