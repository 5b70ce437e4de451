package onnximport

// Machine: 2-core AVX-512 VM (DESIGN §8), Go 1.26, gonnx v1.1.0 messages,
// google.golang.org/protobuf v1.31.0. Compare runs with benchstat.

import (
	"math/rand"
	"testing"
)

// BenchmarkDecode decodes the shrunk paper net (BN kept, 9 initializers, ~5 KB):
// protobuf parsing, tensor decoding, shape inference and validation.
func BenchmarkDecode(b *testing.B) {
	data := paperNet(rand.New(rand.NewSource(1)), "0,1,2,3,4,5,6,7,8,9").bytes(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "models/s")
}
