package digits

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/onnxdigits/onnxdigits/internal/testutil"
)

// flat returns a w x h grey image of one value.
func flat(w, h int, v uint8) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

func TestReadFolderTestdata(t *testing.T) {
	s, err := ReadFolder(os.DirFS("testdata/folder"), FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The first five MNIST train images, labels 5 0 4 1 9, as
	// folder/<label>/train<i>.png (train2 as .jpg).
	if !slices.Equal(s.Classes, []string{"0", "1", "4", "5", "9"}) {
		t.Errorf("classes %v", s.Classes)
	}
	if !slices.Equal(s.Labels, []uint8{0, 1, 2, 3, 4}) || s.Angles != nil {
		t.Errorf("labels %v, angles %v", s.Labels, s.Angles)
	}
	mnist, err := ReadMNIST("testdata/mnist5", "train")
	if err != nil {
		t.Fatal(err)
	}
	// Folder order (by class) of MNIST images 1, 3, 2, 0, 4.
	for j, i := range []int{1, 3, 2, 0, 4} {
		// PNG is lossless; the JPEG (quality 100) is within a few levels
		// per pixel (measured max 0.06 here).
		tol := float32(0)
		if i == 2 {
			tol = 0.1
		}
		for p, v := range s.Image(j) {
			if d := v - mnist.Image(i)[p]; d > tol || d < -tol {
				t.Fatalf("folder image %d (MNIST %d) pixel %d: %v, want %v", j, i, p, v, mnist.Image(i)[p])
			}
		}
	}
}

func TestReadFolderErrors(t *testing.T) {
	good := testutil.EncodePNG(t, flat(28, 28, 200))
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
		opts FolderOptions
		want string // substring of the error
	}{
		{"empty", fstest.MapFS{"readme.txt": {Data: []byte("hi")}}, FolderOptions{}, "no class directories"},
		{"no images", fstest.MapFS{"3/notes.txt": {Data: []byte("hi")}}, FolderOptions{}, "no .png/.jpg/.jpeg images"},
		{"wrong size", fstest.MapFS{"3/a.png": {Data: good}, "3/big.png": {Data: testutil.EncodePNG(t, flat(30, 28, 1))}}, FolderOptions{}, "3/big.png: image is 30x28, want 28x28"},
		{"not an image", fstest.MapFS{"3/a.png": {Data: []byte("\x89PNG\r\n\x1a\nbroken")}}, FolderOptions{}, "3/a.png: digits: invalid format"},
		{"huge", fstest.MapFS{"3/a.png": {Data: testutil.EncodePNG(t, image.NewGray(image.Rect(0, 0, 5000, 4000)))}}, FolderOptions{Resize: true}, "3/a.png: digits: unsupported feature: png image size 5000x4000"},
		{"bad angle", fstest.MapFS{"3/a.png": {Data: good}, "labels.csv": {Data: []byte("file,label,angle\n3/a.png,3,x\n")}}, FolderOptions{}, "labels.csv line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFolder(tc.fsys, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// Many bad files: the first five are named, the rest counted.
	many := fstest.MapFS{}
	for i := range 8 {
		many[fmt.Sprintf("3/%d.png", i)] = &fstest.MapFile{Data: []byte("bad")}
	}
	_, err := ReadFolder(many, FolderOptions{})
	if err == nil || !strings.Contains(err.Error(), "3/4.png") || strings.Contains(err.Error(), "3/5.png") || !strings.HasSuffix(err.Error(), "3 more files failed") {
		t.Errorf("8 bad files: error %v", err)
	}
	// The committed non-28x28 sample, through os.DirFS.
	_, err = ReadFolder(os.DirFS("testdata/badsize"), FolderOptions{})
	if err == nil || !strings.Contains(err.Error(), "7/wide.png: image is 30x28") {
		t.Errorf("testdata/badsize: error %v", err)
	}
	if _, err := ReadFolder(os.DirFS("testdata/badsize"), FolderOptions{Resize: true}); err != nil {
		t.Errorf("testdata/badsize with Resize: %v", err)
	}
}

func TestReadFolderClassesAndColour(t *testing.T) {
	rgba := image.NewRGBA(image.Rect(0, 0, 28, 28))
	for i := range 28 * 28 {
		rgba.Set(i%28, i/28, color.RGBA{255, 255, 255, 255})
	}
	rgba.Set(0, 0, color.RGBA{0, 0, 0, 0}) // transparent: composited on black
	var jp bytes.Buffer
	jpeg.Encode(&jp, flat(28, 28, 255), nil)
	fsys := fstest.MapFS{
		"10/a.png":       {Data: testutil.EncodePNG(t, flat(28, 28, 51))}, // 51/255 = 0.2
		"2/b.PNG":        {Data: testutil.EncodePNG(t, rgba)},
		"2/c.jpeg":       {Data: jp.Bytes()},
		"2/skip.gif":     {Data: []byte("GIF89a")},
		"2/deeper/d.png": {Data: testutil.EncodePNG(t, flat(28, 28, 0))},
		".git/x.png":     {Data: testutil.EncodePNG(t, flat(28, 28, 0))},
		"labels.csv":     {Data: []byte("file,label,angle\n")},
	}
	s, err := ReadFolder(fsys, FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Numeric class names sort as numbers: 2 before 10.
	if !slices.Equal(s.Classes, []string{"2", "10"}) || !slices.Equal(s.Labels, []uint8{0, 0, 1}) {
		t.Fatalf("classes %v labels %v", s.Classes, s.Labels)
	}
	if v := s.Image(0)[0]; v != 0 {
		t.Errorf("transparent pixel reads %v, want 0", v)
	}
	if v := s.Image(0)[1]; v != 1 {
		t.Errorf("white RGBA pixel reads %v, want 1", v)
	}
	if v := s.Image(1)[100]; v < 0.98 {
		t.Errorf("white JPEG pixel reads %v", v)
	}
	if v := s.Image(2)[5]; v != 0.2 {
		t.Errorf("grey 51 reads %v, want 0.2", v)
	}
	if s.Angles != nil {
		t.Error("Angles set from a labels.csv without angles")
	}

	names := []string{"b", "a", "c"}
	sortClasses(names)
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("string classes sorted %v", names)
	}
}

func TestResize(t *testing.T) {
	// 56x56 with the left half white: area-halving keeps the edge sharp.
	img := flat(56, 56, 0)
	for y := range 56 {
		for x := range 28 {
			img.Pix[y*56+x] = 255
		}
	}
	dst := make([]uint8, pixels)
	if err := decodeImage(testutil.EncodePNG(t, img), dst, FolderOptions{Resize: true}); err != nil {
		t.Fatal(err)
	}
	for p, v := range dst {
		want := uint8(0)
		if p%28 < 14 {
			want = 255
		}
		if v != want {
			t.Fatalf("pixel %d: %v, want %v", p, v, want)
		}
	}
	// Upscaling a flat image keeps it flat; any size keeps values in [0,1].
	for _, sz := range [][2]int{{7, 7}, {1, 1}, {100, 3}, {29, 27}} {
		if err := decodeImage(testutil.EncodePNG(t, flat(sz[0], sz[1], 255)), dst, FolderOptions{Resize: true}); err != nil {
			t.Fatal(err)
		}
		for p, v := range dst {
			if v != 255 {
				t.Fatalf("%dx%d white resized: pixel %d is %v", sz[0], sz[1], p, v)
			}
		}
	}
}

func TestWriteFolderRoundTrip(t *testing.T) {
	s := Synthetic(3, 9)
	dir := t.TempDir()
	if err := WriteFolder(s, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "7", "07.png")); err != nil {
		t.Errorf("expected DIR/7/07.png: %v", err)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(csv)), "\n"); len(lines) != 31 || lines[0] != "file,label,angle" || !strings.HasPrefix(lines[1], "0/00.png,0,") {
		t.Errorf("labels.csv starts %q, %d lines", lines[:2], len(lines))
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*", ".*.tmp"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	got, err := ReadFolder(os.DirFS(dir), FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// ReadFolder returns images by class, then file name; file names are
	// the original indices, so sorting by them restores s's order.
	if got.Len() != s.Len() || !slices.Equal(got.Classes, s.Classes) {
		t.Fatalf("read back %d images, classes %v", got.Len(), got.Classes)
	}
	for j := range got.Len() {
		k := int(got.Labels[j])
		i := k + 10*(j%3) // class k holds images k, k+10, k+20
		if got.Angles[j] != s.Angles[i] || s.Labels[i] != got.Labels[j] {
			t.Fatalf("image %d: label %d angle %v, want %d %v", j, got.Labels[j], got.Angles[j], s.Labels[i], s.Angles[i])
		}
		for p, v := range got.Image(j) {
			if d := v - s.Image(i)[p]; d > 0.5/255+1e-6 || d < -0.5/255-1e-6 { // 8-bit PNG
				t.Fatalf("image %d pixel %d: %v, want %v", j, p, v, s.Image(i)[p])
			}
		}
	}
	bad := &Set{Images: make([]float32, pixels), Labels: []uint8{0}, Classes: []string{"../x"}}
	if err := WriteFolder(bad, dir); err == nil {
		t.Error("class name ../x accepted")
	}
}

// FuzzDecodeImage: the image path of ReadFolder never panics, and what it
// rejects fails with a typed error.
func FuzzDecodeImage(f *testing.F) {
	for _, name := range []string{"folder/5/train0.png", "folder/4/train2.jpg", "badsize/7/wide.png"} {
		f.Add(readTestdata(f, name), true)
	}
	f.Add(readTestdata(f, "folder/0/train1.png"), false)
	f.Fuzz(func(t *testing.T, data []byte, resize bool) {
		dst := make([]uint8, pixels)
		err := decodeImage(data, dst, FolderOptions{Resize: resize})
		if err != nil {
			var fe FormatError
			var ue UnsupportedError
			if !errors.As(err, &fe) && !errors.As(err, &ue) && !strings.Contains(err.Error(), "want 28x28") {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
	})
}

// TestFolderImages counts what ReadFolder reads from the listing alone: the
// images here are not even valid files, so decoding any would fail. Other
// files and nested folders do not count; a folder ReadFolder refuses is an
// error, and SpecImages gives the same count for the folder as a data spec.
func TestFolderImages(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"0/a.png", "0/b.jpg", "0/c.jpeg", "1/d.png", "1/e.PNG", "1/notes.txt", "1/deeper/f.png", ".hidden/g.png", "labels.csv"} {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("not an image"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n, err := FolderImages(dir) // a, b, c, d and e
	if err != nil || n != 5 {
		t.Fatalf("FolderImages = %d, %v, want 5", n, err)
	}
	if _, err := ReadFolder(os.DirFS(dir), FolderOptions{}); err == nil {
		t.Fatal("ReadFolder read invalid images")
	}
	if got, ok := SpecImages(dir); !ok || got != n {
		t.Errorf("SpecImages(folder) = %d, %v, want %d", got, ok, n)
	}
	if _, err := FolderImages(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no class directories") {
		t.Errorf("empty folder: %v", err)
	}
	if _, ok := SpecImages(filepath.Join(dir, "missing")); ok {
		t.Error("SpecImages of a missing folder is ok")
	}
}
