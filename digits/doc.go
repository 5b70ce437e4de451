// Package digits loads and generates the grey 28x28 digit images that
// onnxdigits trains on. A Set holds N images (N,1,28,28) with pixel values
// in [0,1] (white digit on black, row-major), as 8-bit pixels (MNIST, image
// folders; converted to float32 per mini-batch) or float32 (Synthetic), and
// one uint8 label per image. Sets come from four places: Synthetic renders a
// deterministic, MATLAB-Digits-like set from a seed with no files needed
// (the default); ReadIDX and ReadMNIST decode the MNIST IDX format, raw or
// gzip-compressed; ReadFolder reads a folder of labelled images laid out as
// DIR/<label>/*.png (MATLAB's DigitDataset layout); Load picks one of them
// from a spec string such as "synthetic", "mnist" or a folder path. Split
// makes a stratified train/validation split, Shuffle and Gather form
// mini-batches, and WriteFolder writes a set back out as PNG files.
//
// Decoders treat their input as untrusted: they check magic numbers, ranks
// and dimensions against MaxImages and MaxBytes before allocating, return a
// FormatError or UnsupportedError instead of panicking, and report a short
// body as a "truncated" FormatError.
package digits
