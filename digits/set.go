package digits

import (
	"fmt"
	"math"
	"math/rand"
	rand2 "math/rand/v2"
	"slices"
	"strconv"
)

// Height and Width are the size of every image in a Set, in pixels.
const Height, Width = 28, 28

// pixels is the number of float32 values in one image (1 channel).
const pixels = Height * Width

// Limits applied by the decoders before they allocate.
const (
	// MaxImages is the largest number of images a decoder accepts.
	MaxImages = 10_000_000
	// MaxBytes is the largest IDX body (product of all dimensions, one byte
	// per element) a decoder accepts.
	MaxBytes = MaxImages * pixels
)

// A FormatError reports that the input is not a valid data file.
type FormatError string

func (e FormatError) Error() string { return "digits: invalid format: " + string(e) }

// An UnsupportedError reports that the input uses a valid but unimplemented
// feature, or exceeds a limit.
type UnsupportedError string

func (e UnsupportedError) Error() string { return "digits: unsupported feature: " + string(e) }

// A Set holds N grey images and their labels.
//
// The images are (N,1,28,28) in [0,1], white digit on black, row-major, held
// in one of two forms: Pixels, 8-bit values where byte v means the float32
// v/255 (MNIST and image folders: a quarter of the memory of float32), or
// Images, float32 values (Synthetic, whose rendering is not quantized, and
// sets built by hand). Exactly one of them holds the N*28*28 values of a
// non-empty set; the other is nil. Pixel (y,x) of image i is element
// i*28*28+y*28+x. Readers that want float32 use Gather (a mini-batch),
// AppendImages (a range) or Image, which convert 8-bit pixels per call, so
// an 8-bit set is never held as float32 whole. Labels[i] < len(Classes)
// is the label of image i, and Classes[k] is the name of class k ("0".."9"
// for digits). Angles, when not nil, holds the rotation of each image in
// degrees, counter-clockwise positive as in MATLAB's imrotate; Synthetic
// records it, the other sources leave it nil (ReadFolder fills it from a
// labels.csv written by WriteFolder). The zero Set is empty and valid.
type Set struct {
	Images  []float32 // len N*28*28, or nil when Pixels holds the images
	Pixels  []uint8   // len N*28*28 (v means v/255), or nil when Images holds them
	Labels  []uint8   // len N, values < len(Classes)
	Angles  []float32 // rotation in degrees per image, nil when unknown
	Classes []string  // class names, index = label
}

// DigitClasses returns the class names "0".."9".
func DigitClasses() []string {
	c := make([]string, 10)
	for i := range c {
		c[i] = strconv.Itoa(i)
	}
	return c
}

// Len returns N, the number of images.
func (s *Set) Len() int { return len(s.Labels) }

// Image returns image i as 28*28 float32 values: a view (not a copy) into
// s.Images, or a new slice converted from s.Pixels. It panics if i is out of
// range.
func (s *Set) Image(i int) []float32 {
	if s.Pixels != nil {
		return s.AppendImages(nil, i, i+1)
	}
	return s.Images[i*pixels : (i+1)*pixels : (i+1)*pixels]
}

// AppendImages appends images lo..hi-1 to dst as (hi-lo,1,28,28) float32 and
// returns the extended slice (like strconv's Append functions), converting
// 8-bit pixels with PixelValue. It panics if lo..hi is out of range.
func (s *Set) AppendImages(dst []float32, lo, hi int) []float32 {
	if lo < 0 || hi < lo || hi > s.Len() {
		panic(fmt.Sprintf("digits: AppendImages: images %d..%d of %d", lo, hi, s.Len()))
	}
	if s.Pixels == nil {
		return append(dst, s.Images[lo*pixels:hi*pixels]...)
	}
	dst = slices.Grow(dst, (hi-lo)*pixels)
	for _, v := range s.Pixels[lo*pixels : hi*pixels] {
		dst = append(dst, byteToPixel[v])
	}
	return dst
}

// PixelValue returns the float32 value of the 8-bit pixel v: v/255, rounded
// to the nearest float32 (the value ReadIDX gave when it stored float32).
func PixelValue(v uint8) float32 { return byteToPixel[v] }

// Subset returns a new Set holding copies of the images idx, in that order.
// Indices may repeat. Classes is shared with s. It panics if an index is out
// of range.
func (s *Set) Subset(idx []int) *Set {
	out := &Set{
		Labels:  make([]uint8, len(idx)),
		Classes: s.Classes,
	}
	if s.Angles != nil {
		out.Angles = make([]float32, len(idx))
	}
	if s.Pixels != nil {
		out.Pixels = make([]uint8, len(idx)*pixels)
		for j, i := range idx {
			copy(out.Pixels[j*pixels:(j+1)*pixels], s.Pixels[i*pixels:(i+1)*pixels])
		}
	} else {
		out.Images = make([]float32, len(idx)*pixels)
	}
	s.Gather(idx, out.Images, out.Labels)
	for j, i := range idx {
		if out.Angles != nil {
			out.Angles[j] = s.Angles[i]
		}
	}
	return out
}

// Gather copies the images idx into images (len(idx)*28*28 values, laid out
// (len(idx),1,28,28), 8-bit pixels converted with PixelValue) and their
// labels into labels, without allocating. images may be nil (labels only). It
// is the mini-batch primitive: with perm := Shuffle(s.Len(), rng), batch b
// of size n is s.Gather(perm[b*n:(b+1)*n], images, labels). labels may be
// nil. It panics if a buffer is too short or an index is out of range.
func (s *Set) Gather(idx []int, images []float32, labels []uint8) {
	if images != nil && len(images) < len(idx)*pixels {
		panic(fmt.Sprintf("digits: Gather: images buffer holds %d values, need %d", len(images), len(idx)*pixels))
	}
	if labels != nil && len(labels) < len(idx) {
		panic(fmt.Sprintf("digits: Gather: labels buffer holds %d values, need %d", len(labels), len(idx)))
	}
	for j, i := range idx {
		switch {
		case images == nil:
		case s.Pixels != nil:
			dst := images[j*pixels : (j+1)*pixels]
			for p, v := range s.Pixels[i*pixels : (i+1)*pixels] {
				dst[p] = byteToPixel[v]
			}
		default:
			copy(images[j*pixels:(j+1)*pixels], s.Image(i))
		}
		if labels != nil {
			labels[j] = s.Labels[i]
		}
	}
}

// Shuffle returns a random permutation of 0..n-1 drawn from rng
// (math/rand, so a seed gives the same order on every Go version).
func Shuffle(n int, rng *rand.Rand) []int { return rng.Perm(n) }

// MeanImage returns the per-pixel mean over all images of s (28*28 values),
// the "zerocenter" input normalization of MATLAB's imageInputLayer. For an
// empty set it returns zeros.
func MeanImage(s *Set) []float32 {
	sum := make([]float64, pixels)
	n := s.Len()
	for i := range n {
		if s.Pixels != nil {
			for p, v := range s.Pixels[i*pixels : (i+1)*pixels] {
				sum[p] += float64(byteToPixel[v])
			}
			continue
		}
		for p, v := range s.Image(i) {
			sum[p] += float64(v)
		}
	}
	mean := make([]float32, pixels)
	if n == 0 {
		return mean
	}
	for p := range mean {
		mean[p] = float32(sum[p] / float64(n))
	}
	return mean
}

// ClassCounts returns the number of images per class (len(s.Classes)
// entries; labels beyond that are not counted).
func ClassCounts(s *Set) []int {
	c := make([]int, len(s.Classes))
	for _, l := range s.Labels {
		if int(l) < len(c) {
			c[l]++
		}
	}
	return c
}

// Split divides s into a training and a validation set, stratified per
// class: of the n_k images of class k, round(trainFrac*n_k) go to train and
// the rest to val, so the paper's 750/250 of each 1000 is trainFrac 0.75.
// Which images go where, and the order of each result, are drawn from seed
// alone; both results are shuffled (classes interleaved). It panics if
// trainFrac is not in [0,1].
func Split(s *Set, trainFrac float64, seed int64) (train, val *Set) {
	tr, va := splitIndices(s, trainFrac, seed)
	return s.Subset(tr), s.Subset(va)
}

// SplitInPlace is Split without the copies: it reorders s and returns two
// views into its arrays (capacity-limited, so appending to one cannot
// overwrite the other), the same images in the same order as Split gives.
// s is consumed: afterwards it holds the training images followed by the
// validation images. Load uses it so a data set is held in memory once.
func SplitInPlace(s *Set, trainFrac float64, seed int64) (train, val *Set) {
	tr, va := splitIndices(s, trainFrac, seed)
	s.permute(append(tr, va...))
	k, n := len(tr), s.Len()
	view := func(lo, hi int) *Set {
		v := &Set{
			Labels:  s.Labels[lo:hi:hi],
			Classes: s.Classes,
		}
		if s.Pixels != nil {
			v.Pixels = s.Pixels[lo*pixels : hi*pixels : hi*pixels]
		} else {
			v.Images = s.Images[lo*pixels : hi*pixels : hi*pixels]
		}
		if s.Angles != nil {
			v.Angles = s.Angles[lo:hi:hi]
		}
		return v
	}
	return view(0, k), view(k, n)
}

// permute reorders s in place so that new image j is old image order[j];
// order must be a permutation of 0..N-1.
func (s *Set) permute(order []int) {
	if s.Pixels != nil {
		permuteRows(s.Pixels, pixels, order)
	} else {
		permuteRows(s.Images, pixels, order)
	}
	permuteRows(s.Labels, 1, order)
	if s.Angles != nil {
		permuteRows(s.Angles, 1, order)
	}
}

// permuteRows reorders data (rows of width values) in place so that new row
// j is old row order[j]. It follows the permutation's cycles with one row of
// scratch space.
func permuteRows[T uint8 | float32](data []T, width int, order []int) {
	done := make([]bool, len(order))
	tmp := make([]T, width)
	row := func(i int) []T { return data[i*width : (i+1)*width] }
	for start := range order {
		if done[start] {
			continue
		}
		copy(tmp, row(start))
		for j := start; ; {
			done[j] = true
			src := order[j]
			if src == start {
				copy(row(j), tmp)
				break
			}
			copy(row(j), row(src))
			j = src
		}
	}
}

// splitIndices draws Split's train and validation indices.
func splitIndices(s *Set, trainFrac float64, seed int64) (tr, va []int) {
	if !(trainFrac >= 0 && trainFrac <= 1) {
		panic(fmt.Sprintf("digits: Split: trainFrac %v not in [0,1]", trainFrac))
	}
	rng := rand2.New(rand2.NewPCG(uint64(seed), 0x5eed5911))
	byClass := make(map[uint8][]int)
	for i, l := range s.Labels {
		byClass[l] = append(byClass[l], i)
	}
	// Visit classes in label order so the draw does not depend on map order.
	for l := range 256 {
		idx := byClass[uint8(l)]
		if len(idx) == 0 {
			continue
		}
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		k := int(math.Round(trainFrac * float64(len(idx))))
		tr = append(tr, idx[:k]...)
		va = append(va, idx[k:]...)
	}
	rng.Shuffle(len(tr), func(a, b int) { tr[a], tr[b] = tr[b], tr[a] })
	rng.Shuffle(len(va), func(a, b int) { va[a], va[b] = va[b], va[a] })
	return tr, va
}
