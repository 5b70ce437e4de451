package study

import (
	"encoding/csv"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxdigits/onnxdigits/train"
)

// TestWriteCurves: train --curves' output, history.csv with a header and one
// row per epoch, and two PNGs of the size PlotCurves draws (7 x 4.5 inches at
// gonum/plot's default 96 dpi: 672 x 432 pixels), in a folder it creates.
func TestWriteCurves(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "curves")
	h := []train.EpochStats{
		{Epoch: 1, TrainLoss: 1.2, TrainAcc: 0.6, ValLoss: 1.1, ValAcc: 0.65, Seconds: 2, ImagesPerSec: 3750},
		{Epoch: 2, TrainLoss: 0.5, TrainAcc: 0.85, ValLoss: 0.6, ValAcc: 0.8, Seconds: 2, ImagesPerSec: 3750},
		{Epoch: 3, TrainLoss: 0.3, TrainAcc: 0.92, ValLoss: 0.4, ValAcc: 0.88, Seconds: 2, ImagesPerSec: 3750},
	}
	if err := WriteCurves(dir, "mae ADAM", h); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "history.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[0][0] != "epoch" || recs[3][0] != "3" || recs[3][4] != "0.88" {
		t.Errorf("history.csv: %v", recs)
	}
	for _, name := range []string{"accuracy.png", "loss.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != 672 || cfg.Height != 432 {
			t.Errorf("%s: %+v, %v; want a 672x432 PNG", name, cfg, err)
		}
	}
}
