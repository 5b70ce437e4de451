package serve

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"sync"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
)

// Open loads an ONNX classifier with a (N,1,28,28) input for serving.
//
// It runs the model with graph.Runner, batches split into power-of-two chunks so
// that at most log2(MaxBatch)+1 graphs are compiled per runner.
func Open(path string) (Model, error) {
	m, err := onnximport.ReadFile(path, onnximport.Options{})
	if err != nil {
		return nil, err
	}
	if len(m.Inputs) != 1 || !slices.Equal(m.Inputs[0].Shape, []int{graph.Batch, 1, digits.Height, digits.Width}) {
		return nil, fmt.Errorf("serve: %s: the model's input is %v, not (N,1,28,28)", path, m.Inputs[0].Shape)
	}
	info := Info{
		Input: m.Inputs[0].Name, Dims: slices.Clone(m.Inputs[0].Shape), Layout: "NCHW",
		Channels: 1, Height: digits.Height, Width: digits.Width, PixelRange: [2]float32{0, 1},
		Metadata: m.Meta,
	}
	for _, o := range m.Outputs {
		if o.Type == graph.Float32 && len(o.Shape) == 2 && o.Shape[0] == graph.Batch && o.Shape[1] > 0 {
			info.Output, info.K = o.Name, o.Shape[1]
			break
		}
	}
	if info.Output == "" {
		return nil, fmt.Errorf("serve: %s: the model has no float (N,K) output", path)
	}
	info.OutputKind = "logits"
	if p := m.Producer(info.Output); p != nil {
		switch p.Op.Type() {
		case "Softmax":
			info.OutputKind = "probabilities"
		case "LogSoftmax":
			info.OutputKind = "log-probabilities"
		}
	}
	info.Classes = m.Classes
	if len(info.Classes) != info.K {
		info.Classes = make([]string, info.K)
		for i := range info.Classes {
			info.Classes[i] = strconv.Itoa(i)
		}
	}
	g := &graphModel{info: info}
	g.runners.New = func() any { return backend.NewRunner(m, info.Output) }
	return g, nil
}

type graphModel struct {
	info    Info
	runners sync.Pool // of *backend.Runner (not safe for concurrent use)
}

func (g *graphModel) Info() Info { return g.info }

func (g *graphModel) Tensor(ctx context.Context, data []float32, shape []int) ([]Prediction, error) {
	if len(shape) != len(g.info.Dims) || shape[0] < 1 || !slices.Equal(shape[1:], g.info.Dims[1:]) {
		return nil, fmt.Errorf("serve: input shape %v does not match the model's %v", shape, g.info.Dims)
	}
	n, per := shape[0], len(data)/shape[0]
	if n*per != len(data) || per != g.info.Channels*g.info.Height*g.info.Width {
		return nil, fmt.Errorf("serve: %d values for shape %v", len(data), shape)
	}
	r := g.runners.Get().(*backend.Runner)
	defer g.runners.Put(r)
	out := make([]Prediction, 0, n)
	for lo := 0; lo < n; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := 1 << (bits.Len(uint(n-lo)) - 1) // the largest power of two <= n-lo
		res, err := r.Run(chunk, data[lo*per:(lo+chunk)*per])
		if err != nil {
			return nil, err
		}
		k := g.info.K
		for i := range chunk {
			out = append(out, g.prediction(res[0].Float[i*k:(i+1)*k]))
		}
		lo += chunk
	}
	return out, nil
}

func (g *graphModel) prediction(scores []float32) Prediction {
	p := Prediction{Scores: slices.Clone(scores), Probabilities: make([]float32, len(scores))}
	switch g.info.OutputKind {
	case "probabilities":
		copy(p.Probabilities, scores)
	case "log-probabilities":
		for i, v := range scores {
			p.Probabilities[i] = float32(math.Exp(float64(v)))
		}
	default:
		hi := slices.Max(scores)
		var sum float64
		for i, v := range scores {
			e := math.Exp(float64(v - hi))
			p.Probabilities[i] = float32(e)
			sum += e
		}
		for i := range p.Probabilities {
			p.Probabilities[i] = float32(float64(p.Probabilities[i]) / sum)
		}
	}
	for i, v := range p.Probabilities {
		if v > p.Probabilities[p.Index] {
			p.Index = i
		}
	}
	p.Label = g.info.Classes[p.Index]
	return p
}

func (g *graphModel) Images(ctx context.Context, images []image.Image) ([]Prediction, error) {
	per := g.info.Height * g.info.Width
	data := make([]float32, 0, len(images)*per)
	for _, img := range images {
		data = append(data, digits.PrepareImage(img)...)
	}
	return g.Tensor(ctx, data, []int{len(images), 1, g.info.Height, g.info.Width})
}
