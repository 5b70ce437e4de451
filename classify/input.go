package classify

import (
	"fmt"
	"math"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
)

// Layout is how a model's image input holds one image (after the batch dim N).
type Layout int

const (
	NCHW Layout = iota + 1 // (N,C,H,W), C 1 or 3: ONNX's and PyTorch's order
	NHWC                   // (N,H,W,C), C 1 or 3: Keras and TensorFlow's order
	NHW                    // (N,H,W): one grey plane, no channel dim
	Flat                   // (N,H*W): the grey plane flattened row by row (H = W)
)

func (l Layout) String() string {
	switch l {
	case NCHW:
		return "NCHW"
	case NHWC:
		return "NHWC"
	case NHW:
		return "NHW"
	case Flat:
		return "flat"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// PixelRange is the scale of the pixel values a model takes: a grey value v in
// [0,1] (0 black, 1 white) is fed as v, 255*v or 2*v-1.
type PixelRange int

const (
	// PixelRangeModel, the zero value, takes the range from the model's
	// Image.NominalPixelRange metadata, else 0-1.
	PixelRangeModel PixelRange = iota
	PixelRange01               // [0,1] ("0-1", metadata Normalized_0_1)
	PixelRange0255             // [0,255] ("0-255", NominalRange_0_255)
	PixelRange11               // [-1,1] ("-1-1", Normalized_1_1)
)

// ParsePixelRange reads the command-line spelling: "0-1", "0-255" or "-1-1";
// "" and "model" give PixelRangeModel.
func ParsePixelRange(s string) (PixelRange, error) {
	switch s {
	case "", "model":
		return PixelRangeModel, nil
	case "0-1":
		return PixelRange01, nil
	case "0-255":
		return PixelRange0255, nil
	case "-1-1":
		return PixelRange11, nil
	}
	return 0, fmt.Errorf("classify: pixel range %q is not one of 0-1, 0-255, -1-1", s)
}

func (r PixelRange) String() string {
	switch r {
	case PixelRangeModel:
		return "model"
	case PixelRange01:
		return "0-1"
	case PixelRange0255:
		return "0-255"
	case PixelRange11:
		return "-1-1"
	}
	return fmt.Sprintf("PixelRange(%d)", int(r))
}

// FromUnit maps a grey value v in [0,1] to the range (PixelRangeModel and
// PixelRange01 leave it alone).
func (r PixelRange) FromUnit(v float32) float32 {
	switch r {
	case PixelRange0255:
		return 255 * v
	case PixelRange11:
		return 2*v - 1
	}
	return v
}

// pixelRangeFromMeta reads Image.NominalPixelRange; ok is false when the key is
// absent. An unknown value is an error naming the ones we read.
func pixelRangeFromMeta(meta map[string]string) (r PixelRange, ok bool, err error) {
	v, ok := meta[graph.MetaPixelRange]
	if !ok {
		return PixelRange01, false, nil
	}
	switch v {
	case graph.PixelRangeNormalized01:
		return PixelRange01, true, nil
	case graph.PixelRangeNominal0255:
		return PixelRange0255, true, nil
	case graph.PixelRangeNormalized11:
		return PixelRange11, true, nil
	}
	return 0, true, fmt.Errorf("classify: the model's %s metadata is %q (%s, %s and %s are understood); give the range with Options.PixelRange (--pixel-range 0-1|0-255|-1-1)",
		graph.MetaPixelRange, v, graph.PixelRangeNormalized01, graph.PixelRangeNominal0255, graph.PixelRangeNormalized11)
}

// input is what the adapter knows about the model's image input.
type input struct {
	name       string
	dims       []int // declared, graph.Batch for a symbolic batch
	layout     Layout
	c, h, w    int
	pixelRange PixelRange
}

// perImage is the number of values of one image in the model's layout.
func (in *input) perImage() int { return in.c * in.h * in.w }

// describeInput works out the layout of a declared input shape (dims[0] is
// the batch: graph.Batch or fixed). Anything else is an error that names the
// shape and the shapes that work.
func describeInput(v graph.Value) (*input, error) {
	in := &input{name: v.Name, dims: v.Shape}
	d := v.Shape
	bad := func(why string) error {
		return fmt.Errorf("classify: input %q has shape %s, %s; an image input is (N,C,H,W) or (N,H,W,C) with C 1 or 3, (N,H,W), or (N,H*W) with H = W",
			v.Name, graph.FormatDims(d), why)
	}
	if v.Type != graph.Float32 {
		return nil, fmt.Errorf("classify: input %q is %s; an image input is float32", v.Name, v.Type)
	}
	if len(d) < 2 || len(d) > 4 {
		return nil, bad(fmt.Sprintf("rank %d", len(d)))
	}
	if d[0] == 0 || d[0] < graph.Batch {
		return nil, bad("its first (batch) dim is not the batch")
	}
	for i, x := range d[1:] {
		if x <= 0 {
			return nil, bad(fmt.Sprintf("dim #%d is not fixed", i+1))
		}
	}
	switch len(d) {
	case 4:
		switch {
		case d[1] == 1 || d[1] == 3:
			in.layout, in.c, in.h, in.w = NCHW, d[1], d[2], d[3]
		case d[3] == 1 || d[3] == 3:
			in.layout, in.c, in.h, in.w = NHWC, d[3], d[1], d[2]
		default:
			return nil, bad(fmt.Sprintf("neither dim #1 (%d) nor dim #3 (%d) is 1 or 3 channels", d[1], d[3]))
		}
	case 3:
		in.layout, in.c, in.h, in.w = NHW, 1, d[1], d[2]
	case 2:
		side := int(math.Sqrt(float64(d[1])))
		for side*side < d[1] {
			side++
		}
		if side*side != d[1] {
			return nil, bad(fmt.Sprintf("%d values per image is not a square image", d[1]))
		}
		in.layout, in.c, in.h, in.w = Flat, 1, side, side
	}
	if in.h > digits.MaxImagePixels/in.w || in.perImage() > graph.MaxElements {
		return nil, bad("too large an image")
	}
	return in, nil
}

// fromGrey writes one grey image (h*w values in [0,1], row-major) into dst
// (perImage values) in the model's layout and pixel range; a 3-channel model
// gets the grey value in every channel.
func (in *input) fromGrey(dst, grey []float32) {
	r := in.pixelRange
	plane := in.h * in.w
	switch in.layout {
	case NHWC:
		for i, v := range grey[:plane] {
			v = r.FromUnit(v)
			for c := range in.c {
				dst[i*in.c+c] = v
			}
		}
	default: // NCHW, NHW, Flat: channel planes one after another
		for i, v := range grey[:plane] {
			dst[i] = r.FromUnit(v)
		}
		for c := 1; c < in.c; c++ {
			copy(dst[c*plane:(c+1)*plane], dst[:plane])
		}
	}
}
