// Package pbconflict lets two sets of generated ONNX protobuf messages live in
// one binary. The importer uses github.com/advancedclimatesystems/gonnx/onnx;
// the onnx-go reference that package verify runs carries its own copy of the
// same messages (github.com/owulveryck/onnx-go/internal/onnx/ir), also
// registered as "onnx.ModelProto" etc., and google.golang.org/protobuf panics at
// start-up on the duplicate names. Neither side looks messages up by name (both
// unmarshal into their own Go types), so the duplicates are harmless: this
// package sets GOLANG_PROTOBUF_REGISTRATION_CONFLICT=ignore unless the user set
// it, and Restore (called from package verify's init, when both sets have
// registered) removes it again, so the process environment is the user's after
// start-up. Only binaries that link package verify import this package.
//
// It must be initialized before onnx-go's ir package. Go (1.21 and later)
// initializes packages in import-path order among those whose dependencies are
// ready; this package depends only on os, and its path
// (github.com/onnxdigits/...) sorts before github.com/owulveryck/..., so it
// runs first in any binary that imports it. Every test of package verify would
// panic otherwise.
package pbconflict

import "os"

// Env is the variable google.golang.org/protobuf reads at each registration.
const Env = "GOLANG_PROTOBUF_REGISTRATION_CONFLICT"

// set records that init set Env (the user had not).
var set bool

func init() {
	if os.Getenv(Env) == "" {
		os.Setenv(Env, "ignore")
		set = true
	}
}

// Restore unsets Env if init set it. Call it once every conflicting message
// set has registered (from the init of a package that imports them all).
func Restore() {
	if set {
		os.Unsetenv(Env)
		set = false
	}
}
