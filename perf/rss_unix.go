//go:build unix

package perf

import (
	"runtime"
	"syscall"
)

// peakRSS returns the process's peak resident set size in bytes (getrusage's
// ru_maxrss: kilobytes on Linux, bytes on macOS).
func peakRSS() int64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(u.Maxrss)
	}
	return int64(u.Maxrss) * 1024
}
