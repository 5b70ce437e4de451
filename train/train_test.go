package train

import (
	"context"
	"os"
	"testing"

	"github.com/onnxdigits/onnxdigits/digits"
)

func TestTrainSmoke(t *testing.T) {
	set := digits.Synthetic(100, 1)
	tr, va := digits.Split(set, 0.75, 1)
	res, err := Train(context.Background(), Config{Epochs: 3, BatchSize: 32, Seed: 1}, tr, va, &Printer{W: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.History)
}
