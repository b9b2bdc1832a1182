package loss

import (
	"fmt"

	"github.com/adjoint-go/adjoint/autograd"
)

// Accuracy returns the fraction of the K rows of logits [K × C] whose
// argmax is the class index in labels [K]: torch's
// (logits.argmax(1) == labels).float().mean(), with torch.argmax's ties
// (the first maximum wins, and a NaN beats every number). The matches are
// counted on the device (Device.ArgMaxMatches) and one number comes back.
// Nothing is recorded on the tape: accuracy is a metric, not a loss. It
// returns the tape's error if the tape has failed, and 0 for K = 0.
func Accuracy(tp *autograd.Tape, logits, labels *autograd.Var) (float64, error) {
	if err := tp.Err(); err != nil {
		return 0, fmt.Errorf("loss: Accuracy: %w", err)
	}
	shape := logits.Shape()
	if len(shape) != 2 || labels.Value().Len() != shape[0] {
		panic(fmt.Sprintf("loss: Accuracy: logits %v and labels %v: want [K × C] and [K]", shape, labels.Shape()))
	}
	if shape[0] == 0 {
		return 0, nil
	}
	count := tp.Temp(1)
	if !count.Valid() {
		return 0, fmt.Errorf("loss: Accuracy: %w", tp.Err())
	}
	tp.Device().ArgMaxMatches(logits.Value().Buffer(), shape[0], shape[1], labels.Value().Buffer(), 0, count.Buffer())
	n, err := count.Item()
	if err != nil {
		return 0, fmt.Errorf("loss: Accuracy: %w", err)
	}
	return n / float64(shape[0]), nil
}
