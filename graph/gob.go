package graph

import "encoding/gob"

// Register the op kinds so Models (which hold Ops as an interface) can be stored
// with encoding/gob, as training checkpoints do.
func init() {
	for _, op := range []Op{&Conv{}, &BatchNorm{}, &Relu{}, &Pool{}, &GlobalAveragePool{}, &Flatten{},
		&Reshape{}, &Transpose{}, &Identity{}, &Dropout{}, &Gemm{}, &MatMul{}, &Binary{}, &Softmax{}, &ArgMax{},
		&Unary{}, &Pad{}, &Concat{}, &Slice{}, &Expand{}, &Tile{}, &Reduce{}, &Resize{}} {
		gob.Register(op)
	}
}
