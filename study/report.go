package study

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onnxdigits/onnxdigits/internal/atomicfile"
	"github.com/onnxdigits/onnxdigits/train"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Row aggregates the seeds of one setting.
type Row struct {
	Setting        Setting
	Seeds          []int64
	ValAcc         []float64 // final validation accuracy per seed
	Mean, SD       float64
	Best           float64 // best final accuracy over seeds
	TrainLoss      float64 // mean final training loss
	ValLoss        float64
	Seconds        float64 // mean training wall time
	ImagesPS       float64 // mean of the runs' median images/s
	Parity, OnnxGo float64 // worst over seeds (NaN when onnx-go never ran)
	LabelsAgree    float64 // worst fraction
	Runs           []*Result
}

// Rows groups results by setting, in order of first appearance.
func Rows(results []*Result) []*Row {
	var rows []*Row
	idx := map[string]*Row{}
	for _, r := range results {
		row := idx[r.Setting.Name()]
		if row == nil {
			row = &Row{Setting: r.Setting, OnnxGo: math.NaN(), LabelsAgree: 1}
			idx[r.Setting.Name()] = row
			rows = append(rows, row)
		}
		f := r.Final()
		row.Runs = append(row.Runs, r)
		row.Seeds = append(row.Seeds, r.Seed)
		row.ValAcc = append(row.ValAcc, f.ValAcc)
		row.TrainLoss += f.TrainLoss
		row.ValLoss += f.ValLoss
		row.Seconds += r.Seconds
		row.ImagesPS += r.ImagesPS
		row.Parity = math.Max(row.Parity, r.Parity)
		if !math.IsNaN(r.OnnxGo) {
			if math.IsNaN(row.OnnxGo) {
				row.OnnxGo = r.OnnxGo
			}
			row.OnnxGo = math.Max(row.OnnxGo, r.OnnxGo)
		}
		row.LabelsAgree = math.Min(row.LabelsAgree, r.Labels)
	}
	for _, row := range rows {
		n := float64(len(row.Runs))
		row.Mean, row.SD = meanSD(row.ValAcc)
		row.Best = slices.Max(row.ValAcc)
		row.TrainLoss /= n
		row.ValLoss /= n
		row.Seconds /= n
		row.ImagesPS /= n
	}
	return rows
}

// WriteReport writes table.csv, table.md, the figures and report.md into opts.Out.
func WriteReport(opts Options, results []*Result, wall time.Duration) error {
	if len(results) == 0 {
		return fmt.Errorf("study: no results to report")
	}
	rows := Rows(results)
	out := func(name string, data []byte) error {
		return atomicfile.WriteFile(filepath.Join(opts.Out, name), data)
	}
	var csvBuf bytes.Buffer
	if err := writeCSV(&csvBuf, rows); err != nil {
		return err
	}
	if err := out("table.csv", csvBuf.Bytes()); err != nil {
		return err
	}
	table := markdownTable(rows)
	if err := out("table.md", []byte(table)); err != nil {
		return err
	}
	figs, err := writeFigures(opts.Out, rows)
	if err != nil {
		return err
	}
	return out("report.md", []byte(reportText(opts, rows, table, figs, wall)))
}

func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 2, 64) }

func sci(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'e', 1, 64)
}

func writeCSV(buf *bytes.Buffer, rows []*Row) error {
	w := csv.NewWriter(buf)
	w.Write([]string{"loss", "optimizer", "remedies", "epochs", "batch_size", "seeds", "val_accuracy_mean", "val_accuracy_sd", "val_accuracy_per_seed",
		"final_train_loss", "final_val_loss", "train_seconds", "images_per_second", "parity_max_abs", "onnxgo_max_abs", "labels_agree", "paper_accuracy"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, r := range rows {
		var per []string
		for _, a := range r.ValAcc {
			per = append(per, f(a))
		}
		paper := ""
		if r.Setting.Paper > 0 {
			paper = f(r.Setting.Paper)
		}
		w.Write([]string{string(r.Setting.Loss), string(r.Setting.Optimizer), r.Setting.Remedies.String(), strconv.Itoa(r.Setting.Epochs), strconv.Itoa(r.Setting.BatchSize),
			strconv.Itoa(len(r.Seeds)), f(r.Mean), f(r.SD), strings.Join(per, " "), f(r.TrainLoss), f(r.ValLoss), f(r.Seconds), f(r.ImagesPS),
			f(r.Parity), f(r.OnnxGo), f(r.LabelsAgree), paper})
	}
	w.Flush()
	return w.Error()
}

// markdownTable is Table 1's shape with our measurements beside the paper's.
func markdownTable(rows []*Row) string {
	var b strings.Builder
	b.WriteString("| loss | optimizer | remedies | epochs | batch | validation accuracy % (mean ± sd) | per seed | paper % | final loss (train / val) | train time s | images/s | parity native-ONNX | onnx-go |\n")
	b.WriteString("| --- | --- | --- | ---: | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		var per []string
		for _, a := range r.ValAcc {
			per = append(per, pct(a))
		}
		paper := "-"
		if r.Setting.Paper > 0 {
			paper = pct(r.Setting.Paper)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %s ± %s | %s | %s | %.4f / %.4f | %.0f | %.0f | %s | %s |\n",
			r.Setting.Loss, strings.ToUpper(string(r.Setting.Optimizer)), r.Setting.Remedies, r.Setting.Epochs, r.Setting.BatchSize,
			pct(r.Mean), pct(r.SD), strings.Join(per, ", "), paper, r.TrainLoss, r.ValLoss, r.Seconds, r.ImagesPS, sci(r.Parity), sci(r.OnnxGo))
	}
	return b.String()
}

// writeFigures draws, from each setting's first seed: per optimizer the accuracy
// and loss curves of every loss (the paper's Figs. 4-7), the SSE comparison of
// the optimizers (Fig. 8), and a bar chart of the accuracies (Fig. 9).
func writeFigures(dir string, rows []*Row) ([]string, error) {
	var figs []string
	byOpt := map[train.Optimizer][]Curve{}
	var optOrder []train.Optimizer
	byLoss := map[train.Loss][]Curve{}
	multi := multiVariant(rows)
	for _, r := range rows {
		o := r.Setting.Optimizer
		if _, ok := byOpt[o]; !ok {
			optOrder = append(optOrder, o)
		}
		tag := ""
		if multi {
			tag = "+" + r.Setting.Variant
		}
		byOpt[o] = append(byOpt[o], Curve{Name: string(r.Setting.Loss) + tag, History: r.Runs[0].History})
		byLoss[r.Setting.Loss] = append(byLoss[r.Setting.Loss], Curve{Name: strings.ToUpper(string(o)) + tag, History: r.Runs[0].History})
	}
	for _, o := range optOrder {
		for _, m := range []struct {
			metric Metric
			name   string
		}{{Accuracy, "accuracy"}, {LossCurve, "loss"}} {
			name := fmt.Sprintf("fig-%s-%s.png", o, m.name)
			title := fmt.Sprintf("%s: training (solid) and validation (dashed) %s", strings.ToUpper(string(o)), m.name)
			if err := PlotCurves(filepath.Join(dir, name), title, m.metric, byOpt[o]); err != nil {
				return nil, err
			}
			figs = append(figs, name)
		}
	}
	if runs := byLoss[train.SSE]; len(runs) > 1 {
		name := "fig-sse-loss.png"
		if err := PlotCurves(filepath.Join(dir, name), "SSE classification layer: loss by optimizer", LossCurve, runs); err != nil {
			return nil, err
		}
		figs = append(figs, name)
	}
	name := "fig-best.png"
	if err := barChart(filepath.Join(dir, name), rows); err != nil {
		return nil, err
	}
	return append(figs, name), nil
}

// multiVariant reports whether rows compare more than one remedy variant (the
// figures then name the variant of every curve and bar).
func multiVariant(rows []*Row) bool {
	for _, r := range rows {
		if r.Setting.Variant != rows[0].Setting.Variant {
			return true
		}
	}
	return false
}

func barChart(path string, rows []*Row) error {
	p := plot.New()
	p.Title.Text = "Validation accuracy by configuration (best seed)"
	p.Y.Label.Text = "accuracy (%)"
	vals := make(plotter.Values, len(rows))
	var names []string
	multi := multiVariant(rows)
	lo := 100.0
	for i, r := range rows {
		vals[i] = 100 * r.Best
		lo = math.Min(lo, vals[i])
		name := fmt.Sprintf("%s\n%s", r.Setting.Loss, strings.ToUpper(string(r.Setting.Optimizer)))
		if multi {
			name += "\n" + r.Setting.Variant
		}
		names = append(names, name)
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(28))
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}
	bars.Color = color.RGBA{31, 119, 180, 255}
	p.Add(bars, plotter.NewGrid())
	p.NominalX(names...)
	p.Y.Min = math.Max(0, math.Floor(lo/5)*5-5)
	p.Y.Max = 100
	w, err := p.WriterTo(vg.Points(float64(90*len(rows)+120)), 4*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return fmt.Errorf("study: %w", err)
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}

func reportText(opts Options, rows []*Row, table string, figs []string, wall time.Duration) string {
	var b strings.Builder
	b.WriteString("# onnxdigits study\n\n")
	fmt.Fprintf(&b, "Data: `%s`. Architecture: `%s`. Learning rate %g. Seeds: %v. Remedies: %s. Epochs scale %g. Wall time %s.\n\n",
		opts.Data, orStr(opts.Arch, "conv5x5x20,bn,relu,fc10"), orF(opts.LearnRate, 0.01), orSeeds(opts.Seeds), variantList(opts), orF(opts.EpochsScale, 1), wall.Round(time.Second))
	b.WriteString("Validation accuracy is measured after the last epoch on the held-out split (the paper's 250 per class for the synthetic set; the 10k test set for MNIST). ")
	b.WriteString("Every model is exported to ONNX (`models/`), re-imported and run on the same validation images: \"parity\" is the largest absolute difference of a class probability between the trained model and its re-imported ONNX file, \"onnx-go\" the same against the independent onnx-go importer (n/a where it cannot run the graph).\n\n")
	b.WriteString("## Table (the paper's Table 1 shape)\n\n")
	b.WriteString(table)
	b.WriteString("\n## Figures\n\n")
	for _, f := range figs {
		fmt.Fprintf(&b, "![%s](%s)\n\n", strings.TrimSuffix(f, ".png"), f)
	}
	if len(remedyVariants(opts)) > 1 {
		b.WriteString("\n" + remedyEffect(rows, remedyVariants(opts)) + "\n")
	}
	best := slices.MaxFunc(rows, func(a, c *Row) int { return cmpF(a.Mean, c.Mean) })
	worst := slices.MinFunc(rows, func(a, c *Row) int { return cmpF(a.Mean, c.Mean) })
	fmt.Fprintf(&b, "## Summary\n\nBest: %s with %s %% mean validation accuracy; worst: %s with %s %%.\n",
		best.Setting.Name(), pct(best.Mean), worst.Setting.Name(), pct(worst.Mean))
	return b.String()
}

func variantList(opts Options) string {
	var v []string
	for _, r := range remedyVariants(opts) {
		v = append(v, "`"+r+"`")
	}
	return strings.Join(v, ", ")
}

// remedyEffect tabulates each configuration's mean accuracy (and worst seed)
// per remedy variant, side by side, the variants in the order given.
func remedyEffect(rows []*Row, variants []string) string {
	type key struct {
		l train.Loss
		o train.Optimizer
	}
	var keys []key
	cell := map[key]map[string]*Row{}
	for _, r := range rows {
		k := key{r.Setting.Loss, r.Setting.Optimizer}
		if cell[k] == nil {
			cell[k] = map[string]*Row{}
			keys = append(keys, k)
		}
		cell[k][r.Setting.Variant] = r
	}
	var b strings.Builder
	b.WriteString("## Remedies compared\n\nMean validation accuracy % over the seeds (worst seed in brackets) per recipe variant.\n\n| loss | optimizer |")
	for _, v := range variants {
		fmt.Fprintf(&b, " `%s` |", v)
	}
	b.WriteString("\n| --- | --- |" + strings.Repeat(" ---: |", len(variants)) + "\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | %s |", k.l, strings.ToUpper(string(k.o)))
		for _, v := range variants {
			r := cell[k][v]
			if r == nil { // a variant that resolved to another's recipe ran once
				want, _ := train.ParseRemedies(v, k.o)
				for _, c := range cell[k] {
					if c.Setting.Remedies == want {
						r = c
					}
				}
			}
			if r != nil {
				fmt.Fprintf(&b, " %s (%s) |", pct(r.Mean), pct(slices.Min(r.ValAcc)))
			} else {
				b.WriteString(" - |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func orStr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func orF(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

func orSeeds(s []int64) []int64 {
	if len(s) == 0 {
		return []int64{1}
	}
	return s
}
