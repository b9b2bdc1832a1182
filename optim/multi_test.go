package optim_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/optim"
)

// multiDevice is the cpu device with the optional multi-tensor optimizer
// methods that the cuda device has, each a loop over the per-tensor method,
// and counts of the calls of both kinds.
type multiDevice struct {
	device.Device
	multiCalls   int // SGDTensors and AdamTensors calls
	multiTensors int // tensors those calls updated
	singleCalls  int // SGD and Adam calls from the optimizer
}

func (d *multiDevice) SGD(p, g, v device.Buffer, cfg device.SGDConfig) {
	d.singleCalls++
	d.Device.SGD(p, g, v, cfg)
}

func (d *multiDevice) Adam(p, g, m, v device.Buffer, cfg device.AdamConfig) {
	d.singleCalls++
	d.Device.Adam(p, g, m, v, cfg)
}

func (d *multiDevice) SGDTensors(ps, gs, vs []device.Buffer, cfg device.SGDConfig) {
	d.multiCalls++
	d.multiTensors += len(ps)
	for i := range ps {
		var v device.Buffer
		if vs != nil {
			v = vs[i]
		}
		d.Device.SGD(ps[i], gs[i], v, cfg)
	}
}

func (d *multiDevice) AdamTensors(ps, gs, ms, vs []device.Buffer, cfg device.AdamConfig) {
	d.multiCalls++
	d.multiTensors += len(ps)
	for i := range ps {
		d.Device.Adam(ps[i], gs[i], ms[i], vs[i], cfg)
	}
}

// TestMultiTensorStep runs the same steps on three parameters on the cpu
// device and on a device with multi-tensor methods. Parameter 2 has no
// gradient at steps 1 and 4, so it falls one step behind: the optimizer
// must make one multi-tensor call where every parameter with a gradient
// gets the same configuration (Adam: same step count; SGD: all first steps
// or none) and fall back to one call per parameter elsewhere, with the
// same results and state as the cpu device's per-tensor path.
func TestMultiTensorStep(t *testing.T) {
	grads := [][][]float32{ // step, parameter: nil for none
		{{0.5, -1}, {2}, nil},
		{{-1, 0.25}, {-0.5}, {1, 1, -2}},
		{{0.75, 2}, {1}, {-0.5, 0.5, 3}},
		{{-2, 1}, {0.125}, nil},
	}
	tests := []struct {
		name     string
		make     func([]*autograd.Var) (optim.Optimizer, error)
		together []bool // per step: one multi-tensor call
	}{
		{"sgd", func(ps []*autograd.Var) (optim.Optimizer, error) {
			return optim.NewSGD(ps, optim.SGDConfig{LR: 0.1})
		}, []bool{true, false, true, true}},
		{"sgd-momentum-nesterov-weight-decay", func(ps []*autograd.Var) (optim.Optimizer, error) {
			return optim.NewSGD(ps, optim.SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 0.01})
		}, []bool{true, false, true, true}},
		{"adam", func(ps []*autograd.Var) (optim.Optimizer, error) {
			return optim.NewAdam(ps, optim.AdamConfig{LR: 0.1, WeightDecay: 0.05})
		}, []bool{true, false, false, true}},
		{"adamw", func(ps []*autograd.Var) (optim.Optimizer, error) { return optim.NewAdamW(ps, optim.DefaultAdamW()) },
			[]bool{true, false, false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cpu := cpuDev(t)
			multi := &multiDevice{Device: cpu}
			start := [][]float32{{1, -2}, {0.5}, {3, -1, 0.25}}
			var ref, got []*autograd.Var
			for _, v := range start {
				ref, got = append(ref, param(t, cpu, v...)), append(got, param(t, multi, v...))
			}
			oRef, err := tc.make(ref)
			require.NoError(t, err)
			oGot, err := tc.make(got)
			require.NoError(t, err)
			wantTensors := 0
			for step, gs := range grads {
				oRef.ZeroGrad()
				oGot.ZeroGrad()
				withGrad := 0
				for i, g := range gs {
					if g != nil {
						setGrad(t, ref[i], g...)
						setGrad(t, got[i], g...)
						withGrad++
					}
				}
				multiCalls, singleCalls := multi.multiCalls, multi.singleCalls
				require.NoError(t, oRef.Step())
				require.NoError(t, oGot.Step())
				if tc.together[step] {
					wantTensors += withGrad
					assert.Equal(t, 1, multi.multiCalls-multiCalls, "step %d: multi-tensor calls", step+1)
					assert.Zero(t, multi.singleCalls-singleCalls, "step %d: per-tensor calls", step+1)
				} else {
					assert.Zero(t, multi.multiCalls-multiCalls, "step %d: multi-tensor calls", step+1)
					assert.Equal(t, withGrad, multi.singleCalls-singleCalls, "step %d: per-tensor calls", step+1)
				}
				for i := range ref {
					assert.Equal(t, vals(t, ref[i]), vals(t, got[i]), "step %d: parameter %d", step+1, i)
				}
				sRef, err := oRef.State()
				require.NoError(t, err)
				sGot, err := oGot.State()
				require.NoError(t, err)
				assert.Equal(t, sRef, sGot, "step %d: state", step+1)
			}
			assert.Equal(t, wantTensors, multi.multiTensors, "every parameter with a gradient in each multi-tensor call")
		})
	}
}

// TestMultiTensorStepNeedsOneDevice checks the fallback for parameters on
// two devices, and for a single parameter with a gradient (one per-tensor
// call is already one call).
func TestMultiTensorStepNeedsOneDevice(t *testing.T) {
	cpu := cpuDev(t)
	a, b := &multiDevice{Device: cpu}, &multiDevice{Device: cpu}
	p, q := param(t, a, 1, 2), param(t, b, 3)
	o, err := optim.NewAdam([]*autograd.Var{p, q}, optim.DefaultAdam())
	require.NoError(t, err)
	setGrad(t, p, 1, 1)
	setGrad(t, q, 1)
	require.NoError(t, o.Step())
	assert.Zero(t, a.multiCalls+b.multiCalls, "parameters on two devices: no multi-tensor call")
	assert.Equal(t, 2, a.singleCalls+b.singleCalls)

	r := param(t, a, 5)
	s, err := optim.NewSGD([]*autograd.Var{p, r}, optim.SGDConfig{LR: 0.1})
	require.NoError(t, err)
	s.ZeroGrad()
	setGrad(t, r, 1)
	require.NoError(t, s.Step())
	assert.Zero(t, a.multiCalls, "one parameter with a gradient: no multi-tensor call")
	assert.InDeltaSlice(t, []float64{4.9}, vals(t, r), 1e-6)
}
