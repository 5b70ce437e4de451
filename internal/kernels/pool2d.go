package kernels

import (
	"math"
	"runtime"
	"sync"
)

// PoolGeom describes 2-D max or average pooling of x (N,C,H,W) into y
// (N,C,OH,OW), as ONNX MaxPool and AveragePool define it
// (https://onnx.ai/onnx/operators/onnx__MaxPool.html): output (oy,ox) reads
// the window rows oy*SH-PT+ky*DH and columns ox*SW-PL+kx*DW for ky < KH,
// kx < KW. OH and OW are the caller's (floor or ceil mode); a window that
// ceil mode lets run past the input reads only what it covers.
type PoolGeom struct {
	N, C, H, W, OH, OW int
	KH, KW             int // window
	SH, SW             int // strides (>= 1)
	DH, DW             int // dilations (>= 1)
	PT, PL, PB, PR     int // pads: top, left, bottom, right
	// Average selects average pooling (else max). The average divides by the
	// window positions inside the input, or with CountIncludePad inside the
	// padded input.
	Average, CountIncludePad bool
}

// Pool2D pools x (N,C,H,W) into y (N,C,OH,OW) on GOMAXPROCS goroutines
// (planes split between them). Padding never wins a max; a window with no
// position inside the input gives -Inf (max) or 0 (average, nothing counted).
// Pool2DNaive is the reference it is tested against.
func Pool2D(g *PoolGeom, x, y []float32) {
	planes := g.N * g.C
	inPlane, outPlane := g.H*g.W, g.OH*g.OW
	_ = x[planes*inPlane-1]
	_ = y[planes*outPlane-1]
	work := planes * outPlane * g.KH * g.KW
	workers := min(runtime.GOMAXPROCS(0), planes, max(work/(1<<15), 1))
	do := func(p0, p1 int) {
		for p := p0; p < p1; p++ {
			pool2DPlane(g, x[p*inPlane:(p+1)*inPlane], y[p*outPlane:(p+1)*outPlane])
		}
	}
	if workers <= 1 {
		do(0, planes)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { do(planes*w/workers, planes*(w+1)/workers) })
	}
	wg.Wait()
}

// window returns the window indices k in [lo,hi) whose position
// start+k*d lies in [0,size), for a window of n positions.
func window(start, d, n, size int) (lo, hi int) {
	lo, hi = 0, n
	if start < 0 {
		lo = (-start + d - 1) / d
	}
	if last := start + (n-1)*d; last >= size {
		hi = n - (last-size)/d - 1
	}
	return lo, max(hi, lo)
}

// padCount is how many window positions start+k*d (k < n) lie in the padded
// range [-pb, size+pe).
func padCount(start, d, n, size, pb, pe int) int {
	lo, hi := window(start+pb, d, n, size+pb+pe)
	return hi - lo
}

func pool2DPlane(g *PoolGeom, x, y []float32) {
	W := g.W
	if !g.Average && g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.DH == 1 && g.DW == 1 &&
		g.PT == 0 && g.PL == 0 && 2*g.OH <= g.H && 2*g.OW <= g.W {
		// The common 2x2 stride-2 max pool without padding: every window is
		// inside the input.
		maxPool2Planes(x, y, 1, 2*g.OH, 2*g.OW, W, 0)
		return
	}
	for oy := range g.OH {
		ys := oy*g.SH - g.PT
		kyLo, kyHi := window(ys, g.DH, g.KH, g.H)
		row := y[oy*g.OW : (oy+1)*g.OW]
		rowPad := 0
		if g.Average && g.CountIncludePad {
			rowPad = padCount(ys, g.DH, g.KH, g.H, g.PT, g.PB)
		}
		for ox := range row {
			xs := ox*g.SW - g.PL
			kxLo, kxHi := window(xs, g.DW, g.KW, g.W)
			if !g.Average {
				best := float32(math.Inf(-1))
				for ky := kyLo; ky < kyHi; ky++ {
					r := x[(ys+ky*g.DH)*W:]
					if g.DW == 1 {
						for _, v := range r[xs+kxLo : xs+kxHi] {
							best = max(best, v)
						}
						continue
					}
					for kx := kxLo; kx < kxHi; kx++ {
						best = max(best, r[xs+kx*g.DW])
					}
				}
				row[ox] = best
				continue
			}
			var sum float32
			for ky := kyLo; ky < kyHi; ky++ {
				r := x[(ys+ky*g.DH)*W:]
				for kx := kxLo; kx < kxHi; kx++ {
					sum += r[xs+kx*g.DW]
				}
			}
			count := (kyHi - kyLo) * (kxHi - kxLo)
			if g.CountIncludePad {
				count = rowPad * padCount(xs, g.DW, g.KW, g.W, g.PL, g.PR)
			}
			row[ox] = 0
			if count > 0 {
				row[ox] = sum / float32(count)
			}
		}
	}
}

// maxPool2Vector is the 2x2 stride-2 max pool of the plane x (rows of w) into
// y (oh, ow) on the assembly path (pool_amd64.s). It reports false when an
// input was NaN, where the result is not Go's max: the caller pools the plane
// again.
func maxPool2Vector(x, y []float32, ow, oh, w int) bool {
	_ = x[(2*oh-1)*w+2*ow-1]
	_ = y[oh*ow-1]
	if avx512 {
		return maxPool2Plane32(&x[0], &y[0], ow, oh, w) == 0
	}
	if maxPool2Plane32AVX2(&x[0], &y[0], ow, oh, w) != 0 {
		return false
	}
	for oy := range oh { // the last ow%8 outputs of each row
		r0, r1, row := x[2*oy*w:], x[(2*oy+1)*w:], y[oy*ow:(oy+1)*ow]
		for ox := ow &^ 7; ox < ow; ox++ {
			row[ox] = max(r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1])
			if row[ox] != row[ox] {
				return false
			}
		}
	}
	return true
}

// Pool2DNaive is Pool2D's reference: every window position checked one by one
// against the input and the padded input, following the ONNX reference
// implementation, summing in float64.
func Pool2DNaive(g *PoolGeom, x, y []float32) {
	for p := range g.N * g.C {
		for oy := range g.OH {
			for ox := range g.OW {
				best, sum, count := math.Inf(-1), 0.0, 0
				for ky := range g.KH {
					for kx := range g.KW {
						iy, ix := oy*g.SH-g.PT+ky*g.DH, ox*g.SW-g.PL+kx*g.DW
						inside := iy >= 0 && iy < g.H && ix >= 0 && ix < g.W
						padded := iy >= -g.PT && iy < g.H+g.PB && ix >= -g.PL && ix < g.W+g.PR
						switch {
						case inside:
							v := float64(x[(p*g.H+iy)*g.W+ix])
							best = max(best, v)
							sum += v
							count++
						case padded && g.CountIncludePad:
							count++
						}
					}
				}
				v := best
				if g.Average {
					v = 0
					if count > 0 {
						v = sum / float64(count)
					}
				}
				y[(p*g.OH+oy)*g.OW+ox] = float32(v)
			}
		}
	}
}
