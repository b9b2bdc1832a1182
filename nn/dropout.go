package nn

import (
	"fmt"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
)

// Dropout is torch.nn.Dropout: in training mode it zeroes each element of
// its input with probability P and scales the others by 1/(1−P), so that
// the expected output is the input; in evaluation mode it is the identity.
// A new Dropout is in training mode, as a new torch module is; SetTraining
// switches it (and every Dropout inside a model). The zero value with P
// set (&nn.Dropout{P: 0.5}) works too, with seed 0.
//
// The mask m, of zeros and 1/(1−P), is drawn on the device by
// Tape.Dropout from Philox-4x32-10 under the layer's seed, at a counter
// that each forward pass advances past the draws it used, and multiplied
// in:
//
//	forward:  y = m ⊙ x
//	adjoint:  δ = m ⊙ ε        (Mul's adjoint: dropped elements get no gradient)
//
// Nothing is copied from the host, so on a GPU the step never waits for
// the mask. A seed gives the same masks on every device, though not
// torch's (whose generator is its own). Give each layer of a model its own
// seed: two layers with equal seeds draw equal masks (torch's one global
// generator never does).
type Dropout struct {
	P       float64
	seed    uint64
	counter uint64 // the next unused Philox counter
	eval    bool
}

// NewDropout returns a Dropout of probability p ∈ [0, 1] whose masks come
// from the generator keyed by seed (p = 1 drops everything, as in torch).
func NewDropout(p float64, seed uint64) (*Dropout, error) {
	if !validP(p) {
		return nil, fmt.Errorf("nn: NewDropout(%v): p must be in [0, 1]", p)
	}
	return &Dropout{P: p, seed: seed}, nil
}

func validP(p float64) bool { return p >= 0 && p <= 1 }

// Forward returns m ⊙ x in training mode, x itself in evaluation mode or
// with P = 0. It panics when P is outside [0, 1].
func (d *Dropout) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	if !validP(d.P) {
		panic(fmt.Sprintf("nn: Dropout: P = %v, want it in [0, 1]", d.P))
	}
	if d.eval || d.P == 0 || tp.Failed() {
		return x
	}
	y := tp.Dropout(x, d.P, d.seed, d.counter)
	d.counter += device.DropoutBlocks(x.Value().Len())
	return y
}

// Reseed restarts the mask generator from seed, so that a run can draw
// each epoch's masks from (seed, epoch) and a resumed run continues with
// the masks an uninterrupted one would have drawn.
func (d *Dropout) Reseed(seed uint64) { d.seed, d.counter = seed, 0 }

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

// SetTraining passes the mode to the body and the shortcut.
func (r *Residual) SetTraining(on bool) {
	SetTraining(r.Body, on)
	if r.Shortcut != nil {
		SetTraining(r.Shortcut, on)
	}
}
