//go:build amd64 && !purego

package kernels

//go:generate go run gen_pool.go gen_emit.go

// maxPool2Plane32 sets y (oh, ow) to the 2x2 stride-2 max pool of x, whose
// rows are w floats apart (AVX-512, pool_amd64.s). It returns nonzero when an
// input was NaN: y is then not Go's max and the caller pools the plane again.
//
//go:noescape
func maxPool2Plane32(x, y *float32, ow, oh, w int) (nan int)

// maxPool2Plane32AVX2 is maxPool2Plane32 on AVX2 for the first ow - ow%8
// outputs of each row; the caller pools the rest.
//
//go:noescape
func maxPool2Plane32AVX2(x, y *float32, ow, oh, w int) (nan int)
