package backend

import (
	"math"
	"slices"

	"github.com/onnxdigits/onnxdigits/graph"
)

// Plain forward kernels of the ops other producers' models use (adapter.go, applyFn). Each
// is the straightforward loop over row-major data; speed comes later.

// strides returns the row-major strides of shape.
func strides(shape []int) []int {
	s := make([]int, len(shape))
	k := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = k
		k *= shape[i]
	}
	return s
}

// forEach calls fn(i, idx) for every element i of shape with its multi-index.
func forEach(shape []int, fn func(i int, idx []int)) {
	n := shapeSize(shape)
	idx := make([]int, len(shape))
	for i := range n {
		fn(i, idx)
		for d := len(shape) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
}

// bcastStrides returns strides of shape s aligned to the last len(out) dims of
// out, 0 where s is broadcast (missing or 1 against a larger dim).
func bcastStrides(s, out []int) []int {
	st := strides(s)
	r := make([]int, len(out))
	for i := range out {
		j := i - (len(out) - len(s))
		if j >= 0 && s[j] != 1 {
			r[i] = st[j]
		}
	}
	return r
}

func dot(a, b []int) int {
	s := 0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func unaryKernel[T float](u *graph.Unary) kernel[T] {
	var f func(float64) float64
	switch u.Kind {
	case "Sigmoid":
		f = func(x float64) float64 {
			if x >= 0 {
				return 1 / (1 + math.Exp(-x))
			}
			e := math.Exp(x)
			return e / (1 + e)
		}
	case "Tanh":
		f = math.Tanh
	case "Exp":
		f = math.Exp
	case "Log":
		f = math.Log
	case "Sqrt":
		f = math.Sqrt
	case "Neg":
		f = func(x float64) float64 { return -x }
	case "Abs":
		f = math.Abs
	case "LeakyRelu":
		f = func(x float64) float64 {
			if x < 0 {
				return u.Alpha * x
			}
			return x
		}
	case "Elu":
		f = func(x float64) float64 {
			if x < 0 {
				return u.Alpha * (math.Exp(x) - 1)
			}
			return x
		}
	case "Clip":
		f = func(x float64) float64 { return math.Min(math.Max(x, u.Min), u.Max) }
	}
	return func(in [][]T, _ [][]int, out []T) {
		for i, v := range in[0] {
			out[i] = T(f(float64(v)))
		}
	}
}

// binaryKernel is Max, Min or Pow with numpy broadcasting to out.
func binaryKernel[T float](kind string, out []int) kernel[T] {
	return func(in [][]T, shapes [][]int, res []T) {
		sa, sb := bcastStrides(shapes[0], out), bcastStrides(shapes[1], out)
		forEach(out, func(i int, idx []int) {
			a, b := float64(in[0][dot(idx, sa)]), float64(in[1][dot(idx, sb)])
			var v float64
			switch kind {
			case "Max":
				v = math.Max(a, b)
			case "Min":
				v = math.Min(a, b)
			case "Pow":
				v = math.Pow(a, b)
			}
			res[i] = T(v)
		})
	}
}

func padKernel[T float](p *graph.Pad, out []int) kernel[T] {
	return func(in [][]T, shapes [][]int, res []T) {
		x, st := shapes[0], strides(shapes[0])
		r := len(x)
		forEach(out, func(i int, idx []int) {
			off := 0
			for d := range r {
				j := idx[d] - p.Pads[d]
				if j < 0 || j >= x[d] {
					switch p.Mode {
					case "constant":
						res[i] = T(p.Value)
						return
					case "reflect":
						if j < 0 {
							j = -j
						} else {
							j = 2*(x[d]-1) - j
						}
					case "edge":
						j = min(max(j, 0), x[d]-1)
					}
				}
				off += j * st[d]
			}
			res[i] = in[0][off]
		})
	}
}

func concatKernel[T float](axis int) kernel[T] {
	return func(in [][]T, shapes [][]int, res []T) {
		outer := shapeSize(shapes[0][:axis])
		at := 0
		for o := range outer {
			for k, s := range shapes {
				block := shapeSize(s[axis:])
				at += copy(res[at:], in[k][o*block:(o+1)*block])
			}
		}
	}
}

func sliceKernel[T float](s *graph.Slice, axis int) kernel[T] {
	return func(in [][]T, shapes [][]int, res []T) {
		x := shapes[0]
		outer := shapeSize(x[:axis])
		inner := shapeSize(x[axis+1:])
		at := 0
		for o := range outer {
			base := o * x[axis] * inner
			at += copy(res[at:], in[0][base+s.Start*inner:base+s.End*inner])
		}
	}
}

// expandKernel broadcasts the input to out (Expand).
func expandKernel[T float](out []int) kernel[T] {
	return func(in [][]T, shapes [][]int, res []T) {
		sa := bcastStrides(shapes[0], out)
		forEach(out, func(i int, idx []int) { res[i] = in[0][dot(idx, sa)] })
	}
}

func tileKernel[T float](out []int) kernel[T] {
	return func(in [][]T, shapes [][]int, res []T) {
		x, st := shapes[0], strides(shapes[0])
		forEach(out, func(i int, idx []int) {
			off := 0
			for d := range x {
				off += (idx[d] % x[d]) * st[d]
			}
			res[i] = in[0][off]
		})
	}
}

func reduceKernel[T float](kind string, axes []int, out []int) kernel[T] {
	return func(in [][]T, shapes [][]int, res []T) {
		x := shapes[0]
		// Strides of the output indexed by the input's dims: 0 on reduced dims.
		kept := make([]int, 0, len(x))
		for d := range x {
			if !slices.Contains(axes, d) {
				kept = append(kept, x[d])
			}
		}
		ks := strides(kept)
		os := make([]int, len(x))
		j := 0
		count := 1
		for d := range x {
			if slices.Contains(axes, d) {
				count *= x[d]
				continue
			}
			os[d] = ks[j]
			j++
		}
		acc := make([]float64, len(res))
		init := 0.0
		switch kind {
		case "ReduceMax":
			init = math.Inf(-1)
		case "ReduceMin":
			init = math.Inf(1)
		case "ReduceProd":
			init = 1
		}
		for i := range acc {
			acc[i] = init
		}
		forEach(x, func(i int, idx []int) {
			o := dot(idx, os)
			v := float64(in[0][i])
			switch kind {
			case "ReduceMax":
				acc[o] = math.Max(acc[o], v)
			case "ReduceMin":
				acc[o] = math.Min(acc[o], v)
			case "ReduceProd":
				acc[o] *= v
			default:
				acc[o] += v
			}
		})
		for i, v := range acc {
			if kind == "ReduceMean" {
				v /= float64(count)
			}
			res[i] = T(v)
		}
	}
}

// resizeCoord maps output coordinate x of a dim of in elements resized at scale
// to the input coordinate (ONNX coordinate_transformation_mode). The resized
// length in the formulas is in*scale, not the whole output size (the spec's
// length_resized; they differ for scales such as 0.6).
func resizeCoord(mode string, x float64, in int, scale float64) float64 {
	out := float64(in) * scale
	switch mode {
	case "asymmetric":
		return x / scale
	case "align_corners":
		if out <= 1 {
			return 0
		}
		return x * float64(in-1) / (out - 1)
	case "pytorch_half_pixel":
		if out <= 1 {
			return 0
		}
		return (x+0.5)/scale - 0.5
	case "tf_half_pixel_for_nn":
		return (x + 0.5) / scale
	}
	return (x+0.5)/scale - 0.5 // half_pixel
}

// nearestIndex rounds an input coordinate as nearest_mode says, clamped to [0,n).
func nearestIndex(mode string, x float64, n int) int {
	var i float64
	switch mode {
	case "floor":
		i = math.Floor(x)
	case "ceil":
		i = math.Ceil(x)
	case "round_prefer_ceil":
		i = math.Floor(x + 0.5)
	default: // round_prefer_floor
		i = math.Ceil(x - 0.5)
	}
	return min(max(int(i), 0), n-1)
}

// resizeKernel: nearest picks one input element per output dim; linear
// interpolates between the two nearest along each spatial dim (separably).
func resizeKernel[T float](r *graph.Resize, out []int) kernel[T] {
	return func(in [][]T, shapes [][]int, res []T) {
		x, st := shapes[0], strides(shapes[0])
		rank := len(x)
		// Per spatial dim and output index: the two source indices and weights.
		type tap struct {
			i0, i1 int
			w1     float64
		}
		taps := make([][]tap, rank)
		for d := 2; d < rank; d++ {
			taps[d] = make([]tap, out[d])
			for o := range out[d] {
				c := resizeCoord(r.Coord, float64(o), x[d], r.Scales[d])
				if r.Mode == "nearest" {
					i := nearestIndex(r.Nearest, c, x[d])
					taps[d][o] = tap{i, i, 0}
					continue
				}
				c = min(max(c, 0), float64(x[d]-1))
				i0 := int(math.Floor(c))
				i1 := min(i0+1, x[d]-1)
				taps[d][o] = tap{i0, i1, c - float64(i0)}
			}
		}
		forEach(out, func(i int, idx []int) {
			base := idx[0]*st[0] + idx[1]*st[1]
			// Sum over the 2^(rank-2) corners of the interpolation cell.
			sum := 0.0
			corners := 1 << (rank - 2)
			for c := range corners {
				off, w := base, 1.0
				for d := 2; d < rank; d++ {
					t := taps[d][idx[d]]
					if c>>(d-2)&1 == 1 {
						off += t.i1 * st[d]
						w *= t.w1
					} else {
						off += t.i0 * st[d]
						w *= 1 - t.w1
					}
				}
				if w != 0 {
					sum += w * float64(in[0][off])
				}
			}
			res[i] = T(sum)
		})
	}
}
