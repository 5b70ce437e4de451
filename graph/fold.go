package graph

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// FoldBatchNorm returns a copy of m in which every BatchNormalization that reads
// the output of a Conv is folded into that Conv, for inference-only use (ONNX
// export with --fold-bn). With s = scale/sqrt(var+eps) per output channel M:
//
//	W'[m,c,i,j] = W[m,c,i,j]*s[m]
//	B'[m]       = (B[m]-mean[m])*s[m] + shift[m]   (B = 0 for a Conv without bias)
//
// computed in float64 and rounded once to float32. A pair is folded only when the
// Conv's output feeds nothing but the BatchNormalization and is not a model
// output, and the Conv's weight and bias are used by no other node; other batch
// norms are kept as they are. Consumers of the batch norm's output read the Conv's
// output instead (the Conv takes over the batch norm's output name when that is a
// model output). Parameters no node uses any more are dropped. The folded
// layer names are listed in Meta["folded_batchnorm"] and the Conv's Doc.
//
// m is not modified. An invalid m is an error.
func FoldBatchNorm(m *Model) (*Model, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	f := m.Clone()
	var folded []string
	for i := 0; i < len(f.Nodes); i++ {
		bnNode := f.Nodes[i]
		bn, ok := bnNode.Op.(*BatchNorm)
		if !ok {
			continue
		}
		convNode := f.Producer(bnNode.Inputs[0])
		if convNode == nil {
			continue
		}
		if _, ok := convNode.Op.(*Conv); !ok || !foldable(f, convNode, bnNode) {
			continue
		}
		if err := foldInto(f, convNode, bnNode, bn.WithDefaults().Epsilon); err != nil {
			return nil, fmt.Errorf("graph: folding %q into %q: %w", bnNode.Name, convNode.Name, err)
		}
		f.Nodes = slices.Delete(f.Nodes, i, i+1)
		i--
		folded = append(folded, bnNode.Name)
	}
	if len(folded) == 0 {
		return f, nil
	}
	f.dropUnusedParams()
	if f.Meta == nil {
		f.Meta = map[string]string{}
	}
	f.Meta["folded_batchnorm"] = strings.Join(folded, ",")
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("graph: after folding batch norm: %w", err)
	}
	return f, nil
}

// foldable reports whether conv's output and parameters belong to bn alone.
func foldable(m *Model, conv, bn *Node) bool {
	if len(conv.Outputs) != 1 || len(bn.Outputs) != 1 || len(conv.Inputs) < 2 {
		return false
	}
	out := conv.Outputs[0]
	for _, o := range m.Outputs {
		if o.Name == out {
			return false
		}
	}
	if w := m.Param(conv.Inputs[1]); w == nil || w.Int64 != nil || len(w.Dims) != 4 {
		return false
	}
	for _, n := range m.Nodes {
		for j, in := range n.Inputs {
			switch {
			case n == conv || in == "":
			case in == out && n != bn:
				return false // another consumer needs the unnormalized output
			case n != bn && (in == conv.Inputs[1] || (len(conv.Inputs) > 2 && in == conv.Inputs[2])):
				return false // shared weight or bias
			case n == bn && j > 0 && m.Param(in) == nil:
				return false // statistics computed at run time
			}
		}
	}
	return true
}

// foldInto rewrites conv's weight and bias in place (m is the caller's copy) and
// points bn's consumers at conv.
// FoldChannel is the arithmetic of folding a batch norm into the conv before it,
// for one output channel, in float64: the conv's weights are multiplied by s
// and its bias b becomes b' (b = 0 for a conv without bias).
//
//	s  = scale/sqrt(variance+eps)
//	b' = (b-mean)*s + shift
//
// FoldBatchNorm rewrites parameters with it; the backend's fused conv applies
// it at run time.
func FoldChannel(scale, shift, mean, variance, b, eps float64) (s, folded float64) {
	s = scale / math.Sqrt(variance+eps)
	return s, (b-mean)*s + shift
}

func foldInto(m *Model, conv, bn *Node, eps float64) error {
	w := m.Param(conv.Inputs[1])
	filters := w.Dims[0]
	stat := func(j int) ([]float32, error) {
		p := m.Param(bn.Inputs[j])
		if p == nil || p.Int64 != nil || len(p.Data) != filters {
			return nil, fmt.Errorf("input #%d %q is not a float parameter of %d values", j, bn.Inputs[j], filters)
		}
		return p.Data, nil
	}
	var st [4][]float32 // scale, shift, mean, var
	for j := range st {
		var err error
		if st[j], err = stat(j + 1); err != nil {
			return err
		}
	}
	var bias *Tensor
	if len(conv.Inputs) > 2 && conv.Inputs[2] != "" {
		if bias = m.Param(conv.Inputs[2]); bias == nil || bias.Int64 != nil || len(bias.Data) != filters {
			return fmt.Errorf("conv bias %q is not a float parameter of %d values", conv.Inputs[2], filters)
		}
	} else {
		name := conv.Name + ".bias"
		for m.Param(name) != nil {
			name += "_"
		}
		bias = &Tensor{Name: name, Dims: []int{filters}, Data: make([]float32, filters), Trainable: true}
		m.Params = append(m.Params, bias)
		conv.Inputs = append(conv.Inputs[:2], name)
	}
	per := w.Size() / filters
	for c := range filters {
		s, b := FoldChannel(float64(st[0][c]), float64(st[1][c]), float64(st[2][c]), float64(st[3][c]), float64(bias.Data[c]), eps)
		ws := w.Data[c*per : (c+1)*per]
		for i, v := range ws {
			ws[i] = float32(float64(v) * s)
		}
		bias.Data[c] = float32(b)
	}
	w.Doc = strings.TrimSpace(w.Doc + " (batch norm " + bn.Name + " folded in)")
	bias.Doc = strings.TrimSpace(bias.Doc + " (batch norm " + bn.Name + " folded in)")
	conv.Doc = strings.TrimSpace(conv.Doc + " Batch normalization " + bn.Name + " is folded into this convolution's weight and bias.")

	from, to := bn.Outputs[0], conv.Outputs[0]
	for _, o := range m.Outputs {
		if o.Name == from {
			// Keep the model's output name: the conv produces it directly.
			conv.Outputs[0] = from
			from, to = to, from
			break
		}
	}
	for _, n := range m.Nodes {
		if n == bn {
			continue
		}
		for j, in := range n.Inputs {
			if in == from {
				n.Inputs[j] = to
			}
		}
	}
	return nil
}

// dropUnusedParams removes parameters that no node reads.
func (m *Model) dropUnusedParams() {
	used := map[string]bool{}
	for _, n := range m.Nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	m.Params = slices.DeleteFunc(m.Params, func(p *Tensor) bool { return !used[p.Name] })
}
