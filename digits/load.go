package digits

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// DefaultPerClass is the size of the paper's data set: 1000 images per
// digit, split 750 train / 250 validation.
const DefaultPerClass = 1000

// TrainFraction is the share of each class Load puts in the training set
// when the source has no fixed split (the paper's 750 of 1000).
const TrainFraction = 0.75

// Load returns a training and a validation set described by spec:
//
//	"synthetic"     Synthetic(1000, seed), split 750/250 per class
//	"synthetic:N"   Synthetic(N, seed), split 75/25 per class
//	"mnist"         MNIST from the Go module cache (MNISTDir): train 60k, validation t10k 10k
//	"mnist:DIR"     MNIST files in DIR (see ReadMNIST)
//	DIR             a folder DIR/<label>/*.png (ReadFolder, 28x28 only), split 75/25 per class
//
// seed drives the synthetic images and every split; MNIST ignores it. Any
// other spec is an error listing these forms.
func Load(spec string, seed int64) (train, val *Set, err error) {
	switch {
	case spec == "synthetic":
		train, val = SplitInPlace(Synthetic(DefaultPerClass, seed), TrainFraction, seed)
		return train, val, nil
	case strings.HasPrefix(spec, "synthetic:"):
		n, err := strconv.Atoi(strings.TrimPrefix(spec, "synthetic:"))
		if err != nil || n <= 0 || n > MaxImages/10 {
			return nil, nil, fmt.Errorf("digits: data %q: want synthetic:N with N images per class, 1..%d", spec, MaxImages/10)
		}
		train, val = SplitInPlace(Synthetic(n, seed), TrainFraction, seed)
		return train, val, nil
	case spec == "mnist" || strings.HasPrefix(spec, "mnist:"):
		dir, err := mnistDir(spec)
		if err != nil {
			return nil, nil, err
		}
		if train, err = ReadMNIST(dir, "train"); err != nil {
			return nil, nil, err
		}
		if val, err = ReadMNIST(dir, "t10k"); err != nil {
			return nil, nil, err
		}
		return train, val, nil
	}
	if fi, statErr := os.Stat(spec); statErr == nil && fi.IsDir() {
		s, err := ReadFolder(os.DirFS(spec), FolderOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("%w (reading folder %s)", err, spec)
		}
		train, val = SplitInPlace(s, TrainFraction, seed)
		return train, val, nil
	}
	return nil, nil, fmt.Errorf("digits: unknown data %q: want one of synthetic, synthetic:N (images per class), mnist, mnist:DIR, or a folder DIR/<label>/*.png", spec)
}

// LoadValidation returns the validation set of Load(spec, seed) without
// keeping the training set: for MNIST it reads only the t10k files (the
// training set's 47 MB are never read); the other sources are generated or
// read whole and split, and the training part is dropped.
func LoadValidation(spec string, seed int64) (*Set, error) {
	if spec == "mnist" || strings.HasPrefix(spec, "mnist:") {
		dir, err := mnistDir(spec)
		if err != nil {
			return nil, err
		}
		return ReadMNIST(dir, "t10k")
	}
	_, val, err := Load(spec, seed)
	return val, err
}

// mnistDir returns the folder of an "mnist" or "mnist:DIR" spec.
func mnistDir(spec string) (string, error) {
	if dir := strings.TrimPrefix(strings.TrimPrefix(spec, "mnist"), ":"); dir != "" {
		return dir, nil
	}
	return MNISTDir()
}

// SpecImages returns the number of images (training plus validation) Load
// would read for spec: from the spec alone, or for a folder from its listing
// (FolderImages: no image is opened). It returns false when the spec is not
// valid or the folder would be refused.
func SpecImages(spec string) (int, bool) {
	switch {
	case spec == "synthetic":
		return 10 * DefaultPerClass, true
	case strings.HasPrefix(spec, "synthetic:"):
		n, err := strconv.Atoi(strings.TrimPrefix(spec, "synthetic:"))
		if err != nil || n <= 0 || n > MaxImages/10 {
			return 0, false
		}
		return 10 * n, true
	case spec == "mnist" || strings.HasPrefix(spec, "mnist:"):
		return 70_000, true
	}
	if fi, err := os.Stat(spec); err == nil && fi.IsDir() {
		if n, err := FolderImages(spec); err == nil {
			return n, true
		}
	}
	return 0, false
}

// CheckSpec reports a spec Load cannot take, without reading anything: an
// unknown form or a bad synthetic:N (a folder must exist).
func CheckSpec(spec string) error {
	switch {
	case spec == "synthetic", spec == "mnist", strings.HasPrefix(spec, "mnist:"):
		return nil
	case strings.HasPrefix(spec, "synthetic:"):
		if _, ok := SpecImages(spec); !ok {
			return fmt.Errorf("digits: data %q: want synthetic:N with N images per class, 1..%d", spec, MaxImages/10)
		}
		return nil
	}
	if fi, err := os.Stat(spec); err == nil && fi.IsDir() {
		return nil
	}
	return fmt.Errorf("digits: unknown data %q: want one of synthetic, synthetic:N (images per class), mnist, mnist:DIR, or a folder DIR/<label>/*.png", spec)
}
