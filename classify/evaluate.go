package classify

import (
	"context"
	"fmt"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/train"
)

// evalBatch is how many images Evaluate converts and classifies at a time.
const evalBatch = 256

// Evaluate classifies every image of s (28x28 grey, fed through Grey) and
// counts the predicted labels against the true ones with train.Tally: the
// model's class names (Info().Labels) must start with the set's. An empty set
// is an error.
func (c *Model) Evaluate(ctx context.Context, s *digits.Set) (*train.Evaluation, error) {
	if s == nil || s.Len() == 0 {
		return nil, fmt.Errorf("classify: evaluate: no images")
	}
	// In batches, converted per batch: a set of 8-bit pixels (MNIST, image
	// folders) is never held as float32 whole.
	labels := make([]int, 0, s.Len())
	var batch []float32
	for lo := 0; lo < s.Len(); lo += evalBatch {
		hi := min(s.Len(), lo+evalBatch)
		batch = s.AppendImages(batch[:0], lo, hi)
		preds, err := c.Grey(ctx, batch, hi-lo, digits.Height, digits.Width)
		if err != nil {
			return nil, err
		}
		for _, p := range preds {
			labels = append(labels, p.Label)
		}
	}
	return train.Tally(c.info.Labels, labels, s)
}
