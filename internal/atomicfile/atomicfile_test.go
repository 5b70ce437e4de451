package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestWriteFileReplacesWithMode0644(t *testing.T) {
	old := syscall.Umask(0o077) // a strict umask must not change the mode
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "model.onnx")
	for _, data := range []string{"first", "second, longer"} {
		if err := WriteFile(p, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != data {
			t.Fatalf("read %q, %v; want %q", got, err, data)
		}
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != Mode {
		t.Errorf("mode %v, want %v", st.Mode().Perm(), os.FileMode(Mode))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries after two writes, want 1", len(entries))
	}
}

func TestFailedWriteKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.ckpt")
	if err := WriteFile(p, []byte("good")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := Write(p, Options{}, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "good" {
		t.Errorf("after a failed write the file reads %q, want the old %q", got, "good")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed write left %d entries, want 1", len(entries))
	}
}

// TestLeftoversRemoved plays a killed run: temporary files (in the old and
// new spellings) left unlocked and old are removed by the next write; a fresh
// one and one a live writer holds locked are kept, and so are other files.
func TestLeftoversRemoved(t *testing.T) {
	dir := t.TempDir()
	long := time.Now().Add(-time.Hour)
	mk := func(name string, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
		return p
	}
	stale := []string{
		mk(".a.ckpt.tmp-123", long),
		mk(".a.ckpt.tmp98765", long), // the old train.WriteFileAtomic
		mk(".a.ckpt.tmp", long),      // the old digits.writeAtomic
	}
	keep := []string{
		mk(".a.ckpt.tmp-fresh", time.Now()),
		mk(".a.ckpt.tmpl", long),     // not a temporary name
		mk(".b.ckpt.tmp-1", long),    // another file's: left for its own writer
		mk(".a.ckpt.tmp-held", long), // locked below, as by a live writer
	}
	held, err := os.Open(keep[3])
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := tryLock(held); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "a.ckpt"), []byte("new")); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived the next write (%v)", filepath.Base(p), err)
		}
	}
	for _, p := range keep {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(p), err)
		}
	}
	if err := RemoveTemps(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keep[2]); !os.IsNotExist(err) {
		t.Errorf("RemoveTemps left %s", filepath.Base(keep[2]))
	}
}

func TestLockSecondHolderFails(t *testing.T) {
	p := filepath.Join(t.TempDir(), "run.ckpt")
	l1, err := Lock(p)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to an open file, so a second open in this process
	// conflicts just as another process would.
	if _, err := Lock(p); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock: err = %v, want ErrLocked", err)
	}
	if err := l1.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := Lock(p)
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	l2.Unlock()
}
