package onnximport

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeProto: the proto step alone rejects what is not an ONNX model with
// a *FormatError (the same errors Decode gives), and accepts a well-formed
// model Decode rejects (a custom-domain op), which inspect must still show.
func TestDecodeProto(t *testing.T) {
	good := reluModel().bytes(t)
	for _, tc := range []struct {
		name string
		data []byte
		opts Options
		want string // substring of the error
	}{
		{"empty", nil, Options{}, "no graph"},
		{"garbage", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, Options{}, "malformed protobuf"},
		{"truncated", good[:len(good)/2], Options{}, "malformed protobuf"},
		{"text", []byte("this is not an onnx file\n"), Options{}, "invalid model"},
		{"too big", good, Options{MaxBytes: 10}, "larger than 10 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeProto(tc.data, tc.opts)
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want a *FormatError mentioning %q", err, tc.want)
			}
		})
	}

	custom := reluModel()
	custom.nodes[0].Domain = "com.example"
	data := custom.bytes(t)
	if _, err := Decode(data, Options{}); err == nil {
		t.Fatal("Decode accepted a custom-domain op")
	}
	mp, err := DecodeProto(data, Options{})
	if err != nil || mp.GetGraph().GetNode()[0].GetDomain() != "com.example" {
		t.Errorf("DecodeProto: %v, %v", mp, err)
	}
}

// TestReadProtoFile: the size cap is checked on the file's size before reading
// it, and read errors name the file.
func TestReadProtoFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relu.onnx")
	data := reluModel().bytes(t)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mp, err := ReadProtoFile(path, Options{})
	if err != nil || len(mp.GetGraph().GetNode()) != 1 || mp.GetGraph().GetNode()[0].GetOpType() != "Relu" {
		t.Fatalf("ReadProtoFile: %v, %v", mp, err)
	}
	_, err = ReadProtoFile(path, Options{MaxBytes: int64(len(data) - 1)})
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "larger than") || !strings.Contains(err.Error(), path) {
		t.Errorf("over the cap: %v", err)
	}
	if _, err := ReadProtoFile(filepath.Join(t.TempDir(), "missing.onnx"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
