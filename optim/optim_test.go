package optim_test

import (
	"encoding/json"
	"math"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/internal/torchtest"
	"github.com/adjoint-go/adjoint/optim"
	"github.com/adjoint-go/adjoint/tensor"
)

// cpuDev returns a CPU device whose buffers start as NaN (cpu.WithPoison),
// so that a test fails where code reads a buffer before writing it.
func cpuDev(t testing.TB) device.Device {
	t.Helper()
	dev, err := cpu.New(cpu.WithPoison())
	require.NoError(t, err)
	return dev
}

func param(t testing.TB, dev device.Device, v ...float32) *autograd.Var {
	t.Helper()
	x, err := tensor.FromFloat32(dev, v)
	require.NoError(t, err)
	return autograd.NewParam("p", x)
}

// setGrad makes p's gradient g, through the tape: L = Σ p ⊙ g.
func setGrad(t testing.TB, p *autograd.Var, g ...float32) {
	t.Helper()
	dev := p.Value().Device()
	tp := autograd.NewTape(dev, device.Float32)
	gt, err := tensor.FromFloat32(dev, g)
	require.NoError(t, err)
	defer gt.Release()
	p.ZeroGrad()
	require.NoError(t, tp.Backward(tp.Sum(tp.Mul(p, tp.Constant(gt)))))
	tp.Release()
}

func vals(t testing.TB, p *autograd.Var) []float64 {
	t.Helper()
	v, err := p.Value().Float64s()
	require.NoError(t, err)
	return v
}

// TestSGD checks torch.optim.SGD's rule on p = (1, −2) with the gradients
// g₁ = (0.5, 1) and then g₂ = (−1, 2), computed by hand:
//
//	plain, η=0.1:               p₁ = p − ηg₁ = (0.95, −2.1); p₂ = (1.05, −2.3)
//	weight decay λ=0.1:         g₁' = g₁ + λp = (0.6, 0.8), p₁ = (0.94, −2.08)
//	                            g₂' = g₂ + λp₁ = (−0.906, 1.792), p₂ = (1.0306, −2.2592)
//	momentum μ=0.9:             v₁ = g₁, p₁ = (0.95, −2.1)
//	                            v₂ = 0.9v₁ + g₂ = (−0.55, 2.9), p₂ = (1.005, −2.39)
//	momentum, dampening τ=0.5:  v₂ = 0.9v₁ + 0.5g₂ = (−0.05, 1.9), p₂ = (0.955, −2.29)
//	Nesterov μ=0.9:             v₁ = g₁, d₁ = g₁ + 0.9v₁ = (0.95, 1.9), p₁ = (0.905, −2.19)
//	                            v₂ = (−0.55, 2.9), d₂ = g₂ + 0.9v₂ = (−1.495, 4.61), p₂ = (1.0545, −2.651)
func TestSGD(t *testing.T) {
	dev := cpuDev(t)
	tests := []struct {
		name   string
		cfg    optim.SGDConfig
		p1, p2 []float64
	}{
		{"plain", optim.SGDConfig{LR: 0.1}, []float64{0.95, -2.1}, []float64{1.05, -2.3}},
		{"weight decay", optim.SGDConfig{LR: 0.1, WeightDecay: 0.1}, []float64{0.94, -2.08}, []float64{1.0306, -2.2592}},
		{"momentum", optim.SGDConfig{LR: 0.1, Momentum: 0.9}, []float64{0.95, -2.1}, []float64{1.005, -2.39}},
		{"dampening", optim.SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: 0.5}, []float64{0.95, -2.1}, []float64{0.955, -2.29}},
		{"nesterov", optim.SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true}, []float64{0.905, -2.19}, []float64{1.0545, -2.651}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := param(t, dev, 1, -2)
			o, err := optim.NewSGD([]*autograd.Var{p}, tc.cfg)
			require.NoError(t, err)
			setGrad(t, p, 0.5, 1)
			require.NoError(t, o.Step())
			assert.InDeltaSlice(t, tc.p1, vals(t, p), 1e-6)
			setGrad(t, p, -1, 2)
			require.NoError(t, o.Step())
			assert.InDeltaSlice(t, tc.p2, vals(t, p), 1e-6)
		})
	}
}

// adamRef is PyTorch's Adam/AdamW update written out in float64 for one
// element, independently of the device code.
func adamRef(p float64, gs []float64, lr, b1, b2, eps, wd float64, decoupled bool) float64 {
	var m, v float64
	for i, g := range gs {
		t := float64(i + 1)
		if decoupled {
			p -= lr * wd * p
		} else {
			g += wd * p
		}
		m = b1*m + (1-b1)*g
		v = b2*v + (1-b2)*g*g
		mhat := m / (1 - math.Pow(b1, t))
		vhat := v / (1 - math.Pow(b2, t))
		p -= lr * mhat / (math.Sqrt(vhat) + eps)
	}
	return p
}

func TestAdam(t *testing.T) {
	dev := cpuDev(t)
	// Step 1 by hand: m̂ = g, v̂ = g², so p₁ = p − η g/(|g| + ϵ) ≈ p − η sign(g).
	p := param(t, dev, 1, -2, 0.5)
	o, err := optim.NewAdam([]*autograd.Var{p}, optim.DefaultAdam())
	require.NoError(t, err)
	setGrad(t, p, 0.5, -3, 0)
	require.NoError(t, o.Step())
	assert.InDeltaSlice(t, []float64{1 - 1e-3, -2 + 1e-3, 0.5}, vals(t, p), 1e-6)

	grads := [][]float64{{0.5, -3}, {-1, 2}, {0.25, 0.25}, {2, -0.5}}
	tests := []struct {
		name      string
		cfg       optim.AdamConfig
		decoupled bool
	}{
		{"adam", optim.AdamConfig{LR: 0.1}, false},
		{"adam weight decay", optim.AdamConfig{LR: 0.1, WeightDecay: 0.1, Beta1: 0.8, Beta2: 0.9, Eps: 1e-3}, false},
		{"adamw", optim.AdamConfig{LR: 0.1, WeightDecay: 0.1}, true},
		{"adamw defaults", optim.DefaultAdamW(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := param(t, dev, 1, -2)
			newOpt := optim.NewAdam
			if tc.decoupled {
				newOpt = optim.NewAdamW
			}
			o, err := newOpt([]*autograd.Var{p}, tc.cfg)
			require.NoError(t, err)
			c := o.Config()
			for _, g := range grads {
				setGrad(t, p, float32(g[0]), float32(g[1]))
				require.NoError(t, o.Step())
			}
			for j, p0 := range []float64{1, -2} {
				var gs []float64
				for _, g := range grads {
					gs = append(gs, g[j])
				}
				want := adamRef(p0, gs, c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay, tc.decoupled)
				assert.InDelta(t, want, vals(t, p)[j], 1e-5)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	p := param(t, cpuDev(t), 1)
	ps := []*autograd.Var{p}
	for name, err := range map[string]error{
		"negative lr":        second(optim.NewSGD(ps, optim.SGDConfig{LR: -1})),
		"nan lr":             second(optim.NewAdam(ps, optim.AdamConfig{LR: math.NaN()})),
		"nesterov, no mom.":  second(optim.NewSGD(ps, optim.SGDConfig{LR: 1, Nesterov: true})),
		"nesterov, damping":  second(optim.NewSGD(ps, optim.SGDConfig{LR: 1, Momentum: 0.9, Dampening: 0.1, Nesterov: true})),
		"beta ≥ 1":           second(optim.NewAdam(ps, optim.AdamConfig{LR: 1, Beta1: 1, Beta2: 0.9})),
		"negative weight d.": second(optim.NewAdamW(ps, optim.AdamConfig{LR: 1, WeightDecay: -1})),
		"nil parameter":      second(optim.NewSGD([]*autograd.Var{nil}, optim.SGDConfig{LR: 1})),
		"rmsprop alpha < 0":  second(optim.NewRMSprop(ps, optim.RMSpropConfig{LR: 1, Alpha: -0.1})),
		"rmsprop NaN eps":    second(optim.NewRMSprop(ps, optim.RMSpropConfig{LR: 1, Alpha: 0.9, Eps: math.NaN()})),
	} {
		assert.Error(t, err, name)
	}
}

func second[T any](_ T, err error) error { return err }

// TestStateResume checks that State and LoadState carry an optimizer
// across a save: 3 steps == 1 step, state copied to a fresh optimizer
// (over a copy of the parameters), 2 steps.
func TestStateResume(t *testing.T) {
	dev := cpuDev(t)
	grads := [][]float32{{0.5, -1}, {2, 0.25}, {-1, 1}}
	makers := map[string]func([]*autograd.Var) (optim.Optimizer, error){
		"sgd": func(ps []*autograd.Var) (optim.Optimizer, error) { return optim.NewSGD(ps, optim.SGDConfig{LR: 0.1}) },
		"momentum": func(ps []*autograd.Var) (optim.Optimizer, error) {
			return optim.NewSGD(ps, optim.SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true})
		},
		"adam":  func(ps []*autograd.Var) (optim.Optimizer, error) { return optim.NewAdam(ps, optim.AdamConfig{LR: 0.1}) },
		"adamw": func(ps []*autograd.Var) (optim.Optimizer, error) { return optim.NewAdamW(ps, optim.DefaultAdamW()) },
		"rmsprop": func(ps []*autograd.Var) (optim.Optimizer, error) {
			return optim.NewRMSprop(ps, optim.RMSpropConfig{LR: 0.01, Alpha: 0.9, Momentum: 0.5, Centered: true})
		},
	}
	for name, mk := range makers {
		t.Run(name, func(t *testing.T) {
			a := param(t, dev, 1, -2)
			oa, err := mk([]*autograd.Var{a})
			require.NoError(t, err)
			for _, g := range grads {
				setGrad(t, a, g...)
				require.NoError(t, oa.Step())
			}

			b := param(t, dev, 1, -2)
			ob, err := mk([]*autograd.Var{b})
			require.NoError(t, err)
			setGrad(t, b, grads[0]...)
			require.NoError(t, ob.Step())
			st, err := ob.State()
			require.NoError(t, err)
			assert.Equal(t, []int{1}, st.Steps)

			c := param(t, dev, float32(vals(t, b)[0]), float32(vals(t, b)[1]))
			oc, err := mk([]*autograd.Var{c})
			require.NoError(t, err)
			require.NoError(t, oc.LoadState(st))
			for _, g := range grads[1:] {
				setGrad(t, c, g...)
				require.NoError(t, oc.Step())
			}
			assert.Equal(t, vals(t, a), vals(t, c), "resumed run equals the uninterrupted one")
		})
	}
}

// newParam makes a parameter of dtype dt (float32 or float64) holding v.
func newParam(t testing.TB, dev device.Device, dt device.DType, v []float64) *autograd.Var {
	t.Helper()
	var x *tensor.Tensor
	var err error
	if dt == device.Float64 {
		x, err = tensor.FromFloat64(dev, v)
	} else {
		v32 := make([]float32, len(v))
		for i, f := range v {
			v32[i] = float32(f)
		}
		x, err = tensor.FromFloat32(dev, v32)
	}
	require.NoError(t, err)
	return autograd.NewParam("p", x)
}

// setGradOf is setGrad for a parameter of either dtype: g is rounded to
// the parameter's dtype.
func setGradOf(t testing.TB, p *autograd.Var, g []float64) {
	t.Helper()
	dev, dt := p.Value().Device(), p.Value().DType()
	tp := autograd.NewTape(dev, dt)
	gt, err := tensor.Zeros(dev, dt, len(g))
	require.NoError(t, err)
	defer gt.Release()
	require.NoError(t, dev.Upload64(gt.Buffer(), g))
	p.ZeroGrad()
	require.NoError(t, tp.Backward(tp.Sum(tp.Mul(p, tp.Constant(gt)))))
	tp.Release()
}

// TestStateResumeExact checks optim's promise that a run that saves and
// resumes continues exactly as an uninterrupted one, for float32 and
// float64 parameters: steps before the save, State, a fresh optimizer over
// a copy of the parameters, LoadState, steps after; the parameters and the
// state must equal the uninterrupted run's bit for bit. The gradients
// (sines) and Adam's (1−β)g are not float32 values, so a state that
// rounded float64 buffers to float32 fails here.
func TestStateResumeExact(t *testing.T) {
	const before, after = 3, 4
	dev := cpuDev(t)
	start := [][]float64{{0.1, -0.7, 1.0 / 3, 2.5}, {math.Pi / 10}}
	grad := func(step, i int) []float64 {
		g := make([]float64, len(start[i]))
		for j := range g {
			g[j] = math.Sin(float64(7*step + 5*i + j + 1))
		}
		return g
	}
	makers := []struct {
		name string
		mk   func([]*autograd.Var) (optim.Optimizer, error)
	}{
		{"adam", func(ps []*autograd.Var) (optim.Optimizer, error) { return optim.NewAdam(ps, optim.DefaultAdam()) }},
		{"adamw", func(ps []*autograd.Var) (optim.Optimizer, error) {
			return optim.NewAdamW(ps, optim.AdamConfig{LR: 0.01, WeightDecay: 0.1})
		}},
		{"sgd momentum", func(ps []*autograd.Var) (optim.Optimizer, error) {
			return optim.NewSGD(ps, optim.SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: 0.1, WeightDecay: 0.01})
		}},
		{"sgd nesterov", func(ps []*autograd.Var) (optim.Optimizer, error) {
			return optim.NewSGD(ps, optim.SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true})
		}},
		{"rmsprop centered momentum", func(ps []*autograd.Var) (optim.Optimizer, error) {
			return optim.NewRMSprop(ps, optim.RMSpropConfig{LR: 0.01, Alpha: 0.99, Eps: 1e-8, Momentum: 0.9, WeightDecay: 0.01, Centered: true})
		}},
	}
	for _, dt := range []device.DType{device.Float32, device.Float64} {
		for _, m := range makers {
			t.Run(m.name+"/"+dt.String(), func(t *testing.T) {
				params := func(vs [][]float64) []*autograd.Var {
					ps := make([]*autograd.Var, len(vs))
					for i, v := range vs {
						ps[i] = newParam(t, dev, dt, v)
					}
					return ps
				}
				steps := func(o optim.Optimizer, from, to int) {
					for k := from; k < to; k++ {
						for i, p := range o.Params() {
							setGradOf(t, p, grad(k, i))
						}
						require.NoError(t, o.Step())
					}
				}
				values := func(o optim.Optimizer) [][]float64 {
					vs := make([][]float64, len(o.Params()))
					for i, p := range o.Params() {
						vs[i] = vals(t, p)
					}
					return vs
				}

				whole, err := m.mk(params(start))
				require.NoError(t, err)
				defer whole.Release()
				steps(whole, 0, before+after)

				saved, err := m.mk(params(start))
				require.NoError(t, err)
				defer saved.Release()
				steps(saved, 0, before)
				st, err := saved.State()
				require.NoError(t, err)

				resumed, err := m.mk(params(values(saved)))
				require.NoError(t, err)
				defer resumed.Release()
				require.NoError(t, resumed.LoadState(st))
				steps(resumed, before, before+after)

				require.Equal(t, values(whole), values(resumed), "parameters of the resumed run")
				want, err := whole.State()
				require.NoError(t, err)
				got, err := resumed.State()
				require.NoError(t, err)
				require.Equal(t, want, got, "state of the resumed run")
			})
		}
	}
}

func TestLoadStateErrors(t *testing.T) {
	dev := cpuDev(t)
	p := param(t, dev, 1, 2)
	o, err := optim.NewAdam([]*autograd.Var{p}, optim.DefaultAdam())
	require.NoError(t, err)
	tests := []struct {
		name string
		s    *optim.State
		want string
	}{
		{"nil", nil, "nil state"},
		{"kind", &optim.State{Kind: "sgd", Steps: []int{0}, Buffers: []map[string][]float64{{}}}, `state of "sgd", optimizer is "adam"`},
		{"count", &optim.State{Kind: "adam", Steps: []int{0, 0}, Buffers: make([]map[string][]float64, 2)}, "state for 2 parameters"},
		{"length", &optim.State{Kind: "adam", Steps: []int{1}, Buffers: []map[string][]float64{{"exp_avg": {1, 2, 3}, "exp_avg_sq": {1, 2}}}}, "exp_avg has 3 values"},
		{"name", &optim.State{Kind: "adam", Steps: []int{1}, Buffers: []map[string][]float64{{"momentum_buffer": {1, 2}}}}, `unknown buffer "momentum_buffer"`},
		{"no buffers", &optim.State{Kind: "adam", Steps: []int{3}, Buffers: []map[string][]float64{{}}}, "has taken 3 steps but has no buffers"},
		{"beyond float32", &optim.State{Kind: "adam", Steps: []int{1}, Buffers: []map[string][]float64{{"exp_avg": {1, 1e300}, "exp_avg_sq": {1, 2}}}}, "exp_avg[1] = 1e+300 is not a finite float32"},
		{"NaN", &optim.State{Kind: "adam", Steps: []int{1}, Buffers: []map[string][]float64{{"exp_avg": {0, 0}, "exp_avg_sq": {math.NaN(), 2}}}}, "exp_avg_sq[0] = NaN is not a finite float32"},
		{"negative exp_avg_sq", &optim.State{Kind: "adam", Steps: []int{1}, Buffers: []map[string][]float64{{"exp_avg": {0.1, 0.1}, "exp_avg_sq": {-1, 2}}}}, "exp_avg_sq[0] = -1 is negative"},
		{"a buffer missing", &optim.State{Kind: "adam", Steps: []int{1}, Buffers: []map[string][]float64{{"exp_avg": {0.1, 0.1}}}}, "has taken 1 steps but has no exp_avg_sq"},
		{"infinity", &optim.State{Kind: "adam", Steps: []int{1}, Buffers: []map[string][]float64{{"exp_avg": {math.Inf(-1), 0}, "exp_avg_sq": {1, 2}}}}, "exp_avg[0] = -Inf is not a finite float32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := o.LoadState(tc.s)
			require.ErrorIs(t, err, optim.ErrState)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestSkipsParamsWithoutGrad(t *testing.T) {
	dev := cpuDev(t)
	p, q := param(t, dev, 1), param(t, dev, 5)
	o, err := optim.NewSGD([]*autograd.Var{p, q}, optim.SGDConfig{LR: 1, Momentum: 0.5})
	require.NoError(t, err)
	setGrad(t, p, 2)
	require.NoError(t, o.Step())
	assert.Equal(t, []float64{-1}, vals(t, p))
	assert.Equal(t, []float64{5}, vals(t, q))
	st, err := o.State()
	require.NoError(t, err)
	assert.Equal(t, []int{1, 0}, st.Steps)
	assert.Empty(t, st.Buffers[1])
	o.ZeroGrad()
	assert.Nil(t, p.Grad())
}

// TestSchedules compares with PyTorch's closed forms.
func TestSchedules(t *testing.T) {
	step := optim.StepLR{Base: 0.1, StepSize: 3, Gamma: 0.1}
	for e, want := range []float64{0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001} {
		assert.InDelta(t, want, step.LR(e), 1e-15, "StepLR epoch %d", e)
	}
	cos := optim.CosineAnnealingLR{Base: 1, TMax: 10, EtaMin: 0.1}
	tests := []struct {
		epoch int
		want  float64
	}{
		{0, 1}, {5, 0.55}, {10, 0.1},
		{2, 0.1 + 0.9*(1+math.Cos(math.Pi/5))/2}, // 0.9140576474687264
		{15, 0.55}, {20, 1},                      // the closed form is periodic past TMax
	}
	for _, tc := range tests {
		assert.InDelta(t, tc.want, cos.LR(tc.epoch), 1e-12, "cosine epoch %d", tc.epoch)
	}
	assert.Equal(t, 0.3, optim.Constant(0.3).LR(7))
	assert.Panics(t, func() { optim.StepLR{Base: 1}.LR(0) })

	warm := optim.LinearLR{Base: 0.1, StartFactor: 0.25, EndFactor: 1, TotalIters: 4}
	for e, want := range []float64{0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1} {
		assert.InDelta(t, want, warm.LR(e), 1e-15, "LinearLR epoch %d", e)
	}
	seq := optim.SequentialLR{Schedules: []optim.Schedule{warm, optim.StepLR{Base: 0.1, StepSize: 2, Gamma: 0.5}}, Milestones: []int{3}}
	for e, want := range []float64{0.025, 0.04375, 0.0625, 0.1, 0.1, 0.05, 0.05, 0.025} {
		assert.InDelta(t, want, seq.LR(e), 1e-15, "SequentialLR epoch %d", e)
	}
	assert.Panics(t, func() { optim.LinearLR{Base: 1}.LR(0) })
	assert.Panics(t, func() { optim.SequentialLR{Schedules: []optim.Schedule{warm}, Milestones: []int{2}}.LR(0) })
	assert.Panics(t, func() {
		optim.SequentialLR{Schedules: []optim.Schedule{warm, warm, warm}, Milestones: []int{4, 2}}.LR(5)
	})
}

// TestSchedulesMatchTorch steps torch's schedulers (StepLR,
// CosineAnnealingLR, LinearLR, and SequentialLR of a warm-up and a cosine)
// on an optimizer for 40 epochs and compares every rate with the closed
// forms here: torch computes most of them recursively, from the previous
// epoch's rate.
func TestSchedulesMatchTorch(t *testing.T) {
	if _, err := exec.Command(torchtest.Python, "-c", "import torch").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import torch (%v): install python3-torch to compare with PyTorch", torchtest.Python, err)
	}
	const epochs = 40
	script := `
import json, torch
from torch.optim import lr_scheduler as S
def rates(make):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    s = make(opt)
    out = []
    for _ in range(40):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    return out
print(json.dumps({
    "step": rates(lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
    "cosine": rates(lambda o: S.CosineAnnealingLR(o, T_max=13, eta_min=0.001)),
    "linear": rates(lambda o: S.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=6)),
    "warmup-cosine": rates(lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.01, total_iters=5),
        S.CosineAnnealingLR(o, T_max=35)], milestones=[5])),
}))
`
	out, err := exec.Command(torchtest.Python, "-c", script).Output()
	require.NoError(t, err, "%s", out)
	var torch map[string][]float64
	require.NoError(t, json.Unmarshal(out, &torch))
	ours := map[string]optim.Schedule{
		"step":   optim.StepLR{Base: 0.1, StepSize: 7, Gamma: 0.5},
		"cosine": optim.CosineAnnealingLR{Base: 0.1, TMax: 13, EtaMin: 0.001},
		"linear": optim.LinearLR{Base: 0.1, StartFactor: 0.1, EndFactor: 0.9, TotalIters: 6},
		"warmup-cosine": optim.SequentialLR{Schedules: []optim.Schedule{
			optim.LinearLR{Base: 0.1, StartFactor: 0.01, EndFactor: 1, TotalIters: 5},
			optim.CosineAnnealingLR{Base: 0.1, TMax: 35}}, Milestones: []int{5}},
	}
	for name, s := range ours {
		require.Len(t, torch[name], epochs, name)
		for e, want := range torch[name] {
			assert.InDelta(t, want, s.LR(e), 1e-12*max(1, math.Abs(want)), "%s epoch %d", name, e)
		}
	}
}

// TestClipGradNorm: gradients (3, 4) and (12) have global norm 13.
func TestClipGradNorm(t *testing.T) {
	dev := cpuDev(t)
	tests := []struct {
		maxNorm float64
		a, b    []float64
	}{
		{6.5, []float64{1.5, 2}, []float64{6}}, // scaled by 6.5/13
		{13, []float64{3, 4}, []float64{12}},   // 13/(13+1e-6) ≈ 1 − 7.7e-8
		{100, []float64{3, 4}, []float64{12}},  // untouched
	}
	for _, tc := range tests {
		a, b, c := param(t, dev, 0, 0), param(t, dev, 0), param(t, dev, 0)
		setGrad(t, a, 3, 4)
		setGrad(t, b, 12)
		n, err := optim.ClipGradNorm([]*autograd.Var{a, b, c}, tc.maxNorm)
		require.NoError(t, err)
		assert.InDelta(t, 13, n, 1e-6)
		ga, err := a.Grad().Float64s()
		require.NoError(t, err)
		gb, err := b.Grad().Float64s()
		require.NoError(t, err)
		assert.InDeltaSlice(t, tc.a, ga, 1e-5)
		assert.InDeltaSlice(t, tc.b, gb, 1e-5)
	}
	_, err := optim.ClipGradNorm(nil, 0)
	assert.Error(t, err)
}

// TestAdamZeroFieldsTakeDefaults: each zero β and ϵ takes PyTorch's
// default on its own, for Adam and AdamW alike.
func TestAdamZeroFieldsTakeDefaults(t *testing.T) {
	p := param(t, cpuDev(t), 1)
	tests := []struct {
		name string
		cfg  optim.AdamConfig
		want optim.AdamConfig
	}{
		{"all zero", optim.AdamConfig{LR: 1e-3}, optim.AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		{"beta1 only", optim.AdamConfig{LR: 1e-3, Beta1: 0.8}, optim.AdamConfig{LR: 1e-3, Beta1: 0.8, Beta2: 0.999, Eps: 1e-8}},
		{"beta2 only", optim.AdamConfig{LR: 1e-3, Beta2: 0.99}, optim.AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8}},
		{"eps only", optim.AdamConfig{LR: 1e-3, Eps: 1e-6}, optim.AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-6}},
		{"weight decay kept", optim.AdamConfig{LR: 1e-2, WeightDecay: 0.1, Beta1: 0.5}, optim.AdamConfig{LR: 1e-2, Beta1: 0.5, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}},
		{"all set", optim.AdamConfig{LR: 1, Beta1: 0.1, Beta2: 0.2, Eps: 0.3, WeightDecay: 0.4}, optim.AdamConfig{LR: 1, Beta1: 0.1, Beta2: 0.2, Eps: 0.3, WeightDecay: 0.4}},
		{"default adam", optim.DefaultAdam(), optim.AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		{"default adamw", optim.DefaultAdamW(), optim.AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := optim.NewAdam([]*autograd.Var{p}, tc.cfg)
			require.NoError(t, err)
			assert.Equal(t, tc.want, a.Config(), "adam")
			w, err := optim.NewAdamW([]*autograd.Var{p}, tc.cfg)
			require.NoError(t, err)
			assert.Equal(t, tc.want, w.Config(), "adamw")
		})
	}
}

// TestAdamTinyBetaIsZero: math.SmallestNonzeroFloat64, the documented way
// to ask for β = 0 or ϵ = 0, gives the same float32 steps, bit for bit, as
// the device's Adam with those fields exactly 0.
func TestAdamTinyBetaIsZero(t *testing.T) {
	const tiny = math.SmallestNonzeroFloat64
	dev := cpuDev(t)
	grads := [][]float32{{0.5, -3}, {-1, 2}, {0.25, 0.25}}
	for _, tc := range []struct {
		name             string
		beta1, beta2, ep float64 // 0 where tiny is passed
	}{
		{"beta1", 0, 0.999, 1e-8},
		{"beta2", 0.9, 0, 1e-8},
		{"eps", 0.9, 0.999, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orTiny := func(x float64) float64 {
				if x == 0 {
					return tiny
				}
				return x
			}
			p := param(t, dev, 1, -2)
			o, err := optim.NewAdam([]*autograd.Var{p}, optim.AdamConfig{LR: 0.1, Beta1: orTiny(tc.beta1), Beta2: orTiny(tc.beta2), Eps: orTiny(tc.ep)})
			require.NoError(t, err)
			ref := param(t, dev, 1, -2)
			m := must(tensor.Zeros(dev, device.Float32, 2))
			v := must(tensor.Zeros(dev, device.Float32, 2))
			for step, g := range grads {
				setGrad(t, p, g...)
				require.NoError(t, o.Step())
				setGrad(t, ref, g...)
				dev.Adam(ref.Value().Buffer(), ref.Grad().Buffer(), m.Buffer(), v.Buffer(), device.AdamConfig{
					LR: 0.1, Beta1: tc.beta1, Beta2: tc.beta2, Eps: tc.ep, Step: step + 1})
				assert.Equal(t, vals(t, ref), vals(t, p), "step %d", step+1)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestClipGradNormCountsSharedOnce: a Var listed twice is one parameter
// with one gradient: it counts once in the norm and is scaled once, in a
// short list and in a long one (which takes the map path).
func TestClipGradNormCountsSharedOnce(t *testing.T) {
	dev := cpuDev(t)
	for _, fill := range []int{0, 40} {
		a, b := param(t, dev, 0, 0), param(t, dev, 0)
		setGrad(t, a, 3, 4)
		setGrad(t, b, 12)
		list := []*autograd.Var{a, b, a}
		for range fill {
			list = append(list, param(t, dev, 0)) // no gradient
		}
		list = append(list, b)
		n, err := optim.ClipGradNorm(list, 6.5)
		require.NoError(t, err)
		assert.InDelta(t, 13, n, 1e-6, "%d parameters", len(list))
		assert.InDeltaSlice(t, []float64{1.5, 2}, must(a.Grad().Float64s()), 1e-5, "scaled by 6.5/13 once")
		assert.InDeltaSlice(t, []float64{6}, must(b.Grad().Float64s()), 1e-5, "scaled by 6.5/13 once")
	}
}

// TestOptimizersRejectRepeatedParams: a Var listed twice would be updated
// twice per step; every optimizer refuses the list and names both indices.
func TestOptimizersRejectRepeatedParams(t *testing.T) {
	dev := cpuDev(t)
	a, b := param(t, dev, 1), param(t, dev, 2)
	ps := []*autograd.Var{a, b, a}
	for name, err := range map[string]error{
		"sgd":      second(optim.NewSGD(ps, optim.SGDConfig{LR: 0.1})),
		"momentum": second(optim.NewSGD(ps, optim.SGDConfig{LR: 0.1, Momentum: 0.9})),
		"adam":     second(optim.NewAdam(ps, optim.DefaultAdam())),
		"adamw":    second(optim.NewAdamW(ps, optim.DefaultAdamW())),
		"rmsprop":  second(optim.NewRMSprop(ps, optim.DefaultRMSprop())),
	} {
		require.Error(t, err, name)
		assert.ErrorContains(t, err, "parameters 0 and 2 are the same Var", name)
	}
	_, err := optim.NewSGD([]*autograd.Var{a, b}, optim.SGDConfig{LR: 0.1})
	assert.NoError(t, err, "distinct parameters")
}
