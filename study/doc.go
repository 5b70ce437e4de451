// Package study reproduces the paper's comparison (Table 1 and Figures 4-9):
// each classification layer (cross-entropy, MAE, SSE) with each optimizer (SGDM,
// Adam) at the paper's epochs and batch sizes, over one or more seeds, and goes
// past it with the robust losses, the other optimizers and the recipe remedies of
// package train. Every trained model is exported to ONNX and re-imported, and the
// parity figures go into the table. Run writes table.md, table.csv, the curve
// figures, a bar chart of the best accuracies and report.md into one folder.
//
// The plotting (gonum/plot) lives here only: PlotCurves draws training curves,
// and WriteCurves writes one run's history.csv and curve PNGs for onnxdigits
// train --curves, so package train does not link gonum/plot.
package study
