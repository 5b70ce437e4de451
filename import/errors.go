package onnximport

import (
	"fmt"
	"strings"
)

// UnsupportedOpError reports a node that the graph package cannot represent: an op
// type outside SupportedOps, an op from another domain, an attribute value we do not
// implement (Reason says which), or an opset outside 7..17.
type UnsupportedOpError struct {
	Op     string // ONNX op type, e.g. "LSTM"
	Domain string // "" for the default domain ai.onnx
	Node   string // node name as written in the file (may be empty)
	Opset  int64  // the model's opset for Domain
	Reason string // empty when the op type itself is unsupported
}

func (e *UnsupportedOpError) Error() string {
	dom := e.Domain
	if dom == "" {
		dom = "ai.onnx"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "onnximport: node %q: op %s (domain %s, opset %d) is not supported", e.Node, e.Op, dom, e.Opset)
	if e.Reason != "" {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	// A hint in the manner of torch.onnx's UnsupportedOperatorError: the
	// reason's own hint, else one for the op, else what to do in general.
	switch {
	case strings.Contains(e.Reason, "hint:"):
	case e.Reason != "" && opHints[e.Op] != "":
		fmt.Fprintf(&b, " (hint: %s)", opHints[e.Op])
	case e.Reason != "":
		b.WriteString(" (hint: if onnxruntime runs this model, please open an onnxdigits issue with the file and this message)")
	case e.Domain == "ai.onnx.ml":
		b.WriteString(" (hint: ai.onnx.ml holds classical ML models such as skl2onnx's; onnxdigits imports neural networks in the default domain only)")
	case e.Domain != "" && e.Domain != "ai.onnx":
		b.WriteString(" (hint: custom-domain ops cannot be imported; export with standard ONNX ops only)")
	default:
		fmt.Fprintf(&b, " (hint: supported ops are %s, and in shape computations known at import %s; export the model with those, e.g. torch.onnx.export at an opset in %d..%d)",
			strings.Join(SupportedOps(), ", "), strings.Join(ShapeOps(), ", "), MinOpset, MaxOpset)
	}
	return b.String()
}

// FormatError reports a file that is not a well-formed ONNX model: malformed
// protobuf, missing graph, tensors whose data do not match their dims, undefined
// node inputs, values produced twice.
type FormatError struct {
	Node string // the node or tensor concerned, if any
	Msg  string
	Err  error // underlying error, if any
}

func (e *FormatError) Error() string {
	s := "onnximport: invalid model: "
	if e.Node != "" {
		s += fmt.Sprintf("%q: ", e.Node)
	}
	s += e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(node, format string, args ...any) error {
	return &FormatError{Node: node, Msg: fmt.Sprintf(format, args...)}
}

// opHints are ways out for ops that are supported only in some forms.
var opHints = map[string]string{
	"Cast":      "Cast is evaluated at import in shape computations only; a model that casts image data at run time needs that cast removed (cast the input before calling the model)",
	"Concat":    "Concat is evaluated at import in shape computations only so far; float Concat of activations (e.g. Inception-style branches) is not implemented yet",
	"Gather":    "Gather is evaluated at import in shape computations only; gathering from image data (embeddings) is not supported",
	"Shape":     "Shape is evaluated at import; its result may only feed shape computations that end in Reshape's shape or Pad's pads",
	"Reshape":   "Reshape needs a shape known at import: a constant, or computed from the input's shape (PyTorch's x.view(x.size(0), -1) and x.flatten(1) are)",
	"Pad":       "export with the padding inside the Conv (nn.Conv2d(..., padding=p)) instead of a separate pad",
	"Unsqueeze": "Unsqueeze of run-time data is imported as a Reshape that keeps the batch dim first; inserting a dim before the batch is not supported",
	"Squeeze":   "Squeeze of run-time data is imported as a Reshape that keeps the batch dim first; squeezing the batch dim is not supported",
}
