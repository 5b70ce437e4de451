package classify

import (
	"context"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
)

// The models in testdata are written by testdata/make_models.py (onnx.helper,
// seeded random weights): one per input layout and output kind.

// testImages returns n synthetic digits (28x28 grey in [0,1]) as a flat slice.
func testImages(n int) []float32 {
	s := digits.Synthetic(1, 3) // one image per class, seed 3
	return s.AppendImages(nil, 0, n)
}

// greyImage turns one 28x28 grey array into an image.Gray.
func greyImage(pix []float32) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for i, v := range pix {
		img.Pix[i] = uint8(math.Round(float64(v) * 255))
	}
	return img
}

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		file      string
		dims      []int  // declared input dims
		layout    Layout // as read
		c, h, w   int
		rng       PixelRange
		rangeFrom string
		output    string
		kind      graph.ScoreKind
		labels    string // first and last class names
		batch     int    // Info.Batch: 0 runs any batch
		rebatched bool
	}{
		{"nchw1", []int{-1, 1, 28, 28}, NCHW, 1, 28, 28, PixelRange01, "default", "logits", graph.Logits, "0..9", 0, false},
		{"nchw3", []int{-1, 3, 20, 20}, NCHW, 3, 20, 20, PixelRange01, "default", "probabilities", graph.Probabilities, "zero..nine", 0, false},
		{"nhwc", []int{-1, 28, 28, 1}, NHWC, 1, 28, 28, PixelRange0255, "metadata", "probs", graph.Probabilities, "0..9", 0, false},
		{"nhw", []int{-1, 28, 28}, NHW, 1, 28, 28, PixelRange01, "default", "log_probs", graph.LogProbabilities, "0..9", 0, false},
		{"flat", []int{-1, 784}, Flat, 1, 28, 28, PixelRange11, "metadata", "scores", graph.Logits, "0..9", 0, false},
		{"fixed1", []int{1, 1, 28, 28}, NCHW, 1, 28, 28, PixelRange01, "default", "probabilities", graph.Probabilities, "0..9", 0, true},
		{"fixed1_flat0", []int{1, 1, 28, 28}, NCHW, 1, 28, 28, PixelRange01, "default", "logits", graph.Logits, "0..9", 1, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m, err := Open("testdata/"+tc.file+".onnx", Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			i := m.Info()
			got := fmt.Sprintf("%v %v %d %dx%d %v %s %s %v %s..%s %d %v", i.InputDims, i.Layout, i.Channels, i.Height, i.Width,
				i.PixelRange, i.PixelRangeFrom, i.Output, i.Kind, i.Labels[0], i.Labels[len(i.Labels)-1], i.Batch, i.Rebatched)
			want := fmt.Sprintf("%v %v %d %dx%d %v %s %s %v %s %d %v", tc.dims, tc.layout, tc.c, tc.h, tc.w,
				tc.rng, tc.rangeFrom, tc.output, tc.kind, tc.labels, tc.batch, tc.rebatched)
			if got != want {
				t.Errorf("info:\n got %s\nwant %s", got, want)
			}
			if i.Name != tc.file || i.Input != "image" || i.K != 10 {
				t.Errorf("name %q, input %q, K %d", i.Name, i.Input, i.K)
			}
			if (i.BatchNote != "") != (tc.batch != 0) {
				t.Errorf("batch note %q with batch %d", i.BatchNote, tc.batch)
			}

			// Five images as one call, and each alone: the same predictions
			// (a fixed batch re-batched or padded must not mix images).
			const n = 5
			pix := testImages(n)
			preds, err := m.Grey(context.Background(), pix, n, 28, 28)
			if err != nil {
				t.Fatal(err)
			}
			if len(preds) != n {
				t.Fatalf("%d predictions for %d images", len(preds), n)
			}
			for j, p := range preds {
				checkPrediction(t, p, i)
				alone, err := m.Grey(context.Background(), pix[j*784:(j+1)*784], 1, 28, 28)
				if err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(alone[0].Scores, p.Scores); d > 1e-5 {
					t.Errorf("image %d: scores differ by %g between a batch of %d and alone", j, d, n)
				}
			}

			// Images (image.Image) goes through digits.PrepareImageSize; on a
			// 28x28 grey digit on black that is the identity up to 8-bit
			// rounding, so the labels agree with Grey's.
			imgs := make([]image.Image, n)
			for j := range imgs {
				imgs[j] = greyImage(pix[j*784 : (j+1)*784])
			}
			fromImages, err := m.Images(context.Background(), imgs)
			if err != nil {
				t.Fatal(err)
			}
			for j := range fromImages {
				if d := maxDiff(fromImages[j].Probabilities, preds[j].Probabilities); d > 0.02 {
					t.Errorf("image %d: Images and Grey differ by %g", j, d)
				}
			}

			// Tensor takes the model's own layout: Adapt's output gives Grey's
			// result, and every model output comes back with the batch first.
			x, err := m.Adapt(pix, n, 28, 28)
			if err != nil {
				t.Fatal(err)
			}
			shape := slices.Clone(i.InputDims)
			shape[0] = n
			outs, tp, err := m.Tensor(context.Background(), x, shape)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != len(i.Outputs) {
				t.Fatalf("%d outputs, the model has %d", len(outs), len(i.Outputs))
			}
			for k, o := range outs {
				if o.Name != i.Outputs[k].Name || o.Shape[0] != n || len(o.Float)+len(o.Int64) != n*max(1, prod(o.Shape[1:])) {
					t.Errorf("output %q shape %v with %d+%d values", o.Name, o.Shape, len(o.Float), len(o.Int64))
				}
				if len(o.Int64) > 0 { // the model's own ArgMax agrees with ours
					for j, l := range o.Int64 {
						if int(l) != tp[j].Label {
							t.Errorf("output %q image %d: label %d, prediction %d", o.Name, j, l, tp[j].Label)
						}
					}
				}
			}
			for j := range tp {
				if !slices.Equal(tp[j].Scores, preds[j].Scores) {
					t.Errorf("image %d: Tensor and Grey scores differ", j)
				}
			}
		})
	}
}

// checkPrediction checks that the probabilities follow from the scores by the
// model's output kind (computed here in float64) and the label is their argmax.
func checkPrediction(t *testing.T, p Prediction, i Info) {
	t.Helper()
	if len(p.Probabilities) != i.K || len(p.Scores) != i.K || p.Output != i.Kind {
		t.Fatalf("prediction has %d probabilities, %d scores, kind %v", len(p.Probabilities), len(p.Scores), p.Output)
	}
	want := make([]float64, i.K)
	var sum float64
	for j, s := range p.Scores {
		switch i.Kind {
		case graph.Probabilities:
			want[j] = float64(s)
		case graph.LogProbabilities, graph.Logits:
			want[j] = math.Exp(float64(s))
		}
		sum += want[j]
	}
	if i.Kind == graph.Logits {
		for j := range want {
			want[j] /= sum
		}
	}
	total := 0.0
	best := 0
	for j, v := range p.Probabilities {
		total += float64(v)
		// 1e-6: float32 rounding of values in [0,1].
		if math.Abs(float64(v)-want[j]) > 1e-6 {
			t.Errorf("probability %d = %g, want %g from %v score %g", j, v, want[j], i.Kind, p.Scores[j])
		}
		if v > p.Probabilities[best] {
			best = j
		}
	}
	if math.Abs(total-1) > 1e-5 {
		t.Errorf("probabilities sum to %g", total)
	}
	if p.Label != best || p.Class != i.Labels[best] {
		t.Errorf("label %d (%q), the most probable class is %d", p.Label, p.Class, best)
	}
}

func TestPixelRangeOption(t *testing.T) {
	def, err := Open("testdata/nhwc.onnx", Options{})
	if err != nil {
		t.Fatal(err)
	}
	one, err := Open("testdata/nhwc.onnx", Options{PixelRange: PixelRange01})
	if err != nil {
		t.Fatal(err)
	}
	if i := one.Info(); i.PixelRange != PixelRange01 || i.PixelRangeFrom != "option" {
		t.Errorf("range %v from %s", i.PixelRange, i.PixelRangeFrom)
	}
	pix := testImages(1)
	a, _ := def.Adapt(pix, 1, 28, 28)
	b, _ := one.Adapt(pix, 1, 28, 28)
	for j := range a {
		if a[j] != 255*b[j] {
			t.Fatalf("value %d: %g at 0-255, %g at 0-1", j, a[j], b[j])
		}
	}
}

// TestFromGrey checks the adapter's layouts and pixel ranges on a 2x2 grey
// image, against tensors written out by hand.
func TestFromGrey(t *testing.T) {
	grey := []float32{0, 0.25, 0.5, 1} // row-major 2x2
	for _, tc := range []struct {
		dims []int
		rng  PixelRange
		want []float32
	}{
		{[]int{-1, 1, 2, 2}, PixelRange01, []float32{0, 0.25, 0.5, 1}},
		{[]int{-1, 3, 2, 2}, PixelRange01, []float32{0, 0.25, 0.5, 1, 0, 0.25, 0.5, 1, 0, 0.25, 0.5, 1}},
		{[]int{-1, 2, 2, 3}, PixelRange01, []float32{0, 0, 0, 0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 1, 1, 1}},
		{[]int{-1, 2, 2, 1}, PixelRange0255, []float32{0, 63.75, 127.5, 255}},
		{[]int{-1, 2, 2}, PixelRange11, []float32{-1, -0.5, 0, 1}},
		{[]int{1, 4}, PixelRange11, []float32{-1, -0.5, 0, 1}},
	} {
		in, err := describeInput(graph.Value{Name: "x", Shape: tc.dims})
		if err != nil {
			t.Fatal(err)
		}
		in.pixelRange = tc.rng
		got := make([]float32, in.perImage())
		in.fromGrey(got, grey)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v %v: got %v, want %v", tc.dims, tc.rng, got, tc.want)
		}
	}
}

func TestDescribeInputErrors(t *testing.T) {
	for _, tc := range []struct {
		v    graph.Value
		want string // substring of the error
	}{
		{graph.Value{Name: "x", Shape: []int{-1, 5, 28, 28}}, `input "x" has shape (N,5,28,28), neither dim #1 (5) nor dim #3 (28) is 1 or 3 channels; an image input is (N,C,H,W) or (N,H,W,C) with C 1 or 3, (N,H,W), or (N,H*W) with H = W`},
		{graph.Value{Name: "x", Shape: []int{-1, 780}}, "(N,780), 780 values per image is not a square image"},
		{graph.Value{Name: "x", Shape: []int{-1}}, "(N), rank 1"},
		{graph.Value{Name: "x", Shape: []int{-1, 1, 1, 28, 28}}, "rank 5"},
		{graph.Value{Name: "x", Type: graph.Int64, Shape: []int{-1, 784}}, `input "x" is int64; an image input is float32`},
	} {
		_, err := describeInput(tc.v)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to contain %q", tc.v.Shape, err, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	m, err := Open("testdata/nhwc.onnx", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := m.Tensor(ctx, make([]float32, 784), []int{1, 1, 28, 28}); err == nil || !strings.Contains(err.Error(), "got shape [1 1 28 28], want (N,28,28,1)") {
		t.Errorf("Tensor in NCHW for an NHWC model: %v", err)
	}
	if _, _, err := m.Tensor(ctx, make([]float32, 783), []int{1, 28, 28, 1}); err == nil || !strings.Contains(err.Error(), "783 values for shape [1 28 28 1]") {
		t.Errorf("Tensor with too few values: %v", err)
	}
	if _, err := m.Grey(ctx, make([]float32, 10), 1, 28, 28); err == nil || !strings.Contains(err.Error(), "10 values are not 1 grey images of 28x28") {
		t.Errorf("Grey with too few values: %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Grey(canceled, testImages(1), 1, 28, 28); err != context.Canceled {
		t.Errorf("canceled context: %v", err)
	}
	if _, err := ParsePixelRange("0-256"); err == nil || !strings.Contains(err.Error(), `"0-256" is not one of 0-1, 0-255, -1-1`) {
		t.Errorf("ParsePixelRange: %v", err)
	}
	// An unknown range in the metadata is an error unless the option decides.
	g, err := onnximport.ReadFile("testdata/nchw1.onnx", onnximport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g.Meta = map[string]string{graph.MetaPixelRange: "NominalRange_16_235"}
	if _, err := New(g, Options{}); err == nil || !strings.Contains(err.Error(), `metadata is "NominalRange_16_235"`) || !strings.Contains(err.Error(), "--pixel-range") {
		t.Errorf("unknown metadata range: %v", err)
	}
	if _, err := New(g, Options{PixelRange: PixelRange0255}); err != nil {
		t.Errorf("unknown metadata range overridden: %v", err)
	}
}

// TestConcurrent runs one Model from several goroutines (more than its
// runners) and checks every result against a serial run: the pool must not
// share a runner between calls.
func TestConcurrent(t *testing.T) {
	m, err := Open("testdata/nchw3.onnx", Options{Runners: 2, MaxBatch: 3})
	if err != nil {
		t.Fatal(err)
	}
	const n = 7
	pix := testImages(n)
	want, err := m.Grey(context.Background(), pix, n, 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := 1 + g%n
			got, err := m.Grey(context.Background(), pix[:k*784], k, 28, 28)
			if err != nil {
				errs <- err
				return
			}
			for j := range got {
				// 1e-6: the same image in a batch of another size may be
				// summed in another order; a runner shared by two calls
				// would mix images and be off by far more.
				if d := maxDiff(got[j].Scores, want[j].Scores); d > 1e-6 {
					errs <- fmt.Errorf("goroutine %d image %d: scores differ by %g", g, j, d)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func prod(d []int) int {
	p := 1
	for _, v := range d {
		p *= v
	}
	return p
}
