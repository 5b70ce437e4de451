package digits

import (
	"flag"
	"image"
	"testing"

	"github.com/onnxdigits/onnxdigits/internal/testutil"
)

var sheetPath = flag.String("sheet", "", "write a contact sheet of synthetic digits to this PNG file")

// TestContactSheet writes a 20x10 grid of synthetic images (column = class)
// enlarged 3x, for looking at: go test ./digits -run ContactSheet -sheet /tmp/synth_sheet.png
func TestContactSheet(t *testing.T) {
	if *sheetPath == "" {
		t.Skip("no -sheet")
	}
	const rows, cols, zoom, gap = 12, 10, 3, 2
	s := Synthetic(rows, 1)
	cell := Width*zoom + gap
	img := image.NewGray(image.Rect(0, 0, cols*cell, rows*cell))
	for i := range s.Len() {
		cx, cy := (i%cols)*cell, (i/cols)*cell
		for y := range Height * zoom {
			for x := range Width * zoom {
				img.Pix[(cy+y)*img.Stride+cx+x] = toByte(s.Image(i)[(y/zoom)*Width+x/zoom])
			}
		}
		// Separator lines stay mid-grey so the black backgrounds are visible.
		for k := range cell {
			img.Pix[(cy+cell-1)*img.Stride+cx+k] = 128
			img.Pix[(cy+k)*img.Stride+cx+cell-1] = 128
		}
	}
	testutil.WritePNG(t, *sheetPath, img)
}
