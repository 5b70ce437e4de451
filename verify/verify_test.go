package verify

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/export"
	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
	"github.com/onnxdigits/onnxdigits/internal/testutil"
	"github.com/onnxdigits/onnxdigits/onnx"
	"github.com/onnxdigits/onnxdigits/train"
)

// verifyTestModel is a classifier built by graph.New with random weights, a
// random mean image and batch-norm statistics calibrated on the test images
// (as training would leave them) and then perturbed, with the fully connected
// weights scaled up, so that probabilities are far from uniform and labels vary.
// With fresh Glorot weights and default statistics every image gets ~0.1
// everywhere and the same label, which would hide errors in the BN or softmax.
func verifyTestModel(t *testing.T, arch string, seed int64, images []float32, n int) *graph.Model {
	t.Helper()
	r := rand.New(rand.NewSource(seed))
	m, err := graph.New(arch, graph.DigitsInput(), r)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params {
		switch {
		case p.Name == graph.MeanParam:
			for i := range p.Data {
				p.Data[i] = 0.3 * r.Float32()
			}
		case strings.HasSuffix(p.Name, ".bias"):
			for i := range p.Data {
				p.Data[i] = 0.1 * float32(r.NormFloat64())
			}
		case strings.HasPrefix(p.Name, "bn") && strings.HasSuffix(p.Name, ".weight"):
			for i := range p.Data {
				p.Data[i] = 1 + 0.3*float32(r.NormFloat64())
			}
		case strings.HasPrefix(p.Name, "fc"):
			for i := range p.Data {
				p.Data[i] *= 8
			}
		}
	}
	// Per-channel mean and variance of each BN input over the images, then
	// perturbed by up to ±20%.
	for _, nd := range m.Nodes {
		if nd.Op.Type() != "BatchNormalization" {
			continue
		}
		run := backend.NewRunner(m, nd.Inputs[0])
		res, err := run.Run(n, images)
		run.Close()
		if err != nil {
			t.Fatal(err)
		}
		c := res[0].Shape[1]
		hw := len(res[0].Float) / (n * c)
		mean, vari := m.Param(nd.Inputs[3]).Data, m.Param(nd.Inputs[4]).Data
		for ch := range c {
			var s, s2 float64
			for i := range n {
				for _, v := range res[0].Float[(i*c+ch)*hw : (i*c+ch+1)*hw] {
					s += float64(v)
					s2 += float64(v) * float64(v)
				}
			}
			cnt := float64(n * hw)
			mu := s / cnt
			mean[ch] = float32(mu * (0.8 + 0.4*r.Float64()))
			vari[ch] = float32((s2/cnt - mu*mu + 1e-3) * (0.8 + 0.4*r.Float64()))
		}
	}
	return m
}

// verifyImages returns n random images: noise times a coarse random 7x7
// pattern (4x4-pixel cells), so that images differ in where they are lit, as
// the PyTorch fixtures' inputs do (testdata/torch/README.md).
func verifyImages(n int, seed int64) []float32 {
	r := rand.New(rand.NewSource(seed))
	x := make([]float32, n*28*28)
	for i := range n {
		var cell [7][7]bool
		lit := 0.1 + 0.8*r.Float64()
		for cy := range 7 {
			for cx := range 7 {
				cell[cy][cx] = r.Float64() < lit
			}
		}
		for y := range 28 {
			for xx := range 28 {
				if cell[y/4][xx/4] {
					x[i*784+y*28+xx] = 0.5 + 0.5*r.Float32()
				}
			}
		}
	}
	return x
}

func mustMarshal(t *testing.T, m *graph.Model, opts export.Options) []byte {
	t.Helper()
	data, err := export.Marshal(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestVerifyOwnModel: our exported paper net, with BN kept and folded, agrees
// across all three sources within DefaultTolerance. 23 images with chunks of 10
// (lowered to 9 because 10 is a model dim) exercise the padded last chunk.
func TestVerifyOwnModel(t *testing.T) {
	images := verifyImages(23, 2)
	m := verifyTestModel(t, "", 1, images, 23)
	for _, fold := range []bool{false, true} {
		data := mustMarshal(t, m, export.Options{FoldBN: fold})
		rep, err := Run(data, m, images, 23, Options{OnnxGoBatch: 10})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		rep.Format(&buf)
		t.Logf("fold %v:\n%s", fold, buf.String())
		if rep.Compared() != 3 {
			t.Errorf("fold %v: %d pairs compared, want 3", fold, rep.Compared())
		}
		if !rep.OK() {
			t.Errorf("fold %v: parity failed:\n%s", fold, buf.String())
		}
		if rep.Output != graph.ProbsOutput || rep.Classes != 10 || rep.Kind != graph.Probabilities {
			t.Errorf("fold %v: compared %q K=%d kind %v", fold, rep.Output, rep.Classes, rep.Kind)
		}
		if !strings.Contains(buf.String(), "removed: ArgMax") {
			t.Errorf("fold %v: the report does not say ArgMax was removed for onnx-go", fold)
		}
		// The labels must not all be equal, or label agreement proves little.
		probs, labels, err := backend.Classify(m, images, 23)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Min(labels) == slices.Max(labels) || slices.Max(probs) < 0.5 {
			t.Errorf("test model too flat: labels %v, max prob %g", labels, slices.Max(probs))
		}
	}
}

// TestVerifyDetectsDifference: a native model that differs from the file in one
// weight fails parity on the native pairs but not on import vs onnx-go.
func TestVerifyDetectsDifference(t *testing.T) {
	images := verifyImages(12, 4)
	m := verifyTestModel(t, "", 3, images, 12)
	data := mustMarshal(t, m, export.Options{})
	changed := m.Clone()
	changed.Param("fc1.bias").Data[3] += 0.01
	rep, err := Run(data, changed, images, 12, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() {
		t.Fatalf("parity passed with a changed bias: %+v", rep.Pairs)
	}
	for _, p := range rep.Pairs {
		native := p.A == SourceNative
		if p.OK() == native {
			t.Errorf("%s vs %s: ok %v, max |Δ| %g", p.A, p.B, p.OK(), p.MaxAbs)
		}
	}
}

// TestVerifyOnnxGoUnavailable: average pooling, which gorgonnx (onnx-go v0.5.0)
// does not implement, makes the onnx-go pairs unavailable with the reason, while
// native vs import is still compared and passes.
func TestVerifyOnnxGoUnavailable(t *testing.T) {
	m := verifyTestModel(t, "conv5x5x6,bn,relu,avgpool2,fc10", 5, verifyImages(5, 6), 5)
	data := mustMarshal(t, m, export.Options{})
	rep, err := Run(data, m, verifyImages(5, 6), 5, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.Format(&buf)
	t.Log(buf.String())
	if !rep.OK() || rep.Compared() != 1 || !rep.Pairs[0].Available {
		t.Errorf("want only native vs import compared and ok: %+v", rep.Pairs)
	}
	if !strings.Contains(buf.String(), "onnx-go could not run this graph") {
		t.Errorf("the report does not say onnx-go could not run:\n%s", buf.String())
	}

	// With no native model and no onnx-go nothing is compared.
	rep, err = Run(data, nil, verifyImages(5, 6), 5, Options{SkipOnnxGo: true})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	rep.Format(&buf)
	if rep.Compared() != 0 || !strings.Contains(buf.String(), "nothing compared") {
		t.Errorf("want nothing compared:\n%s", buf.String())
	}
}

// TestVerifyCheckProbs covers the silent failure DESIGN §5 describes: a tensor
// of ones instead of probabilities is rejected, as are NaN and negative values.
func TestVerifyCheckProbs(t *testing.T) {
	ones := slices.Repeat([]float32{1}, 10)
	for _, tc := range []struct {
		name string
		p    []float32
		want string // substring of the error; "" for none
	}{
		{"probabilities", []float32{0.25, 0.75, 1, 0}, ""},
		{"ones", ones, "sums to 10"},
		{"nan", []float32{float32(math.NaN()), 1}, "not a probability"},
		{"negative", []float32{-0.5, 1.5}, "not a probability"},
	} {
		k := 2
		if tc.name == "ones" {
			k = 10
		}
		err := checkProbs(tc.p, k)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestVerifyErrors: bad bytes and a wrong image count are errors, not panics.
func TestVerifyErrors(t *testing.T) {
	m := verifyTestModel(t, "", 7, verifyImages(3, 7), 3)
	data := mustMarshal(t, m, export.Options{})
	for _, tc := range []struct {
		name string
		data []byte
		vals int
		n    int
		want string
	}{
		{"garbage", []byte("\xff\xff\xff not onnx"), 784, 1, "malformed"},
		{"short input", data, 700, 1, "got 700 values"},
		{"no images", data, 0, 0, "no images"},
	} {
		_, err := Run(tc.data, m, make([]float32, tc.vals), tc.n, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestRoundTripTrainExportImport: train (briefly) -> export -> import -> export
// gives the same initializers byte for byte, and verify passes on the file.
func TestRoundTripTrainExportImport(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	tr, va := digits.Split(digits.Synthetic(20, 1), digits.TrainFraction, 1)
	res, err := train.Train(context.Background(), train.Config{Arch: "conv5x5x4,bn,relu,fc10", Epochs: 2, BatchSize: 25, Seed: 3, Dataset: "synthetic:20"}, tr, va, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, fold := range []bool{false, true} {
		first := mustMarshal(t, res.Model, export.Options{FoldBN: fold})
		imported, err := onnximport.Decode(first, onnximport.Options{})
		if err != nil {
			t.Fatal(err)
		}
		second := mustMarshal(t, imported, export.Options{FoldBN: fold})
		a, err := onnximport.DecodeProto(first, onnximport.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := onnximport.DecodeProto(second, onnximport.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ia, ib := a.GetGraph().GetInitializer(), b.GetGraph().GetInitializer()
		if len(ia) != len(ib) {
			t.Fatalf("fold %v: %d initializers, then %d", fold, len(ia), len(ib))
		}
		for i := range ia {
			if ia[i].GetName() != ib[i].GetName() || !slices.Equal(ia[i].GetDims(), ib[i].GetDims()) ||
				!bytes.Equal(ia[i].GetRawData(), ib[i].GetRawData()) || !slices.Equal(ia[i].GetFloatData(), ib[i].GetFloatData()) {
				t.Errorf("fold %v: initializer #%d %q differs after import and export", fold, i, ia[i].GetName())
			}
		}
		if !bytes.Equal(first, second) {
			t.Logf("fold %v: the files differ outside the initializers (%d vs %d bytes)", fold, len(first), len(second))
		}
		rep, err := Run(first, res.Model, va.AppendImages(nil, 0, va.Len()), va.Len(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		rep.Format(&buf)
		t.Logf("fold %v:\n%s", fold, buf.String())
		if !rep.OK() || rep.Compared() != 3 {
			t.Errorf("fold %v: verify failed", fold)
		}
	}
}

// TestVerifyTorchFixtures: on each PyTorch-exported model (testdata/torch),
// with no native model, the import and onnx-go agree where onnx-go can run the
// graph (onnx-go's chunks of 1 need no tiling of broadcast operands, the
// default chunks do).
func TestVerifyTorchFixtures(t *testing.T) {
	for _, fx := range testutil.TorchFixtures(t) {
		t.Run(fx.Name, func(t *testing.T) {
			data, err := os.ReadFile(fx.Path)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range []int{0, 1} {
				rep, err := Run(data, nil, fx.Input, fx.InputShape[0], Options{OnnxGoBatch: b})
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				rep.Format(&buf)
				t.Logf("verify (onnx-go batch %d):\n%s", b, buf.String())
				if !rep.OK() {
					t.Errorf("verify failed")
				}
			}
		})
	}
}

// TestTolerance: the allclose bound on the case issue 10 measured, a good
// MAE+Adam model against onnx-go: 1.04e-5 absolute at 4e-5 relative (so at a
// probability of about 0.26), which DESIGN §5's old 1e-5 absolute bound
// failed while onnxruntime agreed to 1.9e-6. The default passes it and still
// fails differences that are large for small probabilities.
func TestTolerance(t *testing.T) {
	const b = 0.26
	for _, tc := range []struct {
		name string
		a, b float64
		tol  Tolerance
		want bool
	}{
		{"MAE+Adam vs onnx-go", b + 1.04e-5, b, DefaultTolerance, true},
		{"same under 1e-5 absolute only", b + 1.04e-5, b, Tolerance{Atol: 1e-5}, false},
		{"onnxruntime's 1.9e-6", b + 1.9e-6, b, Tolerance{Atol: 1e-5}, true},
		{"large probability, relative bound", 0.99 + 1e-4, 0.99, DefaultTolerance, true}, // 1e-5 + 0.99e-4
		{"large probability, beyond it", 0.99 + 2e-4, 0.99, DefaultTolerance, false},
		{"small probability", 1e-4 + 2e-5, 1e-4, DefaultTolerance, false}, // allowed 1.001e-5
		{"exact, equal", 0.5, 0.5, Tolerance{}, true},
		{"exact, one ulp", float64(math.Nextafter32(0.5, 1)), 0.5, Tolerance{}, false},
		{"NaN", math.NaN(), 0.5, DefaultTolerance, false},
	} {
		if got := tc.tol.Allows(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: %v.Allows(%g, %g) = %v, want %v", tc.name, tc.tol, tc.a, tc.b, got, tc.want)
		}
	}

	// The same case through Run's comparison: 3 images of K=2, the first
	// with the measured difference, counted outside only by the old bound.
	x := outputs{probs: []float32{0.26 + 1.04e-5, 0.74 - 1.04e-5, 0.9, 0.1, 0.3, 0.7}, labels: []int64{1, 0, 1}}
	y := outputs{probs: []float32{0.26, 0.74, 0.9, 0.1, 0.3, 0.7}, labels: []int64{1, 0, 1}}
	if c := comparePair("a", "b", x, y, 3, 2, DefaultTolerance); !c.OK() || c.Outside != 0 || c.WorstImage != 0 {
		t.Errorf("default tolerance: %+v", c)
	}
	if c := comparePair("a", "b", x, y, 3, 2, Tolerance{Atol: 1e-5}); c.OK() || c.Outside != 2 {
		t.Errorf("1e-5 absolute: %+v, want 2 probabilities outside", c)
	}

	// Run rejects a tolerance it cannot apply, and reports the one it used.
	images := verifyImages(2, 9)
	m := verifyTestModel(t, "", 9, images, 2)
	data := mustMarshal(t, m, export.Options{})
	for _, bad := range []Tolerance{{Atol: -1}, {Rtol: math.NaN()}, {Atol: math.Inf(1)}} {
		if _, err := Run(data, m, images, 2, Options{Tolerance: &bad, SkipOnnxGo: true}); err == nil || !strings.Contains(err.Error(), "tolerance") {
			t.Errorf("tolerance %v: error %v", bad, err)
		}
	}
	exact := Tolerance{}
	rep, err := Run(data, m, images, 2, Options{Tolerance: &exact, SkipOnnxGo: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.Format(&buf)
	if rep.Tolerance != exact || !strings.Contains(buf.String(), "|a-b| <= atol + rtol*|b| for every probability, atol 0, rtol 0") {
		t.Errorf("report does not state the tolerance used:\n%s", buf.String())
	}
}

// TestBothMessageSetsRegister: a binary that links this package (onnx-go's
// messages beside ours) starts without GOLANG_PROTOBUF_REGISTRATION_CONFLICT set:
// google.golang.org/protobuf panics at init on a duplicate full name, so the
// test binary runs itself with the variable removed and must exit cleanly.
func TestBothMessageSetsRegister(t *testing.T) {
	const env = "GOLANG_PROTOBUF_REGISTRATION_CONFLICT"
	if os.Getenv("VERIFY_ENV_CHILD") == "1" {
		fmt.Println("child started")
		return
	}
	if got := (&onnx.ModelProto{}).ProtoReflect().Descriptor().FullName(); got != "onnxdigits.onnx.ModelProto" {
		t.Fatalf("our ModelProto registers as %q, which onnx-go's copy would clash with", got)
	}
	var cmdEnv []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, env+"=") {
			cmdEnv = append(cmdEnv, kv)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBothMessageSetsRegister$", "-test.count=1")
	cmd.Env = append(cmdEnv, "VERIFY_ENV_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "child started") {
		t.Errorf("test binary without %s: %v\n%s", env, err, out)
	}
}
