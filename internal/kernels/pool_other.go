//go:build !amd64 || purego

package kernels

// The pool kernels are never called without avx512 or avx2 (cpu.go).

func maxPool2Plane32(x, y *float32, ow, oh, w int) (nan int)     { panic(noAsm) }
func maxPool2Plane32AVX2(x, y *float32, ow, oh, w int) (nan int) { panic(noAsm) }
