package backend

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// poolKernel is a forward-only Gorgonia op for max and average pooling over any
// number of spatial dims with the full ONNX semantics that Gorgonia's MaxPool2D
// and AveragePool2D lack: asymmetric pads, dilations, ceil_mode and
// count_include_pad=0. It follows the ONNX reference implementation: padding never
// wins a max; an average divides by the window's elements inside the input, or
// inside the padded input with count_include_pad; windows that ceil_mode lets run
// past the padding count only what they cover. Inference only: it has no gradient.
type poolKernel struct {
	*graph.PoolND // normalized: every list has one entry per spatial dim
}

func (k *poolKernel) Arity() int { return 1 }

func (k *poolKernel) rank() int { return 2 + len(k.KernelShape) }

func (k *poolKernel) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: k.rank(), Of: a}
	return hm.NewFnType(t, t)
}

func (k *poolKernel) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("pool: input shape is %T", in[0])
	}
	out, err := k.OutShape(s)
	return tensor.Shape(out), err
}

func (k *poolKernel) Do(vals ...G.Value) (G.Value, error) {
	t, ok := vals[0].(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("pool: input is %T", vals[0])
	}
	in := t.Shape()
	out, err := k.OutShape(in)
	if err != nil {
		return nil, err
	}
	var src []float64
	switch d := t.Data().(type) {
	case []float32:
		src = make([]float64, len(d))
		for i, v := range d {
			src[i] = float64(v)
		}
	case []float64:
		src = d
	default:
		return nil, fmt.Errorf("pool: unsupported dtype %v", t.Dtype())
	}
	dst := k.run(src, in, out)
	if t.Dtype() == tensor.Float32 {
		f := make([]float32, len(dst))
		for i, v := range dst {
			f[i] = float32(v)
		}
		return tensor.New(tensor.WithShape(out...), tensor.WithBacking(f)), nil
	}
	return tensor.New(tensor.WithShape(out...), tensor.WithBacking(dst)), nil
}

// run pools src (N,C,in...) into (N,C,out...).
func (k *poolKernel) run(src []float64, in, out []int) []float64 {
	sd := len(k.KernelShape)
	inPlane, outPlane, win := 1, 1, 1
	for i := range sd {
		inPlane *= in[2+i]
		outPlane *= out[2+i]
		win *= k.KernelShape[i]
	}
	planes := in[0] * in[1]
	dst := make([]float64, planes*outPlane)
	oi := make([]int, sd)
	ki := make([]int, sd)
	for p := range planes {
		plane := src[p*inPlane : (p+1)*inPlane]
		for o := range outPlane {
			rem := o
			for i := sd - 1; i >= 0; i-- {
				oi[i] = rem % out[2+i]
				rem /= out[2+i]
			}
			best, sum, count := math.Inf(-1), 0.0, 0
			for w := range win {
				rem := w
				for i := sd - 1; i >= 0; i-- {
					ki[i] = rem % k.KernelShape[i]
					rem /= k.KernelShape[i]
				}
				inside, padded, at := true, true, 0
				for i := range sd {
					pos := oi[i]*k.Strides[i] - k.PadsBegin[i] + ki[i]*k.Dilations[i]
					if pos < 0 || pos >= in[2+i] {
						inside = false
					}
					if pos < -k.PadsBegin[i] || pos >= in[2+i]+k.PadsEnd[i] {
						padded = false
					}
					at = at*in[2+i] + pos
				}
				if inside {
					v := plane[at]
					best = max(best, v)
					sum += v
					count++
				} else if padded && k.CountIncludePad {
					count++
				}
			}
			v := best
			if k.Average {
				v = 0
				if count > 0 {
					v = sum / float64(count)
				}
			}
			dst[p*outPlane+o] = v
		}
	}
	return dst
}

func (k *poolKernel) ReturnsPtr() bool     { return false }
func (k *poolKernel) CallsExtern() bool    { return false }
func (k *poolKernel) OverwritesInput() int { return -1 }
func (k *poolKernel) String() string {
	return fmt.Sprintf("%s%v(s=%v,d=%v,pads=%v/%v,ceil=%v,incl=%v)", k.PoolND.Type(), k.KernelShape, k.Strides, k.Dilations, k.PadsBegin, k.PadsEnd, k.CeilMode, k.CountIncludePad)
}
func (k *poolKernel) WriteHash(h hash.Hash) { fmt.Fprint(h, k.String(), k.rank()) }
func (k *poolKernel) Hashcode() uint32 {
	h := fnv.New32a()
	k.WriteHash(h)
	return h.Sum32()
}
