// Package train fits a graph.Model to a digits.Set with Gorgonia: the paper's
// classification layers (cross-entropy, MAE and SSE on the softmax output), SGD
// with momentum and Adam with MATLAB's defaults, L2 regularization, epochs of
// shuffled mini-batches (the last incomplete one dropped), validation every epoch,
// a history of every epoch (WriteHistoryCSV; package study plots it),
// checkpoints written atomically, exact resume, and a guard that stops on a NaN
// or infinite loss. Progress goes to a Recorder.
package train
