package kernels

func Relu[T Float](x, y []T) {
	y = y[:len(x)]
	if x32, ok := any(x).([]float32); ok && vector() && len(x) > 0 {
		vRelu32(&x32[0], &any(y).([]float32)[0], len(x32))
		return
	}
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// ReluMask sets dx = dy where y > 0, else 0.
func ReluMask[T Float](y, dy, dx []T) {
	dy, dx = dy[:len(y)], dx[:len(y)]
	if y32, ok := any(y).([]float32); ok && vector() && len(y) > 0 {
		vReluMask32(&y32[0], &any(dy).([]float32)[0], &any(dx).([]float32)[0], len(y32))
		return
	}
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}
