package backend

import "github.com/onnxdigits/onnxdigits/internal/kernels"

// InstructionPath names the kernels float32 ops run on: "avx512", "avx2" (the
// assembly of internal/kernels) or "generic" (portable Go loops: another CPU,
// the purego build tag, or ONNXDIGITS_CPU=generic). internal/kernels/cpu.go
// makes the choice.
func InstructionPath() string { return kernels.CPU() }
