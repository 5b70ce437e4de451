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
	// A hint in the manner of torch.onnx's UnsupportedOperatorError.
	switch {
	case e.Reason != "":
		b.WriteString(" (hint: re-export the model without this option, or open an issue with the file)")
	case e.Domain != "" && e.Domain != "ai.onnx":
		b.WriteString(" (hint: custom-domain ops cannot be imported; export with standard ONNX ops only)")
	default:
		fmt.Fprintf(&b, " (hint: supported ops are %s; rewrite the model with them, e.g. torch.onnx.export with operator_export_type=ONNX and a supported opset 7..17)",
			strings.Join(SupportedOps(), ", "))
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
