package kernels

import (
	"fmt"
)

// ConvGeom is the geometry of a 2-D convolution, group 1.
type ConvGeom struct {
	N, C, H, W int // input (N,C,H,W)
	M, KH, KW  int // weights (M,C,kH,kW)
	OH, OW     int // output (N,M,oH,oW)
	SH, SW     int // strides
	PT, PL     int // top and left padding (the bottom and right follow from oH, oW)
	DH, DW     int // dilations
}

// K is the number of rows of col: C*kH*kW.
func (g *ConvGeom) K() int { return g.C * g.KH * g.KW }

// P is the number of columns of col: oH*oW.
func (g *ConvGeom) P() int { return g.OH * g.OW }

// InSize is the size of one input image: C*H*W.
func (g *ConvGeom) InSize() int { return g.C * g.H * g.W }

// Direct reports whether col equals the input image (1x1 kernel, stride 1, no
// padding), so that Im2col can be skipped.
func (g *ConvGeom) Direct() bool {
	return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 && g.OH == g.H && g.OW == g.W
}

func (g *ConvGeom) String() string {
	return fmt.Sprintf("x(%d,%d,%d,%d) w(%d,%d,%d,%d) s%dx%d p%d,%d d%dx%d", g.N, g.C, g.H, g.W, g.M, g.C, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW)
}

// Im2col writes the patches of one image x (C,H,W) as col (K,P): row
// (c*kH+ky)*kW+kx holds input pixel (c, oy*sH-pT+ky*dH, ox*sW-pL+kx*dW) for
// every output position p = oy*oW+ox, zero outside the image.
func Im2col[T Float](g *ConvGeom, x, col []T) {
	P := g.P()
	r := 0
	for c := range g.C {
		plane := x[c*g.H*g.W:][:g.H*g.W]
		for ky := range g.KH {
			// valid oy: 0 <= oy*sH + iy0 < H
			iy0 := ky*g.DH - g.PT
			y0, y1 := validRange(iy0, g.SH, g.H, g.OH)
			for kx := range g.KW {
				row := col[r*P:][:P]
				r++
				ix0 := kx*g.DW - g.PL
				// valid ox: 0 <= ox*sW + ix0 < W
				lo, hi := validRange(ix0, g.SW, g.W, g.OW)
				if lo >= hi || y0 >= y1 {
					clear(row)
					continue
				}
				clear(row[:y0*g.OW])
				clear(row[y1*g.OW:])
				if g.SW == 1 && lo == 0 && hi == g.OW {
					// Whole output rows come from one run of the input row each.
					CopyRows(row[y0*g.OW:], plane[(y0*g.SH+iy0)*g.W+ix0:], g.OW, y1-y0, g.OW, g.SH*g.W)
					continue
				}
				for oy := y0; oy < y1; oy++ {
					seg := row[oy*g.OW:][:g.OW]
					src := plane[(oy*g.SH+iy0)*g.W:][:g.W]
					clear(seg[:lo])
					if g.SW == 1 {
						copy(seg[lo:hi], src[ix0+lo:ix0+hi])
					} else {
						for ox := lo; ox < hi; ox++ {
							seg[ox] = src[ox*g.SW+ix0]
						}
					}
					clear(seg[hi:])
				}
			}
		}
	}
}

// CopyRows copies rows runs of n values, from src with stride srcStride to dst
// with stride dstStride.
func CopyRows[T Float](dst, src []T, n, rows, dstStride, srcStride int) {
	if rows == 0 || n == 0 {
		return
	}
	_ = dst[(rows-1)*dstStride+n-1]
	_ = src[(rows-1)*srcStride+n-1]
	if d32, ok := any(dst).([]float32); ok && avx512 {
		copyRows32(&d32[0], &any(src).([]float32)[0], n, rows, dstStride, srcStride)
		return
	}
	for r := range rows {
		copy(dst[r*dstStride:][:n], src[r*srcStride:][:n])
	}
}

// Col2im adds col (K,P) back into the image dx (C,H,W): the adjoint of Im2col.
func Col2im[T Float](g *ConvGeom, col, dx []T) {
	P := g.P()
	r := 0
	for c := range g.C {
		plane := dx[c*g.H*g.W:][:g.H*g.W]
		for ky := range g.KH {
			for kx := range g.KW {
				row := col[r*P:][:P]
				r++
				ix0 := kx*g.DW - g.PL
				lo, hi := validRange(ix0, g.SW, g.W, g.OW)
				if lo >= hi {
					continue
				}
				for oy := range g.OH {
					iy := oy*g.SH - g.PT + ky*g.DH
					if iy < 0 || iy >= g.H {
						continue
					}
					seg := row[oy*g.OW:][:g.OW]
					dst := plane[iy*g.W:][:g.W]
					if g.SW == 1 {
						d := dst[ix0+lo : ix0+hi]
						for j, v := range seg[lo:hi] {
							d[j] += v
						}
					} else {
						for ox := lo; ox < hi; ox++ {
							dst[ox*g.SW+ix0] += seg[ox]
						}
					}
				}
			}
		}
	}
}

// validRange returns the outputs [lo,hi) of [0,n) with 0 <= o*stride+off < size.
func validRange(off, stride, size, n int) (lo, hi int) {
	lo = 0
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	hi = n
	if last := size - 1 - off; last < 0 {
		hi = 0
	} else {
		hi = min(n, last/stride+1)
	}
	return min(lo, hi), hi
}

// ConvGradW sets dw (M, C*kH*kW) to the weight gradient of images [lo,hi):
// the sum over i of dy_i (M, oH*oW) times col_iᵀ, col_i = Im2col(x_i). x is
// (N,C,H,W) and dy (N,M,oH,oW). col(n) returns n values of scratch for col_i
// (not called when g.Direct()); part(n) returns n float32 of scratch for the
// AVX-512 path's unreduced sums.
func ConvGradW[T Float](g *ConvGeom, x, dy []T, lo, hi int, dw []T, col func(n int) []T, part func(n int) []float32) {
	K, P := g.K(), g.P()
	if dy32, ok := any(dy).([]float32); ok && avx512 {
		// Sum over the images in vector registers, one horizontal reduction
		// per tile at the end.
		sums := part(((g.M + 3) / 4) * ((K + 4) / 5) * ntTile)
		for i := lo; i < hi; i++ {
			xi := any(x[i*g.InSize():][:g.InSize()]).([]float32)
			c := xi
			if !g.Direct() {
				c = any(col(K * P)).([]float32)
				Im2col(g, xi, c)
			}
			gemmNTPart(g.M, K, P, dy32[i*g.M*P:], P, c, P, sums, i == lo)
		}
		ntReduce(g.M, K, sums, any(dw).([]float32), K, false)
		return
	}
	clear(dw)
	for i := lo; i < hi; i++ {
		xi := x[i*g.InSize():][:g.InSize()]
		c := xi
		if !g.Direct() {
			c = col(K * P)
			Im2col(g, xi, c)
		}
		GemmNT(g.M, K, P, dy[i*g.M*P:], P, c, P, dw, K, true)
	}
}
