package backend

// InstructionPath names the kernels float32 ops run on: "avx512" (the
// assembly of kernels_amd64.s) or "generic" (portable Go loops: another CPU,
// the purego build tag, or ONNXDIGITS_NOASM=1).
func InstructionPath() string {
	if useAsm {
		return "avx512"
	}
	return "generic"
}
