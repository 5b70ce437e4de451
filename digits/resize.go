package digits

import (
	"image"

	"golang.org/x/image/draw"
)

// resize resamples src (sw x sh grey values in [0,1], row-major) into the
// rectangle r of dst (dw x dh, row-major), leaving dst outside r as it is.
// Each axis is resampled on its own with golang.org/x/image/draw: by area
// averaging where it shrinks (areaKernel) and bilinear interpolation with
// pixel centres aligned (draw.BiLinear) where it grows. Values go through
// 16-bit grey, a rounding of at most 2^-17, far below the 8-bit inputs' step;
// a source whose values are all 8-bit steps (an 8-bit grey image) goes in as
// an *image.Gray, which x/image/draw reads about 7 times faster.
func resize(src []float32, sw, sh int, dst []float32, dw, dh int, r image.Rectangle) {
	r = r.Intersect(image.Rect(0, 0, dw, dh))
	if r.Empty() || sw <= 0 || sh <= 0 {
		return
	}
	s := greyImage(src, sw, sh)
	// Along x (the other axis at scale 1, which every kernel here copies),
	// then along y into r.
	tmp := image.NewGray16(image.Rect(0, 0, r.Dx(), sh))
	axisKernel(sw, r.Dx()).Scale(tmp, tmp.Bounds(), s, s.Bounds(), draw.Src, nil)
	d := toGray16(dst, dw, dh)
	axisKernel(sh, r.Dy()).Scale(d, r, tmp, tmp.Bounds(), draw.Src, nil)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			dst[y*dw+x] = float32(d.Gray16At(x, y).Y) / 0xffff
		}
	}
}

// axisKernel picks the kernel for an axis of n source pixels resampled to m.
func axisKernel(n, m int) *draw.Kernel {
	if n > m {
		return areaKernel(float64(n) / float64(m))
	}
	return draw.BiLinear
}

// areaKernel averages areas when an axis shrinks by scale > 1. x/image/draw
// widens a kernel by the scale, calling At with t = |distance of the pixel
// centres| / scale, and normalizes the weights; a source pixel overlaps the
// output pixel's footprint (scale source pixels wide) by
// clamp((0.5-t)*scale + 0.5, 0, 1), and the support ends where that reaches 0.
// A 2x shrink averages exactly 2x2 pixels, a 1.4x one weighs the partly
// covered pixels by their share.
func areaKernel(scale float64) *draw.Kernel {
	return &draw.Kernel{Support: 0.5 + 0.5/scale, At: func(t float64) float64 {
		return min(1, max(0, (0.5-t)*scale+0.5))
	}}
}

// greyImage is v (w x h values in [0,1]) as an *image.Gray when every value
// is within 1e-3 of a step of 1/255 (8-bit input: exact but for float32
// rounding), else as toGray16 makes it.
func greyImage(v []float32, w, h int) image.Image {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, x := range v[:w*h] {
		u := x * 255
		if !(u >= 0 && u <= 255) { // NaN too
			return toGray16(v, w, h)
		}
		k := uint8(u + 0.5)
		if d := u - float32(k); d > 1e-3 || d < -1e-3 {
			return toGray16(v, w, h)
		}
		img.Pix[i] = k
	}
	return img
}

// toGray16 converts w x h values in [0,1] (clamped) to a 16-bit grey image.
func toGray16(v []float32, w, h int) *image.Gray16 {
	img := image.NewGray16(image.Rect(0, 0, w, h))
	for i, x := range v[:w*h] {
		u := uint16(min(max(x, 0), 1)*0xffff + 0.5)
		img.Pix[2*i], img.Pix[2*i+1] = byte(u>>8), byte(u)
	}
	return img
}
