package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Mode is the permission of every file written. It is set with chmod, so the
// umask does not change it.
const Mode = 0o644

// tempInfix marks temporary files: ".NAME" + tempInfix + random. The old
// writers used ".NAME.tmp" and ".NAME.tmpRANDOM"; the cleanup matches
// the common prefix ".NAME.tmp" so their leftovers go too.
const tempInfix = ".tmp-"

// staleAge is how old an unlocked temporary file must be before another
// writer removes it. The lock already tells a live writer from a dead one;
// the age covers the instant between creating a file and locking it.
const staleAge = 10 * time.Second

// Options tunes one write. The zero value is the safe default: leftovers
// removed, file and folder synced.
type Options struct {
	// NoCleanup skips listing the folder for leftovers of earlier killed
	// runs. For bulk writers that call RemoveTemps once per folder instead.
	NoCleanup bool
	// NoDirSync skips syncing the folder after the rename. For bulk writers
	// that call SyncDir once per folder after the last file.
	NoDirSync bool
}

// WriteFile writes data to path atomically with the default Options.
func WriteFile(path string, data []byte) error {
	return Write(path, Options{}, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write creates path atomically with the contents fill writes. If fill or
// any step fails, path is left as it was and the temporary file is removed.
func Write(path string, opts Options, fill func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("atomicfile: %q names a folder, not a file", path)
	}
	if !opts.NoCleanup {
		if err := removeTemps(dir, base); err != nil {
			return err
		}
	}
	f, err := os.CreateTemp(dir, "."+base+tempInfix+"*")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// Held until Close: marks the file as a live writer's.
	if err = tryLock(f); err != nil {
		return fmt.Errorf("atomicfile: locking %s: %w", tmp, err)
	}
	if err = fill(f); err != nil {
		return fmt.Errorf("atomicfile: writing %s: %w", path, err)
	}
	if err = f.Chmod(Mode); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("atomicfile: writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("atomicfile: writing %s: %w", path, err)
	}
	if !opts.NoDirSync {
		return SyncDir(dir)
	}
	return nil
}

// SyncDir syncs the folder dir, making renames into it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("atomicfile: syncing folder %s: %w", dir, err)
	}
	return nil
}

// RemoveTemps removes every temporary file in dir left behind by a killed
// writer: names of the form ".NAME.tmp*" that no live writer holds locked
// and that are older than a few seconds.
func RemoveTemps(dir string) error {
	return removeTemps(dir, "")
}

// removeTemps removes the stale temporary files of base in dir (all of them
// when base is "").
func removeTemps(dir, base string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !isTemp(name, base) || !e.Type().IsRegular() {
			continue
		}
		removeStale(filepath.Join(dir, name))
	}
	return nil
}

// isTemp reports whether name is a temporary file of base (of any file when
// base is ""): ".BASE.tmp", ".BASE.tmpDIGITS" (the old writers) or
// ".BASE.tmp-ANYTHING" (this package).
func isTemp(name, base string) bool {
	i := strings.LastIndex(name, ".tmp")
	if i < 2 || name[0] != '.' || (base != "" && name[1:i] != base) {
		return false
	}
	rest := name[i+len(".tmp"):]
	if rest == "" || strings.HasPrefix(rest, "-") {
		return true
	}
	return strings.Trim(rest, "0123456789") == ""
}

// removeStale removes the file at p if it is old enough and no live writer
// holds it. Errors are ignored: a leftover that cannot be removed does no harm.
func removeStale(p string) {
	st, err := os.Lstat(p)
	if err != nil || time.Since(st.ModTime()) < staleAge {
		return
	}
	f, err := os.Open(p)
	if err != nil {
		return
	}
	defer f.Close()
	if tryLock(f) != nil {
		return
	}
	os.Remove(p)
}
