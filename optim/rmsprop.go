package optim

import (
	"fmt"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// RMSpropConfig holds torch.optim.RMSprop's hyper-parameters.
type RMSpropConfig struct {
	LR, Alpha, Eps, WeightDecay, Momentum float64
	// Centered divides by an estimate of the gradient's variance, v − ḡ²,
	// rather than its mean square.
	Centered bool
}

// DefaultRMSprop is torch.optim.RMSprop's default: lr 0.01, alpha 0.99,
// eps 1e-8, no weight decay, no momentum, not centered.
func DefaultRMSprop() RMSpropConfig { return RMSpropConfig{LR: 0.01, Alpha: 0.99, Eps: 1e-8} }

// RMSprop is torch.optim.RMSprop. With smoothing α, weight decay λ,
// momentum μ and learning rate η, one step on parameter p with gradient g
// is
//
//	g ← g + λp
//	v ← αv + (1−α)g²                        (square_avg, from 0)
//	centered: ḡ ← αḡ + (1−α)g, d = √(v − ḡ²) + ε;  else d = √v + ε
//	with momentum: b ← μb + g/d, p ← p − ηb;       else p ← p − ηg/d
//
// Each step is a few elementwise device calls per parameter (no fused
// kernel of its own), so it runs on every device, through two or three
// work buffers per parameter (made once, freed by Release); state names
// are torch's (square_avg, grad_avg, momentum_buffer).
type RMSprop struct {
	base
	cfg RMSpropConfig
	// scratch holds each parameter's work buffers, made on its first step:
	// the denominator, ε in every element, and (with weight decay) the
	// decayed gradient, which must not overwrite the parameter's own.
	scratch [][3]tensor.Tensor
}

// NewRMSprop returns an RMSprop optimizer over params. Like PyTorch it
// rejects a negative rate, epsilon, momentum, weight decay or alpha.
func NewRMSprop(params []*autograd.Var, cfg RMSpropConfig) (*RMSprop, error) {
	if err := checkLR("RMSprop", cfg.LR); err != nil {
		return nil, err
	}
	if !(cfg.Alpha >= 0) || !(cfg.Eps >= 0) || !(cfg.Momentum >= 0) || !(cfg.WeightDecay >= 0) {
		return nil, fmt.Errorf("optim: RMSprop: alpha %v, eps %v, momentum %v and weight decay %v must be ≥ 0", cfg.Alpha, cfg.Eps, cfg.Momentum, cfg.WeightDecay)
	}
	names := []string{"square_avg"}
	if cfg.Momentum > 0 {
		names = append(names, "momentum_buffer")
	}
	if cfg.Centered {
		names = append(names, "grad_avg")
	}
	b, err := newBase("rmsprop", params, names...)
	if err != nil {
		return nil, err
	}
	return &RMSprop{base: b, cfg: cfg, scratch: make([][3]tensor.Tensor, len(params))}, nil
}

// Release frees the state and the work buffers.
func (o *RMSprop) Release() {
	o.base.Release()
	for i := range o.scratch {
		for k := range o.scratch[i] {
			o.scratch[i][k].Release()
		}
	}
}

// Config returns the hyper-parameters (LR as currently set).
func (o *RMSprop) Config() RMSpropConfig { return o.cfg }

// LR is the learning rate.
func (o *RMSprop) LR() float64 { return o.cfg.LR }

// SetLR sets the learning rate.
func (o *RMSprop) SetLR(lr float64) { o.cfg.LR = lr }

// Step updates every parameter that has a gradient.
func (o *RMSprop) Step() error {
	for i, p := range o.params {
		if p.Grad() == nil {
			continue
		}
		if err := o.step(i, p); err != nil {
			return err
		}
		o.steps[i]++
	}
	return errDevice("RMSprop", o.params)
}

// step updates parameter i with its work buffers (see scratch).
func (o *RMSprop) step(i int, p *autograd.Var) error {
	c := o.cfg
	val := p.Value()
	dev, P, g := val.Device(), val.Buffer(), p.Grad().Buffer()
	work := &o.scratch[i]
	if !work[0].Valid() {
		n := 2
		if c.WeightDecay != 0 {
			n = 3
		}
		for k := range n {
			if err := work[k].Init(dev, val.DType(), val.Shape()...); err != nil {
				for j := range k {
					work[j].Release() // all or none, so the next step tries again
				}
				return fmt.Errorf("optim: RMSprop: work buffers of parameter %d: %w", i, err)
			}
		}
		dev.Fill(work[1].Buffer(), c.Eps)
	}
	d, e := work[0].Buffer(), work[1].Buffer()
	if c.WeightDecay != 0 {
		dev.Scale(1, g, work[2].Buffer())
		g = work[2].Buffer()
		dev.Axpy(c.WeightDecay, P, g) // g + λp
	}
	v, err := o.buffer(i, 0)
	if err != nil {
		return err
	}
	dev.Binary(device.Mul, g, g, d) // g²
	dev.Scale(c.Alpha, v, v)
	dev.Axpy(1-c.Alpha, d, v)
	if c.Centered {
		gAvg, err := o.buffer(i, len(o.names)-1)
		if err != nil {
			return err
		}
		dev.Scale(c.Alpha, gAvg, gAvg)
		dev.Axpy(1-c.Alpha, g, gAvg)
		dev.Binary(device.Mul, gAvg, gAvg, d)
		dev.Binary(device.Sub, v, d, d) // v − ḡ²
		dev.Unary(device.Sqrt, 0, d, d)
	} else {
		dev.Unary(device.Sqrt, 0, v, d)
	}
	dev.Binary(device.Add, d, e, d) // d + ε
	dev.Binary(device.Div, g, d, d) // g/d
	if c.Momentum > 0 {
		buf, err := o.buffer(i, 1)
		if err != nil {
			return err
		}
		dev.Scale(c.Momentum, buf, buf)
		dev.Axpy(1, d, buf)
		dev.Axpy(-c.LR, buf, P)
	} else {
		dev.Axpy(-c.LR, d, P)
	}
	return nil
}
