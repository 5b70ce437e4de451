package digits

import (
	"bytes"
	"fmt"
	"image"
	"io"
	"math"
)

// PrepareImage turns any image into a network input like the training data:
// 28x28 grey values in [0,1], a light digit on a dark background. Steps:
//
//  1. grey: luma (ITU-R BT.601, as image/color.GrayModel), with transparent
//     pixels composited over white (drawings usually have a transparent or
//     white page);
//  2. the background is the mean of the one-pixel border;
//  3. resized, keeping its aspect ratio, into a 28x28 image of that background:
//     the longer side becomes 28 pixels, the shorter one its share of 28
//     rounded to whole pixels (at least 1), centred; area averaging when
//     shrinking, bilinear when enlarging (the resampling ReadFolder uses). The
//     padded square is never built: work and memory follow the image's size;
//  4. inverted (1-v) when the background is light (border mean > 0.5): dark ink
//     on paper becomes a white digit on black, as in MNIST and the synthetic set.
//
// It returns 28*28 values, row-major. An empty image gives all zeros.
func PrepareImage(img image.Image) []float32 {
	return PrepareImageSize(img, Width, Height)
}

// PrepareImageSize is PrepareImage for a network input of outW x outH pixels
// (both >= 1): the image is fitted into it keeping its aspect ratio, and it
// returns outH*outW grey values in [0,1], row-major.
func PrepareImageSize(img image.Image, outW, outH int) []float32 {
	out := make([]float32, outW*outH)
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

	if w == outW && h == outH {
		copy(out, grey)
	} else {
		for i := range out {
			out[i] = bg
		}
		resize(grey, w, h, out, outW, outH, fitRect(w, h, outW, outH))
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

// MaxImageSide bounds the width and the height of an image ReadImage,
// DecodeImage and ReadFolder decode (with MaxImagePixels on their product),
// checked from the header before decoding: a 16,777,216 x 1 image is within
// MaxImagePixels but its resampling tables and rows are not small.
const MaxImageSide = 8192

// checkImageConfig applies the header limits: both sides in 1..MaxImageSide
// and at most MaxImagePixels pixels.
func checkImageConfig(cfg image.Config, format string) error {
	switch {
	case cfg.Width <= 0 || cfg.Height <= 0:
		return UnsupportedError(fmt.Sprintf("%s image size %dx%d", format, cfg.Width, cfg.Height))
	case cfg.Width > MaxImageSide:
		return UnsupportedError(fmt.Sprintf("%s image %dx%d is too wide (at most %d pixels a side)", format, cfg.Width, cfg.Height, MaxImageSide))
	case cfg.Height > MaxImageSide:
		return UnsupportedError(fmt.Sprintf("%s image %dx%d is too tall (at most %d pixels a side)", format, cfg.Width, cfg.Height, MaxImageSide))
	case cfg.Width > MaxImagePixels/cfg.Height:
		return UnsupportedError(fmt.Sprintf("%s image size %dx%d (at most %d pixels)", format, cfg.Width, cfg.Height, MaxImagePixels))
	}
	return nil
}

// ReadImage decodes a PNG or JPEG image from r (at most MaxImageSide pixels a
// side and MaxImagePixels pixels,
// checked from the header, and 64 MiB) and prepares it with PrepareImage.
// Undecodable input is a FormatError, a too large image an UnsupportedError.
func ReadImage(r io.Reader) ([]float32, error) {
	img, err := DecodeImage(r)
	if err != nil {
		return nil, err
	}
	return PrepareImage(img), nil
}

// DecodeImage decodes a PNG or JPEG image from r with ReadImage's limits (at
// most MaxImageSide pixels a side and MaxImagePixels pixels, checked from the header before decoding, and
// 64 MiB of file). Undecodable input is a FormatError, a too large image an
// UnsupportedError.
func DecodeImage(r io.Reader) (image.Image, error) {
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
	if err := checkImageConfig(cfg, format); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, FormatError("image: " + err.Error())
	}
	return img, nil
}

// Resize resamples the grey image src (sw x sh values in [0,1], row-major)
// into all of dst (dw x dh) as PrepareImage does: area averaging where an axis
// shrinks, bilinear where it grows; values are clamped to [0,1]. It panics if
// a slice is shorter than its size.
func Resize(src []float32, sw, sh int, dst []float32, dw, dh int) {
	if len(src) < sw*sh || len(dst) < dw*dh {
		panic(fmt.Sprintf("digits: Resize: %d values for %dx%d, %d for %dx%d", len(src), sw, sh, len(dst), dw, dh))
	}
	resize(src, sw, sh, dst, dw, dh, image.Rect(0, 0, dw, dh))
}

// fitRect is where a w x h image goes in an outW x outH output when scaled to
// fit (by outW/w or outH/h, whichever is smaller) and centred: the sides
// rounded to whole pixels, at least 1.
func fitRect(w, h, outW, outH int) image.Rectangle {
	dw, dh := outW, outH
	if outW*h <= outH*w { // the width limits
		dh = max(1, int(math.Round(float64(h)*float64(outW)/float64(w))))
	} else {
		dw = max(1, int(math.Round(float64(w)*float64(outH)/float64(h))))
	}
	x0, y0 := (outW-dw)/2, (outH-dh)/2
	return image.Rect(x0, y0, x0+dw, y0+dh)
}
