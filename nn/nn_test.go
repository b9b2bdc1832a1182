package nn_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/safetensors"
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

func values(t testing.TB, v *autograd.Var) []float32 {
	t.Helper()
	out, err := v.Value().Float32s()
	require.NoError(t, err)
	return out
}

func input(t testing.TB, tp *autograd.Tape, data []float32, shape ...int) *autograd.Var {
	t.Helper()
	x, err := tensor.FromFloat32(tp.Device(), data, shape...)
	require.NoError(t, err)
	t.Cleanup(x.Release)
	return tp.Input(x, true)
}

func TestLinearInit(t *testing.T) {
	dev := cpuDev(t)
	for _, tc := range []struct{ in, out int }{{1, 1}, {64, 128}, {10, 3}} {
		l, err := nn.NewLinear(dev, tc.in, tc.out, rand.New(rand.NewPCG(1, 2)))
		require.NoError(t, err)
		assert.Equal(t, []int{tc.out, tc.in}, l.Weight.Shape(), "PyTorch layout [out × in]")
		assert.Equal(t, []int{tc.out}, l.Bias.Shape())
		bound := 1 / math.Sqrt(float64(tc.in))
		w, b := values(t, l.Weight), values(t, l.Bias)
		var sum, sumsq float64
		for _, v := range append(w, b...) {
			assert.LessOrEqual(t, math.Abs(float64(v)), bound)
			sum += float64(v)
			sumsq += float64(v) * float64(v)
		}
		if n := float64(len(w) + len(b)); n > 1000 {
			// U(−a, a) has mean 0 and variance a²/3.
			assert.InDelta(t, 0, sum/n, 0.05*bound)
			assert.InDelta(t, bound*bound/3, sumsq/n, 0.05*bound*bound)
		}
		// Same seed, same layer.
		l2, err := nn.NewLinear(dev, tc.in, tc.out, rand.New(rand.NewPCG(1, 2)))
		require.NoError(t, err)
		assert.Equal(t, w, values(t, l2.Weight))
	}
	_, err := nn.NewLinear(dev, 0, 3, rand.New(rand.NewPCG(1, 2)))
	assert.Error(t, err)
}

func TestNames(t *testing.T) {
	dev := cpuDev(t)
	mlp, err := nn.MLP(dev, []int{4, 8, 6, 3}, device.ReLU, 1)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	l1, err := nn.NewLinear(dev, 3, 3, rng)
	require.NoError(t, err)
	l2, err := nn.NewLinear(dev, 3, 3, rng)
	require.NoError(t, err)
	res := nn.NewSequential(mlp, nn.Tanh(), &nn.Residual{Body: nn.NewSequential(l1, nn.ReLU(), l2)})
	tests := []struct {
		name  string
		m     nn.Module
		names []string
		shape [][]int
	}{
		{"mlp", mlp, []string{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"},
			[][]int{{8, 4}, {8}, {6, 8}, {6}, {3, 6}, {3}}},
		{"nested with residual", res, []string{
			"0.0.weight", "0.0.bias", "0.2.weight", "0.2.bias", "0.4.weight", "0.4.bias",
			"2.body.0.weight", "2.body.0.bias", "2.body.2.weight", "2.body.2.bias"}, nil},
		{"activation", nn.Sigmoid(), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			var shapes [][]int
			for _, p := range nn.NamedParams(tc.m) {
				names = append(names, p.Name)
				shapes = append(shapes, p.Var.Shape())
			}
			assert.Equal(t, tc.names, names)
			if tc.shape != nil {
				assert.Equal(t, tc.shape, shapes)
			}
			assert.Len(t, tc.m.Params(), len(tc.names))
		})
	}
	assert.Equal(t, "Sequential(Linear(4, 8), relu, Linear(8, 6), relu, Linear(6, 3))", mlp.String())
	identity, err := nn.MLP(dev, []int{2, 3, 1}, device.Identity, 1)
	require.NoError(t, err)
	assert.Len(t, identity.Layers, 2, "no activation layers for identity")
	_, err = nn.MLP(dev, []int{2}, device.ReLU, 1)
	assert.Error(t, err)
	_, err = nn.MLP(dev, []int{2, 2}, device.Exp, 1)
	assert.Error(t, err)
}

// TestFusedForward checks that a Sequential fuses Linear+activation into one
// tape node and computes what the separate ops compute, gradients included.
func TestFusedForward(t *testing.T) {
	dev := cpuDev(t)
	for _, act := range []*nn.Activation{nn.ReLU(), nn.Tanh(), nn.Sigmoid()} {
		t.Run(act.String(), func(t *testing.T) {
			l, err := nn.NewLinear(dev, 3, 4, rand.New(rand.NewPCG(5, 6)))
			require.NoError(t, err)
			seq := nn.NewSequential(l, act)
			xs := []float32{0.5, -1, 2, 1.5, 0.25, -0.75}

			tp := autograd.NewTape(dev, device.Float32)
			x := input(t, tp, xs, 2, 3)
			y := seq.Forward(tp, x)
			assert.Equal(t, 1, tp.Len(), "Linear+%v is one node", act)
			require.NoError(t, tp.Backward(tp.Sum(y)))
			fused, gw, gx := values(t, y), must(t, l.Weight.Grad()), must(t, x.Grad())
			l.Weight.ZeroGrad()
			l.Bias.ZeroGrad()

			tp2 := autograd.NewTape(dev, device.Float32)
			x2 := input(t, tp2, xs, 2, 3)
			y2 := act.Forward(tp2, l.Forward(tp2, x2))
			assert.Equal(t, 2, tp2.Len())
			require.NoError(t, tp2.Backward(tp2.Sum(y2)))
			assert.InDeltaSlice(t, values(t, y2), fused, 1e-6)
			assert.InDeltaSlice(t, must(t, l.Weight.Grad()), gw, 1e-6)
			assert.InDeltaSlice(t, must(t, x2.Grad()), gx, 1e-6)
		})
	}
}

func must(t testing.TB, g *tensor.Tensor) []float32 {
	t.Helper()
	require.NotNil(t, g)
	v, err := g.Float32s()
	require.NoError(t, err)
	return v
}

// TestResidual checks y = x + (xWᵀ + b) and its gradients by hand: with
// L = Σ y, ∂L/∂x_kj = 1 + Σ_o W_oj, ∂L/∂W_oj = Σ_k x_kj, ∂L/∂b_o = K.
func TestResidual(t *testing.T) {
	dev := cpuDev(t)
	l, err := nn.NewLinear(dev, 2, 2, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	require.NoError(t, dev.Upload32(l.Weight.Value().Buffer(), []float32{1, 2, 3, 4}))
	require.NoError(t, dev.Upload32(l.Bias.Value().Buffer(), []float32{0.5, -0.5}))
	r := &nn.Residual{Body: l}
	tp := autograd.NewTape(dev, device.Float32)
	x := input(t, tp, []float32{1, 1, 2, -1}, 2, 2)
	y := r.Forward(tp, x)
	// row 0: x=(1,1): body = (1+2+0.5, 3+4−0.5) = (3.5, 6.5); y = (4.5, 7.5)
	// row 1: x=(2,−1): body = (2−2+0.5, 6−4−0.5) = (0.5, 1.5); y = (2.5, 0.5)
	assert.InDeltaSlice(t, []float32{4.5, 7.5, 2.5, 0.5}, values(t, y), 1e-6)
	require.NoError(t, tp.Backward(tp.Sum(y)))
	assert.InDeltaSlice(t, []float32{5, 7, 5, 7}, must(t, x.Grad()), 1e-6) // 1 + (1+3), 1 + (2+4)
	assert.InDeltaSlice(t, []float32{3, 0, 3, 0}, must(t, l.Weight.Grad()), 1e-6)
	assert.InDeltaSlice(t, []float32{2, 2}, must(t, l.Bias.Grad()), 1e-6)

	bad := &nn.Residual{Body: must2(nn.NewLinear(dev, 2, 3, rand.New(rand.NewPCG(1, 1))))}
	assert.PanicsWithValue(t, "nn: Residual: body maps [2 2] to [2 3]; a residual block without a shortcut must keep the shape", func() {
		bad.Forward(autograd.NewTape(dev, device.Float32), x)
	})
	bad.Shortcut = must2(nn.NewLinear(dev, 2, 4, rand.New(rand.NewPCG(1, 1))))
	assert.PanicsWithValue(t, "nn: Residual: body maps [2 2] to [2 3] but the shortcut to [2 4]", func() {
		bad.Forward(autograd.NewTape(dev, device.Float32), x)
	})
	// A projecting shortcut: y = (x Sᵀ + s) + (x Wᵀ + b), names of both.
	proj := &nn.Residual{Body: must2(nn.NewLinear(dev, 2, 3, rand.New(rand.NewPCG(1, 1)))), Shortcut: must2(nn.NewLinear(dev, 2, 3, rand.New(rand.NewPCG(2, 1))))}
	assert.Equal(t, []string{"body.weight", "body.bias", "shortcut.weight", "shortcut.bias"}, names(nn.NamedParams(proj)))
	assert.Len(t, proj.Params(), 4)
	tp2 := autograd.NewTape(dev, device.Float32)
	defer tp2.Release()
	in := tp2.ConstantFloat32([]float32{1, 2}, 1, 2)
	want := tp2.Add(proj.Body.Forward(tp2, in), proj.Shortcut.Forward(tp2, in))
	assert.Equal(t, values(t, want), values(t, proj.Forward(tp2, in)))
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestParseActivation(t *testing.T) {
	for name, want := range map[string]device.UnaryOp{"relu": device.ReLU, "Tanh": device.Tanh, "sigmoid": device.Sigmoid,
		"GELU": device.GELU, "identity": device.Identity, "leaky_relu": device.LeakyReLU, "LeakyReLU": device.LeakyReLU, "ELU": device.ELU,
		"ReLU6": device.ReLU6, "hardsigmoid": device.Hardsigmoid, "Hardswish": device.Hardswish} {
		got, err := nn.ParseActivation(name)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := nn.ParseActivation("swish")
	assert.ErrorContains(t, err, `unknown activation "swish" (want relu, tanh, sigmoid, gelu, silu, leaky_relu, elu, relu6, hardsigmoid, hardswish or identity)`)
}

func TestSaveLoad(t *testing.T) {
	dev := cpuDev(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	a, err := nn.MLP(dev, []int{3, 5, 2}, device.Tanh, 1)
	require.NoError(t, err)
	extra := map[string]safetensors.Tensor{"optim/0/exp_avg": safetensors.FromFloat32([]int{2}, []float32{1, 2})}
	require.NoError(t, nn.SaveWith(path, a, map[string]string{"note": "hi"}, extra))

	b, err := nn.MLP(dev, []int{3, 5, 2}, device.Tanh, 2)
	require.NoError(t, err)
	assert.NotEqual(t, values(t, a.Params()[0]), values(t, b.Params()[0]))
	f, err := nn.Load(path, b)
	require.NoError(t, err)
	assert.Equal(t, "hi", f.Metadata["note"])
	assert.Contains(t, f.Tensors, "optim/0/exp_avg")
	for i := range a.Params() {
		assert.Equal(t, values(t, a.Params()[i]), values(t, b.Params()[i]))
	}
	assert.ErrorContains(t, nn.SaveWith(path, a, nil, map[string]safetensors.Tensor{"bad": extra["optim/0/exp_avg"]}), "must contain '/'")
}

func TestLoadErrors(t *testing.T) {
	dev := cpuDev(t)
	m, err := nn.MLP(dev, []int{3, 5, 2}, device.ReLU, 1)
	require.NoError(t, err)
	good, err := nn.StateDict(m)
	require.NoError(t, err)
	edit := func(f func(sd map[string]safetensors.Tensor)) map[string]safetensors.Tensor {
		sd := map[string]safetensors.Tensor{}
		for k, v := range good {
			sd[k] = v
		}
		f(sd)
		return sd
	}
	tests := []struct {
		name string
		sd   map[string]safetensors.Tensor
		want string
	}{
		{"missing", edit(func(sd map[string]safetensors.Tensor) { delete(sd, "2.bias") }), "missing parameter: 2.bias"},
		{"unexpected", edit(func(sd map[string]safetensors.Tensor) { sd["4.weight"] = good["2.bias"] }), "unexpected tensor: 4.weight"},
		{"shape", edit(func(sd map[string]safetensors.Tensor) {
			sd["0.weight"] = safetensors.FromFloat32([]int{5, 4}, make([]float32, 20))
		}), "size mismatch for 0.weight: checkpoint has shape [5 4], model has [5 3]"},
		{"dtype", edit(func(sd map[string]safetensors.Tensor) {
			sd["0.bias"] = safetensors.FromFloat64([]int{5}, make([]float64, 5))
		}), "dtype mismatch for 0.bias: checkpoint has F64, model has F32"},
		{"half", edit(func(sd map[string]safetensors.Tensor) {
			sd["2.weight"] = safetensors.Tensor{DType: "F16", Shape: []int{2, 5}, Data: make([]byte, 20)}
		}), "dtype mismatch for 2.weight: checkpoint has F16, model has F32"},
		{"truncated data", edit(func(sd map[string]safetensors.Tensor) {
			sd["0.bias"] = safetensors.Tensor{DType: "F32", Shape: []int{5}, Data: make([]byte, 7)}
		}), "0.bias"},
	}
	before := values(t, m.Params()[0])
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Poison the values a partial load would write.
			for k, v := range tc.sd {
				if v.DType == "F32" && len(v.Data) == 4*v.NumElements() {
					tc.sd[k] = safetensors.FromFloat32(v.Shape, make([]float32, v.NumElements()))
				}
			}
			err := nn.LoadStateDict(tc.sd, m)
			require.ErrorIs(t, err, nn.ErrStateDict)
			assert.ErrorContains(t, err, tc.want)
			assert.Equal(t, before, values(t, m.Params()[0]), "a failed load changes nothing")
		})
	}
	// Extra names are ignored.
	require.NoError(t, nn.LoadStateDict(edit(func(sd map[string]safetensors.Tensor) { sd["data/mean"] = good["0.bias"] }), m))

	dir := t.TempDir()
	_, err = nn.Load(filepath.Join(dir, "absent.safetensors"), m)
	assert.ErrorContains(t, err, "no such file")
	corrupt := filepath.Join(dir, "corrupt.safetensors")
	require.NoError(t, os.WriteFile(corrupt, []byte("not a safetensors file at all"), 0o644))
	_, err = nn.Load(corrupt, m)
	assert.ErrorContains(t, err, corrupt)
}

// TestSaveKeepsOldFile checks that a save that cannot complete leaves the
// previous checkpoint intact.
func TestSaveKeepsOldFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: directory permissions do not stop writes")
	}
	dev := cpuDev(t)
	m, err := nn.MLP(dev, []int{2, 2}, device.Identity, 1)
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	require.NoError(t, nn.Save(path, m, nil))
	old, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o500))
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	m2, err := nn.MLP(dev, []int{2, 2}, device.Identity, 2)
	require.NoError(t, err)
	assert.Error(t, nn.Save(path, m2, nil))
	now, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, old, now)
}
