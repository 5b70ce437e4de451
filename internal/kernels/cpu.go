package kernels

import (
	"os"
	"slices"

	"golang.org/x/sys/cpu"
)

// The instruction paths of the float32 kernels, fastest first. float64 (the
// gradient checks) always runs on the portable loops.
const (
	AVX512 = "avx512" // AVX-512 F and VL with BMI2 (for tail masks): avx512_amd64.s
	// AVX2 is AVX2 with FMA (Intel Haswell and later, every AMD Zen): the GEMM
	// micro-kernels of avx2_amd64.s; the other kernels take the portable loops.
	AVX2    = "avx2"
	Generic = "generic" // portable Go loops: the other architectures, the purego build tag
)

// paths lists the instruction paths from the fastest to the most portable.
var paths = []string{AVX512, AVX2, Generic}

// avx512 selects the AVX-512 kernels. The choice is made once, here, from
// what the CPU and the build support; the ONNXDIGITS_CPU environment variable
// ("avx512", "avx2" or "generic") can lower it, to measure or test a slower path on
// the same machine, but never raise it. ONNXDIGITS_NOASM=1 is the older
// spelling of ONNXDIGITS_CPU=generic.
var avx512 = haveAVX512 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasBMI2 && allowed(AVX512)

// avx2 selects the AVX2+FMA GEMM kernels where avx512 is off: a CPU without
// AVX-512, or ONNXDIGITS_CPU=avx2.
var avx2 = haveAVX2 && cpu.X86.HasAVX2 && cpu.X86.HasFMA && allowed(AVX2)

// allowed reports whether ONNXDIGITS_CPU permits path: unset, or naming path
// or a faster one. An unknown value permits only the generic path.
func allowed(path string) bool {
	want := os.Getenv("ONNXDIGITS_CPU")
	if os.Getenv("ONNXDIGITS_NOASM") != "" {
		want = Generic
	}
	if want == "" {
		return true
	}
	w := slices.Index(paths, want)
	if w < 0 {
		w = len(paths) - 1
	}
	return slices.Index(paths, path) >= w
}

// CPU names the instruction path the float32 kernels use: AVX512, AVX2 or
// Generic.
func CPU() string {
	switch {
	case avx512:
		return AVX512
	case avx2:
		return AVX2
	}
	return Generic
}
