package optim

import (
	"fmt"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
)

// RMSpropConfig holds torch.optim.RMSprop's hyper-parameters (the
// device's RMSpropConfig, whose doc has the step's formulas).
type RMSpropConfig = device.RMSpropConfig

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
// Each step is one Device.RMSprop call per parameter, a fused kernel on a
// GPU, with torch's state names (square_avg, grad_avg, momentum_buffer).
type RMSprop struct {
	base
	cfg RMSpropConfig
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
	return &RMSprop{base: b, cfg: cfg}, nil
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

// step updates parameter i and its state.
func (o *RMSprop) step(i int, p *autograd.Var) error {
	c := o.cfg
	v, err := o.buffer(i, 0)
	if err != nil {
		return err
	}
	var gAvg, mom device.Buffer
	if c.Momentum > 0 {
		if mom, err = o.buffer(i, 1); err != nil {
			return err
		}
	}
	if c.Centered {
		if gAvg, err = o.buffer(i, len(o.names)-1); err != nil {
			return err
		}
	}
	val := p.Value()
	val.Device().RMSprop(val.Buffer(), p.Grad().Buffer(), v, gAvg, mom, c)
	return nil
}
