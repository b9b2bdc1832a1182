package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
)

// Dropout is torch.nn.Dropout: in training mode it zeroes each element of
// its input with probability P and scales the others by 1/(1−P), so that
// the expected output is the input; in evaluation mode it is the identity.
// A new Dropout is in training mode, as a new torch module is; SetTraining
// switches it (and every Dropout inside a model). The zero value with P
// set (&nn.Dropout{P: 0.5}) works too, its generator seeded with 0.
//
// The mask m, of zeros and 1/(1−P), is drawn on the host from the layer's
// own seeded generator and uploaded with the batch, then multiplied in:
//
//	forward:  y = m ⊙ x
//	adjoint:  δ = m ⊙ ε        (Mul's adjoint: dropped elements get no gradient)
//
// so a seed gives the same masks on every device, though not torch's (its
// generator differs). The upload is one more host-to-device copy of the
// batch's size per step.
type Dropout struct {
	P    float64
	rng  *rand.Rand
	eval bool
	mask []float64 // reused host buffer: a steady step allocates nothing
}

// NewDropout returns a Dropout of probability p ∈ [0, 1] whose masks come
// from a generator seeded with seed (p = 1 drops everything, as in torch).
func NewDropout(p float64, seed uint64) (*Dropout, error) {
	if !validP(p) {
		return nil, fmt.Errorf("nn: NewDropout(%v): p must be in [0, 1]", p)
	}
	return &Dropout{P: p, rng: newDropoutRNG(seed)}, nil
}

func validP(p float64) bool { return p >= 0 && p <= 1 }

func newDropoutRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// Forward returns m ⊙ x in training mode, x itself in evaluation mode or
// with P = 0. It panics when P is outside [0, 1].
func (d *Dropout) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	if !validP(d.P) {
		panic(fmt.Sprintf("nn: Dropout: P = %v, want it in [0, 1]", d.P))
	}
	if d.eval || d.P == 0 || tp.Failed() {
		return x
	}
	if d.rng == nil {
		d.rng = newDropoutRNG(0)
	}
	n := x.Value().Len()
	if cap(d.mask) < n {
		d.mask = make([]float64, n)
	}
	d.mask = d.mask[:n]
	scale := 1 / (1 - d.P) // +Inf at P = 1, where nothing is kept
	for i := range d.mask {
		if d.rng.Float64() < d.P {
			d.mask[i] = 0
		} else {
			d.mask[i] = scale
		}
	}
	return tp.Mul(x, tp.ConstantFloat64(d.mask, x.Shape()...))
}

// Reseed restarts the mask generator from seed, so that a run can draw
// each epoch's masks from (seed, epoch) and a resumed run continues with
// the masks an uninterrupted one would have drawn.
func (d *Dropout) Reseed(seed uint64) { d.rng = newDropoutRNG(seed) }

// Params is empty: a Dropout has no parameters.
func (d *Dropout) Params() []*autograd.Var { return nil }

// SetTraining switches between training (on) and evaluation mode.
func (d *Dropout) SetTraining(on bool) { d.eval = !on }

// Training reports whether d is in training mode.
func (d *Dropout) Training() bool { return !d.eval }

func (d *Dropout) String() string { return fmt.Sprintf("Dropout(p=%g)", d.P) }

// Trainable is a module whose forward pass differs between training and
// evaluation (Dropout), switched as torch's module.train() and eval() do.
type Trainable interface {
	SetTraining(on bool)
}

// SetTraining puts every Trainable module of m in training mode (on) or
// evaluation mode, through Sequential's layers and Residual's body, as
// torch's m.train(on) does; a model of its own that holds trainable
// modules forwards the call by implementing Trainable.
func SetTraining(m Parameterized, on bool) {
	if t, ok := m.(Trainable); ok {
		t.SetTraining(on)
	}
}

// SetTraining passes the mode to every layer.
func (s *Sequential) SetTraining(on bool) {
	for _, l := range s.Layers {
		SetTraining(l, on)
	}
}

// SetTraining passes the mode to the body.
func (r *Residual) SetTraining(on bool) { SetTraining(r.Body, on) }
