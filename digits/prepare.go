package digits

import (
	"bytes"
	"fmt"
	"image"
	"io"
)

// PrepareImage turns any image into a network input like the training data:
// 28x28 grey values in [0,1], a light digit on a dark background. Steps:
//
//  1. grey: luma (ITU-R BT.601, as image/color.GrayModel), with transparent
//     pixels composited over white (drawings usually have a transparent or
//     white page);
//  2. the background is the mean of the one-pixel border; the image is padded
//     to a square with it (centred), so that resizing does not distort the
//     digit;
//  3. resized to 28x28: area averaging when shrinking, bilinear when enlarging
//     (the resampling ReadFolder uses);
//  4. inverted (1-v) when the background is light (border mean > 0.5): dark ink
//     on paper becomes a white digit on black, as in MNIST and the synthetic set.
//
// It returns 28*28 values, row-major. An empty image gives all zeros.
func PrepareImage(img image.Image) []float32 {
	out := make([]float32, pixels)
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return out
	}
	grey := make([]float32, w*h)
	for y := range h {
		for x := range w {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA() // premultiplied, 16 bit
			// color.GrayModel's weights, then the uncovered (1-a) part is white.
			lum := (19595*r + 38470*g + 7471*bl + 1<<15) >> 16
			grey[y*w+x] = min(float32(lum+(0xffff-a))/0xffff, 1)
		}
	}
	var sum float64
	count := 0
	for x := range w {
		sum += float64(grey[x]) + float64(grey[(h-1)*w+x])
		count += 2
	}
	for y := 1; y < h-1; y++ {
		sum += float64(grey[y*w]) + float64(grey[y*w+w-1])
		count += 2
	}
	bg := float32(sum / float64(count))

	// Pad to a square of side s with the background, centred.
	s := max(w, h)
	sq := grey
	if w != h {
		sq = make([]float32, s*s)
		for i := range sq {
			sq[i] = bg
		}
		ox, oy := (s-w)/2, (s-h)/2
		for y := range h {
			copy(sq[(oy+y)*s+ox:(oy+y)*s+ox+w], grey[y*w:(y+1)*w])
		}
	}
	if s == Width && Width == Height {
		copy(out, sq)
	} else {
		resize(sq, s, s, out, Width, Height)
	}
	if bg > 0.5 {
		for i, v := range out {
			out[i] = 1 - v
		}
	}
	for i, v := range out {
		out[i] = min(max(v, 0), 1)
	}
	return out
}

// ReadImage decodes a PNG or JPEG image from r (at most MaxImagePixels pixels,
// checked from the header, and 64 MiB) and prepares it with PrepareImage.
// Undecodable input is a FormatError, a too large image an UnsupportedError.
func ReadImage(r io.Reader) ([]float32, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImageFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImageFileBytes {
		return nil, UnsupportedError(fmt.Sprintf("image file larger than %d bytes", maxImageFileBytes))
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, FormatError("image: " + err.Error())
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxImagePixels/cfg.Height {
		return nil, UnsupportedError(fmt.Sprintf("%s image size %dx%d (at most %d pixels)", format, cfg.Width, cfg.Height, MaxImagePixels))
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, FormatError("image: " + err.Error())
	}
	return PrepareImage(img), nil
}
