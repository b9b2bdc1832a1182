package optim

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/autograd"
)

// Schedule gives the learning rate for an epoch (0 for the first), in
// closed form: a schedule has no state, so a resumed run gets the same
// rates as an uninterrupted one.
type Schedule interface {
	LR(epoch int) float64
}

// Constant is a fixed learning rate.
type Constant float64

// LR returns the rate.
func (c Constant) LR(int) float64 { return float64(c) }

// StepLR is torch.optim.lr_scheduler.StepLR: the base rate times
// Gamma^⌊epoch/StepSize⌋.
type StepLR struct {
	Base     float64
	StepSize int
	Gamma    float64
}

// LR returns Base·Gamma^⌊epoch/StepSize⌋.
func (s StepLR) LR(epoch int) float64 {
	if s.StepSize <= 0 {
		panic(fmt.Sprintf("optim: StepLR with step size %d, want > 0", s.StepSize))
	}
	return s.Base * math.Pow(s.Gamma, float64(epoch/s.StepSize))
}

// CosineAnnealingLR is torch.optim.lr_scheduler.CosineAnnealingLR in its
// closed form: η = EtaMin + (Base − EtaMin)(1 + cos(π·epoch/TMax))/2.
type CosineAnnealingLR struct {
	Base   float64
	TMax   int
	EtaMin float64
}

// LR returns the annealed rate for epoch.
func (s CosineAnnealingLR) LR(epoch int) float64 {
	if s.TMax <= 0 {
		panic(fmt.Sprintf("optim: CosineAnnealingLR with TMax %d, want > 0", s.TMax))
	}
	return s.EtaMin + (s.Base-s.EtaMin)*(1+math.Cos(math.Pi*float64(epoch)/float64(s.TMax)))/2
}

// ClipGradNorm scales the gradients of params in place so that their
// global L2 norm (all gradients as one vector) is at most maxNorm, like
// torch.nn.utils.clip_grad_norm_(model.parameters()): with total norm n,
// each gradient is multiplied by maxNorm/(n + 1e-6) when that is below 1.
// It returns n, the norm before clipping. Parameters without a gradient are
// skipped, and a Var listed twice counts, and is scaled, once: it is one
// parameter with one gradient (torch, given a list with a repeat, would
// count it twice; model.parameters() never repeats one).
func ClipGradNorm(params []*autograd.Var, maxNorm float64) (float64, error) {
	if !(maxNorm > 0) {
		return 0, fmt.Errorf("optim: ClipGradNorm: max norm %v, want > 0", maxNorm)
	}
	firsts := newFirstIndex(params)
	var sum float64
	for i, p := range params {
		g := p.Grad()
		if g == nil || !firsts.first(i) {
			continue
		}
		d, err := g.Device().Dot(g.Buffer(), g.Buffer())
		if err != nil {
			return 0, fmt.Errorf("optim: ClipGradNorm: parameter %d: %w", i, err)
		}
		sum += d
	}
	total := math.Sqrt(sum)
	coef := maxNorm / (total + 1e-6)
	if coef < 1 {
		for i, p := range params {
			if g := p.Grad(); g != nil && firsts.first(i) {
				g.Device().Scale(coef, g.Buffer(), g.Buffer())
			}
		}
	}
	return total, nil
}
