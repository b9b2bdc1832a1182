package loss_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/autograd/gradcheck"
	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/tensor"
)

// newCPU returns a CPU device whose buffers start as NaN (cpu.WithPoison),
// so that a test fails where code reads a buffer before writing it.
func newCPU(t testing.TB) *cpu.CPU {
	dev, err := cpu.New(cpu.WithPoison())
	require.NoError(t, err)
	return dev
}

func constant(tp *autograd.Tape, v []float64, shape ...int) *autograd.Var {
	t, err := tensor.FromFloat64(tp.Device(), v, shape...)
	if err != nil {
		panic(err)
	}
	return tp.Constant(t)
}

type lossFn func(tp *autograd.Tape, pred, target *autograd.Var, r loss.Reduction) *autograd.Var

// TestAdjointIdentity runs every loss and reduction through the same
// adjoint check as the ops: ⟨Jv, u⟩ by differences, by tangents, by Backward.
func TestAdjointIdentity(t *testing.T) {
	const K, N = 4, 3
	dense := []float64{0.3, -1.2, 0.8, 2.0, 0.1, -0.4, 1.5, -2.2, 0.05, 0.9, -0.7, 0.2}
	probs := []float64{0.2, 0.5, 0.3, 0, 1, 0, 0.6, 0.4, 0, 0.1, 0.1, 0.8}
	classes := []float64{2, 0, 1, 2}
	huber := func(d float64) lossFn {
		return func(tp *autograd.Tape, p, t *autograd.Var, r loss.Reduction) *autograd.Var {
			return loss.Huber(tp, p, t, d, r)
		}
	}
	cases := []struct {
		name   string
		fn     lossFn
		target []float64
		shape  []int
		input  func(float64) float64
	}{
		{"mse", loss.MSE, dense, []int{K, N}, nil},
		{"mae", loss.MAE, dense, []int{K, N}, nil},
		{"huber/1", huber(1), dense, []int{K, N}, nil},
		{"huber/0.3", huber(0.3), dense, []int{K, N}, nil},
		{"cross-entropy", loss.CrossEntropy, probs, []int{K, N}, func(x float64) float64 { return 0.1 + math.Abs(x) }},
		{"softmax-cross-entropy", loss.SoftmaxCrossEntropy, probs, []int{K, N}, nil},
		{"softmax-cross-entropy-index", loss.SoftmaxCrossEntropyIndex, classes, []int{K}, nil},
		{"bce-with-logits", loss.BCEWithLogits, probs, []int{K, N}, nil},
	}
	dev := newCPU(t)
	for _, c := range cases {
		for _, r := range []loss.Reduction{loss.Mean, loss.SampleMean, loss.Sum} {
			t.Run(c.name+"/"+r.String(), func(t *testing.T) {
				gc := gradcheck.Case{
					Name: c.name, Shapes: [][]int{{K, N}}, Input: c.input,
					Build: func(tp *autograd.Tape, in []*autograd.Var) *autograd.Var {
						return c.fn(tp, in[0], constant(tp, c.target, c.shape...), r)
					},
				}
				for seed := uint64(1); seed <= 3; seed++ {
					res, err := gradcheck.Check(dev, gc, seed)
					require.NoError(t, err)
					require.InDelta(t, res.Central, res.Reverse, 1e-6*res.Scale, "differences vs Backward")
					require.InDelta(t, res.Forward, res.Reverse, 1e-9*res.Scale, "tangent vs Backward")
				}
			})
		}
	}
}

// TestAgainstPyTorch compares values with numbers printed by PyTorch 2.x
// for the same inputs (the commands are in the comments).
func TestAgainstPyTorch(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	pred := []float64{1, 2, 3, 0.5, -1, 2}
	target := []float64{1.5, 2, 1, 0, 0, 0}
	cases := []struct {
		name string
		got  func() *autograd.Var
		want float64
	}{
		// F.mse_loss(p, t) = mean of (0.25, 0, 4, 0.25, 1, 4) = 9.5/6
		{"mse mean", func() *autograd.Var {
			return loss.MSE(tp, constant(tp, pred, 2, 3), constant(tp, target, 2, 3), loss.Mean)
		}, 9.5 / 6},
		// lecture: (1/K) Σ_k ‖x_k − f_k‖² = 9.5/2
		{"mse sample-mean", func() *autograd.Var {
			return loss.MSE(tp, constant(tp, pred, 2, 3), constant(tp, target, 2, 3), loss.SampleMean)
		}, 9.5 / 2},
		// F.l1_loss(p, t) = (0.5 + 0 + 2 + 0.5 + 1 + 2)/6
		{"mae mean", func() *autograd.Var {
			return loss.MAE(tp, constant(tp, pred, 2, 3), constant(tp, target, 2, 3), loss.Mean)
		}, 1},
		// F.huber_loss(p, t, delta=1): (0.125 + 0 + 1.5 + 0.125 + 0.5 + 1.5)/6
		{"huber mean", func() *autograd.Var {
			return loss.Huber(tp, constant(tp, pred, 2, 3), constant(tp, target, 2, 3), 1, loss.Mean)
		}, 3.75 / 6},
		// F.cross_entropy(tensor([[1.,2,3]]), tensor([2])) = 0.40760596444
		{"cross-entropy index", func() *autograd.Var {
			return loss.SoftmaxCrossEntropyIndex(tp, constant(tp, []float64{1, 2, 3}, 1, 3), constant(tp, []float64{2}, 1), loss.Mean)
		}, 0.40760596444437},
		// F.cross_entropy(tensor([[1.,2,3]]), tensor([[0.,0,1]])): the same
		{"cross-entropy probabilities", func() *autograd.Var {
			return loss.SoftmaxCrossEntropy(tp, constant(tp, []float64{1, 2, 3}, 1, 3), constant(tp, []float64{0, 0, 1}, 1, 3), loss.Mean)
		}, 0.40760596444437},
		// F.binary_cross_entropy_with_logits(p, tensor([[1.,0,1],[0,0.25,1]]))
		// in float64 (torch 1.13) = 0.6921739554793733
		{"bce with logits mean", func() *autograd.Var {
			return loss.BCEWithLogits(tp, constant(tp, pred, 2, 3), constant(tp, []float64{1, 0, 1, 0, 0.25, 1}, 2, 3), loss.Mean)
		}, 0.6921739554793733},
		// Logits of ±100 against the wrong label: 100 each, no overflow.
		{"bce with logits saturated", func() *autograd.Var {
			return loss.BCEWithLogits(tp, constant(tp, []float64{100, -100}, 1, 2), constant(tp, []float64{0, 1}, 1, 2), loss.Mean)
		}, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer tp.Reset()
			v, err := c.got().Value().Item()
			require.NoError(t, err)
			require.InDelta(t, c.want, v, 1e-10)
		})
	}
}

// TestCrossEntropyParadox reproduces the lecture's paradox. For f_θ(y) = θ on
// the simplex and targets xᵢ = a, the probability-space gradient −x/θ at the
// optimum θ̂ = x/Σx = (1/3, 1/3, 1/3) is −3a·1: not zero, but perpendicular
// to the constraint plane Σθᵢ = 1 (parallel to its normal 1). Through softmax
// logits, whose image is the simplex, the gradient is exactly zero there.
func TestCrossEntropyParadox(t *testing.T) {
	const a = 0.7
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	x := []float64{a, a, a}

	theta := tp.Input(must(tensor.FromFloat64(dev, []float64{1. / 3, 1. / 3, 1. / 3}, 1, 3)), true)
	require.NoError(t, tp.Backward(loss.CrossEntropy(tp, theta, constant(tp, x, 1, 3), loss.Sum)))
	g, err := theta.Grad().Float64s()
	require.NoError(t, err)
	require.InDeltaSlice(t, []float64{-3 * a, -3 * a, -3 * a}, g, 1e-12, "gradient −x/θ̂ is not zero")
	// Its projection on the plane's tangent directions (1,−1,0), (0,1,−1) is zero.
	require.InDelta(t, 0, g[0]-g[1], 1e-12)
	require.InDelta(t, 0, g[1]-g[2], 1e-12)
	tp.Reset()

	logits := tp.Input(must(tensor.FromFloat64(dev, []float64{0.4, 0.4, 0.4}, 1, 3)), true) // softmax = θ̂
	require.NoError(t, tp.Backward(loss.SoftmaxCrossEntropy(tp, logits, constant(tp, x, 1, 3), loss.Sum)))
	g, err = logits.Grad().Float64s()
	require.NoError(t, err)
	require.InDeltaSlice(t, []float64{0, 0, 0}, g, 1e-12, "softmax(b)Σa − a = 0 at the optimum")
}

func TestErrorVectors(t *testing.T) {
	dev := newCPU(t)
	pred := must(tensor.FromFloat32(dev, []float32{1, 2, 3, 4}, 2, 2))
	target := must(tensor.FromFloat32(dev, []float32{0, 2, 5, 4}, 2, 2))
	rho, eps, err := loss.ErrorVectors(device.MSE, 0, pred, target)
	require.NoError(t, err)
	r, _ := rho.Float32s()
	e, _ := eps.Float32s()
	require.Equal(t, []float32{1, 4}, r)
	require.Equal(t, []float32{2, 0, -4, 0}, e, "ε = −2(x − f)")

	bad := must(tensor.FromFloat32(dev, []float32{0, 7}, 2))
	_, _, err = loss.ErrorVectors(device.SoftmaxCrossEntropyIndex, 0, pred, bad)
	require.ErrorContains(t, err, "class index 7 is not an integer in [0, 2)")
}

func TestShapeMisuse(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float32)
	p := tp.Constant(must(tensor.New(dev, device.Float32, 4, 3)))
	q := tp.Constant(must(tensor.New(dev, device.Float32, 4, 2)))
	require.PanicsWithValue(t, "loss: mse: prediction [4 3] and target [4 2]: want target of the prediction's shape",
		func() { loss.MSE(tp, p, q, loss.Mean) })
	require.PanicsWithValue(t, "loss: softmax-cross-entropy-index: prediction [4 3] and target [4 2]: want target of [4] class indices",
		func() { loss.SoftmaxCrossEntropyIndex(tp, p, q, loss.Mean) })
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// launchCounter counts the device calls a loss's backward pass could make
// besides the products: filling the seed, scaling ε, copying it.
type launchCounter struct {
	device.Device
	fills, scales, axpys int
}

func (c *launchCounter) Fill(b device.Buffer, v float64) { c.fills++; c.Device.Fill(b, v) }
func (c *launchCounter) Scale(a float64, x, y device.Buffer) {
	c.scales++
	c.Device.Scale(a, x, y)
}
func (c *launchCounter) Axpy(a float64, x, y device.Buffer) {
	c.axpys++
	c.Device.Axpy(a, x, y)
}

// TestBackwardFromLossLaunchesNothing checks what the loss node costs
// besides its loss kernel and the reduction to the loss value: the kernel
// folds the mean's 1/K into ε and the reduction into the value, so nothing
// is scaled afterwards; in Backward from the default seed the prediction
// adopts the saved ε as its gradient, and the seed ε = 1 is never written
// on the device, until someone asks for the loss's own gradient. On a GPU
// each of these was one kernel launch per step.
func TestBackwardFromLossLaunchesNothing(t *testing.T) {
	dev := &launchCounter{Device: newCPU(t)}
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	pred := []float64{0.5, -1, 2, 0.25, 1, 3}
	target := []float64{1, 0, 2, -1, 0.5, 2}
	x := tp.Input(must(tensor.FromFloat64(dev, pred, 2, 3)), true)
	y := constant(tp, target, 2, 3)
	fills, scales, axpys := dev.fills, dev.scales, dev.axpys
	l := loss.MSE(tp, x, y, loss.Mean)
	require.NoError(t, tp.Backward(l))
	assert.Equal(t, fills, dev.fills, "Backward filled a seed no op reads")
	assert.Equal(t, scales, dev.scales, "the loss or its ε was scaled after its kernel")
	assert.Equal(t, axpys, dev.axpys, "Backward added ε into a fresh gradient")
	g, err := x.Grad().Float64s()
	require.NoError(t, err)
	for i := range pred {
		assert.InDelta(t, -2*(target[i]-pred[i])/6, g[i], 1e-15, "∂L/∂pred[%d] of MSE mean", i)
	}
	value, err := l.Value().Item()
	require.NoError(t, err)
	var want float64
	for i := range pred {
		want += (target[i] - pred[i]) * (target[i] - pred[i]) / 6
	}
	assert.InDelta(t, want, value, 1e-15, "MSE mean")
	seed, err := l.Grad().Item()
	require.NoError(t, err)
	assert.Equal(t, 1.0, seed, "the loss's own gradient is the seed 1")
	assert.Equal(t, fills+1, dev.fills, "Grad writes the seed when asked")

	// The same with a second gradient flowing into pred, and into the
	// target too (MSE is symmetric): adopting ε must not let one of them
	// change the other.
	tp.Reset()
	x = tp.Input(must(tensor.FromFloat64(dev, pred, 2, 3)), true)
	y = tp.Input(must(tensor.FromFloat64(dev, target, 2, 3)), true)
	l = tp.Add(loss.MSE(tp, x, y, loss.Sum), loss.MSE(tp, x, x, loss.Sum))
	require.NoError(t, tp.Backward(l))
	gx, err := x.Grad().Float64s()
	require.NoError(t, err)
	gy, err := y.Grad().Float64s()
	require.NoError(t, err)
	for i := range pred {
		assert.InDelta(t, -2*(target[i]-pred[i]), gx[i], 1e-15, "∂L/∂x[%d]: ρ(x, x) adds nothing", i)
		assert.InDelta(t, 2*(target[i]-pred[i]), gy[i], 1e-15, "∂L/∂y[%d]", i)
	}
}

// TestVectorPrediction: a vector prediction [K] is K samples of one value
// for the elementwise losses, exactly as [K × 1], so that SampleMean is the
// lecture's 1/K (= Mean); for the cross-entropies over classes it is one
// sample of K classes, exactly as [1 × K] (PyTorch's unbatched input), so
// that Mean and SampleMean are the sample's ρ. Values, gradients and
// ErrorVectors' ρ_k agree with the matrix shape, for every loss.
func TestVectorPrediction(t *testing.T) {
	const K = 4
	pred := []float64{0.3, -1.2, 0.8, 2.0}
	dense := []float64{0.5, -1, 2, 0.25}
	probs := []float64{0.1, 0.2, 0.3, 0.4}
	tests := []struct {
		name        string
		kind        device.LossKind
		fn          lossFn
		target      []float64
		targetShape []int // of the vector case; nil: the prediction's
		elementwise bool
	}{
		{"mse", device.MSE, loss.MSE, dense, nil, true},
		{"mae", device.MAE, loss.MAE, dense, nil, true},
		{"huber", device.Huber, func(tp *autograd.Tape, p, t *autograd.Var, r loss.Reduction) *autograd.Var {
			return loss.Huber(tp, p, t, 1, r)
		}, dense, nil, true},
		{"bce-with-logits", device.BinaryCrossEntropyLogits, loss.BCEWithLogits, []float64{0, 1, 1, 0}, nil, true},
		{"cross-entropy", device.CrossEntropy, loss.CrossEntropy, probs, nil, false},
		{"softmax-cross-entropy", device.SoftmaxCrossEntropy, loss.SoftmaxCrossEntropy, probs, nil, false},
		{"softmax-cross-entropy-index", device.SoftmaxCrossEntropyIndex, loss.SoftmaxCrossEntropyIndex, []float64{2}, []int{1}, false},
	}
	dev := newCPU(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pred
			if tc.kind == device.CrossEntropy {
				p = []float64{0.25, 0.25, 0.4, 0.1} // on the simplex
			}
			matrix := []int{K, 1}
			if !tc.elementwise {
				matrix = []int{1, K}
			}
			run := func(shape []int, r loss.Reduction) (float64, []float64) {
				tp := autograd.NewTape(dev, device.Float64)
				defer tp.Release()
				x := tp.Input(must(tensor.FromFloat64(dev, p, shape...)), true)
				ts := tc.targetShape
				if ts == nil {
					ts = shape
				}
				l := tc.fn(tp, x, constant(tp, tc.target, ts...), r)
				require.NoError(t, tp.Backward(l))
				return must(l.Value().Item()), must(x.Grad().Float64s())
			}
			sum, _ := run([]int{K}, loss.Sum)
			for _, r := range []loss.Reduction{loss.Mean, loss.SampleMean, loss.Sum} {
				v, g := run([]int{K}, r)
				vm, gm := run(matrix, r)
				assert.InDelta(t, vm, v, 1e-12, "%v: [K] and %v differ", r, matrix)
				assert.InDeltaSlice(t, gm, g, 1e-12, "%v: gradients", r)
			}
			samples := 1.0
			if tc.elementwise {
				samples = K
			}
			v, _ := run([]int{K}, loss.SampleMean)
			assert.InDelta(t, sum/samples, v, 1e-12, "sample-mean divides by the number of samples")
			v, _ = run([]int{K}, loss.Mean)
			assert.InDelta(t, sum/samples, v, 1e-12, "mean")

			pt := must(tensor.FromFloat64(dev, p, K))
			ts := tc.targetShape
			if ts == nil {
				ts = []int{K}
			}
			tt := must(tensor.FromFloat64(dev, tc.target, ts...))
			rho, eps, err := loss.ErrorVectors(tc.kind, 1, pt, tt)
			require.NoError(t, err)
			assert.Equal(t, []int{int(samples)}, rho.Shape(), "one ρ_k per sample")
			assert.Equal(t, []int{K}, eps.Shape())
			assert.InDelta(t, sum, floatSum(must(rho.Float64s())), 1e-12)
		})
	}
}

func floatSum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}
