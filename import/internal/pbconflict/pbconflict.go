// Package pbconflict lets two sets of generated ONNX protobuf messages live in
// one binary. The importer uses github.com/advancedclimatesystems/gonnx/onnx;
// the onnx-go reference that Verify runs carries its own copy of the same
// messages (github.com/owulveryck/onnx-go/internal/onnx/ir), also registered as
// "onnx.ModelProto" etc., and google.golang.org/protobuf panics at start-up on
// the duplicate names. Neither side looks messages up by name (both unmarshal
// into their own Go types), so the duplicates are harmless: this package sets
// GOLANG_PROTOBUF_REGISTRATION_CONFLICT=ignore unless the user set it.
//
// It must be initialized before onnx-go's ir package. Go (1.21 and later)
// initializes packages in import-path order among those whose dependencies are
// ready; this package depends only on os, and its path
// (github.com/onnxdigits/...) sorts before github.com/owulveryck/..., so it
// runs first in any binary that imports it. TestVerify* would panic otherwise.
package pbconflict

import "os"

func init() {
	const env = "GOLANG_PROTOBUF_REGISTRATION_CONFLICT"
	if os.Getenv(env) == "" {
		os.Setenv(env, "ignore")
	}
}
