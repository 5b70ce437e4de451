package kernels

// The vector forms of the elementwise loops: the AVX-512 kernels or their
// AVX2 forms, whichever path cpu.go chose (callers check vector() first).

// vector reports whether the elementwise loops have a vector kernel.
func vector() bool { return avx512 || avx2 }

func vShiftedSums32(x *float32, n int, shift float32) (s1, s2 float32) {
	if avx512 {
		return shiftedSums32(x, n, shift)
	}
	return shiftedSums32AVX2(x, n, shift)
}

func vSum32(x *float32, n int) float32 {
	if avx512 {
		return sum32(x, n)
	}
	return sum32AVX2(x, n)
}

func vAffine32(x, y *float32, n int, a, b float32, relu int) {
	if avx512 {
		affine32(x, y, n, a, b, relu)
		return
	}
	affine32AVX2(x, y, n, a, b, relu)
}

func vGradSums32(x, dy, y *float32, n int, mean float32) (s0, s1 float32) {
	if avx512 {
		return gradSums32(x, dy, y, n, mean)
	}
	return gradSums32AVX2(x, dy, y, n, mean)
}

func vBnDx32(x, dy, y, dx *float32, n int, a, b, c float32) {
	if avx512 {
		bnDx32(x, dy, y, dx, n, a, b, c)
		return
	}
	bnDx32AVX2(x, dy, y, dx, n, a, b, c)
}

func vRelu32(x, y *float32, n int) {
	if avx512 {
		relu32(x, y, n)
		return
	}
	relu32AVX2(x, y, n)
}

func vReluMask32(y, dy, dx *float32, n int) {
	if avx512 {
		reluMask32(y, dy, dx, n)
		return
	}
	reluMask32AVX2(y, dy, dx, n)
}
