package kernels

import "math"

// PoolWindow is a max or average pooling window over len(Kernel) spatial dims,
// with ONNX semantics: padding never wins a max; an average divides by the
// window's elements inside the input, or inside the padded input with
// CountIncludePad. Every list has one entry per spatial dim.
type PoolWindow struct {
	Average, CountIncludePad   bool
	Kernel, Strides, Dilations []int
	Begin, End                 []int // pads before and after each spatial dim
}

// Pool pools src (N,C,in...) into a new (N,C,out...) array, following the ONNX
// reference implementation: windows that ceil_mode lets run past the padding
// count only what they cover.
func Pool(k *PoolWindow, src []float64, in, out []int) []float64 {
	sd := len(k.Kernel)
	inPlane, outPlane, win := 1, 1, 1
	for i := range sd {
		inPlane *= in[2+i]
		outPlane *= out[2+i]
		win *= k.Kernel[i]
	}
	planes := in[0] * in[1]
	dst := make([]float64, planes*outPlane)
	oi := make([]int, sd)
	ki := make([]int, sd)
	for p := range planes {
		plane := src[p*inPlane : (p+1)*inPlane]
		for o := range outPlane {
			rem := o
			for i := sd - 1; i >= 0; i-- {
				oi[i] = rem % out[2+i]
				rem /= out[2+i]
			}
			best, sum, count := math.Inf(-1), 0.0, 0
			for w := range win {
				rem := w
				for i := sd - 1; i >= 0; i-- {
					ki[i] = rem % k.Kernel[i]
					rem /= k.Kernel[i]
				}
				inside, padded, at := true, true, 0
				for i := range sd {
					pos := oi[i]*k.Strides[i] - k.Begin[i] + ki[i]*k.Dilations[i]
					if pos < 0 || pos >= in[2+i] {
						inside = false
					}
					if pos < -k.Begin[i] || pos >= in[2+i]+k.End[i] {
						padded = false
					}
					at = at*in[2+i] + pos
				}
				if inside {
					v := plane[at]
					best = max(best, v)
					sum += v
					count++
				} else if padded && k.CountIncludePad {
					count++
				}
			}
			v := best
			if k.Average {
				v = 0
				if count > 0 {
					v = sum / float64(count)
				}
			}
			dst[p*outPlane+o] = v
		}
	}
	return dst
}
