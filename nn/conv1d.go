package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
)

// Conv1d is torch.nn.Conv1d with zero padding: sequences x [N, In, L] to
// y [N, Out, OL] by weight [Out, In/groups, K] and bias [Out], with the
// stride, padding, dilation and groups of Options (autograd.Tape.Conv1d:
// a Conv2d of one-row images).
type Conv1d struct {
	In, Out, Kernel int
	Options         autograd.Conv1dOptions
	Weight, Bias    *autograd.Var
}

// NewConv1d allocates a float32 Conv1d layer on dev with PyTorch's default
// initialisation, U(−1/√fan_in, 1/√fan_in) for the weight and the bias
// with fan_in = (In/groups)·K, drawn from rng (the weight in memory order,
// then the bias), as NewConv2d draws. Groups must divide In and Out.
func NewConv1d(dev device.Device, in, out, kernel int, opt autograd.Conv1dOptions, rng *rand.Rand) (*Conv1d, error) {
	return NewConv1dDType(dev, device.Float32, in, out, kernel, opt, rng)
}

// NewConv1dDType is NewConv1d with parameters of dtype dt (device.Float64
// on the cpu device, for gradient checks).
func NewConv1dDType(dev device.Device, dt device.DType, in, out, kernel int, opt autograd.Conv1dOptions, rng *rand.Rand) (*Conv1d, error) {
	name := fmt.Sprintf("NewConv1d(%d, %d, kernel %d)", in, out, kernel)
	if opt.Stride < 0 || opt.Padding < 0 || opt.Dilation < 0 || opt.Groups < 0 {
		return nil, fmt.Errorf("nn: %s: negative stride, padding, dilation or groups in %+v", name, opt)
	}
	groups := max(opt.Groups, 1)
	if in%groups != 0 || out%groups != 0 {
		return nil, fmt.Errorf("nn: %s: %d groups do not divide %d input and %d output channels", name, groups, in, out)
	}
	w, b, err := newConvParams(dev, dt, name, in, out, [2]int{1, kernel}, in/groups, []int{out, in / groups, kernel}, out, rng)
	if err != nil {
		return nil, err
	}
	return &Conv1d{In: in, Out: out, Kernel: kernel, Options: opt, Weight: w, Bias: b}, nil
}

// Forward returns the convolution of x [N, In, L] plus the bias.
func (c *Conv1d) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.Conv1d(x, c.Weight, c.Bias, c.Options)
}

// Params is [Weight, Bias] (Bias may be nil and is then left out).
func (c *Conv1d) Params() []*autograd.Var { return weightBias(c.Weight, c.Bias) }

// NamedParams names the parameters "weight" and "bias", as torch does.
func (c *Conv1d) NamedParams() []NamedParam { return namedWeightBias(c.Weight, c.Bias) }

// String prints the layer as torch prints it.
func (c *Conv1d) String() string {
	o := c.Options
	return convRepr("Conv1d", c.In, c.Out, []int{c.Kernel}, []int{o.Stride}, []int{o.Padding}, []int{o.Dilation}, []int{0}, o.Groups, c.Bias != nil)
}

// ConvTranspose1d is torch.nn.ConvTranspose1d: sequences x [N, In, L] to
// y [N, Out, OL] by weight [In, Out/groups, K] (torch's layout) and bias
// [Out], with the stride, padding, output padding, dilation and groups of
// Options (autograd.Tape.ConvTranspose1d): stride 2 doubles L, as in an
// audio decoder.
type ConvTranspose1d struct {
	In, Out, Kernel int
	Options         autograd.ConvTranspose1dOptions
	Weight, Bias    *autograd.Var
}

// NewConvTranspose1d allocates a float32 ConvTranspose1d layer on dev with
// PyTorch's default initialisation, U(−1/√fan_in, 1/√fan_in) for the
// weight and the bias with torch's fan_in = (Out/groups)·K, drawn from
// rng (the weight in memory order, then the bias). Groups must divide In
// and Out, and the output padding must be below the stride.
func NewConvTranspose1d(dev device.Device, in, out, kernel int, opt autograd.ConvTranspose1dOptions, rng *rand.Rand) (*ConvTranspose1d, error) {
	name := fmt.Sprintf("NewConvTranspose1d(%d, %d, kernel %d)", in, out, kernel)
	if opt.Stride < 0 || opt.Padding < 0 || opt.Dilation < 0 || opt.Groups < 0 || opt.OutputPadding < 0 || opt.OutputPadding >= max(opt.Stride, 1) {
		return nil, fmt.Errorf("nn: %s: negative stride, padding, dilation or groups, or output padding not below the stride, in %+v", name, opt)
	}
	groups := max(opt.Groups, 1)
	if in%groups != 0 || out%groups != 0 {
		return nil, fmt.Errorf("nn: %s: %d groups do not divide %d input and %d output channels", name, groups, in, out)
	}
	w, b, err := newConvParams(dev, device.Float32, name, in, out, [2]int{1, kernel}, out/groups, []int{in, out / groups, kernel}, out, rng)
	if err != nil {
		return nil, err
	}
	return &ConvTranspose1d{In: in, Out: out, Kernel: kernel, Options: opt, Weight: w, Bias: b}, nil
}

// Forward returns the transposed convolution of x [N, In, L] plus the
// bias.
func (c *ConvTranspose1d) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.ConvTranspose1d(x, c.Weight, c.Bias, c.Options)
}

// Params is [Weight, Bias] (Bias may be nil and is then left out).
func (c *ConvTranspose1d) Params() []*autograd.Var { return weightBias(c.Weight, c.Bias) }

// NamedParams names the parameters "weight" and "bias", as torch does.
func (c *ConvTranspose1d) NamedParams() []NamedParam { return namedWeightBias(c.Weight, c.Bias) }

// String prints the layer as torch prints it.
func (c *ConvTranspose1d) String() string {
	o := c.Options
	return convRepr("ConvTranspose1d", c.In, c.Out, []int{c.Kernel}, []int{o.Stride}, []int{o.Padding}, []int{o.Dilation}, []int{o.OutputPadding}, o.Groups, c.Bias != nil)
}

// MaxPool1d is torch.nn.MaxPool1d: the maximum of each window of Kernel
// elements of each channel (autograd.Tape.MaxPool1d). The zero Options
// are torch's defaults: stride = the window, no padding, no dilation.
type MaxPool1d struct {
	Kernel  int
	Options autograd.Pool1dOptions
}

// Forward pools x [N, C, L].
func (m *MaxPool1d) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.MaxPool1d(x, m.Kernel, m.Options)
}

// Params is empty: pooling has no parameters.
func (m *MaxPool1d) Params() []*autograd.Var { return nil }

// String prints the layer as torch prints it.
func (m *MaxPool1d) String() string {
	o := m.Options
	stride := o.Stride
	if stride == 0 {
		stride = m.Kernel
	}
	return fmt.Sprintf("MaxPool1d(kernel_size=%d, stride=%d, padding=%d, dilation=%d, ceil_mode=False)", m.Kernel, stride, o.Padding, max(o.Dilation, 1))
}

// AvgPool1d is torch.nn.AvgPool1d (count_include_pad=True): the mean of
// each window of Kernel elements of each channel
// (autograd.Tape.AvgPool1d). The zero Options are torch's defaults:
// stride = the window, no padding.
type AvgPool1d struct {
	Kernel  int
	Options autograd.Pool1dOptions
}

// Forward pools x [N, C, L].
func (m *AvgPool1d) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.AvgPool1d(x, m.Kernel, m.Options)
}

// Params is empty: pooling has no parameters.
func (m *AvgPool1d) Params() []*autograd.Var { return nil }

// String prints the layer as torch prints it.
func (m *AvgPool1d) String() string {
	o := m.Options
	stride := o.Stride
	if stride == 0 {
		stride = m.Kernel
	}
	return fmt.Sprintf("AvgPool1d(kernel_size=(%d,), stride=(%d,), padding=(%d,))", m.Kernel, stride, o.Padding)
}
