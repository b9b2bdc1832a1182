package nn_test

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/nn"
)

func values64(t testing.TB, v *autograd.Var) []float64 {
	t.Helper()
	out, err := v.Value().Float64s()
	require.NoError(t, err)
	return out
}

// TestLinearDType checks that a float64 Linear draws the same numbers as a
// float32 one from the same seed: the float32 values are the float64 ones
// rounded.
func TestLinearDType(t *testing.T) {
	dev := cpuDev(t)
	tests := []struct {
		in, out int
		seed    uint64
	}{{1, 1, 1}, {3, 2, 7}, {64, 128, 1}, {10, 3, 42}}
	for _, tc := range tests {
		l32, err := nn.NewLinear(dev, tc.in, tc.out, rand.New(rand.NewPCG(tc.seed, 2)))
		require.NoError(t, err)
		l64, err := nn.NewLinearDType(dev, device.Float64, tc.in, tc.out, rand.New(rand.NewPCG(tc.seed, 2)))
		require.NoError(t, err)
		same32, err := nn.NewLinearDType(dev, device.Float32, tc.in, tc.out, rand.New(rand.NewPCG(tc.seed, 2)))
		require.NoError(t, err)
		for i, p := range l64.Params() {
			name := nn.NamedParams(l64)[i].Name
			assert.Equal(t, device.Float64, p.Value().DType(), name)
			assert.Equal(t, l32.Params()[i].Shape(), p.Shape(), name)
			assert.Equal(t, device.Float32, l32.Params()[i].Value().DType(), name)
			want := values(t, l32.Params()[i])
			assert.Equal(t, want, values(t, same32.Params()[i]), "%s: NewLinear is NewLinearDType(Float32)", name)
			bound := 1 / math.Sqrt(float64(tc.in))
			for j, v := range values64(t, p) {
				assert.LessOrEqual(t, math.Abs(v), bound)
				assert.Equal(t, want[j], float32(v), "%s[%d]: the float32 value is the float64 one rounded", name, j)
			}
		}
		nn.Release(l32)
		nn.Release(l64)
		nn.Release(same32)
	}
	_, err := nn.NewLinearDType(dev, device.DType(9), 2, 2, rand.New(rand.NewPCG(1, 2)))
	assert.ErrorContains(t, err, "dtype DType(9) is not float32 or float64")
}

func TestLayerNormDType(t *testing.T) {
	dev := cpuDev(t)
	for _, dt := range []device.DType{device.Float32, device.Float64} {
		t.Run(dt.String(), func(t *testing.T) {
			l, err := nn.NewLayerNormDType(dev, dt, 4, 1e-5, true)
			require.NoError(t, err)
			defer nn.Release(l)
			for _, p := range l.Params() {
				assert.Equal(t, dt, p.Value().DType())
			}
			assert.Equal(t, []float64{1, 1, 1, 1}, values64(t, l.Weight))
			assert.Equal(t, []float64{0, 0, 0, 0}, values64(t, l.Bias))
		})
	}
	_, err := nn.NewLayerNormDType(dev, device.DType(9), 4, 1e-5, true)
	assert.ErrorContains(t, err, "dtype DType(9) is not float32 or float64")
}

// model returns a Linear–LayerNorm–Tanh–Linear model of dtype dt, released
// when the test ends.
func model(t testing.TB, dev device.Device, dt device.DType, seed uint64) *nn.Sequential {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	l1, err := nn.NewLinearDType(dev, dt, 3, 5, rng)
	require.NoError(t, err)
	norm, err := nn.NewLayerNormDType(dev, dt, 5, 1e-5, true)
	require.NoError(t, err)
	l2, err := nn.NewLinearDType(dev, dt, 5, 2, rng)
	require.NoError(t, err)
	m := nn.NewSequential(l1, norm, nn.Tanh(), l2)
	t.Cleanup(func() { nn.Release(m) })
	return m
}

// TestSaveLoadFloat64 checks that a float64 model is saved as F64 and loads
// back bit for bit, and that it also runs on a float64 tape.
func TestSaveLoadFloat64(t *testing.T) {
	dev := cpuDev(t)
	path := filepath.Join(t.TempDir(), "m64.safetensors")
	a := model(t, dev, device.Float64, 1)
	w := values64(t, a.Params()[0])
	lossy := false
	for _, v := range w {
		lossy = lossy || float64(float32(v)) != v
	}
	require.True(t, lossy, "some weight must not be a float32, or F32 would round-trip it too")

	sd, err := nn.StateDict(a)
	require.NoError(t, err)
	for name, st := range sd {
		assert.Equal(t, "F64", st.DType, name)
	}
	require.NoError(t, nn.Save(path, a, map[string]string{"dtype": "float64"}))
	b := model(t, dev, device.Float64, 2)
	assert.NotEqual(t, w, values64(t, b.Params()[0]))
	f, err := nn.Load(path, b)
	require.NoError(t, err)
	assert.Equal(t, "float64", f.Metadata["dtype"])
	for name, st := range f.Tensors {
		assert.Equal(t, "F64", st.DType, name)
	}
	for i, p := range nn.NamedParams(a) {
		assert.Equal(t, values64(t, p.Var), values64(t, b.Params()[i]), "%s is bit-exact", p.Name)
	}

	// The loaded model computes on a float64 tape.
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Reset()
	y := b.Forward(tp, tp.ConstantFloat32([]float32{1, -2, 0.5, 0, 1, 2}, 2, 3))
	require.NoError(t, tp.Err())
	assert.Equal(t, []int{2, 2}, y.Shape())
	assert.Equal(t, device.Float64, y.Value().DType())
}

// TestLoadDTypeMismatch checks that a checkpoint of one dtype does not load
// into a model of the other, with an error naming the parameter and both
// dtypes, and that the model is left unchanged.
func TestLoadDTypeMismatch(t *testing.T) {
	dev := cpuDev(t)
	tests := []struct {
		name       string
		file, dest device.DType
		want       string
	}{
		{"F32 file into a float64 model", device.Float32, device.Float64,
			"dtype mismatch for 0.weight: checkpoint has F32, model has F64"},
		{"F64 file into a float32 model", device.Float64, device.Float32,
			"dtype mismatch for 0.weight: checkpoint has F64, model has F32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.safetensors")
			require.NoError(t, nn.Save(path, model(t, dev, tc.file, 1), nil))
			m := model(t, dev, tc.dest, 2)
			before := values64(t, m.Params()[0])
			_, err := nn.Load(path, m)
			require.ErrorIs(t, err, nn.ErrStateDict)
			assert.ErrorContains(t, err, path)
			assert.ErrorContains(t, err, tc.want)
			assert.ErrorContains(t, err, "dtype mismatch for 3.bias", "every parameter is reported")
			assert.Equal(t, before, values64(t, m.Params()[0]), "a failed load changes nothing")

			sd, err := nn.StateDict(model(t, dev, tc.file, 1))
			require.NoError(t, err)
			err = nn.LoadStateDict(sd, m)
			require.ErrorIs(t, err, nn.ErrStateDict)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	// A tensor wrong in both dtype and shape has both reported.
	sd64, err := nn.StateDict(model(t, dev, device.Float64, 1))
	require.NoError(t, err)
	w := sd64["0.weight"]
	w.Shape = []int{w.Shape[1], w.Shape[0]}
	sd64["0.weight"] = w
	err = nn.LoadStateDict(sd64, model(t, dev, device.Float32, 2))
	require.ErrorIs(t, err, nn.ErrStateDict)
	assert.ErrorContains(t, err, "dtype mismatch for 0.weight: checkpoint has F64, model has F32")
	assert.ErrorContains(t, err, "size mismatch for 0.weight")

	// A float32 checkpoint is F32 in the file and loads into a float32
	// model, as before.
	sd, err := nn.StateDict(model(t, dev, device.Float32, 1))
	require.NoError(t, err)
	assert.Equal(t, "F32", sd["0.weight"].DType)
	require.NoError(t, nn.LoadStateDict(sd, model(t, dev, device.Float32, 2)))
}
