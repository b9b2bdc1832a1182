package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// Embedding is torch.nn.Embedding(Num, Dim): a table Weight [Num × Dim]
// whose rows a batch of indices selects (autograd.Tape.Embedding). Its
// input holds row numbers, stored as floats like class indices (so on a
// float32 tape a table may have up to 2²⁴ rows, every row number then
// exact), of any shape S; its output has shape S + [Dim]. Only the rows a
// batch names get gradient.
type Embedding struct {
	Num, Dim int
	Weight   *autograd.Var
}

// NewEmbedding allocates a float32 table on dev with torch's
// initialisation, N(0, 1) drawn from rng in memory order (the same table
// on every device for a seed, though not torch's numbers).
func NewEmbedding(dev device.Device, num, dim int, rng *rand.Rand) (*Embedding, error) {
	if num <= 0 || dim <= 0 {
		return nil, fmt.Errorf("nn: NewEmbedding(%d, %d): sizes must be positive", num, dim)
	}
	if num > math.MaxInt/dim {
		return nil, fmt.Errorf("nn: NewEmbedding(%d, %d): the table has more than MaxInt elements", num, dim)
	}
	w, err := tensor.New(dev, device.Float32, num, dim)
	if err != nil {
		return nil, fmt.Errorf("nn: NewEmbedding(%d, %d): %w", num, dim, err)
	}
	v := make([]float32, num*dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	if err := dev.Upload32(w.Buffer(), v); err != nil {
		w.Release()
		return nil, fmt.Errorf("nn: NewEmbedding(%d, %d): %w", num, dim, err)
	}
	return &Embedding{Num: num, Dim: dim, Weight: autograd.NewParam("weight", w)}, nil
}

// Forward returns the rows of the table that index names.
func (e *Embedding) Forward(tp *autograd.Tape, index *autograd.Var) *autograd.Var {
	return tp.Embedding(e.Weight, index)
}

// Params is [Weight].
func (e *Embedding) Params() []*autograd.Var { return []*autograd.Var{e.Weight} }

// NamedParams names the table "weight", as torch does.
func (e *Embedding) NamedParams() []NamedParam { return []NamedParam{{"weight", e.Weight}} }

func (e *Embedding) String() string { return fmt.Sprintf("Embedding(%d, %d)", e.Num, e.Dim) }
