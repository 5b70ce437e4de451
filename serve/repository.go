package serve

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/onnxdigits/onnxdigits/classify"
	"github.com/onnxdigits/onnxdigits/graph"
	"github.com/onnxdigits/onnxdigits/internal/atomicfile"
)

// ModelConfig is a Triton model configuration (model_config.proto) with the
// fields a served classifier needs. GET /v2/models/{name}/config answers it as
// JSON (Triton's model configuration extension); WriteRepository writes it as
// config.pbtxt.
type ModelConfig struct {
	Name            string                     `json:"name"`
	Platform        string                     `json:"platform"`
	MaxBatchSize    int                        `json:"max_batch_size"`
	Input           []ConfigTensor             `json:"input"`
	Output          []ConfigTensor             `json:"output"`
	DynamicBatching *DynamicBatching           `json:"dynamic_batching,omitempty"`
	Parameters      map[string]ConfigParameter `json:"parameters,omitempty"`
}

// ConfigTensor is an input or output of a ModelConfig; Dims leave out the batch.
type ConfigTensor struct {
	Name          string `json:"name"`
	DataType      string `json:"data_type"`
	Format        string `json:"format,omitempty"`
	Dims          []int  `json:"dims"`
	LabelFilename string `json:"label_filename,omitempty"`
}

// DynamicBatching is Triton's dynamic batcher setting.
type DynamicBatching struct {
	MaxQueueDelayMicroseconds int64 `json:"max_queue_delay_microseconds"`
}

// ConfigParameter is a string-valued model parameter.
type ConfigParameter struct {
	StringValue string `json:"string_value"`
}

// LabelFile is the name of the class label file in a model repository.
const LabelFile = "labels.txt"

// TritonConfig describes a model for Triton's onnxruntime backend (platform
// "onnxruntime_onnx"): batched up to maxBatch with a dynamic batcher waiting
// at most delay (a model whose file declares a fixed batch: max_batch_size 0
// and its full shapes), the classifier output labelled from LabelFile. Parameters
// carry what Triton has no field for (layout, pixel range, output kind, class
// labels as a JSON array, and the model's metadata as "metadata.KEY").
func TritonConfig(name string, info classify.Info, maxBatch int, delay time.Duration) *ModelConfig {
	format := ""
	switch info.Layout {
	case classify.NCHW, classify.NHWC:
		format = "FORMAT_" + info.Layout.String()
	}
	classes, _ := json.Marshal(info.Labels)
	params := map[string]ConfigParameter{
		"layout":      {info.Layout.String()},
		"pixel_range": {info.PixelRange.String()},
		"output_kind": {info.Kind.String()},
		"classes":     {string(classes)},
	}
	for k, v := range info.Meta {
		params["metadata."+k] = ConfigParameter{v}
	}
	c := &ModelConfig{
		Name: name, Platform: "onnxruntime_onnx", MaxBatchSize: maxBatch,
		Input:           []ConfigTensor{{Name: info.Input, DataType: "TYPE_FP32", Format: format, Dims: info.InputDims[1:]}},
		Output:          []ConfigTensor{{Name: info.Output, DataType: "TYPE_FP32", Dims: []int{info.K}, LabelFilename: LabelFile}},
		DynamicBatching: &DynamicBatching{MaxQueueDelayMicroseconds: max(delay.Microseconds(), 0)},
		Parameters:      params,
	}
	if b := info.InputDims[0]; b != graph.Batch {
		// The file declares a fixed batch: Triton must feed it whole tensors
		// of that batch (max_batch_size 0, no batcher).
		c.MaxBatchSize, c.DynamicBatching = 0, nil
		c.Input[0].Dims, c.Output[0].Dims = info.InputDims, []int{b, info.K}
	}
	return c
}

// PBTXT renders c in protobuf text format, as config.pbtxt (the parameters are
// left out: Triton's onnxruntime backend reads its own).
func (c *ModelConfig) PBTXT() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nplatform: %s\nmax_batch_size: %d\n", strconv.Quote(c.Name), strconv.Quote(c.Platform), c.MaxBatchSize)
	tensors := func(field string, ts []ConfigTensor) {
		fmt.Fprintf(&b, "%s [\n", field)
		for i, t := range ts {
			fmt.Fprintf(&b, "  {\n    name: %s\n    data_type: %s\n", strconv.Quote(t.Name), t.DataType)
			if t.Format != "" {
				fmt.Fprintf(&b, "    format: %s\n", t.Format)
			}
			dims := make([]string, len(t.Dims))
			for j, d := range t.Dims {
				dims[j] = strconv.Itoa(d)
			}
			fmt.Fprintf(&b, "    dims: [ %s ]\n", strings.Join(dims, ", "))
			if t.LabelFilename != "" {
				fmt.Fprintf(&b, "    label_filename: %s\n", strconv.Quote(t.LabelFilename))
			}
			b.WriteString("  }")
			if i < len(ts)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("]\n")
	}
	tensors("input", c.Input)
	tensors("output", c.Output)
	if c.DynamicBatching != nil {
		fmt.Fprintf(&b, "dynamic_batching {\n  max_queue_delay_microseconds: %d\n}\n", c.DynamicBatching.MaxQueueDelayMicroseconds)
	}
	return []byte(b.String())
}

// WriteRepository writes an ONNX model into a Triton/KServe model repository:
// dir/name/1/model.onnx, dir/name/config.pbtxt (TritonConfig with maxBatch
// and a 1ms batching delay) and dir/name/labels.txt, each atomically. The
// model is opened to read its input and output.
func WriteRepository(dir, name string, onnx []byte, maxBatch int) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("serve: model name %q: use letters, digits, '_', '.' and '-' (not first)", name)
	}
	if maxBatch < 1 {
		return fmt.Errorf("serve: max batch %d: must be at least 1", maxBatch)
	}
	version := filepath.Join(dir, name, Version)
	if err := os.MkdirAll(version, 0o755); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	path := filepath.Join(version, "model.onnx")
	if err := atomicfile.WriteFile(path, onnx); err != nil {
		return err
	}
	m, err := classify.Open(path, classify.Options{})
	if err != nil {
		return err
	}
	info := m.Info()
	cfg := TritonConfig(name, info, maxBatch, time.Millisecond)
	if err := atomicfile.WriteFile(filepath.Join(dir, name, "config.pbtxt"), cfg.PBTXT()); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, name, LabelFile), []byte(strings.Join(info.Labels, "\n")+"\n"))
}
