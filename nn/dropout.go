package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
)

// Dropout is torch.nn.Dropout: in training mode it zeroes each element of
// its input with probability P and scales the others by 1/(1−P), so that
// the expected output is the input; in evaluation mode it is the identity.
// A new Dropout is in training mode, as a new torch module is; SetTraining
// switches it (and every Dropout inside a model). The zero value with P
// set (&nn.Dropout{P: 0.5}) works too, its generator seeded with 0.
//
// The mask m, of zeros and 1/(1−P), is drawn on the host from the layer's
// own seeded generator, uploaded when the forward pass reaches the layer,
// and multiplied in:
//
//	forward:  y = m ⊙ x
//	adjoint:  δ = m ⊙ ε        (Mul's adjoint: dropped elements get no gradient)
//
// so a seed gives the same masks on every device, though not torch's (its
// generator differs). Each Dropout costs one host-to-device copy of its
// input's size per step, which on a GPU waits for the work queued before
// it. Give each layer of a model its own seed: two layers with equal seeds
// draw equal masks (torch's one global generator never does).
type Dropout struct {
	P      float64
	pcg    *rand.PCG
	eval   bool
	mask32 []float32 // reused host buffers, of the tape's dtype: a steady
	mask64 []float64 // step allocates nothing
}

// dropoutStream is the PCG stream of every Dropout generator.
const dropoutStream = 0x9e3779b97f4a7c15

// NewDropout returns a Dropout of probability p ∈ [0, 1] whose masks come
// from a generator seeded with seed (p = 1 drops everything, as in torch).
func NewDropout(p float64, seed uint64) (*Dropout, error) {
	if !validP(p) {
		return nil, fmt.Errorf("nn: NewDropout(%v): p must be in [0, 1]", p)
	}
	return &Dropout{P: p, pcg: rand.NewPCG(seed, dropoutStream)}, nil
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
	if d.pcg == nil {
		d.pcg = rand.NewPCG(0, dropoutStream)
	}
	n := x.Value().Len()
	if tp.DType() == device.Float64 {
		d.mask64 = fillMask(d.mask64, n, d.P, d.pcg)
		return tp.Mul(x, tp.ConstantFloat64(d.mask64, x.Shape()...))
	}
	d.mask32 = fillMask(d.mask32, n, d.P, d.pcg)
	return tp.Mul(x, tp.ConstantFloat32(d.mask32, x.Shape()...))
}

// fillMask draws n mask values into buf (grown when short): each is 0 with
// probability p (a draw below p·2⁶⁴) and 1/(1−p) otherwise.
func fillMask[T float32 | float64](buf []T, n int, p float64, pcg *rand.PCG) []T {
	if cap(buf) < n {
		buf = make([]T, n)
	}
	buf = buf[:n]
	if p == 1 {
		clear(buf)
		return buf
	}
	drop, scale := uint64(math.Ldexp(p, 64)), T(1/(1-p))
	for i := range buf {
		if pcg.Uint64() < drop {
			buf[i] = 0
		} else {
			buf[i] = scale
		}
	}
	return buf
}

// Reseed restarts the mask generator from seed, so that a run can draw
// each epoch's masks from (seed, epoch) and a resumed run continues with
// the masks an uninterrupted one would have drawn.
func (d *Dropout) Reseed(seed uint64) {
	if d.pcg == nil {
		d.pcg = rand.NewPCG(seed, dropoutStream)
		return
	}
	d.pcg.Seed(seed, dropoutStream)
}

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
