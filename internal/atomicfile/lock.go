package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrLocked is returned by Lock when another process holds the lock.
var ErrLocked = errors.New("atomicfile: locked by another process")

// A FileLock is an advisory, exclusive lock on a file name across processes.
type FileLock struct {
	f *os.File
}

// Lock takes an exclusive advisory lock for path without waiting: it locks
// the companion file ".NAME.lock" beside path (the lock cannot be on path
// itself, which each atomic write replaces). If another process holds it,
// the error wraps ErrLocked. The lock is released by Unlock or when the
// process ends, however it ends. The lock file is left in place: removing it
// would let two processes lock two different files of the same name.
func Lock(path string) (*FileLock, error) {
	dir, base := filepath.Split(path)
	lp := filepath.Join(dir, "."+base+".lock")
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, Mode)
	if err != nil {
		return nil, fmt.Errorf("atomicfile: %w", err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("%w: %s (held through %s)", ErrLocked, path, lp)
		}
		return nil, fmt.Errorf("atomicfile: locking %s: %w", lp, err)
	}
	return &FileLock{f: f}, nil
}

// Unlock releases the lock. Unlock on a nil FileLock does nothing.
func (l *FileLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}
