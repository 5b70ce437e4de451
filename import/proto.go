package onnximport

import (
	"fmt"
	"io"
	"os"

	"github.com/onnxdigits/onnxdigits/onnx"
	"google.golang.org/protobuf/proto"
)

// DecodeProto is the first step of Decode: it checks data against
// opts.MaxBytes and unmarshals it into an ONNX ModelProto, without building a
// graph. Too much input, malformed protobuf and a message with no graph are
// *FormatErrors; nothing else is checked, so a tool that only looks at a file
// (onnxdigits inspect, export.Describe) can show models Decode rejects. It never
// panics on input bytes.
func DecodeProto(data []byte, opts Options) (*onnx.ModelProto, error) {
	if int64(len(data)) > opts.maxBytes() {
		return nil, formatErr("", "model is larger than %d bytes (Options.MaxBytes)", opts.maxBytes())
	}
	mp := &onnx.ModelProto{}
	if err := proto.Unmarshal(data, mp); err != nil {
		return nil, &FormatError{Msg: "malformed protobuf", Err: err}
	}
	if mp.GetGraph() == nil {
		return nil, formatErr("", "no graph (ir_version %d, %d bytes): not an ONNX model", mp.GetIrVersion(), len(data))
	}
	return mp, nil
}

// ReadProtoFile reads the ONNX file at path and decodes it with DecodeProto.
// A file larger than opts.MaxBytes is refused before it is read.
func ReadProtoFile(path string, opts Options) (*onnx.ModelProto, error) {
	data, err := readLimited(path, opts)
	if err != nil {
		return nil, err
	}
	mp, err := DecodeProto(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return mp, nil
}

// readLimited reads the file at path, refusing one whose size is over
// opts.MaxBytes before reading it and never reading more than one byte past
// the limit (a file that grows, or a pipe, is caught by DecodeProto's check).
func readLimited(path string, opts Options) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnximport: %w", err)
	}
	defer f.Close()
	max := opts.maxBytes()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > max {
		return nil, fmt.Errorf("%w (file %s, %d bytes)", formatErr("", "model is larger than %d bytes (Options.MaxBytes)", max), path, st.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("onnximport: reading %s: %w", path, err)
	}
	return data, nil
}
