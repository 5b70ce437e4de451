package train

import (
	"encoding/csv"
	"io"
	"strconv"
)

// WriteHistoryCSV writes one row per epoch with a header.
func WriteHistoryCSV(w io.Writer, h []EpochStats) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds", "images_per_second"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for _, s := range h {
		cw.Write([]string{strconv.Itoa(s.Epoch), f(s.TrainLoss), f(s.TrainAcc), f(s.ValLoss), f(s.ValAcc), f(s.Seconds), f(s.ImagesPerSec)})
	}
	cw.Flush()
	return cw.Error()
}
