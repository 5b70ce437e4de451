package onnximport

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/onnxdigits/onnxdigits/export"
	"github.com/onnxdigits/onnxdigits/internal/testutil"
)

// TestReexportIsIdentical checks that importing one of our files and exporting
// it again gives the same bytes: names, weights, metadata and doc strings (which
// the exporter generates, so the importer must not keep them to be appended
// again). A BN-folded file loses one note on the first cycle (the conv's "batch
// normalization is folded" doc comes from graph.FoldBatchNorm, not the op), so
// for it the second cycle must be stable.
func TestReexportIsIdentical(t *testing.T) {
	m := testutil.NewModel(t, "conv3x3x4p1,bn,relu,maxpool2,fc10", rand.New(rand.NewSource(5)))
	m.Meta["loss"] = "sse"
	for _, fold := range []bool{false, true} {
		first, err := export.Marshal(m, export.Options{FoldBN: fold})
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(first, Options{})
		if err != nil {
			t.Fatal(err)
		}
		second, err := export.Marshal(back, export.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if fold {
			again, err := Decode(second, Options{})
			if err != nil {
				t.Fatal(err)
			}
			first = second
			if second, err = export.Marshal(again, export.Options{}); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(first, second) {
			t.Errorf("fold=%v: re-export differs (%d vs %d bytes)", fold, len(first), len(second))
		}
	}
}
