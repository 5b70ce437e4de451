package train

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/onnxdigits/onnxdigits/internal/atomicfile"
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

// Run names a history for plots with several runs.
type Run struct {
	Name    string
	History []EpochStats
}

// Metric selects what a curve plot shows.
type Metric int

const (
	Accuracy Metric = iota // training and validation accuracy in percent
	LossCurve
)

// PlotCurves draws the training (solid) and validation (dashed) curves of each
// run against the epoch and writes a PNG atomically.
func PlotCurves(path, title string, metric Metric, runs []Run) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "accuracy (%)"
	if metric == LossCurve {
		p.Y.Label.Text = "loss"
	}
	p.Add(plotter.NewGrid())
	palette := []color.RGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {148, 103, 189, 255}, {255, 127, 14, 255}, {23, 190, 207, 255}, {140, 86, 75, 255}, {127, 127, 127, 255}}
	for i, r := range runs {
		train, val := make(plotter.XYs, len(r.History)), make(plotter.XYs, len(r.History))
		for j, s := range r.History {
			train[j].X, val[j].X = float64(s.Epoch), float64(s.Epoch)
			if metric == LossCurve {
				train[j].Y, val[j].Y = s.TrainLoss, s.ValLoss
			} else {
				train[j].Y, val[j].Y = 100*s.TrainAcc, 100*s.ValAcc
			}
		}
		c := palette[i%len(palette)]
		for k, xy := range []plotter.XYs{train, val} {
			l, err := plotter.NewLine(xy)
			if err != nil {
				return fmt.Errorf("train: plot %s: %w", r.Name, err)
			}
			l.Color = c
			l.Width = vg.Points(1.5)
			name := r.Name + " train"
			if k == 1 {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				name = r.Name + " validation"
			}
			p.Add(l)
			p.Legend.Add(name, l)
		}
	}
	// Accuracy rises and loss falls: keep the legend in the corner the curves leave free.
	p.Legend.Top = metric == LossCurve
	p.Legend.YOffs = vg.Points(4)
	if metric == LossCurve {
		p.Legend.YOffs = -vg.Points(4)
	}
	w, err := p.WriterTo(7*vg.Inch, 4.5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("train: plot: %w", err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return fmt.Errorf("train: plot: %w", err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// WriteCurves writes history.csv, accuracy.png and loss.png for one run into dir.
func WriteCurves(dir, title string, h []EpochStats) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	var buf bytes.Buffer
	if err := WriteHistoryCSV(&buf, h); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "history.csv"), buf.Bytes()); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	runs := []Run{{Name: "", History: h}}
	if err := PlotCurves(filepath.Join(dir, "accuracy.png"), title+": accuracy", Accuracy, runs); err != nil {
		return err
	}
	return PlotCurves(filepath.Join(dir, "loss.png"), title+": loss", LossCurve, runs)
}
