package backend

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// poolKernel is a forward-only op for max and average pooling over any
// number of spatial dims with the full ONNX semantics that Gorgonia's MaxPool2D
// and AveragePool2D lack: asymmetric pads, dilations, ceil_mode and
// count_include_pad=0. It follows the ONNX reference implementation: padding never
// wins a max; an average divides by the window's elements inside the input, or
// inside the padded input with count_include_pad; windows that ceil_mode lets run
// past the padding count only what they cover. Inference only: it has no gradient.
// w is normalized: every list filled in (graph.Pool.Normalized).
func poolKernel(w *graph.Pool) *kernelOp {
	name := poolName(w)
	rank := 2 + len(w.KernelShape)
	return &kernelOp{
		name:  name,
		key:   fmt.Sprint(name, rank),
		arity: 1,
		typ: func() hm.Type {
			t := G.TensorType{Dims: rank, Of: hm.TypeVariable('a')}
			return hm.NewFnType(t, t)
		},
		shape: func(in []G.DimSizer) (tensor.Shape, error) {
			s, ok := in[0].(tensor.Shape)
			if !ok {
				return nil, fmt.Errorf("pool: input shape is %T", in[0])
			}
			out, err := w.OutShape(s)
			return tensor.Shape(out), err
		},
		do: func(vals []G.Value) (G.Value, error) { return poolDo(w, vals) },
	}
}

// poolName describes the normalized window w.
func poolName(w *graph.Pool) string {
	return fmt.Sprintf("%s%v(s=%v,d=%v,pads=%v/%v,ceil=%v,incl=%v)", w.Type(), w.KernelShape, w.Strides, w.Dilations, w.PadsBegin(), w.PadsEnd(), w.CeilMode, w.CountIncludePad)
}

func poolDo(k *graph.Pool, vals []G.Value) (G.Value, error) {
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
	dst := kernels.Pool(&kernels.PoolWindow{
		Average: k.Average, CountIncludePad: k.CountIncludePad,
		Kernel: k.KernelShape, Strides: k.Strides, Dilations: k.Dilations, Begin: k.PadsBegin(), End: k.PadsEnd(),
	}, src, in, out)
	if t.Dtype() == tensor.Float32 {
		f := make([]float32, len(dst))
		for i, v := range dst {
			f[i] = float32(v)
		}
		return tensor.New(tensor.WithShape(out...), tensor.WithBacking(f)), nil
	}
	return tensor.New(tensor.WithShape(out...), tensor.WithBacking(dst)), nil
}
