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

// LinearLR is torch.optim.lr_scheduler.LinearLR in its closed form: the
// base rate times a factor that moves linearly from StartFactor at epoch 0
// to EndFactor at TotalIters and stays there, η = Base·(StartFactor +
// (EndFactor − StartFactor)·min(epoch, TotalIters)/TotalIters). A warm-up
// is StartFactor below 1 and EndFactor 1 (torch's defaults: 1/3, 1, 5
// epochs), usually followed by another schedule through SequentialLR.
type LinearLR struct {
	Base                   float64
	StartFactor, EndFactor float64
	TotalIters             int
}

// LR returns the rate for epoch.
func (s LinearLR) LR(epoch int) float64 {
	if s.TotalIters <= 0 {
		panic(fmt.Sprintf("optim: LinearLR with TotalIters %d, want > 0", s.TotalIters))
	}
	f := float64(min(max(epoch, 0), s.TotalIters)) / float64(s.TotalIters)
	return s.Base * (s.StartFactor + (s.EndFactor-s.StartFactor)*f)
}

// SequentialLR is torch.optim.lr_scheduler.SequentialLR: Schedules[0] up
// to Milestones[0], then Schedules[1] up to Milestones[1], and so on, each
// schedule counting its epochs from the milestone where it starts (so a
// cosine after a 5-epoch warm-up starts at its own epoch 0). Milestones
// must increase, one fewer than the schedules.
type SequentialLR struct {
	Schedules  []Schedule
	Milestones []int
}

// LR returns the rate of the schedule in force at epoch.
func (s SequentialLR) LR(epoch int) float64 {
	if len(s.Schedules) == 0 || len(s.Milestones) != len(s.Schedules)-1 {
		panic(fmt.Sprintf("optim: SequentialLR with %d schedules and %d milestones, want one fewer milestones than schedules (at least one schedule)",
			len(s.Schedules), len(s.Milestones)))
	}
	start := 0
	for i, m := range s.Milestones {
		if i > 0 && m <= s.Milestones[i-1] {
			panic(fmt.Sprintf("optim: SequentialLR milestones %v do not increase", s.Milestones))
		}
		if epoch < m {
			return s.Schedules[i].LR(epoch - start)
		}
		start = m
	}
	return s.Schedules[len(s.Schedules)-1].LR(epoch - start)
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
