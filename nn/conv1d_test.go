package nn_test

import (
	"fmt"
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
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/safetensors"
)

// TestConv1dLayer: torch's shapes, names, printing and initialisation
// bounds, the output lengths, and errors for sizes that are no
// convolution.
func TestConv1dLayer(t *testing.T) {
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(3, 4))
	c := must2(nn.NewConv1d(dev, 4, 8, 3, autograd.Conv1dOptions{Stride: 2, Padding: 1, Dilation: 2, Groups: 2}, rng))
	assert.Equal(t, []int{8, 2, 3}, c.Weight.Shape(), "weight [out, in/groups, K]")
	assert.Equal(t, []int{8}, c.Bias.Shape())
	assert.Equal(t, "Conv1d(4, 8, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), groups=2)", c.String())
	plain := must2(nn.NewConv1d(dev, 4, 8, 3, autograd.Conv1dOptions{}, rng))
	plain.Bias = nil
	assert.Equal(t, "Conv1d(4, 8, kernel_size=(3,), stride=(1,), bias=False)", plain.String())
	assert.Equal(t, []string{"weight"}, func() (names []string) {
		for _, p := range plain.NamedParams() {
			names = append(names, p.Name)
		}
		return names
	}())
	for _, v := range append(values(t, c.Weight), values(t, c.Bias)...) {
		require.LessOrEqual(t, math.Abs(float64(v)), 1/math.Sqrt(2*3), "fan_in = (in/groups)·K")
	}
	ct := must2(nn.NewConvTranspose1d(dev, 4, 6, 3, autograd.ConvTranspose1dOptions{Stride: 2, Padding: 1, OutputPadding: 1, Groups: 2}, rng))
	assert.Equal(t, []int{4, 3, 3}, ct.Weight.Shape(), "weight [in, out/groups, K]")
	assert.Equal(t, "ConvTranspose1d(4, 6, kernel_size=(3,), stride=(2,), padding=(1,), output_padding=(1,), groups=2)", ct.String())
	_, err := nn.NewConvTranspose1d(dev, 4, 6, 3, autograd.ConvTranspose1dOptions{Stride: 2, OutputPadding: 2}, rng)
	assert.Error(t, err, "output padding not below the stride")
	assert.Equal(t, "MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)", (&nn.MaxPool1d{Kernel: 3}).String())
	assert.Equal(t, "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))",
		(&nn.AvgPool1d{Kernel: 3, Options: autograd.Pool1dOptions{Stride: 2, Padding: 1}}).String())

	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	x := tp.ConstantFloat32(make([]float32, 2*4*20), 2, 4, 20)
	// ⌊(20 + 2 − 2·2 − 1)/2⌋ + 1 = 9
	assert.Equal(t, []int{2, 8, 9}, c.Forward(tp, x).Shape())
	assert.Equal(t, []int{2, 4, 6}, (&nn.MaxPool1d{Kernel: 3}).Forward(tp, x).Shape())
	// (20 − 1)·2 − 2·1 + (3 − 1) + 1 + 1 = 40: stride 2 doubles the length
	assert.Equal(t, []int{2, 6, 40}, ct.Forward(tp, x).Shape())
	assert.Equal(t, []int{2, 4, 10}, (&nn.AvgPool1d{Kernel: 3, Options: autograd.Pool1dOptions{Stride: 2, Padding: 1}}).Forward(tp, x).Shape())

	for _, bad := range []struct {
		in, out, kernel int
		opt             autograd.Conv1dOptions
	}{
		{0, 1, 3, autograd.Conv1dOptions{}},
		{1, 1, 0, autograd.Conv1dOptions{}},
		{1, 1, 3, autograd.Conv1dOptions{Stride: -1}},
		{4, 6, 3, autograd.Conv1dOptions{Groups: 4}},
	} {
		_, err := nn.NewConv1d(dev, bad.in, bad.out, bad.kernel, bad.opt, rng)
		assert.Error(t, err, "%+v", bad)
	}
	assert.PanicsWithValue(t, "autograd: Conv1d: input [2 4 5 4], weight [8 2 3], {Stride:0 Padding:0 Dilation:0 Groups:0}: want x [N, C, L], w [O, C/groups, K] and no negative option",
		func() {
			tp.Conv1d(tp.ConstantFloat32(make([]float32, 160), 2, 4, 5, 4), c.Weight, nil, autograd.Conv1dOptions{})
		})
}

// TestConv1dCheckpointTorch: a temporal CNN (Conv1d with padding, a
// depthwise one, one strided and dilated, MaxPool1d, overlapping padded
// AvgPool1d, an upsampling ConvTranspose1d, Flatten, Linear), saved and
// run by PyTorch from the
// checkpoint (scripts/torch/conv1d_checkpoint.py): torch's outputs on the
// same inputs must be adjoint's, and torch must print the layers as
// adjoint does.
func TestConv1dCheckpointTorch(t *testing.T) {
	script := torchtest.Script(t, "conv1d_checkpoint.py")
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(7, 8))
	model := nn.NewSequential(
		must2(nn.NewConv1d(dev, 2, 8, 5, autograd.Conv1dOptions{Padding: 2}, rng)), nn.ReLU(),
		&nn.MaxPool1d{Kernel: 2}, // [5 8 12]
		must2(nn.NewConv1d(dev, 8, 8, 3, autograd.Conv1dOptions{Padding: 1, Groups: 8}, rng)), nn.ReLU(),
		must2(nn.NewConv1d(dev, 8, 16, 3, autograd.Conv1dOptions{Stride: 2, Padding: 2, Dilation: 2}, rng)), nn.ReLU(), // [5 16 6]
		&nn.AvgPool1d{Kernel: 3, Options: autograd.Pool1dOptions{Stride: 1, Padding: 1}},
		must2(nn.NewConvTranspose1d(dev, 16, 8, 4, autograd.ConvTranspose1dOptions{Stride: 2, Padding: 1}, rng)), // [5 8 12]
		nn.Flatten{}, must2(nn.NewLinear(dev, 8*12, 10, rng)))
	xs := make([]float32, 5*2*24)
	for i := range xs {
		xs[i] = float32(2*rng.Float64() - 1)
	}
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	ys := values(t, model.Forward(tp, tp.ConstantFloat32(xs, 5, 2, 24)))
	path := filepath.Join(t.TempDir(), "conv1d.safetensors")
	require.NoError(t, nn.SaveWith(path, model, nil, map[string]safetensors.Tensor{
		"test/x": safetensors.FromFloat32([]int{5, 2, 24}, xs),
		"test/y": safetensors.FromFloat32([]int{5, 10}, ys),
	}))
	args := []string{script, path}
	for _, i := range []int{0, 2, 3, 5, 7, 8} {
		args = append(args, fmt.Sprintf("%d=%s", i, model.Layers[i]))
	}
	out, err := exec.Command(torchtest.Python, args...).CombinedOutput()
	t.Log(strings.TrimSpace(string(out)))
	require.NoError(t, err, "conv1d_checkpoint.py: %s", out)
}
