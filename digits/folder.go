package digits

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers the JPEG decoder with image.Decode
	"image/png"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/onnxdigits/onnxdigits/internal/atomicfile"
)

// MaxImagePixels bounds the width*height of one image ReadFolder decodes,
// checked from the file header before decoding.
const MaxImagePixels = 4096 * 4096

// maxImageFileBytes bounds the size of one image file ReadFolder reads.
const maxImageFileBytes = 64 << 20

// FolderOptions configures ReadFolder. The zero value accepts only 28x28
// images.
type FolderOptions struct {
	// Resize resamples images that are not 28x28 to 28x28 (area average
	// when shrinking, bilinear when enlarging), stretching them if they are
	// not square. Without it such an image is an error naming the file and
	// its size.
	Resize bool
}

// ReadFolder reads a folder of labelled images laid out as
// <label>/<name>.png|.jpg|.jpeg at the root of fsys (MATLAB's DigitDataset
// layout). Each directory at the root is a class, named by the directory;
// classes are sorted, numerically when every name is a non-negative
// integer ("2" before "10"), else as strings. Other files, and anything
// nested deeper, are ignored. Images are converted to grey (luma, alpha
// composited on black) and kept as 8-bit values (Set.Pixels; 16-bit and
// resized images are rounded to the nearest of 0..255). Images are taken as they are:
// a dark digit on a light background is NOT inverted (MATLAB's
// DigitDataset is white on black already, like Synthetic and MNIST), so
// check the mean of such a set before training on it.
//
// If the root holds a labels.csv as written by WriteFolder (columns
// file,label,angle), the angles in it fill Set.Angles.
//
// Images are returned sorted by class, then by file name. An empty folder,
// more than 256 classes or MaxImages images, an undecodable file, or an
// image of the wrong size (without opts.Resize) is an error naming the file.
func ReadFolder(fsys fs.FS, opts FolderOptions) (*Set, error) {
	classes, files, labels, err := listFolder(fsys)
	if err != nil {
		return nil, err
	}
	s := &Set{Pixels: make([]uint8, len(files)*pixels), Labels: labels, Classes: classes}
	// Decode in parallel; each worker writes only its own images' slots.
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				b, err := readLimited(fsys, files[i])
				if err == nil {
					err = decodeImage(b, s.Pixels[i*pixels:(i+1)*pixels], opts)
				}
				if err != nil {
					errs[i] = fmt.Errorf("digits: folder: %s: %w", files[i], err)
				}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := firstErrors(errs, 5); err != nil {
		return nil, err
	}

	if angles, err := readAngles(fsys, files); err != nil {
		return nil, err
	} else if angles != nil {
		s.Angles = angles
	}
	return s, nil
}

// firstErrors joins the first most non-nil errors of errs and counts the
// rest, so that a folder of bad files gives a short message.
func firstErrors(errs []error, most int) error {
	var first []error
	n := 0
	for _, err := range errs {
		if err != nil {
			if n < most {
				first = append(first, err)
			}
			n++
		}
	}
	if n > most {
		first = append(first, fmt.Errorf("digits: folder: %d more files failed", n-most))
	}
	return errors.Join(first...)
}

// listFolder lists the images ReadFolder reads, without opening any: the
// class directories (sorted) and each image's path and class index. It
// enforces ReadFolder's limits on classes and images.
func listFolder(fsys fs.FS) (classes, files []string, labels []uint8, err error) {
	root, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("digits: folder: %w", err)
	}
	for _, e := range root {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			classes = append(classes, e.Name())
		}
	}
	if len(classes) == 0 {
		return nil, nil, nil, errors.New("digits: folder: no class directories (want DIR/<label>/*.png)")
	}
	if len(classes) > 256 {
		return nil, nil, nil, fmt.Errorf("digits: folder: %d class directories, at most 256", len(classes))
	}
	sortClasses(classes)

	for k, c := range classes {
		entries, err := fs.ReadDir(fsys, c)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("digits: folder: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || !isImageName(e.Name()) {
				continue
			}
			files = append(files, path.Join(c, e.Name()))
			labels = append(labels, uint8(k))
		}
		if len(files) > MaxImages {
			return nil, nil, nil, UnsupportedError(fmt.Sprintf("folder holds more than MaxImages (%d) images", MaxImages))
		}
	}
	if len(files) == 0 {
		return nil, nil, nil, fmt.Errorf("digits: folder: no .png/.jpg/.jpeg images under %d class directories", len(classes))
	}

	return classes, files, labels, nil
}

// FolderImages returns how many images ReadFolder would read from the
// folder dir, from its listing alone (no image is opened), with ReadFolder's
// errors for a folder it would refuse.
func FolderImages(dir string) (int, error) {
	_, files, _, err := listFolder(os.DirFS(dir))
	return len(files), err
}

// readLimited reads a file, refusing files above maxImageFileBytes.
func readLimited(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxImageFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxImageFileBytes {
		return nil, UnsupportedError(fmt.Sprintf("image file larger than %d bytes", maxImageFileBytes))
	}
	return b, nil
}

// readAngles reads labels.csv (file,label,angle) if present and returns the
// angle of each of files, or nil if the CSV is absent or does not give an
// angle for every file.
func readAngles(fsys fs.FS, files []string) ([]float32, error) {
	f, err := fsys.Open("labels.csv")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("digits: folder: %w", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(io.LimitReader(f, 1<<30)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("digits: folder: labels.csv: %w", err)
	}
	byFile := make(map[string]float32, len(recs))
	for i, r := range recs {
		if i == 0 || len(r) < 3 || r[2] == "" {
			continue // header, or no angle
		}
		a, err := strconv.ParseFloat(r[2], 32)
		if err != nil {
			return nil, fmt.Errorf("digits: folder: labels.csv line %d: angle %q: %w", i+1, r[2], err)
		}
		byFile[r[0]] = float32(a)
	}
	angles := make([]float32, len(files))
	for i, name := range files {
		a, ok := byFile[name]
		if !ok {
			return nil, nil
		}
		angles[i] = a
	}
	return angles, nil
}

func isImageName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// sortClasses sorts numerically when every name is a non-negative decimal
// integer, else as strings.
func sortClasses(c []string) {
	numeric := true
	for _, s := range c {
		if _, err := strconv.ParseUint(s, 10, 63); err != nil {
			numeric = false
			break
		}
	}
	if !numeric {
		slices.Sort(c)
		return
	}
	slices.SortFunc(c, func(a, b string) int {
		x, _ := strconv.ParseUint(a, 10, 63)
		y, _ := strconv.ParseUint(b, 10, 63)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b) // "07" and "7"
	})
}

// decodeImage decodes one PNG or JPEG file into dst (28*28 grey values,
// 0..255). The size is checked from the header before decoding: more
// than MaxImagePixels is an UnsupportedError; not 28x28 is an error giving
// the size unless opts.Resize. Colour is reduced to luma (ITU-R BT.601, as
// image/color.GrayModel), with transparency composited over black.
func decodeImage(data []byte, dst []uint8, opts FolderOptions) error {
	if len(dst) < pixels {
		return fmt.Errorf("dst holds %d values, need %d", len(dst), pixels)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return FormatError("image: " + err.Error())
	}
	if err := checkImageConfig(cfg, format); err != nil {
		return err
	}
	if !opts.Resize && (cfg.Width != Width || cfg.Height != Height) {
		return fmt.Errorf("image is %dx%d, want %dx%d (or resize it: FolderOptions.Resize)", cfg.Width, cfg.Height, Width, Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return FormatError("image: " + err.Error())
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if m, ok := img.(*image.Gray); ok && w == Width && h == Height {
		for y := range h {
			copy(dst[y*w:(y+1)*w], m.Pix[y*m.Stride:y*m.Stride+w])
		}
		return nil
	}
	grey := make([]float32, w*h)
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				grey[y*w+x] = float32(v) / 255
			}
		}
	default:
		for y := range h {
			for x := range w {
				g := color.Gray16Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray16)
				grey[y*w+x] = float32(g.Y) / 0xffff
			}
		}
	}
	out := grey
	if w != Width || h != Height {
		out = make([]float32, pixels)
		resize(grey, w, h, out, Width, Height, image.Rect(0, 0, Width, Height))
	}
	for p, v := range out {
		dst[p] = toByte(v)
	}
	return nil
}

// WriteFolder writes s as DIR/<class>/<index>.png (8-bit grey, pixels
// rounded to 0..255), index being the image's position in s zero-padded to
// a common width, plus DIR/labels.csv with the columns file,label,angle
// (file relative to DIR with forward slashes, label the class name, angle
// in degrees or empty when s.Angles is nil). ReadFolder reads it back. Each
// file is written under a temporary name and renamed, so a reader never
// sees half a file. Existing files of the same name are replaced.
func WriteFolder(s *Set, dir string) error {
	n := s.Len()
	if len(s.Images)+len(s.Pixels) != n*pixels {
		return fmt.Errorf("digits: WriteFolder: %d image values for %d labels", len(s.Images)+len(s.Pixels), n)
	}
	for _, c := range s.Classes {
		if c == "" || c == "." || c == ".." || strings.ContainsAny(c, `/\`) {
			return fmt.Errorf("digits: WriteFolder: class name %q is not a valid directory name", c)
		}
	}
	for k, c := range s.Classes {
		if err := os.MkdirAll(filepath.Join(dir, c), 0o755); err != nil {
			return fmt.Errorf("digits: WriteFolder: class %d: %w", k, err)
		}
		// Leftovers of a killed run, once per folder rather than per file.
		if err := atomicfile.RemoveTemps(filepath.Join(dir, c)); err != nil {
			return fmt.Errorf("digits: WriteFolder: class %d: %w", k, err)
		}
	}
	width := len(strconv.Itoa(max(n-1, 0)))
	names := make([]string, n)
	for i, l := range s.Labels {
		if int(l) >= len(s.Classes) {
			return fmt.Errorf("digits: WriteFolder: image %d has label %d, only %d classes", i, l, len(s.Classes))
		}
		names[i] = fmt.Sprintf("%s/%0*d.png", s.Classes[l], width, i)
	}

	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			img := image.NewGray(image.Rect(0, 0, Width, Height))
			var buf bytes.Buffer
			// One encoder buffer per worker: without it each Encode
			// allocates a fresh zlib writer (~1 MB), which dominated.
			enc := png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: new(onePool)}
			for i := range next {
				if s.Pixels != nil {
					copy(img.Pix, s.Pixels[i*pixels:(i+1)*pixels])
				} else {
					for p, v := range s.Image(i) {
						img.Pix[p] = toByte(v)
					}
				}
				buf.Reset()
				if err := enc.Encode(&buf, img); err != nil {
					errs[i] = err
					continue
				}
				errs[i] = writeBulk(filepath.Join(dir, filepath.FromSlash(names[i])), buf.Bytes())
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("digits: WriteFolder: %w", err)
	}
	for _, c := range s.Classes {
		if err := atomicfile.SyncDir(filepath.Join(dir, c)); err != nil {
			return fmt.Errorf("digits: WriteFolder: %w", err)
		}
	}

	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"file", "label", "angle"})
	for i, l := range s.Labels {
		angle := ""
		if s.Angles != nil {
			angle = strconv.FormatFloat(float64(s.Angles[i]), 'g', -1, 32)
		}
		w.Write([]string{names[i], s.Classes[l], angle})
	}
	w.Flush()
	if err := atomicfile.WriteFile(filepath.Join(dir, "labels.csv"), buf.Bytes()); err != nil {
		return fmt.Errorf("digits: WriteFolder: %w", err)
	}
	return nil
}

// onePool is a png.EncoderBufferPool for one goroutine.
type onePool struct{ b *png.EncoderBuffer }

func (p *onePool) Get() *png.EncoderBuffer  { return p.b }
func (p *onePool) Put(b *png.EncoderBuffer) { p.b = b }

// writeBulk writes one image of WriteFolder atomically; the folder listing for
// leftovers and the folder sync happen once per class folder instead.
func writeBulk(name string, data []byte) error {
	return atomicfile.Write(name, atomicfile.Options{NoCleanup: true, NoDirSync: true}, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
