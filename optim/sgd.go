package optim

import (
	"fmt"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
)

// SGDConfig holds torch.optim.SGD's hyper-parameters.
type SGDConfig struct {
	LR          float64
	Momentum    float64
	Dampening   float64
	WeightDecay float64
	Nesterov    bool
}

// SGD is torch.optim.SGD. With momentum μ, dampening τ, weight decay λ
// and learning rate η, one step on parameter p with gradient g is
//
//	g ← g + λp
//	v ← g on the first step, else μv + (1−τ)g
//	p ← p − η(g + μv) with Nesterov, else p − ηv
//
// and without momentum p ← p − η(g + λp).
type SGD struct {
	base
	cfg SGDConfig
}

// NewSGD returns an SGD optimizer over params. Like PyTorch it rejects a
// negative rate, momentum or weight decay, and Nesterov without momentum or
// with dampening.
func NewSGD(params []*autograd.Var, cfg SGDConfig) (*SGD, error) {
	if err := checkLR("SGD", cfg.LR); err != nil {
		return nil, err
	}
	if cfg.Momentum < 0 || cfg.WeightDecay < 0 {
		return nil, fmt.Errorf("optim: SGD: momentum %v and weight decay %v must be ≥ 0", cfg.Momentum, cfg.WeightDecay)
	}
	if cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0) {
		return nil, fmt.Errorf("optim: SGD: Nesterov momentum requires a momentum > 0 and zero dampening")
	}
	var names []string
	if cfg.Momentum != 0 {
		names = []string{"momentum_buffer"}
	}
	b, err := newBase("sgd", params, names...)
	if err != nil {
		return nil, err
	}
	return &SGD{base: b, cfg: cfg}, nil
}

// Config returns the hyper-parameters (LR as currently set).
func (o *SGD) Config() SGDConfig { return o.cfg }

// LR is the learning rate.
func (o *SGD) LR() float64 { return o.cfg.LR }

// SetLR sets the learning rate.
func (o *SGD) SetLR(lr float64) { o.cfg.LR = lr }

// Step updates every parameter that has a gradient: in one device call
// when the device has a multi-tensor SGD and every such parameter gets the
// same configuration (see stepTogether), else one call per parameter.
func (o *SGD) Step() error {
	if done, err := o.stepTogether(); done {
		return err
	}
	for i, p := range o.params {
		g := p.Grad()
		if g == nil {
			continue
		}
		var v device.Buffer
		if o.cfg.Momentum != 0 {
			var err error
			if v, err = o.buffer(i, 0); err != nil {
				return err
			}
		}
		p.Value().Device().SGD(p.Value().Buffer(), g.Buffer(), v, device.SGDConfig{
			LR: o.cfg.LR, Momentum: o.cfg.Momentum, Dampening: o.cfg.Dampening,
			WeightDecay: o.cfg.WeightDecay, Nesterov: o.cfg.Nesterov,
			First: o.steps[i] == 0,
		})
		o.steps[i]++
	}
	return errDevice("SGD", o.params)
}

// stepTogether updates every parameter that has a gradient in one
// SGDTensors call, if the parameters' device has it and they share one
// configuration: the step count enters SGD's only through whether the step
// is a parameter's first (which sets its momentum buffer), so that must be
// the same for all of them, as it is unless a parameter missed the first
// step's gradient. It reports whether it did the step, and returns the
// error of a failed state allocation.
func (o *SGD) stepTogether() (bool, error) {
	mt, ok := o.batchDevice().(multiTensorSGD)
	if !ok {
		return false, nil
	}
	idx := o.batch.idx
	first := o.steps[idx[0]] == 0
	for _, i := range idx {
		if (o.steps[i] == 0) != first {
			return false, nil
		}
	}
	b := &o.batch
	defer b.reset()
	for _, i := range idx {
		p := o.params[i]
		b.ps, b.gs = append(b.ps, p.Value().Buffer()), append(b.gs, p.Grad().Buffer())
		if o.cfg.Momentum != 0 {
			v, err := o.buffer(i, 0)
			if err != nil {
				return true, err
			}
			b.vs = append(b.vs, v)
		}
	}
	var vs []device.Buffer // nil without momentum
	if o.cfg.Momentum != 0 {
		vs = b.vs
	}
	mt.SGDTensors(b.ps, b.gs, vs, device.SGDConfig{
		LR: o.cfg.LR, Momentum: o.cfg.Momentum, Dampening: o.cfg.Dampening,
		WeightDecay: o.cfg.WeightDecay, Nesterov: o.cfg.Nesterov, First: first,
	})
	for _, i := range idx {
		o.steps[i]++
	}
	return true, errDevice("SGD", o.params)
}
