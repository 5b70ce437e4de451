package classify

import (
	"context"
	"fmt"

	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/train"
)

// Evaluate classifies every image of s (28x28 grey, fed through Grey) and
// counts the predicted labels against the true ones with train.Tally: the
// model's class names (Info().Labels) must start with the set's. An empty set
// is an error.
func (c *Model) Evaluate(ctx context.Context, s *digits.Set) (*train.Evaluation, error) {
	if s == nil || s.Len() == 0 {
		return nil, fmt.Errorf("classify: evaluate: no images")
	}
	preds, err := c.Grey(ctx, s.Images, s.Len(), digits.Height, digits.Width)
	if err != nil {
		return nil, err
	}
	labels := make([]int, len(preds))
	for i, p := range preds {
		labels[i] = p.Label
	}
	return train.Tally(c.info.Labels, labels, s)
}
