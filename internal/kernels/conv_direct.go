package kernels

// The forward convolution of one image, with the algorithm chosen per shape
// in one place (ConvGeom.Algo):
//
//   - Conv1x1: a 1x1 kernel with stride 1 and no padding is one GemmNN on the
//     image itself.
//   - ConvShifted: with stride 1, the column matrix of im2col is never built.
//     In a copy of the image padded to Hp x Wp (Wp = oW + (kW-1)·dW, Hp
//     likewise), the column row (c, ky, kx) over the "wide" output grid
//     oy*Wp+ox (ox < Wp, the last Wp-oW columns of a row are thrown away) is
//     the contiguous run of the padded plane c starting at ky·dH·Wp + kx·dW.
//     So for each (c, ky) the kW rows are B of a GemmNN with row stride dW,
//     and C·kH such products accumulate into the output. When the conv has no
//     padding and Wp equals the input width, the image is its own padded
//     copy and nothing is copied at all.
//   - ConvImplicit: with stride 1 on an assembly path, the same padded image
//     and wide output, but one GemmNNRows whose B rows are those runs of the
//     padded image: the GEMM of im2col with the same kernels, packing and
//     order of sums, so each output is bit-identical to ConvIm2col's, without
//     the column matrix and without ConvShifted's C·kH passes over the output.
//   - ConvIm2col: Im2col into scratch, then one GemmNN (any stride).
//
// ConvNaive, the direct definition summed in float64, is the reference every
// algorithm is tested against (TestConvImage, on every path).

// ConvAlgo is a forward convolution algorithm.
type ConvAlgo uint8

const (
	ConvIm2col   ConvAlgo = iota // Im2col, then one GemmNN
	Conv1x1                      // one GemmNN on the image (g.Direct())
	ConvShifted                  // C·kH GemmNNs on shifted rows of the padded image
	ConvImplicit                 // one GemmNNRows on rows of the padded image
)

func (a ConvAlgo) String() string {
	switch a {
	case Conv1x1:
		return "1x1"
	case ConvShifted:
		return "shifted"
	case ConvImplicit:
		return "implicit"
	default:
		return "im2col"
	}
}

// Measured per image on AVX-512 (BenchmarkConvImage; us for im2col /
// shifted / implicit): the PyTorch LeNet's first layer (1 channel, 6
// filters, 5x5 pad 2, 28x28) 9.6 / 3.8 / 3.4, its second (6 channels, 16
// filters, 5x5 on 14x14) 10.5 / 12.7 / 8.4, the paper's layer (1 channel, 20
// filters, 5x5 on 28x28) 6.8 / 10.2 / 7.6, 3 channels 3x3 pad 1 with 16
// filters on 28x28 about even for im2col and shifted.

// maxSmallFilters bounds M for ConvShifted and ConvImplicit. With few filters
// each column value of im2col feeds only M multiply-adds, so building the
// column matrix costs as much as the product; with more, the product
// dominates and im2col's columns, exactly oH*oW wide where the wide output
// has (kW-1)·dW extra per row, win (the paper's 20 filters). Its layer thus
// stays on im2col + GemmNN, as before.
const maxSmallFilters = 16

// maxShiftedProducts bounds C·kH for ConvShifted (on the portable path): each
// of its products reads and writes the whole output once, so beyond a few
// the passes cost more than im2col saves (the LeNet's second layer: 30).
const maxShiftedProducts = 8

// maxImplicitK bounds C·kH·kW for ConvImplicit (its row table is on the
// stack).
const maxImplicitK = 1024

// Algo returns the algorithm ConvImage runs for g: 1x1 convs as one product;
// stride 1 with at most maxSmallFilters filters and a wide output at most
// twice the output implicit on the assembly paths, shifted on the portable
// path when C·kH is small; everything else im2col.
func (g *ConvGeom) Algo() ConvAlgo {
	small := g.SH == 1 && g.SW == 1 && g.M <= maxSmallFilters && g.KW*g.KH > 1 && g.shiftedWidth() <= 2*g.OW
	switch {
	case g.Direct():
		return Conv1x1
	case small && vector() && g.K() <= maxImplicitK:
		return ConvImplicit
	case small && g.C*g.KH <= maxShiftedProducts:
		return ConvShifted
	default:
		return ConvIm2col
	}
}

// shiftedWidth is Wp, the row length of ConvShifted's padded image.
func (g *ConvGeom) shiftedWidth() int { return g.OW + (g.KW-1)*g.DW }

// ConvScratch is the number of scratch values ConvImage needs per image.
func (g *ConvGeom) ConvScratch() int {
	switch g.Algo() {
	case Conv1x1:
		return 0
	case ConvShifted, ConvImplicit:
		return g.shiftedScratch()
	default:
		return g.K() * g.P()
	}
}

// ConvImage sets y (M, oH*oW) to the convolution of one image x (C,H,W) with
// w (M, C*kH*kW), plus bias[m] on row m when bias is non-nil, clamped at zero
// when relu is set, by g.Algo(). scratch holds at least g.ConvScratch()
// values; its contents are overwritten. packed is nil or PackConvWeights(g,
// w): the weights packed once for all images of a batch.
func ConvImage[T Float](g *ConvGeom, x, w, bias, y []T, relu bool, scratch []T, packed []float32) {
	switch g.Algo() {
	case Conv1x1:
		GemmNN(g.M, g.P(), g.K(), w, g.K(), x, g.P(), y, g.P(), false, bias, relu)
	case ConvShifted:
		convShifted(g, x, w, bias, y, relu, scratch)
	case ConvImplicit:
		convImplicit(g, x, w, bias, y, relu, scratch, packed, false)
	default:
		convIm2col(g, x, w, bias, y, relu, scratch)
	}
}

func convIm2col[T Float](g *ConvGeom, x, w, bias, y []T, relu bool, scratch []T) {
	K, P := g.K(), g.P()
	col := scratch[:K*P]
	Im2col(g, x, col)
	GemmNN(g.M, P, K, w, K, col, P, y, P, false, bias, relu)
}

// shiftedGeom returns ConvShifted's padded height and width and whether x
// must be copied into a padded image (else it is read in place).
func (g *ConvGeom) shiftedGeom() (hp, wp int, copyX bool) {
	hp, wp = g.OH+(g.KH-1)*g.DH, g.shiftedWidth()
	return hp, wp, g.PT != 0 || g.PL != 0 || wp != g.W || hp > g.H
}

// paddedSource returns the image the shifted and implicit forms read: x
// itself (planes of H*W values) when its rows already are the padded rows,
// else x padded into the front of scratch (planes of hp*wp), with the rest of
// scratch; wp is the padded row length.
func paddedSource[T Float](g *ConvGeom, x, scratch []T) (src []T, plane, wp int, rest []T) {
	hp, wp, copyX := g.shiftedGeom()
	if !copyX {
		return x, g.H * g.W, wp, scratch
	}
	plane = hp * wp
	src = scratch[:g.C*plane]
	padImage(g, x, src, hp, wp)
	return src, plane, wp, scratch[g.C*plane:]
}

func (g *ConvGeom) shiftedScratch() int {
	hp, wp, copyX := g.shiftedGeom()
	n := 0
	if copyX {
		n += g.C * hp * wp
	}
	if wp != g.OW {
		n += g.M * g.OH * wp
	}
	return n
}

func convShifted[T Float](g *ConvGeom, x, w, bias, y []T, relu bool, scratch []T) {
	src, plane, wp, scratch := paddedSource(g, x, scratch)
	out, ldc := y, g.P() // wide rows are the output rows when wp == oW
	if wp != g.OW {
		ldc = g.OH * wp
		out = scratch[:g.M*ldc]
	}
	n := (g.OH-1)*wp + g.OW // the last wide row stops at the last output column
	K := g.K()
	for c := range g.C {
		for ky := range g.KH {
			first, last := c == 0 && ky == 0, c == g.C-1 && ky == g.KH-1
			var b []T
			if first {
				b = bias
			}
			GemmNN(g.M, n, g.KW, w[(c*g.KH+ky)*g.KW:], K, src[c*plane+ky*g.DH*wp:], g.DW, out, ldc, !first, b, relu && last)
		}
	}
	if wp != g.OW {
		CopyRows(y, out, g.OW, g.M*g.OH, g.OW, wp)
	}
}

// PackConvWeights returns w packed as the panels of ConvImage's product, in
// dst when it is large enough, when g.Algo() is ConvImplicit on float32;
// else nil. A batch packs its weights once instead of once per image (at
// batch 256 the packing was a fifth of the LeNet's time).
func PackConvWeights[T Float](g *ConvGeom, w []T, dst []float32) []float32 {
	w32, ok := any(w).([]float32)
	if !ok || g.Algo() != ConvImplicit {
		return nil
	}
	if cap(dst) < g.M*g.K() {
		dst = make([]float32, g.M*g.K())
	}
	dst = dst[:g.M*g.K()]
	packA(!avx512, g.M, g.K(), w32, g.K(), dst)
	return dst
}

// ConvImagePool2 is ConvImage followed by the 2x2 stride-2 max pool (floor
// mode, no padding) of every output plane: y is (M, oH/2, oW/2), the max
// exactly as Pool2D takes it. ConvImplicit pools its wide output directly
// instead of compacting it first. scratch holds at least
// g.ConvPoolScratch() values.
func ConvImagePool2[T Float](g *ConvGeom, x, w, bias, y []T, relu bool, scratch []T, packed []float32) {
	if g.Algo() == ConvImplicit {
		convImplicit(g, x, w, bias, y, relu, scratch, packed, true)
		return
	}
	full := scratch[:g.M*g.P()]
	ConvImage(g, x, w, bias, full, relu, scratch[g.M*g.P():], packed)
	maxPool2Planes(full, y, g.M, g.OH, g.OW, g.OW, g.P())
}

// ConvPoolScratch is the number of scratch values ConvImagePool2 needs.
func (g *ConvGeom) ConvPoolScratch() int {
	if g.Algo() == ConvImplicit {
		n := g.shiftedScratch()
		if g.shiftedWidth() == g.OW {
			n += g.M * g.OH * g.OW // the output before pooling
		}
		return n
	}
	return g.ConvScratch() + g.M*g.P()
}

// maxPool2Planes sets y (planes, h/2, w/2) to the 2x2 stride-2 max pool of
// planes of x, each h rows of w values ldr apart, planes ldp apart.
func maxPool2Planes[T Float](x, y []T, planes, h, w, ldr, ldp int) {
	oh, ow := h/2, w/2
	if oh == 0 || ow == 0 {
		return
	}
	for p := range planes {
		xp, yp := x[p*ldp:], y[p*oh*ow:][:oh*ow]
		if x32, ok := any(xp).([]float32); ok && vector() && maxPool2Vector(x32, any(yp).([]float32), ow, oh, ldr) {
			continue
		}
		for oy := range oh {
			r0, r1 := xp[2*oy*ldr:], xp[(2*oy+1)*ldr:]
			for ox := range ow {
				yp[oy*ow+ox] = max(r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1])
			}
		}
	}
}

// convImplicit is ConvImplicit; with pool set it is ConvImagePool2's.
func convImplicit[T Float](g *ConvGeom, x, w, bias, y []T, relu bool, scratch []T, packed []float32, pool bool) {
	src, plane, wp, scratch := paddedSource(g, x, scratch)
	out, ldc := y, g.P()
	if wp != g.OW || pool {
		ldc = g.OH * wp
		out = scratch[:g.M*ldc]
	}
	var table [maxImplicitK]int
	rows := table[:0]
	for c := range g.C {
		for ky := range g.KH {
			for kx := range g.KW {
				rows = append(rows, c*plane+ky*g.DH*wp+kx*g.DW)
			}
		}
	}
	n := (g.OH-1)*wp + g.OW
	if w32, ok := any(w).([]float32); ok && packed != nil && g.M > 0 && n > 0 {
		gemmNNRows32(!avx512, g.M, n, g.K(), w32, g.K(), any(src).([]float32), rows, packed,
			any(out).([]float32), ldc, false, any(bias).([]float32), relu)
	} else {
		GemmNNRows(g.M, n, g.K(), w, g.K(), src, rows, out, ldc, false, bias, relu)
	}
	switch {
	case pool:
		maxPool2Planes(out, y, g.M, g.OH, g.OW, wp, ldc)
	case wp != g.OW:
		CopyRows(y, out, g.OW, g.M*g.OH, g.OW, wp)
	}
}

// padImage writes x (C,H,W) into xp (C,hp,wp) at offset (pT,pL), zero around.
func padImage[T Float](g *ConvGeom, x, xp []T, hp, wp int) {
	rows := min(g.H, hp-g.PT)
	cols := min(g.W, wp-g.PL)
	for c := range g.C {
		p := xp[c*hp*wp:][:hp*wp]
		if rows <= 0 || cols <= 0 {
			clear(p)
			continue
		}
		clear(p[:g.PT*wp+g.PL])
		for r := range rows {
			lo := (g.PT+r)*wp + g.PL
			copy(p[lo:lo+cols], x[(c*g.H+r)*g.W:][:cols])
			end := (g.PT + r + 1) * wp
			if r+1 < rows {
				end += g.PL
			}
			clear(p[lo+cols : min(end, hp*wp)])
		}
		clear(p[min((g.PT+rows)*wp, hp*wp):])
	}
}

// ConvNaive is ConvImage's reference: y (M,oH*oW) of one image by the
// definition, every term checked against the input bounds and summed in
// float64.
func ConvNaive[T Float](g *ConvGeom, x, w, bias, y []T, relu bool) {
	for m := range g.M {
		for oy := range g.OH {
			for ox := range g.OW {
				s := 0.0
				if bias != nil {
					s = float64(bias[m])
				}
				for c := range g.C {
					for ky := range g.KH {
						iy := oy*g.SH - g.PT + ky*g.DH
						if iy < 0 || iy >= g.H {
							continue
						}
						for kx := range g.KW {
							ix := ox*g.SW - g.PL + kx*g.DW
							if ix < 0 || ix >= g.W {
								continue
							}
							s += float64(w[((m*g.C+c)*g.KH+ky)*g.KW+kx]) * float64(x[(c*g.H+iy)*g.W+ix])
						}
					}
				}
				if relu && s < 0 {
					s = 0
				}
				y[(m*g.OH+oy)*g.OW+ox] = T(s)
			}
		}
	}
}
