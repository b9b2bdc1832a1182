package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/tensor"
)

// TestDropoutTraining: in training mode each output is 0 or x/(1−p),
// about a fraction p of them 0, and the gradient is the same mask times
// the upstream ε, exactly, in float64.
func TestDropoutTraining(t *testing.T) {
	dev := cpuDev(t)
	const rows, cols, p = 200, 50, 0.3
	n := rows * cols
	rng := rand.New(rand.NewPCG(5, 6))
	xs, ws := make([]float64, n), make([]float64, n)
	for i := range xs {
		xs[i], ws[i] = 1+rng.Float64(), rng.NormFloat64()
	}
	d := must2(nn.NewDropout(p, 7))
	require.True(t, d.Training(), "a new Dropout trains, as a new torch module does")
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	x := tp.Input(must2(tensor.FromFloat64(dev, xs, rows, cols)), true)
	y := d.Forward(tp, x)
	require.Equal(t, []int{rows, cols}, y.Shape())
	w := tp.Constant(must2(tensor.FromFloat64(dev, ws, rows, cols)))
	require.NoError(t, tp.Backward(tp.Sum(tp.Mul(w, y))))
	ys := must2(y.Value().Float64s())
	gs := must2(x.Grad().Float64s())
	scale := 1 / (1 - p)
	zeros := 0
	for i := range ys {
		if ys[i] == 0 {
			zeros++
			require.Zero(t, gs[i], "element %d dropped: no gradient", i)
			continue
		}
		require.Equal(t, xs[i]*scale, ys[i], "element %d kept: x/(1−p)", i)
		require.Equal(t, ws[i]*scale, gs[i], "element %d kept: ε/(1−p)", i)
	}
	sigma := math.Sqrt(p * (1 - p) / float64(n))
	assert.InDelta(t, p, float64(zeros)/float64(n), 4*sigma, "the fraction dropped")
}

// TestDropoutFloat32: on a float32 tape the kept values are x scaled by
// 1/(1−p) in float32.
func TestDropoutFloat32(t *testing.T) {
	dev := cpuDev(t)
	d := must2(nn.NewDropout(0.5, 1))
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	xs := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	y := d.Forward(tp, tp.ConstantFloat32(xs, 2, 4))
	kept := 0
	for i, v := range values(t, y) {
		if v != 0 {
			kept++
			assert.Equal(t, 2*xs[i], v)
		}
	}
	assert.Positive(t, kept)
}

// TestDropoutModes: evaluation mode and p = 0 pass x through; SetTraining
// reaches a Dropout inside a Residual inside a Sequential; equal seeds give
// equal masks and the generator moves on from step to step.
func TestDropoutModes(t *testing.T) {
	dev := cpuDev(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	x := tp.ConstantFloat64([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 2, 5)

	zero := must2(nn.NewDropout(0, 1))
	assert.Same(t, x, zero.Forward(tp, x), "p = 0 is the identity")

	inner := must2(nn.NewDropout(0.5, 1))
	model := nn.NewSequential(&nn.Residual{Body: nn.NewSequential(inner)}, nn.ReLU())
	nn.SetTraining(model, false)
	assert.False(t, inner.Training())
	assert.Same(t, x, inner.Forward(tp, x), "evaluation mode is the identity")
	nn.SetTraining(model, true)
	assert.True(t, inner.Training())

	mask := func(d *nn.Dropout) []float64 { return must2(d.Forward(tp, x).Value().Float64s()) }
	a, b := must2(nn.NewDropout(0.5, 0)), must2(nn.NewDropout(0.5, 0))
	first := mask(a)
	assert.Equal(t, first, mask(b), "the same seed, the same mask")
	assert.NotEqual(t, first, mask(a), "the next step draws a new mask")
	assert.NotEqual(t, first, mask(must2(nn.NewDropout(0.5, 43))), "another seed, another mask")
	a.Reseed(0)
	assert.Equal(t, first, mask(a), "Reseed starts the masks over")

	for _, p := range []float64{1.5, -0.1, math.NaN()} {
		_, err := nn.NewDropout(p, 1)
		assert.ErrorContains(t, err, "p must be in [0, 1]", "p = %v", p)
	}
	all := must2(nn.NewDropout(1, 1))
	assert.Equal(t, make([]float64, 10), mask(all), "p = 1 drops everything, as in torch")

	// The zero value with P set, as torch's nn.Dropout(0.5) reads.
	lit := &nn.Dropout{P: 0.5}
	assert.Equal(t, first, mask(lit), "seeded with 0: the same masks as NewDropout(0.5, 0)")
	assert.PanicsWithValue(t, "nn: Dropout: P = -0.5, want it in [0, 1]", func() { (&nn.Dropout{P: -0.5}).Forward(tp, x) })
}

// TestDropoutInSequential: a Dropout takes an index and no parameters, as
// in torch.nn.Sequential, stops the Linear+activation fusion only where
// it stands, and a training step with it allocates nothing once warm.
func TestDropoutInSequential(t *testing.T) {
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(1, 2))
	l1, l2 := must2(nn.NewLinear(dev, 8, 16, rng)), must2(nn.NewLinear(dev, 16, 4, rng))
	model := nn.NewSequential(l1, nn.ReLU(), must2(nn.NewDropout(0.25, 3)), l2)
	var names []string
	for _, p := range nn.NamedParams(model) {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"0.weight", "0.bias", "3.weight", "3.bias"}, names)
	assert.Equal(t, "Sequential(Linear(8, 16), relu, Dropout(p=0.25), Linear(16, 4))", model.String())

	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	xs := make([]float32, 32*8)
	for i := range xs {
		xs[i] = float32(i%7) - 3
	}
	params := model.Params()
	step := func() {
		y := model.Forward(tp, tp.ConstantFloat32(xs, 32, 8))
		if err := tp.Backward(tp.Mean(y)); err != nil {
			panic(err)
		}
		for _, p := range params {
			p.ZeroGrad()
		}
		tp.Reset()
	}
	step()
	assert.Zero(t, testing.AllocsPerRun(20, step))

	// In evaluation mode the model is the same network without the layer.
	nn.SetTraining(model, false)
	plain := nn.NewSequential(l1, nn.ReLU(), l2)
	x := tp.ConstantFloat32(xs, 32, 8)
	assert.Equal(t, values(t, plain.Forward(tp, x)), values(t, model.Forward(tp, x)))
}
