package export

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/onnxdigits/onnxdigits/onnx"
)

// Describe writes a terminal summary of mp in the spirit of Netron: format and
// producer, inputs and outputs with shapes, each node with its op, inputs,
// outputs (with shapes where value_info gives them) and attributes, each
// initializer with its type, shape and element count, the total, and the
// metadata. Long lists and strings are shortened and control characters escaped,
// so any decoded model prints safely (read one with onnximport.ReadProtoFile or
// DecodeProto, which check the size and the protobuf). It returns the first
// write error.
func Describe(w io.Writer, mp *onnx.ModelProto) (err error) {
	defer func() {
		// The accessors are nil-safe, so this is a last line of defence against a
		// bug here turning a strange file into a crash.
		if r := recover(); r != nil {
			err = fmt.Errorf("export: describing model: %v", r)
		}
	}()
	ew := &errWriter{w: w}
	g := mp.GetGraph()
	fmt.Fprintf(ew, "model     %s\n", clean(g.GetName()))
	fmt.Fprintf(ew, "producer  %s %s\n", clean(mp.GetProducerName()), clean(mp.GetProducerVersion()))
	var opsets []string
	for _, o := range mp.GetOpsetImport() {
		d := o.GetDomain()
		if d == "" {
			d = "ai.onnx"
		}
		opsets = append(opsets, fmt.Sprintf("%s %d", clean(d), o.GetVersion()))
	}
	fmt.Fprintf(ew, "format    ir_version %d, opset %s\n", mp.GetIrVersion(), strings.Join(opsets, ", "))
	if d := g.GetDocString(); d != "" {
		fmt.Fprintf(ew, "doc       %s\n", wrap(shorten(clean(d), 2000), 90, "          "))
	}

	shapes := map[string]string{}
	for _, vs := range [][]*onnx.ValueInfoProto{g.GetInput(), g.GetOutput(), g.GetValueInfo()} {
		for _, v := range vs {
			shapes[v.GetName()] = typeString(v.GetType())
		}
	}
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}

	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintf(ew, "\ninputs\n")
	for _, v := range g.GetInput() {
		if inits[v.GetName()] {
			continue // old-style files list initializers as inputs too
		}
		fmt.Fprintf(tw, "  %s\t%s\n", clean(v.GetName()), shapes[v.GetName()])
	}
	tw.Flush()
	fmt.Fprintf(ew, "\noutputs\n")
	for _, v := range g.GetOutput() {
		fmt.Fprintf(tw, "  %s\t%s\n", clean(v.GetName()), shapes[v.GetName()])
	}
	tw.Flush()

	fmt.Fprintf(ew, "\nnodes (%d)\n", len(g.GetNode()))
	if i, j, ok := unsortedAt(g); ok {
		fmt.Fprintf(ew, "  note: the nodes are not in topological order (node #%d reads an output of node #%d);\n"+
			"        the ONNX spec requires it, onnxruntime and onnxdigits sort them when loading\n", i, j)
	}
	for i, n := range g.GetNode() {
		var ins []string
		for _, in := range n.GetInput() {
			ins = append(ins, clean(in))
		}
		var outs []string
		for _, out := range n.GetOutput() {
			s := clean(out)
			if sh := shapes[out]; sh != "" {
				s += " " + sh
			}
			outs = append(outs, s)
		}
		op := clean(n.GetOpType())
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			op = clean(d) + "." + op
		}
		fmt.Fprintf(ew, "  #%-2d %-12s %s(%s) -> %s\n", i, clean(n.GetName()), op, strings.Join(ins, ", "), strings.Join(outs, ", "))
		var attrs []string
		for _, a := range n.GetAttribute() {
			attrs = append(attrs, clean(a.GetName())+"="+attrString(a))
		}
		if len(attrs) > 0 {
			fmt.Fprintf(ew, "      %s\n", strings.Join(attrs, " "))
		}
	}

	fmt.Fprintf(ew, "\nparameters (%d initializers)\n", len(g.GetInitializer()))
	total, totalOK := int64(0), true
	for _, t := range g.GetInitializer() {
		n, ok := numElements(t.GetDims())
		count := "?"
		if ok {
			count = groupDigits(n)
			if total <= math.MaxInt64-n {
				total += n
			} else {
				totalOK = false
			}
		} else {
			totalOK = false
		}
		where := ""
		if t.GetDataLocation() == onnx.TensorProto_EXTERNAL {
			where = " (external data"
			for _, kv := range t.GetExternalData() {
				if kv.GetKey() == "location" {
					where += " in " + clean(kv.GetValue())
				}
			}
			where += ")"
		}
		fmt.Fprintf(tw, "  %s\t%s %s\t%s%s\n", clean(t.GetName()), dataTypeName(t.GetDataType()), dimsString(t.GetDims()), count, where)
	}
	if totalOK {
		fmt.Fprintf(tw, "  total\t\t%s\n", groupDigits(total))
	} else {
		fmt.Fprintf(tw, "  total\t\t? (invalid dims)\n")
	}
	tw.Flush()

	if props := mp.GetMetadataProps(); len(props) > 0 {
		fmt.Fprintf(ew, "\nmetadata\n")
		for _, p := range props {
			fmt.Fprintf(tw, "  %s\t%s\n", clean(p.GetKey()), shorten(clean(p.GetValue()), 200))
		}
		tw.Flush()
	}
	return ew.err
}

// unsortedAt finds the first node #i that reads an output of a later node #j.
func unsortedAt(g *onnx.GraphProto) (i, j int, ok bool) {
	producer := map[string]int{}
	for k, n := range g.GetNode() {
		for _, out := range n.GetOutput() {
			if _, dup := producer[out]; out != "" && !dup {
				producer[out] = k
			}
		}
	}
	for k, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			if p, found := producer[in]; found && p > k {
				return k, p, true
			}
		}
	}
	return 0, 0, false
}

// errWriter keeps the first write error and skips later writes.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	_, e.err = e.w.Write(p)
	return len(p), nil
}

// clean makes a string from the file safe for a terminal: control and other
// non-printable characters are escaped, and very long strings shortened.
func clean(s string) string {
	s = shorten(s, 1000)
	ok := true
	for _, r := range s {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// wrap breaks s at spaces into lines of at most width bytes (longer words stay
// whole), indenting every line after the first.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		switch {
		case i == 0:
		case n+1+len(w) > width:
			b.WriteString("\n" + indent)
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + fmt.Sprintf("... (%d bytes)", len(s))
}

func typeString(t *onnx.TypeProto) string {
	tt := t.GetTensorType()
	if tt == nil {
		if t == nil {
			return ""
		}
		return "(non-tensor)"
	}
	s := dataTypeName(tt.GetElemType())
	if tt.GetShape() == nil {
		return s + " [?]"
	}
	var dims []string
	for _, d := range tt.GetShape().GetDim() {
		switch v := d.GetValue().(type) {
		case *onnx.TensorShapeProto_Dimension_DimValue:
			dims = append(dims, strconv.FormatInt(v.DimValue, 10))
		case *onnx.TensorShapeProto_Dimension_DimParam:
			dims = append(dims, clean(v.DimParam))
		default:
			dims = append(dims, "?")
		}
	}
	return s + " [" + strings.Join(dims, ",") + "]"
}

func dataTypeName(dt int32) string {
	switch onnx.TensorProto_DataType(dt) {
	case onnx.TensorProto_FLOAT:
		return "float32"
	case onnx.TensorProto_DOUBLE:
		return "float64"
	case onnx.TensorProto_FLOAT16:
		return "float16"
	}
	if name, ok := onnx.TensorProto_DataType_name[dt]; ok {
		return strings.ToLower(name)
	}
	return fmt.Sprintf("dtype(%d)", dt)
}

func dimsString(dims []int64) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// numElements multiplies dims, failing on negative dims or overflow.
func numElements(dims []int64) (int64, bool) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 || (d > 0 && n > math.MaxInt64/d) {
			return 0, false
		}
		n *= d
	}
	return n, true
}

func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// attrString formats an attribute value by its declared type; lists show at
// most 16 values.
func attrString(a *onnx.AttributeProto) string {
	const maxList = 16
	list := func(n int, item func(i int) string) string {
		var parts []string
		for i := 0; i < n && i < maxList; i++ {
			parts = append(parts, item(i))
		}
		if n > maxList {
			parts = append(parts, fmt.Sprintf("... (%d)", n))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	switch a.GetType() {
	case onnx.AttributeProto_FLOAT:
		return strconv.FormatFloat(float64(a.GetF()), 'g', -1, 32)
	case onnx.AttributeProto_INT:
		return strconv.FormatInt(a.GetI(), 10)
	case onnx.AttributeProto_STRING:
		return strconv.Quote(shorten(string(a.GetS()), 80))
	case onnx.AttributeProto_TENSOR:
		t := a.GetT()
		return fmt.Sprintf("<tensor %s %s>", dataTypeName(t.GetDataType()), dimsString(t.GetDims()))
	case onnx.AttributeProto_GRAPH:
		return fmt.Sprintf("<graph %s, %d nodes>", clean(a.GetG().GetName()), len(a.GetG().GetNode()))
	case onnx.AttributeProto_FLOATS:
		fs := a.GetFloats()
		return list(len(fs), func(i int) string { return strconv.FormatFloat(float64(fs[i]), 'g', -1, 32) })
	case onnx.AttributeProto_INTS:
		is := a.GetInts()
		return list(len(is), func(i int) string { return strconv.FormatInt(is[i], 10) })
	case onnx.AttributeProto_STRINGS:
		ss := a.GetStrings()
		return list(len(ss), func(i int) string { return strconv.Quote(shorten(string(ss[i]), 80)) })
	}
	return fmt.Sprintf("<%s>", strings.ToLower(a.GetType().String()))
}
