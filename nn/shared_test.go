package nn_test

import (
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/internal/torchtest"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
	"github.com/adjoint-go/adjoint/safetensors"
	"github.com/adjoint-go/adjoint/tensor"
)

func newLinear(t testing.TB, dev device.Device, in, out int, seed uint64) *nn.Linear {
	t.Helper()
	l, err := nn.NewLinear(dev, in, out, rand.New(rand.NewPCG(seed, 7)))
	require.NoError(t, err)
	return l
}

// tied returns torch's Sequential(l, Tanh(), l): one Linear(n, n) used twice.
func tied(t testing.TB, dev device.Device, n int, seed uint64) (*nn.Sequential, *nn.Linear) {
	l := newLinear(t, dev, n, n, seed)
	return nn.NewSequential(l, nn.Tanh(), l), l
}

func names(ps []nn.NamedParam) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// TestSharedParams: a parameter a model reaches twice is one parameter
// (Params and NamedParams list it once, under its first name, as torch's
// parameters() and named_parameters()), but the state_dict holds every
// name (AllNamedParams, StateDict), as torch's state_dict() does:
// Sequential(l, Tanh(), l) has 2 parameters and 4 state_dict keys.
func TestSharedParams(t *testing.T) {
	dev := cpuDev(t)
	seq, l := tied(t, dev, 3, 1)
	l2 := newLinear(t, dev, 3, 3, 2)
	tests := []struct {
		name   string
		m      nn.Module
		params []*autograd.Var
		named  []string
		all    []string
	}{
		{"layer used twice", seq, []*autograd.Var{l.Weight, l.Bias},
			[]string{"0.weight", "0.bias"},
			[]string{"0.weight", "0.bias", "2.weight", "2.bias"}},
		{"nested", nn.NewSequential(l2, nn.NewSequential(l, nn.ReLU(), l2), &nn.Residual{Body: l}),
			[]*autograd.Var{l2.Weight, l2.Bias, l.Weight, l.Bias},
			[]string{"0.weight", "0.bias", "1.0.weight", "1.0.bias"},
			[]string{"0.weight", "0.bias", "1.0.weight", "1.0.bias", "1.2.weight", "1.2.bias", "2.body.weight", "2.body.bias"}},
		{"residual body", &nn.Residual{Body: seq}, []*autograd.Var{l.Weight, l.Bias},
			[]string{"body.0.weight", "body.0.bias"},
			[]string{"body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"}},
		{"tied weight, own biases", nn.NewSequential(l, &nn.Linear{In: 3, Out: 3, Weight: l.Weight, Bias: l2.Bias}),
			[]*autograd.Var{l.Weight, l.Bias, l2.Bias},
			[]string{"0.weight", "0.bias", "1.bias"},
			[]string{"0.weight", "0.bias", "1.weight", "1.bias"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.params, tc.m.Params())
			named := nn.NamedParams(tc.m)
			assert.Equal(t, tc.named, names(named))
			if assert.Len(t, named, len(tc.params)) {
				for i, p := range named {
					assert.Same(t, tc.params[i], p.Var, "NamedParams(m)[i].Var is m.Params()[i]")
				}
			}
			assert.Equal(t, tc.all, names(nn.AllNamedParams(tc.m)))
			sd, err := nn.StateDict(tc.m)
			require.NoError(t, err)
			var keys []string
			for k := range sd {
				keys = append(keys, k)
			}
			assert.ElementsMatch(t, tc.all, keys)
		})
	}
}

// TestSharedParamsStepOnce: one MSE step with SGD (η = 0.1) on
// Sequential(l, Tanh(), l) moves l once by −η·∂L/∂W, where ∂L/∂W sums
// both uses; ClipGradNorm counts l's gradient once.
func TestSharedParamsStepOnce(t *testing.T) {
	dev := cpuDev(t)
	m, l := tied(t, dev, 2, 3)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	x := input(t, tp, []float32{1, -0.5, 0.25, 2}, 2, 2)
	y := input(t, tp, []float32{0.5, 0, -1, 1}, 2, 2)
	require.NoError(t, tp.Backward(loss.MSE(tp, m.Forward(tp, x), tp.Constant(y.Value()), loss.Mean)))
	w0, b0 := values(t, l.Weight), values(t, l.Bias)
	gw, err := l.Weight.Grad().Float32s()
	require.NoError(t, err)
	gb, err := l.Bias.Grad().Float32s()
	require.NoError(t, err)
	var sq float64
	for _, g := range append(append([]float32(nil), gw...), gb...) {
		sq += float64(g) * float64(g)
	}

	norm, err := optim.ClipGradNorm(m.Params(), 1e9)
	require.NoError(t, err)
	assert.InDelta(t, sq, norm*norm, 1e-6*sq, "the norm counts each gradient once")

	opt, err := optim.NewSGD(m.Params(), optim.SGDConfig{LR: 0.1})
	require.NoError(t, err)
	require.NoError(t, opt.Step())
	for i := range w0 {
		assert.InDelta(t, w0[i]-0.1*gw[i], values(t, l.Weight)[i], 1e-6, "weight %d updated once", i)
	}
	for i := range b0 {
		assert.InDelta(t, b0[i]-0.1*gb[i], values(t, l.Bias)[i], 1e-6, "bias %d updated once", i)
	}
}

// TestTiedCheckpoint: a tied model saves every state_dict name and loads
// back; every name is required (torch's strict load), and where the
// checkpoint holds two values for the one parameter the last name wins, as
// in torch.
func TestTiedCheckpoint(t *testing.T) {
	dev := cpuDev(t)
	a, la := tied(t, dev, 3, 4)
	path := filepath.Join(t.TempDir(), "tied.safetensors")
	require.NoError(t, nn.Save(path, a, nil))
	f, err := safetensors.LoadFile(path)
	require.NoError(t, err)
	assert.Len(t, f.Tensors, 4)
	assert.Equal(t, f.Tensors["0.weight"], f.Tensors["2.weight"])

	b, lb := tied(t, dev, 3, 5)
	require.NotEqual(t, values(t, la.Weight), values(t, lb.Weight))
	_, err = nn.Load(path, b)
	require.NoError(t, err)
	assert.Equal(t, values(t, la.Weight), values(t, lb.Weight))
	assert.Equal(t, values(t, la.Bias), values(t, lb.Bias))

	sd := map[string]safetensors.Tensor{}
	for k, v := range f.Tensors {
		sd[k] = v
	}
	delete(sd, "2.bias")
	assert.ErrorContains(t, nn.LoadStateDict(sd, b), "missing parameter: 2.bias")
	sd["2.bias"] = safetensors.FromFloat32([]int{3}, []float32{7, 8, 9})
	require.NoError(t, nn.LoadStateDict(sd, b))
	assert.Equal(t, []float32{7, 8, 9}, values(t, lb.Bias), "the last name wins")
}

// TestTiedCheckpointTorch: a checkpoint of Sequential(l, Tanh(), l) loads
// into torch's tied model with load_state_dict(strict=True) and predicts
// what adjoint predicts, and torch's state_dict of that model (both names)
// loads back (scripts/torch/tied_checkpoint.py).
func TestTiedCheckpointTorch(t *testing.T) {
	script := torchtest.Script(t, "tied_checkpoint.py")
	dev := cpuDev(t)
	m, _ := tied(t, dev, 3, 6)
	xs := []float32{1, -0.5, 0.25, 2, 0.1, -1.5}
	forward := func() []float32 {
		tp := autograd.NewTape(dev, device.Float32)
		defer tp.Release()
		x, err := tensor.FromFloat32(dev, xs, 2, 3)
		require.NoError(t, err)
		defer x.Release()
		y, err := m.Forward(tp, tp.Constant(x)).Value().Float32s()
		require.NoError(t, err)
		return y
	}
	dir := t.TempDir()
	ours, theirs := filepath.Join(dir, "adjoint.safetensors"), filepath.Join(dir, "torch.safetensors")
	require.NoError(t, nn.SaveWith(ours, m, nil, map[string]safetensors.Tensor{
		"test/x": safetensors.FromFloat32([]int{2, 3}, xs),
		"test/y": safetensors.FromFloat32([]int{2, 3}, forward()),
	}))
	out, err := exec.Command(torchtest.Python, script, ours, theirs).CombinedOutput()
	t.Log(strings.TrimSpace(string(out)))
	require.NoError(t, err, "tied_checkpoint.py: %s", out)

	f, err := nn.Load(theirs, m)
	require.NoError(t, err)
	want, err := f.Tensors["test/y"].Float32()
	require.NoError(t, err)
	assert.InDeltaSlice(t, want, forward(), 1e-5, "torch's weights give torch's outputs")
}
