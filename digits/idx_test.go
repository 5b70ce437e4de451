package digits

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idxBytes builds an IDX stream: magic 00 00 typ rank, dims, body.
func idxBytes(typ byte, dims []int32, body []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, body...)
}

// validPair returns a consistent IDX pair of n images with labels 0..n-1
// (mod 10) and pixel p of image i equal to byte(i+p).
func validPair(n int) (images, labels []byte) {
	body := make([]byte, n*pixels)
	for i := range body {
		body[i] = byte(i/pixels + i%pixels)
	}
	lab := make([]byte, n)
	for i := range lab {
		lab[i] = byte(i % 10)
	}
	return idxBytes(IDXUint8, []int32{int32(n), 28, 28}, body), idxBytes(IDXUint8, []int32{int32(n)}, lab)
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 1 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestReadMNISTTestdata(t *testing.T) {
	for _, tc := range []struct {
		split  string
		labels []uint8 // the first five labels of the real MNIST split
	}{
		{"train", []uint8{5, 0, 4, 1, 9}}, // gzip files
		{"t10k", []uint8{7, 2, 1, 0, 4}},  // raw files
	} {
		t.Run(tc.split, func(t *testing.T) {
			s, err := ReadMNIST("testdata/mnist5", tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Labels, tc.labels) {
				t.Errorf("labels %v, want %v", s.Labels, tc.labels)
			}
			if len(s.Pixels) != 5*pixels || s.Images != nil || s.Angles != nil || len(s.Classes) != 10 {
				t.Errorf("got %d 8-bit and %d float pixels, angles %v, %d classes", len(s.Pixels), len(s.Images), s.Angles, len(s.Classes))
			}
			// MNIST is white digits on black: the corner is 0 and the mean
			// pixel is 0.13 over the train set, from about 0.04 for a thin
			// 1 to about 0.25 for a bold 0 or 8.
			for i := range s.Len() {
				img := s.Image(i)
				var sum float32
				for _, v := range img {
					if v < 0 || v > 1 {
						t.Fatalf("image %d: pixel %v outside [0,1]", i, v)
					}
					sum += v
				}
				if img[0] != 0 || sum/pixels < 0.03 || sum/pixels > 0.3 {
					t.Errorf("image %d: corner %v, mean %v; want 0 and 0.03..0.3", i, img[0], sum/pixels)
				}
			}
		})
	}
}

// TestReadMNISTGzipByMagic: a gzip file without .gz in its name is still
// gunzipped, and a raw file is read raw.
func TestReadMNISTGzipByMagic(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte"} {
		b, err := os.ReadFile(filepath.Join("testdata/mnist5", f+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := ReadMNIST(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 5 {
		t.Errorf("Len %d, want 5", s.Len())
	}
	if _, err := ReadMNIST(dir, "t10k"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing split: err %v, want ErrNotExist", err)
	}
	if _, err := ReadMNIST(dir, "test"); err == nil || !strings.Contains(err.Error(), "t10k") {
		t.Errorf("bad split name: err %v, want one naming t10k", err)
	}
}

func TestReadIDXErrors(t *testing.T) {
	goodImages, goodLabels := validPair(3)
	imgs := func(dims ...int32) []byte { return idxBytes(IDXUint8, dims, make([]byte, 3*pixels)) }
	for _, tc := range []struct {
		name           string
		images, labels []byte
		want           string // substring of the error
		format         bool   // want a FormatError
		unsupported    bool   // want an UnsupportedError
	}{
		{"empty images", nil, goodLabels, "truncated header", true, false},
		{"bad magic", append([]byte{0, 1}, goodImages[2:]...), goodLabels, "bad IDX magic", true, false},
		{"not IDX at all", []byte("GIF89a\x00\x00\x00\x00"), goodLabels, "bad IDX magic", true, false},
		{"float32 dtype", idxBytes(IDXFloat32, []int32{3, 28, 28}, nil), goodLabels, "element type 0x0d", false, true},
		{"unknown dtype", idxBytes(0x42, []int32{3, 28, 28}, nil), goodLabels, "unknown IDX element type 0x42", true, false},
		{"rank 0", []byte{0, 0, 8, 0}, goodLabels, "rank 0", true, false},
		{"rank 9", idxBytes(IDXUint8, []int32{1, 1, 1, 1, 1, 1, 1, 1, 1}, nil), goodLabels, "rank 9", true, false},
		{"image rank 2", imgs(3, 784), goodLabels, "rank 2, want 3", true, false},
		{"label rank 2", goodImages, idxBytes(IDXUint8, []int32{3, 1}, []byte{1, 2, 3}), "labels: IDX rank 2", true, false},
		{"zero images", imgs(0, 28, 28), goodLabels, "dimension 0 is 0", true, false},
		{"negative images", imgs(-5, 28, 28), goodLabels, "dimension 0 is -5", true, false},
		{"negative width", imgs(3, 28, -28), goodLabels, "dimension 2 is -28", true, false},
		{"huge dims", imgs(0x7fffffff, 0x7fffffff, 0x7fffffff), goodLabels, "exceed", false, true},
		{"too many images", imgs(MaxImages+1, 28, 28), idxBytes(IDXUint8, []int32{MaxImages + 1}, nil), "exceed", false, true},
		{"wrong image size", imgs(3, 32, 32), goodLabels, "image size 32x32, want 28x28", true, false},
		{"truncated dims", goodImages[:9], goodLabels, "truncated header", true, false},
		{"truncated image body", goodImages[:len(goodImages)-1], goodLabels, "truncated image body", true, false},
		{"truncated label body", goodImages, goodLabels[:len(goodLabels)-1], "truncated label body", true, false},
		{"label count", goodImages, idxBytes(IDXUint8, []int32{4}, []byte{1, 2, 3, 4}), "4 labels for 3 images", true, false},
		{"label out of range", goodImages, idxBytes(IDXUint8, []int32{3}, []byte{1, 10, 3}), "label 10 of image 1", true, false},
		{"header promises more than sent", idxBytes(IDXUint8, []int32{1_000_000, 28, 28}, make([]byte, 100)),
			idxBytes(IDXUint8, []int32{1_000_000}, make([]byte, 1_000_000)), "truncated image body (0 of 1000000", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ReadIDX(bytes.NewReader(tc.images), bytes.NewReader(tc.labels))
			if err == nil {
				t.Fatalf("no error, got a set of %d", s.Len())
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "digits: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			var fe FormatError
			var ue UnsupportedError
			if tc.format != errors.As(err, &fe) || tc.unsupported != errors.As(err, &ue) {
				t.Errorf("error %q (%T): FormatError %v, UnsupportedError %v; want %v, %v", err, err, errors.As(err, &fe), errors.As(err, &ue), tc.format, tc.unsupported)
			}
		})
	}
}

// TestReadIDXHeaderNoBody: the header reader stops after the dims and does
// not touch (or need) the body.
func TestReadIDXHeaderNoBody(t *testing.T) {
	r := bytes.NewReader(idxBytes(IDXUint8, []int32{60000, 28, 28}, []byte{0xAA}))
	h, err := ReadIDXHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	if h.Type != IDXUint8 || !slices.Equal(h.Dims, []int{60000, 28, 28}) || h.Len() != 60000*784 {
		t.Errorf("header %+v (len %d)", h, h.Len())
	}
	if r.Len() != 1 {
		t.Errorf("%d bytes left after header, want 1", r.Len())
	}
	if a := testing.AllocsPerRun(100, func() {
		ReadIDXHeader(bytes.NewReader(idxBytes(IDXUint8, []int32{60000, 28, 28}, nil)))
	}); a > 8 { // the test's own stream and reader, the dims buffer and slice: a handful, not a body
		t.Errorf("%v allocations per header", a)
	}
}

func TestWriteIDXRoundTrip(t *testing.T) {
	s := Synthetic(3, 7)
	var ib, lb bytes.Buffer
	if err := WriteIDX(&ib, &lb, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadIDX(&ib, &lb)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Labels, s.Labels) {
		t.Errorf("labels %v, want %v", got.Labels, s.Labels)
	}
	for p, v := range got.AppendImages(nil, 0, got.Len()) {
		// 8-bit quantisation: at most half a step, 0.5/255, off.
		if d := v - s.Images[p]; d > 0.5/255+1e-6 || d < -0.5/255-1e-6 {
			t.Fatalf("pixel %d: %v after round trip, was %v", p, v, s.Images[p])
		}
	}
	if err := WriteIDX(io.Discard, io.Discard, &Set{}); err == nil {
		t.Error("WriteIDX of an empty set: no error")
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(readTestdata(f, "mnist5/train-images-idx3-ubyte.gz"), readTestdata(f, "mnist5/train-labels-idx1-ubyte.gz"))
	f.Add(readTestdata(f, "mnist5/t10k-images-idx3-ubyte"), readTestdata(f, "mnist5/t10k-labels-idx1-ubyte"))
	im, lb := validPair(1)
	f.Add(im, lb)
	f.Add(im[:20], lb)
	f.Add(idxBytes(IDXUint8, []int32{-1, 28, 28}, nil), lb)
	f.Fuzz(func(t *testing.T, images, labels []byte) {
		s, err := ReadIDX(bytes.NewReader(images), bytes.NewReader(labels))
		if err != nil {
			if s != nil {
				t.Fatal("non-nil set with an error")
			}
			return
		}
		if len(s.Pixels) != s.Len()*pixels || s.Len() == 0 {
			t.Fatalf("%d image values for %d labels", len(s.Pixels), s.Len())
		}
		var ib, lb bytes.Buffer
		if err := WriteIDX(&ib, &lb, s); err != nil {
			t.Fatal(err)
		}
		s2, err := ReadIDX(&ib, &lb)
		if err != nil {
			t.Fatalf("re-encoded set does not decode: %v", err)
		}
		if !slices.Equal(s.Pixels, s2.Pixels) || !slices.Equal(s.Labels, s2.Labels) {
			t.Fatal("re-encoded set decodes to different values")
		}
	})
}

// TestReadMNISTFull reads all of MNIST from the module cache; set
// ONNXDIGITS_MNIST=1 (tests never download; `go mod download` fetches it).
func TestReadMNISTFull(t *testing.T) {
	if os.Getenv("ONNXDIGITS_MNIST") != "1" {
		t.Skip("set ONNXDIGITS_MNIST=1 to read the full MNIST from the module cache")
	}
	train, val, err := Load("mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	// Class counts published with MNIST (train) and read off t10k.
	wantTrain := []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}
	wantVal := []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}
	if train.Len() != 60000 || val.Len() != 10000 {
		t.Fatalf("sizes %d/%d, want 60000/10000", train.Len(), val.Len())
	}
	if c := ClassCounts(train); !slices.Equal(c, wantTrain) {
		t.Errorf("train histogram %v, want %v", c, wantTrain)
	}
	if c := ClassCounts(val); !slices.Equal(c, wantVal) {
		t.Errorf("t10k histogram %v, want %v", c, wantVal)
	}
	// Mean pixel of MNIST train is 0.1307 (the constant every MNIST
	// normalisation uses).
	var sum float64
	for _, v := range MeanImage(train) {
		sum += float64(v)
	}
	if m := sum / pixels; m < 0.1305 || m > 0.1309 {
		t.Errorf("mean pixel %.4f, want 0.1307", m)
	}
}

func TestMNISTDir(t *testing.T) {
	dir, err := MNISTDir()
	if err != nil {
		if !strings.Contains(err.Error(), "go mod download "+GoMNISTModule) {
			t.Errorf("error %q does not say how to fetch MNIST", err)
		}
		t.Skip(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Error(err)
	}
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOPATH", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("PATH", "")
	_, err = MNISTDir()
	if err == nil || !strings.Contains(err.Error(), "go mod download "+GoMNISTModule) {
		t.Errorf("with an empty cache: error %v, want one naming go mod download", err)
	}
}

// BenchmarkReadIDX decodes 1000 images from memory.
func BenchmarkReadIDX(b *testing.B) {
	const n = 1000
	images, labels := validPair(n)
	b.ReportAllocs()
	b.SetBytes(int64(len(images) + len(labels)))
	for b.Loop() {
		if _, err := ReadIDX(bytes.NewReader(images), bytes.NewReader(labels)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}
