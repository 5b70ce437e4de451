package study

import (
	"bytes"
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/onnxdigits/onnxdigits/internal/atomicfile"
	"github.com/onnxdigits/onnxdigits/train"
)

// Curve names one training run's history for plots with several runs.
type Curve struct {
	Name    string
	History []train.EpochStats
}

// Metric selects what a curve plot shows.
type Metric int

const (
	Accuracy Metric = iota // training and validation accuracy in percent
	LossCurve
)

// PlotCurves draws the training (solid) and validation (dashed) curves of each
// run against the epoch and writes a PNG atomically.
func PlotCurves(path, title string, metric Metric, runs []Curve) error {
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
				return fmt.Errorf("study: plot %s: %w", r.Name, err)
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
		return fmt.Errorf("study: plot: %w", err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return fmt.Errorf("study: plot: %w", err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("study: %w", err)
	}
	return nil
}

// WriteCurves writes history.csv (train.WriteHistoryCSV), accuracy.png and
// loss.png for one run into dir, creating dir if needed (onnxdigits train
// --curves).
func WriteCurves(dir, title string, h []train.EpochStats) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("study: %w", err)
	}
	var buf bytes.Buffer
	if err := train.WriteHistoryCSV(&buf, h); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "history.csv"), buf.Bytes()); err != nil {
		return fmt.Errorf("study: %w", err)
	}
	runs := []Curve{{Name: "", History: h}}
	if err := PlotCurves(filepath.Join(dir, "accuracy.png"), title+": accuracy", Accuracy, runs); err != nil {
		return err
	}
	return PlotCurves(filepath.Join(dir, "loss.png"), title+": loss", LossCurve, runs)
}
