package onnximport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/onnx"
)

// ONNX TensorProto.DataType values (onnx.proto) that we read.
const (
	dtFloat  = int32(onnx.TensorProto_FLOAT)
	dtInt32  = int32(onnx.TensorProto_INT32)
	dtInt64  = int32(onnx.TensorProto_INT64)
	dtDouble = int32(onnx.TensorProto_DOUBLE)
)

func dtypeName(dt int32) string {
	if s, ok := onnx.TensorProto_DataType_name[dt]; ok {
		return s
	}
	return "data type " + itoa(int64(dt))
}

// tensorDims checks ONNX dims (each >= 0, product under graph.MaxElements) and
// returns them as ints with the element count.
func tensorDims(name string, dims []int64) ([]int, int, error) {
	if len(dims) > 8 {
		return nil, 0, formatErr(name, "rank %d is above 8", len(dims))
	}
	out := make([]int, len(dims))
	n := 1
	for i, d := range dims {
		if d < 0 || d > graph.MaxElements {
			return nil, 0, formatErr(name, "dim #%d is %d", i, d)
		}
		if d > 0 && n > graph.MaxElements/int(d) {
			return nil, 0, formatErr(name, "dims %v exceed %d elements", dims, graph.MaxElements)
		}
		n *= int(d)
		out[i] = int(d)
	}
	return out, n, nil
}

// decodeTensor converts an initializer or constant to a graph tensor: FLOAT (from
// float_data or little-endian raw_data), DOUBLE (converted to float32; a finite value
// out of float32 range is an error), INT64 and INT32 (as int64, for shapes). The
// element count is checked against the data present before anything is allocated.
//
// A tensor with data_location EXTERNAL has its bytes in another file (ext reads
// them, see externalData); ext nil makes that an error.
func decodeTensor(t *onnx.TensorProto, ext *externalData) (*graph.Tensor, error) {
	name := t.GetName()
	if t.GetSegment() != nil {
		return nil, formatErr(name, "segmented tensors are not supported")
	}
	dims, n, err := tensorDims(name, t.GetDims())
	if err != nil {
		return nil, err
	}
	raw := t.GetRawData()
	if t.GetDataLocation() == onnx.TensorProto_EXTERNAL || len(t.GetExternalData()) > 0 {
		if t.GetDataLocation() != onnx.TensorProto_EXTERNAL {
			return nil, formatErr(name, "has external_data entries but data_location is not EXTERNAL")
		}
		size := elemSize(t.GetDataType())
		if size == 0 {
			return nil, &FormatError{Node: name, Msg: "tensor type " + dtypeName(t.GetDataType()) + " is not supported (float, double, int32 and int64 are)", Err: ErrDataType}
		}
		if raw, err = ext.read(t, int64(n)*int64(size)); err != nil {
			return nil, err
		}
	}
	out := &graph.Tensor{Name: name, Dims: dims, Doc: t.GetDocString()}
	// count checks the number of values in a typed field or raw_data (of size bytes
	// each), and that only one of them is used.
	count := func(typed, size int) error {
		if raw != nil && typed > 0 {
			return formatErr(name, "has both raw_data and typed data")
		}
		have := typed
		if raw != nil || typed == 0 {
			if len(raw)%size != 0 {
				return formatErr(name, "raw_data has %d bytes, not a multiple of %d", len(raw), size)
			}
			have = len(raw) / size
		}
		if have != n {
			return formatErr(name, "has %d values for dims %v (%d elements)", have, dims, n)
		}
		return nil
	}
	switch dt := t.GetDataType(); dt {
	case dtFloat:
		if err := count(len(t.GetFloatData()), 4); err != nil {
			return nil, err
		}
		out.Data = make([]float32, n)
		if raw != nil {
			for i := range out.Data {
				out.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		} else {
			copy(out.Data, t.GetFloatData())
		}
	case dtDouble:
		if err := count(len(t.GetDoubleData()), 8); err != nil {
			return nil, err
		}
		out.Data = make([]float32, n)
		for i := range out.Data {
			var v float64
			if raw != nil {
				v = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			} else {
				v = t.GetDoubleData()[i]
			}
			f := float32(v)
			if math.IsInf(float64(f), 0) && !math.IsInf(v, 0) {
				return nil, formatErr(name, "double value %g at #%d overflows float32", v, i)
			}
			out.Data[i] = f
		}
	case dtInt64:
		if err := count(len(t.GetInt64Data()), 8); err != nil {
			return nil, err
		}
		out.Int64 = make([]int64, n)
		if raw != nil {
			for i := range out.Int64 {
				out.Int64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		} else {
			copy(out.Int64, t.GetInt64Data())
		}
	case dtInt32:
		if err := count(len(t.GetInt32Data()), 4); err != nil {
			return nil, err
		}
		out.Int64 = make([]int64, n)
		for i := range out.Int64 {
			if raw != nil {
				out.Int64[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
			} else {
				out.Int64[i] = int64(t.GetInt32Data()[i])
			}
		}
	default:
		return nil, &FormatError{Node: name, Msg: "tensor type " + dtypeName(dt) + " is not supported (float, double, int32 and int64 are)", Err: ErrDataType}
	}
	if out.Int64 == nil && out.Data == nil {
		out.Data = []float32{}
	}
	return out, nil
}

// elemSize is the byte size of one element of the types decodeTensor reads, or 0.
func elemSize(dt int32) int {
	switch dt {
	case dtFloat, dtInt32:
		return 4
	case dtDouble, dtInt64:
		return 8
	}
	return 0
}

// externalData reads tensor bytes stored outside the model file
// (https://onnx.ai/onnx/repo-docs/ExternalData.html): each tensor names a file
// (location, relative to the model's folder), an offset and a length. Locations
// that are absolute or leave the folder (.., symlinks pointing out) are refused,
// sizes are checked against the file before anything is allocated, and the
// total read is capped by Options.MaxBytes.
type externalData struct {
	dir  string // the model's folder; "" when the model came without a path
	left int64  // bytes that may still be read
}

func (e *externalData) read(t *onnx.TensorProto, want int64) ([]byte, error) {
	name := t.GetName()
	if e == nil || e.dir == "" {
		return nil, formatErr(name, "the tensor's data is in an external file, which needs the model's folder: read the model with onnximport.ReadFile or set Options.ExternalDataDir")
	}
	var location string
	offset, length := int64(0), int64(-1)
	for _, kv := range t.GetExternalData() {
		k, v := kv.GetKey(), kv.GetValue()
		switch k {
		case "location":
			location = v
		case "offset", "length":
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil || x < 0 {
				return nil, formatErr(name, "external data %s %q is not a non-negative integer", k, v)
			}
			if k == "offset" {
				offset = x
			} else {
				length = x
			}
		case "checksum":
		default:
			return nil, formatErr(name, "unknown external data key %q", k)
		}
	}
	switch {
	case location == "":
		return nil, formatErr(name, "external data has no location")
	case filepath.IsAbs(location) || !filepath.IsLocal(location):
		return nil, formatErr(name, "external data location %q must be a relative path inside the model's folder (no absolute paths, no ..)", location)
	case length >= 0 && length != want:
		return nil, formatErr(name, "external data length %d does not match dims %v (%d bytes)", length, t.GetDims(), want)
	case want > e.left:
		return nil, formatErr(name, "external data of %d bytes exceeds what may still be read (%d of Options.MaxBytes)", want, e.left)
	}
	root, err := os.OpenRoot(e.dir)
	if err != nil {
		return nil, &FormatError{Node: name, Msg: "opening the model's folder for external data", Err: err}
	}
	defer root.Close()
	f, err := root.Open(location) // refuses symlinks that leave dir
	if err != nil {
		return nil, &FormatError{Node: name, Msg: fmt.Sprintf("external data file %q", location), Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &FormatError{Node: name, Msg: fmt.Sprintf("external data file %q", location), Err: err}
	}
	if !st.Mode().IsRegular() {
		return nil, formatErr(name, "external data file %q is not a regular file", location)
	}
	if offset > st.Size() || want > st.Size()-offset {
		return nil, formatErr(name, "external data file %q has %d bytes, the tensor needs %d at offset %d", location, st.Size(), want, offset)
	}
	buf := make([]byte, want)
	if _, err := f.ReadAt(buf, offset); err != nil && !(errors.Is(err, io.EOF) && want == 0) {
		return nil, &FormatError{Node: name, Msg: fmt.Sprintf("reading external data file %q", location), Err: err}
	}
	e.left -= want
	return buf, nil
}
