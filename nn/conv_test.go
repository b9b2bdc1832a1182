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
	"github.com/adjoint-go/adjoint/data"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/internal/torchtest"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
	"github.com/adjoint-go/adjoint/safetensors"
	"github.com/adjoint-go/adjoint/tensor"
)

// TestConv2dLayer: torch's shapes, names, printing and initialisation
// bounds, and errors for sizes that are no convolution.
func TestConv2dLayer(t *testing.T) {
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(1, 2))
	c1 := must2(nn.NewConv2d(dev, 3, 8, [2]int{3, 5}, autograd.ConvOptions{Padding: [2]int{1, 2}}, rng))
	c2 := must2(nn.NewConv2d(dev, 8, 4, [2]int{3, 3}, autograd.ConvOptions{Stride: [2]int{2, 2}, Dilation: [2]int{1, 2}}, rng))
	model := nn.NewSequential(c1, nn.ReLU(), c2, nn.Flatten{}, must2(nn.NewLinear(dev, 4*4*3, 10, rng)))
	assert.Equal(t, []int{8, 3, 3, 5}, c1.Weight.Shape(), "weight [out, in, KH, KW]")
	assert.Equal(t, []int{8}, c1.Bias.Shape())
	var names []string
	for _, p := range nn.NamedParams(model) {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}, names)
	assert.Equal(t, "Sequential(Conv2d(3, 8, kernel_size=(3, 5), stride=(1, 1), padding=(1, 2)), relu, "+
		"Conv2d(8, 4, kernel_size=(3, 3), stride=(2, 2), dilation=(1, 2)), Flatten(start_dim=1, end_dim=-1), Linear(48, 10))", model.String())
	assert.Equal(t, "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1))", (&nn.MaxPool2d{Kernel: [2]int{2, 2}}).String())
	assert.Empty(t, (&nn.MaxPool2d{}).Params())
	assert.Equal(t, "AvgPool2d(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
		(&nn.AvgPool2d{Kernel: [2]int{3, 3}, Options: autograd.PoolOptions{Stride: [2]int{1, 1}, Padding: [2]int{1, 1}}}).String())
	bound := 1 / math.Sqrt(3*3*5)
	for _, v := range append(values(t, c1.Weight), values(t, c1.Bias)...) {
		require.LessOrEqual(t, math.Abs(float64(v)), bound, "U(−1/√fan_in, 1/√fan_in), fan_in = in·KH·KW")
	}

	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	x := tp.ConstantFloat32(make([]float32, 2*3*10*9), 2, 3, 10, 9)
	h := c1.Forward(tp, x) // [2 8 10 9]: padding keeps the size
	assert.Equal(t, []int{2, 8, 10, 9}, h.Shape())
	// c2: ⌊(10 − 3)/2⌋ + 1 = 4 rows; dilation 2 spans 5 columns, ⌊(9 − 5)/2⌋ + 1 = 3.
	assert.Equal(t, []int{2, 4, 4, 3}, c2.Forward(tp, h).Shape())
	assert.Equal(t, []int{2, 10}, model.Forward(tp, x).Shape(), "Flatten gives the Linear layer 4·4·3 = 48 features")

	for _, bad := range []struct {
		in, out int
		kernel  [2]int
		opt     autograd.ConvOptions
	}{
		{0, 1, [2]int{3, 3}, autograd.ConvOptions{}},
		{1, 1, [2]int{0, 3}, autograd.ConvOptions{}},
		{1, 1, [2]int{3, 3}, autograd.ConvOptions{Stride: [2]int{-1, 1}}},
	} {
		_, err := nn.NewConv2d(dev, bad.in, bad.out, bad.kernel, bad.opt, rng)
		assert.Error(t, err, "%+v", bad)
	}

	// Groups: torch's weight [out, in/groups, KH, KW], fan_in and repr.
	dw := must2(nn.NewConv2d(dev, 6, 12, [2]int{3, 3}, autograd.ConvOptions{Padding: [2]int{1, 1}, Groups: 3}, rng))
	assert.Equal(t, []int{12, 2, 3, 3}, dw.Weight.Shape())
	assert.Equal(t, "Conv2d(6, 12, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=3)", dw.String())
	for _, v := range values(t, dw.Weight) {
		require.LessOrEqual(t, math.Abs(float64(v)), 1/math.Sqrt(2*3*3), "fan_in = (in/groups)·KH·KW")
	}
	assert.Equal(t, []int{2, 12, 4, 5}, dw.Forward(tp, tp.ConstantFloat32(make([]float32, 2*6*4*5), 2, 6, 4, 5)).Shape())
	_, err := nn.NewConv2d(dev, 6, 8, [2]int{3, 3}, autograd.ConvOptions{Groups: 4}, rng)
	assert.ErrorContains(t, err, "4 groups do not divide 6 input and 8 output channels")
}

// TestCNNLearnsDigits trains a small convolutional network on the
// embedded 8×8 digits (two convolutions, the second strided, then a
// Linear layer: the images' neighbourhoods are the inputs), checks that
// it generalises, and that its checkpoint, 4-D weights included, loads
// back into a fresh model with the same predictions.
func TestCNNLearnsDigits(t *testing.T) {
	dev := cpuDev(t)
	digits := must2(data.Digits())
	train, test := must3(data.Split(digits, 0.2, 42))
	std := data.FitStandardizer(train.X, train.Features)
	std.Apply(train.X)
	std.Apply(test.X)

	build := func(seed uint64) *nn.Sequential {
		rng := rand.New(rand.NewPCG(seed, 0))
		return nn.NewSequential(
			must2(nn.NewConv2d(dev, 1, 8, [2]int{3, 3}, autograd.ConvOptions{Padding: [2]int{1, 1}}, rng)), nn.ReLU(),
			must2(nn.NewConv2d(dev, 8, 16, [2]int{3, 3}, autograd.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}, rng)), nn.ReLU(),
			nn.Flatten{}, must2(nn.NewLinear(dev, 16*4*4, 10, rng)))
	}
	model := build(1)
	opt := must2(optim.NewAdam(model.Params(), optim.DefaultAdam()))
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	batches := data.NewBatcher(train, 64, true, 1)
	for range 15 {
		for x, y, k, ok := batches.Next(); ok; x, y, k, ok = batches.Next() {
			logits := model.Forward(tp, tp.ConstantFloat32(x, k, 1, 8, 8))
			require.NoError(t, tp.Backward(loss.SoftmaxCrossEntropyIndex(tp, logits, tp.ConstantFloat32(y, k), loss.Mean)))
			require.NoError(t, opt.Step())
			opt.ZeroGrad()
			tp.Reset()
		}
		batches.Reset()
	}
	predict := func(m *nn.Sequential) []float32 {
		defer tp.Reset()
		var out []float32
		tp.NoGrad(func() { out = values(t, m.Forward(tp, tp.ConstantFloat32(test.X, test.Len(), 1, 8, 8))) })
		return out
	}
	logits := predict(model)
	correct := 0
	for i := range test.Len() {
		row, best := logits[i*10:(i+1)*10], 0
		for c := range row {
			if row[c] > row[best] {
				best = c
			}
		}
		if best == int(test.Y[i]) {
			correct++
		}
	}
	acc := float64(correct) / float64(test.Len())
	t.Logf("CNN test accuracy after 15 epochs: %.4f", acc)
	assert.Greater(t, acc, 0.94, "chance is 0.1; 15 epochs reach 0.958 on amd64")

	path := filepath.Join(t.TempDir(), "cnn.safetensors")
	require.NoError(t, nn.Save(path, model, nil))
	fresh := build(2)
	_, err := nn.Load(path, fresh)
	require.NoError(t, err)
	assert.Equal(t, logits, predict(fresh), "the loaded model predicts as the trained one")
}

func must3[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// TestCNNCheckpointTorch: a checkpoint of a convolutional network (padding,
// stride, dilation, a depthwise convolution, max and average pooling,
// Flatten into a Linear layer) loads into the same torch
// model with load_state_dict(strict=True), which predicts what adjoint
// predicts on the checkpoint's test images (scripts/torch/cnn_checkpoint.py).
func TestCNNCheckpointTorch(t *testing.T) {
	script := torchtest.Script(t, "cnn_checkpoint.py")
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(5, 6))
	model := nn.NewSequential(
		must2(nn.NewConv2d(dev, 1, 8, [2]int{3, 3}, autograd.ConvOptions{Padding: [2]int{1, 1}}, rng)), nn.ReLU(),
		&nn.MaxPool2d{Kernel: [2]int{2, 2}}, // [5 8 4 4]
		must2(nn.NewConv2d(dev, 8, 8, [2]int{3, 3}, autograd.ConvOptions{Padding: [2]int{1, 1}, Groups: 8}, rng)), nn.ReLU(),
		reflected(must2(nn.NewConv2d(dev, 8, 16, [2]int{3, 3}, autograd.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 2}, Dilation: [2]int{1, 2}}, rng))), nn.ReLU(),
		&nn.AvgPool2d{Kernel: [2]int{3, 3}, Options: autograd.PoolOptions{Stride: [2]int{1, 1}, Padding: [2]int{1, 1}}}, // overlapping, padding counted: [5 16 2 2]
		nn.Flatten{}, must2(nn.NewLinear(dev, 16*2*2, 10, rng)))
	xs := make([]float32, 5*64)
	for i := range xs {
		xs[i] = float32(2*rng.Float64() - 1)
	}
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	ys := values(t, model.Forward(tp, tp.ConstantFloat32(xs, 5, 1, 8, 8)))
	path := filepath.Join(t.TempDir(), "cnn.safetensors")
	require.NoError(t, nn.SaveWith(path, model, nil, map[string]safetensors.Tensor{
		"test/x": safetensors.FromFloat32([]int{5, 1, 8, 8}, xs),
		"test/y": safetensors.FromFloat32([]int{5, 10}, ys),
	}))
	out, err := exec.Command(torchtest.Python, script, path).CombinedOutput()
	t.Log(strings.TrimSpace(string(out)))
	require.NoError(t, err, "cnn_checkpoint.py: %s", out)
}

// TestConvTranspose2dLayer: torch's repr, the upsampling sizes, and
// torch's parameter shapes and initial bound.
func TestConvTranspose2dLayer(t *testing.T) {
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(1, 2))
	up := must2(nn.NewConvTranspose2d(dev, 8, 4, [2]int{4, 4}, autograd.ConvTransposeOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}, rng))
	assert.Equal(t, "ConvTranspose2d(8, 4, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))", up.String())
	assert.Equal(t, []int{8, 4, 4, 4}, up.Weight.Shape(), "torch's layout: [in, out, KH, KW]")
	w, err := up.Weight.Value().Float32s()
	require.NoError(t, err)
	for _, v := range w {
		require.LessOrEqual(t, math.Abs(float64(v)), 1/math.Sqrt(4*4*4), "U(±1/√(out·KH·KW))")
	}
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	y := up.Forward(tp, tp.ConstantFloat32(make([]float32, 2*8*5*7), 2, 8, 5, 7))
	assert.Equal(t, []int{2, 4, 10, 14}, y.Shape(), "kernel 4, stride 2, padding 1 doubles H and W")

	odd := must2(nn.NewConvTranspose2d(dev, 2, 3, [2]int{3, 2}, autograd.ConvTransposeOptions{Stride: [2]int{3, 2}, OutputPadding: [2]int{2, 1}, Dilation: [2]int{2, 1}}, rng))
	assert.Equal(t, "ConvTranspose2d(2, 3, kernel_size=(3, 2), stride=(3, 2), dilation=(2, 1), output_padding=(2, 1))", odd.String())
	y = odd.Forward(tp, tp.ConstantFloat32(make([]float32, 2*4*4), 1, 2, 4, 4))
	assert.Equal(t, []int{1, 3, (4-1)*3 + 2*2 + 2 + 1, (4-1)*2 + 1 + 1 + 1}, y.Shape())

	_, err = nn.NewConvTranspose2d(dev, 2, 3, [2]int{3, 3}, autograd.ConvTransposeOptions{Stride: [2]int{2, 2}, OutputPadding: [2]int{2, 0}}, rng)
	assert.ErrorContains(t, err, "output padding not below the stride")

	// Groups: torch's weight [in, out/groups, KH, KW], fan_in and repr.
	grouped := must2(nn.NewConvTranspose2d(dev, 6, 4, [2]int{2, 2}, autograd.ConvTransposeOptions{Stride: [2]int{2, 2}, Groups: 2}, rng))
	assert.Equal(t, []int{6, 2, 2, 2}, grouped.Weight.Shape())
	assert.Equal(t, []int{4}, grouped.Bias.Shape())
	assert.Equal(t, "ConvTranspose2d(6, 4, kernel_size=(2, 2), stride=(2, 2), groups=2)", grouped.String())
	for _, v := range values(t, grouped.Weight) {
		require.LessOrEqual(t, math.Abs(float64(v)), 1/math.Sqrt(2*2*2), "fan_in = (out/groups)·KH·KW")
	}
	y = grouped.Forward(tp, tp.ConstantFloat32(make([]float32, 6*3*3), 1, 6, 3, 3))
	assert.Equal(t, []int{1, 4, 6, 6}, y.Shape())
	_, err = nn.NewConvTranspose2d(dev, 6, 4, [2]int{2, 2}, autograd.ConvTransposeOptions{Groups: 3}, rng)
	assert.ErrorContains(t, err, "3 groups do not divide 6 input and 4 output channels")
}

// TestDecoderTorch: a decoder of transposed convolutions (with output
// padding, no bias in the last), a GroupNorm and a BatchNorm2d, trained
// two steps,
// loads into the same torch model with load_state_dict(strict=True), which
// predicts in evaluation mode what adjoint predicts
// (scripts/torch/decoder_check.py).
func TestDecoderTorch(t *testing.T) {
	script := torchtest.Script(t, "decoder_check.py")
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(7, 8))
	last := must2(nn.NewConvTranspose2d(dev, 3, 2, [2]int{3, 3}, autograd.ConvTransposeOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, OutputPadding: [2]int{1, 1}}, rng))
	last.Bias.Release()
	last.Bias = nil
	gn := must2(nn.NewGroupNorm(dev, 2, 4))
	assert.Equal(t, "GroupNorm(2, 4, eps=1e-05, affine=True)", gn.String())
	model := nn.NewSequential(
		must2(nn.NewConvTranspose2d(dev, 4, 4, [2]int{4, 4}, autograd.ConvTransposeOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}, rng)),
		gn, nn.ReLU(),
		must2(nn.NewConvTranspose2d(dev, 4, 3, [2]int{3, 3}, autograd.ConvTransposeOptions{Padding: [2]int{1, 1}}, rng)),
		must2(nn.NewBatchNorm2d(dev, 3)), nn.ReLU(), last)
	defer nn.Release(model)
	assert.Equal(t, "ConvTranspose2d(3, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1), bias=False)", last.String())
	const k = 5
	xs := make([]float32, k*4*3*3)
	for i := range xs {
		xs[i] = float32(2*rng.Float64() - 1)
	}
	opt, err := optim.NewSGD(model.Params(), optim.SGDConfig{LR: 0.05})
	require.NoError(t, err)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	for range 2 {
		y := model.Forward(tp, tp.ConstantFloat32(xs, k, 4, 3, 3))
		require.Equal(t, []int{k, 2, 12, 12}, y.Shape())
		require.NoError(t, tp.Backward(tp.Mean(tp.Mul(y, y))))
		require.NoError(t, opt.Step())
		opt.ZeroGrad()
		tp.Reset()
	}
	nn.SetTraining(model, false)
	ys := values(t, model.Forward(tp, tp.ConstantFloat32(xs, k, 4, 3, 3)))
	path := filepath.Join(t.TempDir(), "decoder.safetensors")
	require.NoError(t, nn.SaveWith(path, model, nil, map[string]safetensors.Tensor{
		"test/x": safetensors.FromFloat32([]int{k, 4, 3, 3}, xs),
		"test/y": safetensors.FromFloat32([]int{k, 2, 12, 12}, ys),
	}))
	out, err := exec.Command(torchtest.Python, script, path).CombinedOutput()
	t.Log(strings.TrimSpace(string(out)))
	require.NoError(t, err, "decoder_check.py: %s", out)
}

// TestAdaptiveAvgPool2d: each output pixel is the mean of its window,
// equal windows and global pooling, and torch's uneven overlapping ones
// (4 rows to 3: rows 0–1, 1–2, 2–3; 6 columns to 4: 0–1, 1–2, 3–4, 4–5).
func TestAdaptiveAvgPool2d(t *testing.T) {
	dev := cpuDev(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	x := make([]float64, 2*4*6) // one image, two channels of 4×6
	for i := range x {
		x[i] = float64(i * i % 7)
	}
	in := tp.ConstantFloat64(x, 1, 2, 4, 6)
	pool := &nn.AdaptiveAvgPool2d{Output: [2]int{2, 3}}
	assert.Equal(t, "AdaptiveAvgPool2d(output_size=(2, 3))", pool.String())
	y := values64(t, pool.Forward(tp, in))
	require.Len(t, y, 2*2*3)
	for c := range 2 {
		for i := range 2 {
			for j := range 3 {
				var sum float64
				for di := range 2 {
					for dj := range 2 {
						sum += x[c*24+(2*i+di)*6+2*j+dj]
					}
				}
				assert.InDelta(t, sum/4, y[c*6+i*3+j], 1e-12, "channel %d pixel (%d, %d)", c, i, j)
			}
		}
	}
	global := values64(t, (&nn.AdaptiveAvgPool2d{Output: [2]int{1, 1}}).Forward(tp, in))
	var sum float64
	for _, v := range x[:24] {
		sum += v
	}
	assert.InDelta(t, sum/24, global[0], 1e-12)
	uneven := values64(t, (&nn.AdaptiveAvgPool2d{Output: [2]int{3, 4}}).Forward(tp, in))
	rows, cols := [][2]int{{0, 2}, {1, 3}, {2, 4}}, [][2]int{{0, 2}, {1, 3}, {3, 5}, {4, 6}}
	for c := range 2 {
		for i, r := range rows {
			for j, cl := range cols {
				var sum float64
				for a := r[0]; a < r[1]; a++ {
					for b := cl[0]; b < cl[1]; b++ {
						sum += x[c*24+a*6+b]
					}
				}
				assert.InDelta(t, sum/4, uneven[c*12+i*4+j], 1e-12, "uneven: channel %d pixel (%d, %d)", c, i, j)
			}
		}
	}
}

// TestUpsample: nearest doubling repeats each pixel over a 2×2 block, its
// gradient sums each block back; torch's repr; a bilinear resize to a
// size.
func TestUpsample(t *testing.T) {
	dev := cpuDev(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	x := tp.Input(must2(tensor.FromFloat64(dev, []float64{1, 2, 3, 4, 5, 6}, 1, 1, 2, 3)), true)
	up := &nn.Upsample{Scale: 2}
	assert.Equal(t, "Upsample(scale_factor=2.0, mode='nearest')", up.String())
	y := up.Forward(tp, x)
	assert.Equal(t, []int{1, 1, 4, 6}, y.Shape())
	assert.Equal(t, []float64{
		1, 1, 2, 2, 3, 3,
		1, 1, 2, 2, 3, 3,
		4, 4, 5, 5, 6, 6,
		4, 4, 5, 5, 6, 6}, values64(t, y))
	require.NoError(t, tp.Backward(tp.Sum(y)))
	g, err := x.Grad().Float64s()
	require.NoError(t, err)
	assert.Equal(t, []float64{4, 4, 4, 4, 4, 4}, g, "each pixel feeds a 2×2 block")

	bi := &nn.Upsample{Size: [2]int{3, 5}, Mode: autograd.Bilinear, AlignCorners: true}
	assert.Equal(t, "Upsample(size=(3, 5), mode='bilinear')", bi.String())
	// Aligned corners: rows 0, ½, 1 of the input and columns 0, ½, 1, 1½, 2.
	assert.InDeltaSlice(t, []float64{1, 1.5, 2, 2.5, 3, 2.5, 3, 3.5, 4, 4.5, 4, 4.5, 5, 5.5, 6}, values64(t, bi.Forward(tp, x)), 1e-15)
}

// reflected sets c's padding_mode to reflect.
func reflected(c *nn.Conv2d) *nn.Conv2d {
	c.PaddingMode = autograd.PadReflect
	return c
}

// TestPaddingModes: Conv2d with torch's padding_mode pads before the
// convolution (reflect equals Pad2d then an unpadded Conv2d, and differs
// from zeros), prints as torch does, and Pad2d layers print as torch's.
func TestPaddingModes(t *testing.T) {
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(31, 32))
	c := must2(nn.NewConv2d(dev, 2, 3, [2]int{3, 3}, autograd.ConvOptions{Padding: [2]int{1, 2}}, rng))
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	x := tp.ConstantFloat32(floats(rng, 2*2*5*6), 2, 2, 5, 6)
	zeros := values(t, c.Forward(tp, x))
	c.PaddingMode = autograd.PadReflect
	assert.Equal(t, "Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1), padding=(1, 2), padding_mode=reflect)", c.String())
	reflect := c.Forward(tp, x)
	assert.Equal(t, []int{2, 3, 5, 8}, reflect.Shape(), "padding (1, 2) keeps H and adds 2 to W")
	want := values(t, tp.Conv2d(tp.Pad2d(x, [4]int{2, 2, 1, 1}, autograd.PadReflect), c.Weight, c.Bias, autograd.ConvOptions{}))
	assert.Equal(t, want, values(t, reflect))
	assert.NotEqual(t, zeros, values(t, reflect))
	c.Bias = nil
	c.PaddingMode = autograd.PadCircular
	assert.Equal(t, "Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1), padding=(1, 2), bias=False, padding_mode=circular)", c.String())
	assert.Equal(t, "ZeroPad2d((1, 2, 0, 3))", (&nn.Pad2d{Pad: [4]int{1, 2, 0, 3}}).String())
	assert.Equal(t, "ReflectionPad2d((1, 2, 0, 1))", (&nn.Pad2d{Pad: [4]int{1, 2, 0, 1}, Mode: autograd.PadReflect}).String())
	assert.Equal(t, "ReplicationPad2d((2, 2, 2, 2))", (&nn.Pad2d{Pad: [4]int{2, 2, 2, 2}, Mode: autograd.PadReplicate}).String())
	assert.Equal(t, []int{2, 2, 6, 9}, (&nn.Pad2d{Pad: [4]int{1, 2, 0, 1}, Mode: autograd.PadReflect}).Forward(tp, x).Shape())
}
