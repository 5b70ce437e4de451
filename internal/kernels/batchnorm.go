package kernels

import "math"

func AddTo[T Float](dst, src []T) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// sum adds up x with four accumulators.
func Sum[T Float](x []T) T {
	if x32, ok := any(x).([]float32); ok && vector() && len(x) > 0 {
		return T(vSum32(&x32[0], len(x32)))
	}
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// ShiftedSums returns Σ(x-shift) and Σ(x-shift)².
func ShiftedSums[T Float](x []T, shift T) (s1, s2 T) {
	if x32, ok := any(x).([]float32); ok && vector() && len(x) > 0 {
		a, b := vShiftedSums32(&x32[0], len(x32), float32(shift))
		return T(a), T(b)
	}
	var a0, a1, q0, q1 T
	i := 0
	for ; i+2 <= len(x); i += 2 {
		d0, d1 := x[i]-shift, x[i+1]-shift
		a0 += d0
		a1 += d1
		q0 += d0 * d0
		q1 += d1 * d1
	}
	for ; i < len(x); i++ {
		d := x[i] - shift
		a0 += d
		q0 += d * d
	}
	return a0 + a1, q0 + q1
}

// Affine sets y = a*x + b, clamped at zero when relu is set.
func Affine[T Float](x, y []T, a, b T, relu bool) {
	y = y[:len(x)]
	if x32, ok := any(x).([]float32); ok && vector() && len(x) > 0 {
		r := 0
		if relu {
			r = 1
		}
		vAffine32(&x32[0], &any(y).([]float32)[0], len(x32), float32(a), float32(b), r)
		return
	}
	if relu {
		for i, v := range x {
			y[i] = max(v*a+b, 0)
		}
		return
	}
	for i, v := range x {
		y[i] = v*a + b
	}
}

// GradSums returns Σdz and Σdz·(x-mean) with dz = dy, or dy where y > 0 when y
// is non-nil.
func GradSums[T Float](x, dy, y []T, mean T) (s0, s1 T) {
	dy = dy[:len(x)]
	if x32, ok := any(x).([]float32); ok && vector() && len(x) > 0 {
		var yp *float32
		if y != nil {
			yp = &any(y[:len(x)]).([]float32)[0]
		}
		a, b := vGradSums32(&x32[0], &any(dy).([]float32)[0], yp, len(x32), float32(mean))
		return T(a), T(b)
	}
	if x32, ok := any(x).([]float32); ok && y != nil {
		a, b := gradSumsMasked32(x32, any(dy).([]float32), any(y).([]float32), float32(mean))
		return T(a), T(b)
	}
	if y != nil {
		y = y[:len(x)]
		for i, v := range x {
			if y[i] > 0 {
				s0 += dy[i]
				s1 += dy[i] * (v - mean)
			}
		}
		return s0, s1
	}
	for i, v := range x {
		s0 += dy[i]
		s1 += dy[i] * (v - mean)
	}
	return s0, s1
}

// The portable float32 forms of the masked loops (the backward pass of a
// batch norm followed by a ReLU) select without a branch: whether y > 0 is
// as good as random across a feature map, and a branch on it mispredicted
// about half the time. maskedBits returns the bits of d where y > 0, else 0,
// which the compiler does with a conditional move.
func maskedBits(d, y float32) float32 {
	b := math.Float32bits(d)
	if !(y > 0) {
		b = 0
	}
	return math.Float32frombits(b)
}

// gradSumsMasked32 is GradSums with a mask on the portable path, in two
// interleaved sums each, so that the adds do not wait on one another.
func gradSumsMasked32(x, dy, y []float32, mean float32) (s0, s1 float32) {
	dy, y = dy[:len(x)], y[:len(x)]
	var t0, t1, u0, u1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		d0, d1 := maskedBits(dy[i], y[i]), maskedBits(dy[i+1], y[i+1])
		t0 += d0
		t1 += d1
		u0 += d0 * (x[i] - mean)
		u1 += d1 * (x[i+1] - mean)
	}
	if i < len(x) {
		d := maskedBits(dy[i], y[i])
		t0 += d
		u0 += d * (x[i] - mean)
	}
	return t0 + t1, u0 + u1
}

// BNDx sets dx = a·dz + b·x + c, dz = dy masked by y > 0 when y is non-nil.
func BNDx[T Float](x, dy, y, dx []T, a, b, c T) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	if x32, ok := any(x).([]float32); ok && vector() && len(x) > 0 {
		var yp *float32
		if y != nil {
			yp = &any(y[:len(x)]).([]float32)[0]
		}
		vBnDx32(&x32[0], &any(dy).([]float32)[0], yp, &any(dx).([]float32)[0], len(x32), float32(a), float32(b), float32(c))
		return
	}
	if y != nil {
		y = y[:len(x)]
		if x32, ok := any(x).([]float32); ok {
			dy32, y32, dx32 := any(dy).([]float32), any(y).([]float32), any(dx).([]float32)
			a, b, c := float32(a), float32(b), float32(c)
			for i, v := range x32 {
				dx32[i] = a*maskedBits(dy32[i], y32[i]) + b*v + c
			}
			return
		}
		for i, v := range x {
			d := dy[i]
			if !(y[i] > 0) {
				d = 0
			}
			dx[i] = a*d + b*v + c
		}
		return
	}
	for i, v := range x {
		dx[i] = a*dy[i] + b*v + c
	}
}
