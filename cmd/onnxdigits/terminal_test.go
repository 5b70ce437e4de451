package main

import (
	"bytes"
	"os"
	"testing"
)

// TestIsTerminal: only a terminal redraws progress bars. /dev/null is a
// character device, which the old check (os.ModeCharDevice) took for one, so
// `train > /dev/null` would have drawn bars into it; a file or buffer is not one.
func TestIsTerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer null.Close()
	if st, err := null.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Skipf("%s is not a character device here", os.DevNull)
	}
	f, err := os.Create(t.TempDir() + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, w := range map[string]any{os.DevNull: null, "a file": f, "a buffer": &bytes.Buffer{}} {
		if isTerminal(w) {
			t.Errorf("%s taken for a terminal", name)
		}
	}
}
