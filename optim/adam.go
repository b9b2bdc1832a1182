package optim

import (
	"fmt"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
)

// AdamConfig holds torch.optim.Adam's and AdamW's hyper-parameters. Each
// of Beta1, Beta2 and Eps that is zero takes its PyTorch default on its
// own (0.9, 0.999, 1e-8), so AdamConfig{LR: 1e-3, Beta1: 0.8} has β₂ =
// 0.999; use DefaultAdam or DefaultAdamW for the learning rate and weight
// decay defaults too.
//
// The zero value therefore cannot ask for β = 0 or ϵ = 0 itself. Pass
// math.SmallestNonzeroFloat64 instead: it rounds to exactly 0 in float32
// updates, and in float64 ones βm, βᵗ and ϵ lie below the precision of any
// nonzero gradient or denominator, so the step is that of β = 0 (ϵ = 0).
type AdamConfig struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
}

// DefaultAdam is torch.optim.Adam's default: lr 1e-3, betas (0.9, 0.999),
// eps 1e-8, no weight decay.
func DefaultAdam() AdamConfig { return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// DefaultAdamW is torch.optim.AdamW's default: as Adam with weight decay
// 0.01.
func DefaultAdamW() AdamConfig {
	c := DefaultAdam()
	c.WeightDecay = 0.01
	return c
}

// Adam is torch.optim.Adam or, decoupled, AdamW. At step t of a parameter p
// with gradient g:
//
//	Adam:  g ← g + λp          AdamW: p ← p − ηλp
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
//	p ← p − η (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ϵ)
type Adam struct {
	base
	cfg       AdamConfig
	decoupled bool
}

// NewAdam returns torch.optim.Adam over params.
func NewAdam(params []*autograd.Var, cfg AdamConfig) (*Adam, error) {
	return newAdam("adam", params, cfg, false)
}

// NewAdamW returns torch.optim.AdamW over params (decoupled weight decay).
func NewAdamW(params []*autograd.Var, cfg AdamConfig) (*Adam, error) {
	return newAdam("adamw", params, cfg, true)
}

// withDefaults gives each zero β and ϵ PyTorch's default, independently.
func (c AdamConfig) withDefaults() AdamConfig {
	d := DefaultAdam()
	if c.Beta1 == 0 {
		c.Beta1 = d.Beta1
	}
	if c.Beta2 == 0 {
		c.Beta2 = d.Beta2
	}
	if c.Eps == 0 {
		c.Eps = d.Eps
	}
	return c
}

func newAdam(kind string, params []*autograd.Var, cfg AdamConfig, decoupled bool) (*Adam, error) {
	cfg = cfg.withDefaults()
	if err := checkLR(kind, cfg.LR); err != nil {
		return nil, err
	}
	if !(cfg.Beta1 >= 0 && cfg.Beta1 < 1 && cfg.Beta2 >= 0 && cfg.Beta2 < 1) {
		return nil, fmt.Errorf("optim: %s: betas (%v, %v) must lie in [0, 1)", kind, cfg.Beta1, cfg.Beta2)
	}
	if !(cfg.Eps >= 0) || cfg.WeightDecay < 0 {
		return nil, fmt.Errorf("optim: %s: eps %v and weight decay %v must be ≥ 0", kind, cfg.Eps, cfg.WeightDecay)
	}
	b, err := newBase(kind, params, "exp_avg", "exp_avg_sq")
	if err != nil {
		return nil, err
	}
	return &Adam{base: b, cfg: cfg, decoupled: decoupled}, nil
}

// Config returns the hyper-parameters (LR as currently set).
func (o *Adam) Config() AdamConfig { return o.cfg }

// LR is the learning rate.
func (o *Adam) LR() float64 { return o.cfg.LR }

// SetLR sets the learning rate.
func (o *Adam) SetLR(lr float64) { o.cfg.LR = lr }

// Step updates every parameter that has a gradient: in one device call
// when the device has a multi-tensor Adam and every such parameter is at
// the same step (see stepTogether), else one call per parameter.
func (o *Adam) Step() error {
	if done, err := o.stepTogether(); done {
		return err
	}
	for i, p := range o.params {
		g := p.Grad()
		if g == nil {
			continue
		}
		m, err := o.buffer(i, 0)
		if err != nil {
			return err
		}
		v, err := o.buffer(i, 1)
		if err != nil {
			return err
		}
		o.steps[i]++
		p.Value().Device().Adam(p.Value().Buffer(), g.Buffer(), m, v, device.AdamConfig{
			LR: o.cfg.LR, Beta1: o.cfg.Beta1, Beta2: o.cfg.Beta2, Eps: o.cfg.Eps,
			WeightDecay: o.cfg.WeightDecay, Decoupled: o.decoupled, Step: o.steps[i],
		})
	}
	return errDevice(o.kind, o.params)
}

// stepTogether updates every parameter that has a gradient in one
// AdamTensors call, if the parameters' device has it and they share one
// configuration: the same step count. That is the usual case; a parameter
// that missed a step's gradient falls behind the others, and then Step
// updates each parameter with its own count. It reports whether it did the
// step, and returns the error of a failed state allocation.
func (o *Adam) stepTogether() (bool, error) {
	mt, ok := o.batchDevice().(multiTensorAdam)
	if !ok {
		return false, nil
	}
	idx := o.batch.idx
	step := o.steps[idx[0]]
	for _, i := range idx {
		if o.steps[i] != step {
			return false, nil
		}
	}
	b := &o.batch
	defer b.reset()
	for _, i := range idx {
		m, err := o.buffer(i, 0)
		if err != nil {
			return true, err
		}
		v, err := o.buffer(i, 1)
		if err != nil {
			return true, err
		}
		p := o.params[i]
		b.ps, b.gs = append(b.ps, p.Value().Buffer()), append(b.gs, p.Grad().Buffer())
		b.ms, b.vs = append(b.ms, m), append(b.vs, v)
	}
	for _, i := range idx {
		o.steps[i]++
	}
	mt.AdamTensors(b.ps, b.gs, b.ms, b.vs, device.AdamConfig{
		LR: o.cfg.LR, Beta1: o.cfg.Beta1, Beta2: o.cfg.Beta2, Eps: o.cfg.Eps,
		WeightDecay: o.cfg.WeightDecay, Decoupled: o.decoupled, Step: step + 1,
	})
	return true, errDevice(o.kind, o.params)
}
