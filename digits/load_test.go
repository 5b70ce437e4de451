package digits

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		spec       string
		train, val int // sizes
	}{
		{"synthetic:8", 60, 20},         // 8 per class: round(0.75*8) = 6 train
		{"mnist:testdata/mnist5", 5, 5}, // the first 5 of train and t10k
		{"testdata/folder", 5, 0},       // 1 image per class: round(0.75*1) = 1 train, 0 val
	} {
		t.Run(tc.spec, func(t *testing.T) {
			train, val, err := Load(tc.spec, 1)
			if err != nil {
				t.Fatal(err)
			}
			if train.Len() != tc.train || val.Len() != tc.val {
				t.Errorf("sizes %d/%d, want %d/%d", train.Len(), val.Len(), tc.train, tc.val)
			}
		})
	}
	if testing.Short() {
		return
	}
	train, val, err := Load("synthetic", 1)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 7500 || val.Len() != 2500 || train.Angles == nil {
		t.Errorf("synthetic: %d/%d", train.Len(), val.Len())
	}
	want := slices.Repeat([]int{750}, 10)
	if c := ClassCounts(train); !slices.Equal(c, want) {
		t.Errorf("synthetic train counts %v", c)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		spec, want string
	}{
		{"imagenet", "want one of synthetic, synthetic:N (images per class), mnist, mnist:DIR, or a folder"},
		{"synthetic:0", "synthetic:N"},
		{"synthetic:x", "synthetic:N"},
		{"synthetic:99999999999", "synthetic:N"},
		{"mnist:/nonexistent", "no such file"},
		{"testdata/mnist5", "no class directories"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			_, _, err := Load(tc.spec, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat("imagenet"); err == nil {
		t.Fatal("a folder named imagenet exists here")
	}
}
