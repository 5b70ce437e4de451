package onnximport

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/onnxdigits/onnxdigits/onnx"
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// attrs gives a handler typed, checked access to a node's attributes. Each getter
// marks the attribute used; done reports attributes no getter asked for, so an
// attribute we do not understand is an error rather than silently ignored. A
// present attribute of the wrong type is an error (onnx-go skips mistyped strides).
type attrs struct {
	node string
	m    map[string]*onnx.AttributeProto
	used map[string]bool
	err  error
}

func newAttrs(n *onnx.NodeProto, name string) (*attrs, error) {
	a := &attrs{node: name, m: map[string]*onnx.AttributeProto{}, used: map[string]bool{}}
	for _, p := range n.GetAttribute() {
		if p == nil {
			return nil, formatErr(name, "nil attribute")
		}
		if _, dup := a.m[p.GetName()]; dup {
			return nil, formatErr(name, "attribute %q is given twice", p.GetName())
		}
		if p.GetRefAttrName() != "" {
			return nil, formatErr(name, "attribute %q refers to a function attribute", p.GetName())
		}
		a.m[p.GetName()] = p
	}
	return a, nil
}

// get returns the attribute called name if present with the wanted type; it records
// a type error otherwise. Producers that omit the type field (IR < 2) are not
// supported: the type is required to be strict.
func (a *attrs) get(name string, want onnx.AttributeProto_AttributeType) *onnx.AttributeProto {
	a.used[name] = true
	p := a.m[name]
	if p == nil {
		return nil
	}
	if p.GetType() != want {
		if a.err == nil {
			a.err = formatErr(a.node, "attribute %q has type %v, want %v", name, p.GetType(), want)
		}
		return nil
	}
	return p
}

func (a *attrs) has(name string) bool { return a.m[name] != nil }

func (a *attrs) int(name string, def int64) int64 {
	if p := a.get(name, onnx.AttributeProto_INT); p != nil {
		return p.GetI()
	}
	return def
}

// bool reads an INT attribute that must be 0 or 1.
func (a *attrs) bool(name string, def bool) bool {
	d := int64(0)
	if def {
		d = 1
	}
	v := a.int(name, d)
	if v != 0 && v != 1 && a.err == nil {
		a.err = formatErr(a.node, "attribute %q is %d, want 0 or 1", name, v)
	}
	return v == 1
}

func (a *attrs) float(name string, def float32) float32 {
	if p := a.get(name, onnx.AttributeProto_FLOAT); p != nil {
		return p.GetF()
	}
	return def
}

func (a *attrs) ints(name string) []int64 {
	if p := a.get(name, onnx.AttributeProto_INTS); p != nil {
		return p.GetInts()
	}
	return nil
}

func (a *attrs) floats(name string) []float32 {
	if p := a.get(name, onnx.AttributeProto_FLOATS); p != nil {
		return p.GetFloats()
	}
	return nil
}

func (a *attrs) string(name, def string) string {
	if p := a.get(name, onnx.AttributeProto_STRING); p != nil {
		return string(p.GetS())
	}
	return def
}

func (a *attrs) tensor(name string) *onnx.TensorProto {
	if p := a.get(name, onnx.AttributeProto_TENSOR); p != nil {
		if p.GetT() == nil {
			a.fail("attribute %q has no tensor", name)
		}
		return p.GetT()
	}
	return nil
}

func (a *attrs) fail(format string, args ...any) {
	if a.err == nil {
		a.err = formatErr(a.node, format, args...)
	}
}

// done returns the first type error, or an error naming an attribute that no
// getter asked for.
func (a *attrs) done() error {
	if a.err != nil {
		return a.err
	}
	var unknown []string
	for name := range a.m {
		if !a.used[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return formatErr(a.node, "unknown attribute %q", unknown[0])
	}
	return nil
}

func (a *attrs) String() string { return fmt.Sprintf("%d attributes", len(a.m)) }
