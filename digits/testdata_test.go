package digits

import (
	"bytes"
	"compress/gzip"
	"flag"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/ from the MNIST files in the Go module cache")

// TestUpdateTestdata rewrites the small fixtures from real MNIST:
//
//	testdata/mnist5/train-{images-idx3,labels-idx1}-ubyte.gz  first 5 train images, gzip
//	testdata/mnist5/t10k-{images-idx3,labels-idx1}-ubyte      first 5 t10k images, raw
//	testdata/folder/<label>/train<i>.png|.jpg                  the 5 train images as files
//	testdata/badsize/7/wide.png                                a 30x28 image
//
// Run: go test ./digits -run UpdateTestdata -update
func TestUpdateTestdata(t *testing.T) {
	if !*update {
		t.Skip("no -update")
	}
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	first := func(split string) *Set {
		s, err := ReadMNIST(dir, split)
		if err != nil {
			t.Fatal(err)
		}
		return s.Subset([]int{0, 1, 2, 3, 4})
	}
	write := func(name string, data []byte) {
		t.Helper()
		name = filepath.Join("testdata", name)
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}

	train, test := first("train"), first("t10k")
	var ib, lb bytes.Buffer
	if err := WriteIDX(&ib, &lb, train); err != nil {
		t.Fatal(err)
	}
	write("mnist5/train-images-idx3-ubyte.gz", gz(ib.Bytes()))
	write("mnist5/train-labels-idx1-ubyte.gz", gz(lb.Bytes()))
	ib.Reset()
	lb.Reset()
	if err := WriteIDX(&ib, &lb, test); err != nil {
		t.Fatal(err)
	}
	write("mnist5/t10k-images-idx3-ubyte", ib.Bytes())
	write("mnist5/t10k-labels-idx1-ubyte", lb.Bytes())

	for i := range train.Len() {
		img := image.NewGray(image.Rect(0, 0, Width, Height))
		for p, v := range train.Image(i) {
			img.Pix[p] = toByte(v)
		}
		var buf bytes.Buffer
		ext := ".png"
		if i == 2 {
			ext = ".jpg"
			err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100})
		} else {
			err = png.Encode(&buf, img)
		}
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Join("folder", train.Classes[train.Labels[i]], "train"+string(rune('0'+i))+ext), buf.Bytes())
	}
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 30, 28)))
	write("badsize/7/wide.png", buf.Bytes())
}
