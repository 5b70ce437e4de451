package graph

import (
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
)

// DefaultArch is the paper's network: 5x5 convolution with 20 filters, batch
// normalization, ReLU and a fully connected layer to the classes.
const DefaultArch = "conv5x5x20,bn,relu,fc10"

// ArchHelp describes the architecture spec grammar for --help texts.
const ArchHelp = `comma-separated layers: convKxKxF[sS][pP] (KxK kernel, F filters, stride, pad), bn, relu, ` +
	`maxpoolK[sS], avgpoolK[sS], gap (global average pool), fcN (fully connected, N outputs; the last must equal the classes), dropoutP`

// Input describes the image input of a classifier built by New.
type Input struct {
	Channels, Height, Width int
	Classes                 []string
}

// DigitsInput is the 28x28 grey input with classes "0".."9".
func DigitsInput() Input {
	return Input{Channels: 1, Height: 28, Width: 28, Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
}

// Value names shared by the builder, trainer, exporter and importer.
const (
	ImageInput    = "image"         // (N,C,H,W) float32 pixels in [0,1]
	MeanParam     = "input.mean"    // (1,C,H,W) training mean image ("zerocenter")
	LogitsValue   = "logits"        // (N,K) scores before the softmax
	ProbsOutput   = "probabilities" // (N,K) softmax of the logits
	LabelOutput   = "label"         // (N) int64 argmax of the probabilities
	normalizeNode = "normalize"
)

// New builds a classifier from an architecture spec (see ArchHelp; "" means
// DefaultArch): image -> Sub mean image -> layers -> logits -> Softmax
// (probabilities) and ArgMax (label). Weights are Glorot-uniform from rng, biases
// zero, batch-norm scale 1 and shift 0, the mean image zero until the trainer sets
// it. A bad spec is an error naming the layer, and so is a parameter over
// MaxElements (checked before it is allocated).
func New(spec string, in Input, rng *rand.Rand) (*Model, error) {
	if rng == nil {
		return nil, fmt.Errorf("graph: New needs a random source")
	}
	return newArch(spec, in, rng)
}

// ArchModel is New without the parameter data: every Tensor has its Dims and
// nil Data. It costs no more memory than the spec's text, so a memory Plan
// can be checked before New allocates.
func ArchModel(spec string, in Input) (*Model, error) {
	return newArch(spec, in, nil)
}

// newArch is New; with a nil rng it leaves parameter data out (ArchModel).
func newArch(spec string, in Input, rng *rand.Rand) (*Model, error) {
	alloc := func(n int) []float32 {
		if rng == nil {
			return nil
		}
		return make([]float32, n)
	}
	if spec == "" {
		spec = DefaultArch
	}
	k := len(in.Classes)
	m := &Model{
		Name:    "onnxdigits",
		Inputs:  []Value{{Name: ImageInput, Type: Float32, Shape: []int{Batch, in.Channels, in.Height, in.Width}, Doc: "pixels in [0,1], white digit on black"}},
		Classes: append([]string(nil), in.Classes...),
		Meta:    map[string]string{"arch": spec},
	}
	m.Params = append(m.Params, &Tensor{Name: MeanParam, Dims: []int{1, in.Channels, in.Height, in.Width},
		Data: alloc(in.Channels * in.Height * in.Width), Doc: "mean training image, subtracted from the input (zerocenter normalization)"})
	m.Nodes = append(m.Nodes, &Node{Name: normalizeNode, Op: &Binary{Kind: "Sub"}, Inputs: []string{ImageInput, MeanParam}, Outputs: []string{normalizeNode}})
	shape := []int{Batch, in.Channels, in.Height, in.Width}
	cur := normalizeNode
	count := map[string]int{}
	layers := strings.Split(spec, ",")
	for li, raw := range layers {
		tok := strings.TrimSpace(strings.ToLower(raw))
		kind, args := splitToken(tok)
		count[kind]++
		name := fmt.Sprintf("%s%d", kind, count[kind])
		last := li == len(layers)-1
		out := name
		if last {
			out = LogitsValue
		}
		bad := func(why string) error {
			return fmt.Errorf("graph: layer #%d %q: %s (%s)", li+1, raw, why, ArchHelp)
		}
		var node *Node
		switch kind {
		case "conv":
			f, err := parseConv(args)
			if err != nil {
				return nil, bad(err.Error())
			}
			if len(shape) != 4 {
				return nil, bad("convolution needs a (N,C,H,W) input")
			}
			c := shape[1]
			w := &Tensor{Name: name + ".weight", Dims: []int{f.filters, c, f.k, f.k}, Trainable: true}
			if rng != nil {
				// ArchModel leaves the size to the memory plan.
				if err := checkDims(w.Dims); err != nil {
					return nil, bad(err.Error())
				}
				w.Data = glorot(rng, w.Size(), f.k*f.k*c, f.k*f.k*f.filters)
			}
			bias := &Tensor{Name: name + ".bias", Dims: []int{f.filters}, Data: alloc(f.filters), Trainable: true}
			m.Params = append(m.Params, w, bias)
			node = &Node{Name: name, Op: &Conv{KernelShape: [2]int{f.k, f.k}, Strides: [2]int{f.stride, f.stride}, Pads: [4]int{f.pad, f.pad, f.pad, f.pad}},
				Inputs: []string{cur, w.Name, bias.Name}}
		case "bn":
			if args != "" || len(shape) < 2 {
				return nil, bad("bn takes no arguments and a (N,C,...) input")
			}
			c := shape[1]
			ones := alloc(c)
			for i := range ones {
				ones[i] = 1
			}
			ps := []*Tensor{
				{Name: name + ".weight", Dims: []int{c}, Data: append(alloc(0), ones...), Trainable: true},
				{Name: name + ".bias", Dims: []int{c}, Data: alloc(c), Trainable: true},
				{Name: name + ".running_mean", Dims: []int{c}, Data: alloc(c)},
				{Name: name + ".running_var", Dims: []int{c}, Data: ones},
			}
			m.Params = append(m.Params, ps...)
			node = &Node{Name: name, Op: &BatchNorm{Epsilon: 1e-5, Momentum: 0.9},
				Inputs: []string{cur, ps[0].Name, ps[1].Name, ps[2].Name, ps[3].Name}}
		case "relu":
			if args != "" {
				return nil, bad("relu takes no arguments")
			}
			node = &Node{Name: name, Op: &Relu{}, Inputs: []string{cur}}
		case "maxpool", "avgpool":
			kk, stride, err := parsePool(args)
			if err != nil {
				return nil, bad(err.Error())
			}
			node = &Node{Name: name, Op: &Pool{Average: kind == "avgpool", KernelShape: []int{kk, kk}, Strides: []int{stride, stride}}, Inputs: []string{cur}}
		case "gap":
			node = &Node{Name: name, Op: &GlobalAveragePool{}, Inputs: []string{cur}}
		case "dropout":
			p := 0.5
			if args != "" {
				v, err := strconv.ParseFloat(args, 64)
				if err != nil || v <= 0 || v >= 1 {
					return nil, bad("dropout rate must be in (0,1)")
				}
				p = v
			}
			node = &Node{Name: name, Op: &Dropout{Ratio: p}, Inputs: []string{cur}}
		case "fc":
			n, err := strconv.Atoi(args)
			if err != nil || n <= 0 {
				return nil, bad("fc needs a positive output count, e.g. fc10")
			}
			if last && n != k {
				return nil, bad(fmt.Sprintf("the last layer must have %d outputs (the classes), not %d", k, n))
			}
			if len(shape) != 2 {
				fl := &Node{Name: fmt.Sprintf("flatten%d", count[kind]), Op: &Flatten{Axis: 1}, Inputs: []string{cur}, Outputs: []string{fmt.Sprintf("flatten%d", count[kind])}}
				m.Nodes = append(m.Nodes, fl)
				cur = fl.Outputs[0]
				shape = []int{Batch, ProdDims(shape[1:])}
			}
			w := &Tensor{Name: name + ".weight", Dims: []int{shape[1], n}, Trainable: true, Doc: "(in,out): y = x·W + b"}
			if rng != nil {
				// ArchModel leaves the size to the memory plan.
				if err := checkDims(w.Dims); err != nil {
					return nil, bad(err.Error())
				}
				w.Data = glorot(rng, w.Size(), shape[1], n)
			}
			bias := &Tensor{Name: name + ".bias", Dims: []int{n}, Data: alloc(n), Trainable: true}
			m.Params = append(m.Params, w, bias)
			node = &Node{Name: name, Op: &Gemm{}, Inputs: []string{cur, w.Name, bias.Name}}
		default:
			return nil, bad("unknown layer kind")
		}
		if last && kind != "fc" {
			return nil, bad("the last layer must be fcN with N the number of classes")
		}
		node.Outputs = []string{out}
		m.Nodes = append(m.Nodes, node)
		shapes, err := m.Shapes()
		if err != nil {
			return nil, bad(err.Error())
		}
		shape, cur = shapes[out], out
	}
	m.Nodes = append(m.Nodes,
		&Node{Name: "softmax", Op: &Softmax{Axis: 1}, Inputs: []string{LogitsValue}, Outputs: []string{ProbsOutput}},
		&Node{Name: "argmax", Op: &ArgMax{Axis: 1}, Inputs: []string{ProbsOutput}, Outputs: []string{LabelOutput}},
	)
	m.Outputs = []Value{
		{Name: ProbsOutput, Type: Float32, Shape: []int{Batch, k}, Doc: "class probabilities"},
		{Name: LabelOutput, Type: Int64, Shape: []int{Batch}, Doc: "most probable class index"},
	}
	if rng == nil {
		_, err := m.Shapes()
		return m, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func splitToken(tok string) (kind, args string) {
	i := strings.IndexFunc(tok, func(r rune) bool { return r >= '0' && r <= '9' || r == '.' })
	if i < 0 {
		return tok, ""
	}
	return tok[:i], tok[i:]
}

type convSpec struct{ k, filters, stride, pad int }

// parseConv reads "5x5x20", "3x3x32s1p1".
func parseConv(args string) (convSpec, error) {
	c := convSpec{stride: 1}
	rest := args
	if i := strings.IndexAny(rest, "sp"); i >= 0 {
		opts := rest[i:]
		rest = rest[:i]
		for opts != "" {
			key := opts[0]
			j := 1
			for j < len(opts) && opts[j] >= '0' && opts[j] <= '9' {
				j++
			}
			v, err := strconv.Atoi(opts[1:j])
			if err != nil {
				return c, fmt.Errorf("bad option %q", opts[:j])
			}
			switch key {
			case 's':
				c.stride = v
			case 'p':
				c.pad = v
			default:
				return c, fmt.Errorf("bad option %q", opts[:j])
			}
			opts = opts[j:]
		}
	}
	parts := strings.Split(rest, "x")
	if len(parts) != 3 || parts[0] != parts[1] {
		return c, fmt.Errorf("want convKxKxF with a square kernel")
	}
	var err1, err2 error
	c.k, err1 = strconv.Atoi(parts[0])
	c.filters, err2 = strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || c.k <= 0 || c.filters <= 0 || c.stride <= 0 || c.pad < 0 {
		return c, fmt.Errorf("want positive kernel size, filters and stride")
	}
	return c, nil
}

// parsePool reads "2" or "3s2".
func parsePool(args string) (k, stride int, err error) {
	ks, ss, hasS := strings.Cut(args, "s")
	if k, err = strconv.Atoi(ks); err != nil || k <= 0 {
		return 0, 0, fmt.Errorf("want poolK with K > 0")
	}
	stride = k
	if hasS {
		if stride, err = strconv.Atoi(ss); err != nil || stride <= 0 {
			return 0, 0, fmt.Errorf("bad stride %q", ss)
		}
	}
	return k, stride, nil
}

// glorot draws n Glorot-uniform values: U(-a, a), a = sqrt(6/(fanIn+fanOut)),
// MATLAB's default initializer.
func glorot(rng *rand.Rand, n, fanIn, fanOut int) []float32 {
	a := math.Sqrt(6 / float64(fanIn+fanOut))
	w := make([]float32, n)
	for i := range w {
		w[i] = float32((2*rng.Float64() - 1) * a)
	}
	return w
}
