package nn_test

import (
	"math"
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

// TestBatchNormStatistics works one BatchNorm1d through by hand, in
// float64: channel 0 of the batch is 1, 2, 3, 4 (mean 2.5, biased variance
// 1.25, unbiased 5/3) and channel 1 is 0, 0, 0, 4 (mean 1, variance 3 and
// 4).
func TestBatchNormStatistics(t *testing.T) {
	dev := cpuDev(t)
	x := []float64{1, 0, 2, 0, 3, 0, 4, 4} // [4 × 2]
	const eps = 1e-5
	newLayer := func(affine, track bool) *nn.BatchNorm {
		b, err := nn.NewBatchNormDType(dev, device.Float64, 1, 2, affine, track)
		require.NoError(t, err)
		return b
	}
	forward := func(b *nn.BatchNorm, x []float64, shape ...int) []float64 {
		tp := autograd.NewTape(dev, device.Float64)
		defer tp.Release()
		return values64(t, b.Forward(tp, tp.ConstantFloat64(x, shape...)))
	}
	host := func(v *tensor.Tensor) []float64 {
		out, err := v.Float64s()
		require.NoError(t, err)
		return out
	}
	mean, variance, unbiased := []float64{2.5, 1}, []float64{1.25, 3}, []float64{5.0 / 3, 4}

	t.Run("training", func(t *testing.T) {
		b := newLayer(true, true)
		y := forward(b, x, 4, 2)
		for i, v := range x {
			c := i % 2
			assert.InDelta(t, (v-mean[c])/math.Sqrt(variance[c]+eps), y[i], 1e-12, "y[%d]", i)
		}
		assert.InDeltaSlice(t, []float64{0.1 * mean[0], 0.1 * mean[1]}, host(b.RunningMean), 1e-15)
		assert.InDeltaSlice(t, []float64{0.9 + 0.1*unbiased[0], 0.9 + 0.1*unbiased[1]}, host(b.RunningVar), 1e-12,
			"the running variance takes the unbiased batch variance")
		assert.Equal(t, int64(1), b.NumBatchesTracked)

		// Evaluation: the running statistics normalise, and stay.
		rm, rv := host(b.RunningMean), host(b.RunningVar)
		require.NoError(t, dev.Upload64(b.Weight.Value().Buffer(), []float64{2, 3}))
		require.NoError(t, dev.Upload64(b.Bias.Value().Buffer(), []float64{-1, 1}))
		nn.SetTraining(nn.NewSequential(b), false)
		assert.False(t, b.Training())
		y = forward(b, x[:4], 2, 2)
		for i, v := range x[:4] {
			c := i % 2
			gamma, beta := []float64{2, 3}[c], []float64{-1, 1}[c]
			assert.InDelta(t, (v-rm[c])/math.Sqrt(rv[c]+eps)*gamma+beta, y[i], 1e-12, "eval y[%d]", i)
		}
		assert.Equal(t, rm, host(b.RunningMean), "evaluation leaves the statistics alone")
		assert.Equal(t, int64(1), b.NumBatchesTracked)
		// One sample per channel is fine in evaluation.
		assert.Len(t, forward(b, x[:2], 1, 2), 2)
	})
	t.Run("momentum-none", func(t *testing.T) {
		b := newLayer(true, true)
		b.CumulativeAverage = true
		forward(b, x, 4, 2)
		forward(b, []float64{0, 1, 2, 3}, 2, 2) // means 1 and 2, unbiased variances 2 and 2
		assert.InDeltaSlice(t, []float64{(2.5 + 1) / 2, (1 + 2) / 2.0}, host(b.RunningMean), 1e-15, "the average of the batch means")
		assert.InDeltaSlice(t, []float64{(5.0/3 + 2) / 2, (4 + 2) / 2.0}, host(b.RunningVar), 1e-12)
		assert.Equal(t, int64(2), b.NumBatchesTracked)
	})
	t.Run("no-running-stats", func(t *testing.T) {
		b := newLayer(false, false)
		assert.Nil(t, b.Params())
		assert.Empty(t, nn.NamedBuffers(b))
		b.SetTraining(false)
		y := forward(b, x, 4, 2) // batch statistics even in evaluation, as torch
		assert.InDelta(t, (1-2.5)/math.Sqrt(1.25+eps), y[0], 1e-12)
		assert.Equal(t, int64(0), b.NumBatchesTracked)
	})
	t.Run("misuse", func(t *testing.T) {
		b := newLayer(true, true)
		assert.PanicsWithValue(t, "nn: BatchNorm1d: input [2 3] has 3 channels, want 2", func() { forward(b, make([]float64, 6), 2, 3) })
		assert.PanicsWithValue(t, "autograd: BatchNorm: input [1 2]: expected more than 1 value per channel when training",
			func() { forward(b, []float64{1, 2}, 1, 2) })
		b2, err := nn.NewBatchNorm2d(dev, 2)
		require.NoError(t, err)
		assert.PanicsWithValue(t, "nn: BatchNorm2d: expected 4D input, got shape [4 2]", func() {
			tp := autograd.NewTape(dev, device.Float32)
			defer tp.Release()
			b2.Forward(tp, tp.ConstantFloat32(make([]float32, 8), 4, 2))
		})
		_, err = nn.NewBatchNorm1d(dev, 0)
		assert.ErrorContains(t, err, "want c > 0")
	})
	t.Run("String", func(t *testing.T) {
		b2, err := nn.NewBatchNorm2d(dev, 16)
		require.NoError(t, err)
		assert.Equal(t, "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", b2.String())
		b := newLayer(false, false)
		b.CumulativeAverage = true
		assert.Equal(t, "BatchNorm1d(2, eps=1e-05, momentum=None, affine=False, track_running_stats=False)", b.String())
	})
}

// TestBatchNormStateDict: the buffers are stored under torch's names
// (running_mean, running_var, and num_batches_tracked as an I64 scalar),
// come back with Load, and a checkpoint without them is refused.
func TestBatchNormStateDict(t *testing.T) {
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(3, 4))
	build := func() *nn.Sequential {
		return nn.NewSequential(must2(nn.NewLinear(dev, 3, 4, rng)), must2(nn.NewBatchNorm1d(dev, 4)), nn.ReLU())
	}
	model := build()
	defer nn.Release(model)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	x := make([]float32, 5*3)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for range 3 {
		model.Forward(tp, tp.ConstantFloat32(x, 5, 3))
		tp.Reset()
	}
	sd, err := nn.StateDict(model)
	require.NoError(t, err)
	names := make([]string, 0, len(sd))
	for name := range sd {
		names = append(names, name)
	}
	assert.ElementsMatch(t, []string{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"}, names)
	count := sd["1.num_batches_tracked"]
	assert.Equal(t, "I64", count.DType)
	assert.Empty(t, count.Shape, "a scalar, as torch stores it")
	assert.Equal(t, "F32", sd["1.running_var"].DType)
	assert.Len(t, nn.NamedParams(model), 4, "buffers are not parameters: no optimizer sees them")

	path := filepath.Join(t.TempDir(), "bn.safetensors")
	require.NoError(t, nn.Save(path, model, nil))
	fresh := build()
	defer nn.Release(fresh)
	_, err = nn.Load(path, fresh)
	require.NoError(t, err)
	bn, want := fresh.Layers[1].(*nn.BatchNorm), model.Layers[1].(*nn.BatchNorm)
	assert.Equal(t, int64(3), bn.NumBatchesTracked)
	for _, pair := range [][2]*tensor.Tensor{{bn.RunningMean, want.RunningMean}, {bn.RunningVar, want.RunningVar}} {
		got, err := pair[0].Float32s()
		require.NoError(t, err)
		w, err := pair[1].Float32s()
		require.NoError(t, err)
		assert.Equal(t, w, got)
	}

	delete(sd, "1.running_var")
	sd["1.num_batches_tracked"] = safetensors.FromFloat32(nil, []float32{3})
	err = nn.LoadStateDict(sd, fresh)
	require.ErrorIs(t, err, nn.ErrStateDict)
	assert.ErrorContains(t, err, "dtype mismatch for 1.num_batches_tracked: checkpoint has F32, model has I64")
	assert.ErrorContains(t, err, "missing buffer: 1.running_var")
}

// TestBatchNormTorch trains a CNN with BatchNorm2d and BatchNorm1d for a
// few steps, then has PyTorch load its checkpoint with strict
// load_state_dict and compare the evaluation-mode outputs, the
// training-mode outputs and the running statistics that one more training
// pass leaves (scripts/torch/batchnorm_check.py).
func TestBatchNormTorch(t *testing.T) {
	script := torchtest.Script(t, "batchnorm_check.py")
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(8, 9))
	bn1 := must2(nn.NewBatchNorm1d(dev, 8))
	bn1.Momentum = 0.3
	model := nn.NewSequential(
		must2(nn.NewConv2d(dev, 2, 4, [2]int{3, 3}, autograd.ConvOptions{Padding: [2]int{1, 1}}, rng)), must2(nn.NewBatchNorm2d(dev, 4)), nn.ReLU(),
		nn.Flatten{}, must2(nn.NewLinear(dev, 4*5*5, 8, rng)), bn1)
	defer nn.Release(model)
	opt, err := optim.NewSGD(model.Params(), optim.SGDConfig{LR: 0.1, Momentum: 0.9})
	require.NoError(t, err)
	const k = 6
	batch := func() []float32 {
		v := make([]float32, k*2*5*5)
		for i := range v {
			v[i] = float32(rng.NormFloat64()*1.5 + 0.5)
		}
		return v
	}
	target := make([]float32, k*8)
	for i := range target {
		target[i] = float32(rng.NormFloat64())
	}
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	for range 4 {
		y := model.Forward(tp, tp.ConstantFloat32(batch(), k, 2, 5, 5))
		require.NoError(t, tp.Backward(loss.MSE(tp, y, tp.ConstantFloat32(target, k, 8), loss.Mean)))
		require.NoError(t, opt.Step())
		opt.ZeroGrad()
		tp.Reset()
	}
	sd, err := nn.StateDict(model)
	require.NoError(t, err)
	x := batch()
	sd["test/x"] = safetensors.FromFloat32([]int{k, 2, 5, 5}, x)
	nn.SetTraining(model, false)
	sd["test/y_eval"] = safetensors.FromFloat32([]int{k, 8}, values(t, model.Forward(tp, tp.ConstantFloat32(x, k, 2, 5, 5))))
	nn.SetTraining(model, true)
	sd["test/y_train"] = safetensors.FromFloat32([]int{k, 8}, values(t, model.Forward(tp, tp.ConstantFloat32(x, k, 2, 5, 5))))
	after, err := nn.StateDict(model)
	require.NoError(t, err)
	for _, b := range nn.NamedBuffers(model) {
		sd["after/"+b.Name] = after[b.Name]
	}
	path := filepath.Join(t.TempDir(), "bn.safetensors")
	require.NoError(t, safetensors.SaveFile(path, &safetensors.File{Tensors: sd}))
	out, err := exec.Command(torchtest.Python, script, path).CombinedOutput()
	t.Log(strings.TrimSpace(string(out)))
	require.NoError(t, err, "batchnorm_check.py: %s", out)
}

// TestGroupNorm: as many groups as channels is an instance norm (each
// sample's channel has mean 0 and variance 1 over its pixels), the same in
// training and evaluation, and the channel count must split into groups.
func TestGroupNorm(t *testing.T) {
	dev := cpuDev(t)
	_, err := nn.NewGroupNorm(dev, 3, 4)
	assert.ErrorContains(t, err, "want channels a positive multiple of the groups")
	g, err := nn.NewGroupNormDType(dev, device.Float64, 2, 2, false)
	require.NoError(t, err)
	assert.Nil(t, g.Params())
	assert.Equal(t, "GroupNorm(2, 2, eps=1e-05, affine=False)", g.String())
	x := []float64{1, 2, 3, 5, -1, -1, 0, 2, 10, 20, 30, 40, 7, 7, 7, 9} // [2 2 4]
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	y := values64(t, g.Forward(tp, tp.ConstantFloat64(x, 2, 2, 4)))
	for row := range 4 {
		var mean, sq float64
		for _, v := range y[row*4 : row*4+4] {
			mean += v / 4
			sq += v * v / 4
		}
		assert.InDelta(t, 0, mean, 1e-12, "sample %d channel %d", row/2, row%2)
		assert.InDelta(t, 1, sq, 1e-4, "variance (ϵ = 1e-5 keeps it just below 1)")
	}
}

// TestResidualShortcutTorch: torchvision's downsampling basic block as a
// Residual with a Shortcut (a 1×1 strided convolution and a BatchNorm2d),
// trained two steps, loads into the same torch module with
// load_state_dict(strict=True) and agrees in evaluation and in training
// mode (scripts/torch/resnet_check.py).
func TestResidualShortcutTorch(t *testing.T) {
	script := torchtest.Script(t, "resnet_check.py")
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(4, 2))
	conv := func(in, out, k, stride, pad int) *nn.Conv2d {
		c := must2(nn.NewConv2d(dev, in, out, [2]int{k, k}, autograd.ConvOptions{Stride: [2]int{stride, stride}, Padding: [2]int{pad, pad}}, rng))
		c.Bias.Release()
		c.Bias = nil
		return c
	}
	bn := func(c int) *nn.BatchNorm { return must2(nn.NewBatchNorm2d(dev, c)) }
	block := &nn.Residual{
		Body:     nn.NewSequential(conv(2, 4, 3, 2, 1), bn(4), nn.ReLU(), conv(4, 4, 3, 1, 1), bn(4)),
		Shortcut: nn.NewSequential(conv(2, 4, 1, 2, 0), bn(4)),
	}
	model := nn.NewSequential(block, nn.ReLU(), &nn.AdaptiveAvgPool2d{Output: [2]int{1, 1}}, nn.Flatten{}, must2(nn.NewLinear(dev, 4, 3, rng)))
	defer nn.Release(model)
	assert.Contains(t, block.String(), ", shortcut=Sequential(Conv2d(2, 4, kernel_size=(1, 1), stride=(2, 2), bias=False), BatchNorm2d(4")
	assert.Len(t, nn.NamedBuffers(model), 9, "three BatchNorms, three buffers each")
	const k = 6
	xs := make([]float32, k*2*6*6)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	opt, err := optim.NewSGD(model.Params(), optim.SGDConfig{LR: 0.1, Momentum: 0.9})
	require.NoError(t, err)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	labels := tp.ConstantFloat32([]float32{0, 1, 2, 0, 1, 2}, k)
	for range 2 {
		y := model.Forward(tp, tp.ConstantFloat32(xs, k, 2, 6, 6))
		require.NoError(t, tp.Backward(loss.SoftmaxCrossEntropyIndex(tp, y, labels, loss.Mean)))
		require.NoError(t, opt.Step())
		opt.ZeroGrad()
		tp.Reset()
		labels = tp.ConstantFloat32([]float32{0, 1, 2, 0, 1, 2}, k)
	}
	sd, err := nn.StateDict(model)
	require.NoError(t, err)
	assert.Contains(t, sd, "0.shortcut.1.running_var")
	sd["test/x"] = safetensors.FromFloat32([]int{k, 2, 6, 6}, xs)
	nn.SetTraining(model, false)
	sd["test/y_eval"] = safetensors.FromFloat32([]int{k, 3}, values(t, model.Forward(tp, tp.ConstantFloat32(xs, k, 2, 6, 6))))
	nn.SetTraining(model, true)
	sd["test/y_train"] = safetensors.FromFloat32([]int{k, 3}, values(t, model.Forward(tp, tp.ConstantFloat32(xs, k, 2, 6, 6))))
	path := filepath.Join(t.TempDir(), "resnet.safetensors")
	require.NoError(t, safetensors.SaveFile(path, &safetensors.File{Tensors: sd}))
	out, err := exec.Command(torchtest.Python, script, path).CombinedOutput()
	t.Log(strings.TrimSpace(string(out)))
	require.NoError(t, err, "resnet_check.py: %s", out)
}

// TestNormalizationStepAllocs: once the tape is warm, a training step
// through ConvTranspose2d, GroupNorm, BatchNorm2d (with its running
// update), a bilinear Upsample and AdaptiveAvgPool2d over uneven and equal
// windows allocates nothing on the host (the resampling matrices are the
// tape's, built once), in training and in evaluation mode.
func TestNormalizationStepAllocs(t *testing.T) {
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(3, 3))
	model := nn.NewSequential(
		must2(nn.NewConvTranspose2d(dev, 2, 4, [2]int{4, 4}, autograd.ConvTransposeOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}, rng)),
		must2(nn.NewGroupNorm(dev, 2, 4)), nn.SiLU(), must2(nn.NewBatchNorm2d(dev, 4)),
		&nn.Upsample{Size: [2]int{11, 9}, Mode: autograd.Bilinear}, &nn.AdaptiveAvgPool2d{Output: [2]int{3, 2}},
		&nn.AdaptiveAvgPool2d{Output: [2]int{1, 1}}, nn.Flatten{})
	defer nn.Release(model)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	xs := make([]float32, 3*2*4*4)
	for i := range xs {
		xs[i] = float32(i%5) - 2
	}
	params := model.Params()
	step := func() {
		y := model.Forward(tp, tp.ConstantFloat32(xs, 3, 2, 4, 4))
		if err := tp.Backward(tp.Mean(tp.Mul(y, y))); err != nil {
			panic(err)
		}
		for _, p := range params {
			p.ZeroGrad()
		}
		tp.Reset()
	}
	for _, training := range []bool{true, false} {
		nn.SetTraining(model, training)
		step()
		assert.Zero(t, testing.AllocsPerRun(20, step), "training %v", training)
	}
}
