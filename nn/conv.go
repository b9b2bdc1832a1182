package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
)

// Conv2d is torch.nn.Conv2d with zero padding: images x [N, In, H, W] to
// y [N, Out, OH, OW] by weight [Out, In/groups, KH, KW] and bias [Out],
// with the stride, padding, dilation and groups of Options (see
// autograd.Tape.Conv2d for the products it runs).
type Conv2d struct {
	In, Out      int
	Kernel       [2]int // KH, KW
	Options      autograd.ConvOptions
	Weight, Bias *autograd.Var
	// PaddingMode is torch's padding_mode: the zero value pads with zeros
	// inside the convolution; the others pad Options.Padding with
	// autograd.Tape.Pad2d first (reflect, replicate, circular).
	PaddingMode autograd.PadMode
}

// NewConv2d allocates a float32 Conv2d layer on dev with PyTorch's default
// initialisation, U(−1/√fan_in, 1/√fan_in) for the weight and the bias
// with fan_in = (In/groups)·KH·KW, drawn from rng (the weight in memory
// order, then the bias): a seeded rng gives the same layer on every
// device, though not PyTorch's numbers. The zero opt is torch's default:
// stride 1, no padding, no dilation, one group. With opt.Groups = G the
// weight is [Out, In/G, KH, KW] (torch's), and G must divide In and Out;
// G = In is a depthwise convolution.
func NewConv2d(dev device.Device, in, out int, kernel [2]int, opt autograd.ConvOptions, rng *rand.Rand) (*Conv2d, error) {
	return NewConv2dDType(dev, device.Float32, in, out, kernel, opt, rng)
}

// NewConv2dDType is NewConv2d with parameters of dtype dt (device.Float64
// on the cpu device, for gradient checks), drawn as NewLinearDType draws.
func NewConv2dDType(dev device.Device, dt device.DType, in, out int, kernel [2]int, opt autograd.ConvOptions, rng *rand.Rand) (*Conv2d, error) {
	name := fmt.Sprintf("NewConv2d(%d, %d, kernel %v)", in, out, kernel)
	for _, v := range []int{opt.Stride[0], opt.Stride[1], opt.Padding[0], opt.Padding[1], opt.Dilation[0], opt.Dilation[1], opt.Groups} {
		if v < 0 {
			return nil, fmt.Errorf("nn: %s: negative stride, padding, dilation or groups in %+v", name, opt)
		}
	}
	groups := max(opt.Groups, 1)
	if in%groups != 0 || out%groups != 0 {
		return nil, fmt.Errorf("nn: %s: %d groups do not divide %d input and %d output channels", name, groups, in, out)
	}
	w, b, err := newConvParams(dev, dt, name, in, out, kernel, in/groups, []int{out, in / groups, kernel[0], kernel[1]}, out, rng)
	if err != nil {
		return nil, err
	}
	return &Conv2d{In: in, Out: out, Kernel: kernel, Options: opt, Weight: w, Bias: b}, nil
}

// newConvParams checks a convolution layer's channels and kernel and
// draws its weight of shape ws and its bias [bias] from U(±1/√fan_in),
// fan_in = fanChannels·KH·KW, as torch's reset_parameters does.
func newConvParams(dev device.Device, dt device.DType, name string, in, out int, kernel [2]int, fanChannels int, ws []int, bias int, rng *rand.Rand) (w, b *autograd.Var, err error) {
	if in <= 0 || out <= 0 || kernel[0] <= 0 || kernel[1] <= 0 {
		return nil, nil, fmt.Errorf("nn: %s: channels and kernel sizes must be positive", name)
	}
	fanIn := fanChannels * kernel[0] * kernel[1]
	if fanIn/fanChannels != kernel[0]*kernel[1] || in*out/in != out || in*out > math.MaxInt/(kernel[0]*kernel[1]) {
		return nil, nil, fmt.Errorf("nn: %s: the weight has more than MaxInt elements", name)
	}
	if dt != device.Float32 && dt != device.Float64 {
		return nil, nil, fmt.Errorf("nn: %s: dtype %v is not float32 or float64", name, dt)
	}
	ts, err := initParams(dev, dt, 1/math.Sqrt(float64(fanIn)), rng, ws, []int{bias})
	if err != nil {
		return nil, nil, fmt.Errorf("nn: %s: %w", name, err)
	}
	return autograd.NewParam("weight", ts[0]), autograd.NewParam("bias", ts[1]), nil
}

// Forward returns the convolution of x [N, In, H, W] plus the bias.
func (c *Conv2d) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	opt := c.Options
	if p := opt.Padding; c.PaddingMode != autograd.PadZeros && p != [2]int{} {
		x = tp.Pad2d(x, [4]int{p[1], p[1], p[0], p[0]}, c.PaddingMode)
		opt.Padding = [2]int{}
	}
	return tp.Conv2d(x, c.Weight, c.Bias, opt)
}

// Params is [Weight, Bias] (Bias may be nil and is then left out).
func (c *Conv2d) Params() []*autograd.Var { return weightBias(c.Weight, c.Bias) }

// NamedParams names the parameters "weight" and "bias", as torch does.
func (c *Conv2d) NamedParams() []NamedParam { return namedWeightBias(c.Weight, c.Bias) }

// String prints the layer as torch prints it.
func (c *Conv2d) String() string {
	o := c.Options
	s := convRepr("Conv2d", c.In, c.Out, c.Kernel[:], o.Stride[:], o.Padding[:], o.Dilation[:], []int{0, 0}, o.Groups, c.Bias != nil)
	if c.PaddingMode != autograd.PadZeros {
		s = s[:len(s)-1] + ", padding_mode=" + c.PaddingMode.String() + ")"
	}
	return s
}

// Pad2d is torch's ZeroPad2d, ReflectionPad2d or ReplicationPad2d (by
// Mode), and circular padding: x [N, C, H, W] padded by Pad = [left,
// right, top, bottom] (autograd.Tape.Pad2d).
type Pad2d struct {
	Pad  [4]int
	Mode autograd.PadMode
}

// Forward pads x.
func (p *Pad2d) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.Pad2d(x, p.Pad, p.Mode)
}

// Params is empty: padding has no parameters.
func (p *Pad2d) Params() []*autograd.Var { return nil }

// String prints the layer as torch prints its class for the mode
// (CircularPad2d is torch 2.1's; 1.13 pads circularly only through
// F.pad and padding_mode).
func (p *Pad2d) String() string {
	kind := map[autograd.PadMode]string{autograd.PadZeros: "ZeroPad2d", autograd.PadReflect: "ReflectionPad2d",
		autograd.PadReplicate: "ReplicationPad2d", autograd.PadCircular: "CircularPad2d"}[p.Mode]
	return fmt.Sprintf("%s((%d, %d, %d, %d))", kind, p.Pad[0], p.Pad[1], p.Pad[2], p.Pad[3])
}

// convRepr is torch's repr of a convolution layer: stride and kernel
// always, padding, dilation, output padding and groups where they are not
// the default (a zero stride, dilation or groups is 1), bias=False
// without a bias. The sizes are tuples of one element per spatial
// dimension (torch's "(3,)" for a Conv1d).
func convRepr(kind string, in, out int, kernel, stride, padding, dilation, outputPadding []int, groups int, bias bool) string {
	ones := func(v []int) []int {
		o := make([]int, len(v))
		for i, x := range v {
			o[i] = max(x, 1)
		}
		return o
	}
	isDefault := func(v []int, d int) bool {
		for _, x := range v {
			if x != d {
				return false
			}
		}
		return true
	}
	s := fmt.Sprintf("%s(%d, %d, kernel_size=%s, stride=%s", kind, in, out, tuple(kernel), tuple(ones(stride)))
	if !isDefault(padding, 0) {
		s += ", padding=" + tuple(padding)
	}
	if !isDefault(ones(dilation), 1) {
		s += ", dilation=" + tuple(ones(dilation))
	}
	if !isDefault(outputPadding, 0) {
		s += ", output_padding=" + tuple(outputPadding)
	}
	if groups > 1 {
		s += fmt.Sprintf(", groups=%d", groups)
	}
	if !bias {
		s += ", bias=False"
	}
	return s + ")"
}

// tuple prints v as a Python tuple: "(3, 3)", or "(3,)" for one element.
func tuple(v []int) string {
	if len(v) == 1 {
		return fmt.Sprintf("(%d,)", v[0])
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// ConvTranspose2d is torch.nn.ConvTranspose2d: images x [N, In, H, W] to
// y [N, Out, OH, OW] by weight [In, Out/groups, KH, KW] (torch's layout:
// the transpose of a Conv2d(Out, In) weight) and bias [Out], with the
// stride, padding, output padding, dilation and groups of Options (see
// autograd.Tape.ConvTranspose2d). It upsamples, as in a decoder or a
// GAN's generator: kernel 4, stride 2 and padding 1 double H and W.
type ConvTranspose2d struct {
	In, Out      int
	Kernel       [2]int // KH, KW
	Options      autograd.ConvTransposeOptions
	Weight, Bias *autograd.Var
}

// NewConvTranspose2d allocates a float32 ConvTranspose2d layer on dev with
// PyTorch's default initialisation, U(−1/√fan_in, 1/√fan_in) for the
// weight and the bias with torch's fan_in = (Out/groups)·KH·KW (the
// weight's second dimension), drawn from rng (the weight in memory order,
// then the bias). Groups must divide In and Out.
func NewConvTranspose2d(dev device.Device, in, out int, kernel [2]int, opt autograd.ConvTransposeOptions, rng *rand.Rand) (*ConvTranspose2d, error) {
	return NewConvTranspose2dDType(dev, device.Float32, in, out, kernel, opt, rng)
}

// NewConvTranspose2dDType is NewConvTranspose2d with parameters of dtype
// dt (device.Float64 on the cpu device, for gradient checks).
func NewConvTranspose2dDType(dev device.Device, dt device.DType, in, out int, kernel [2]int, opt autograd.ConvTransposeOptions, rng *rand.Rand) (*ConvTranspose2d, error) {
	name := fmt.Sprintf("NewConvTranspose2d(%d, %d, kernel %v)", in, out, kernel)
	for i := range 2 {
		if opt.Stride[i] < 0 || opt.Padding[i] < 0 || opt.Dilation[i] < 0 || opt.OutputPadding[i] < 0 || opt.OutputPadding[i] >= max(opt.Stride[i], 1) {
			return nil, fmt.Errorf("nn: %s: negative stride, padding or dilation, or output padding not below the stride, in %+v", name, opt)
		}
	}
	groups := max(opt.Groups, 1)
	if opt.Groups < 0 || in%groups != 0 || out%groups != 0 {
		return nil, fmt.Errorf("nn: %s: %d groups do not divide %d input and %d output channels", name, opt.Groups, in, out)
	}
	w, b, err := newConvParams(dev, dt, name, in, out, kernel, out/groups, []int{in, out / groups, kernel[0], kernel[1]}, out, rng)
	if err != nil {
		return nil, err
	}
	return &ConvTranspose2d{In: in, Out: out, Kernel: kernel, Options: opt, Weight: w, Bias: b}, nil
}

// Forward returns the transposed convolution of x [N, In, H, W] plus the
// bias.
func (c *ConvTranspose2d) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.ConvTranspose2d(x, c.Weight, c.Bias, c.Options)
}

// Params is [Weight, Bias] (Bias may be nil and is then left out).
func (c *ConvTranspose2d) Params() []*autograd.Var { return weightBias(c.Weight, c.Bias) }

// NamedParams names the parameters "weight" and "bias", as torch does.
func (c *ConvTranspose2d) NamedParams() []NamedParam { return namedWeightBias(c.Weight, c.Bias) }

// String prints the layer as torch prints it.
func (c *ConvTranspose2d) String() string {
	o := c.Options
	return convRepr("ConvTranspose2d", c.In, c.Out, c.Kernel[:], o.Stride[:], o.Padding[:], o.Dilation[:], o.OutputPadding[:], o.Groups, c.Bias != nil)
}

// Flatten is torch.nn.Flatten(): x [N, d₁, d₂, …] becomes [N, d₁·d₂·…], a
// view (nothing is copied). It joins convolutions to Linear layers: NCHW
// flattens channel by channel, as in torch, so a Linear after it takes
// torch's weights unchanged.
type Flatten struct{}

// Forward returns x reshaped to [N, −1].
func (Flatten) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	if tp.Failed() {
		return x
	}
	return tp.Reshape(x, x.Shape()[0], -1)
}

// Params is empty: a Flatten has no parameters.
func (Flatten) Params() []*autograd.Var { return nil }

func (Flatten) String() string { return "Flatten(start_dim=1, end_dim=-1)" }

// MaxPool2d is torch.nn.MaxPool2d: the maximum of each KH×KW window of
// each channel (autograd.Tape.MaxPool2d). The zero Options are torch's
// defaults: stride = the window, no padding, no dilation.
type MaxPool2d struct {
	Kernel  [2]int
	Options autograd.PoolOptions
}

// Forward pools x [N, C, H, W].
func (m *MaxPool2d) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.MaxPool2d(x, m.Kernel, m.Options)
}

// Params is empty: pooling has no parameters.
func (m *MaxPool2d) Params() []*autograd.Var { return nil }

// String prints the layer as torch prints it.
func (m *MaxPool2d) String() string {
	def := func(v, d int) int {
		if v == 0 {
			return d
		}
		return v
	}
	o := m.Options
	return fmt.Sprintf("MaxPool2d(kernel_size=(%d, %d), stride=(%d, %d), padding=(%d, %d), dilation=(%d, %d))",
		m.Kernel[0], m.Kernel[1], def(o.Stride[0], m.Kernel[0]), def(o.Stride[1], m.Kernel[1]),
		o.Padding[0], o.Padding[1], def(o.Dilation[0], 1), def(o.Dilation[1], 1))
}

// AvgPool2d is torch.nn.AvgPool2d (count_include_pad=True): the mean of
// each KH×KW window of each channel (autograd.Tape.AvgPool2d). The zero
// Options are torch's defaults: stride = the window, no padding. With the
// window the size of the image it is global average pooling, torch's
// AdaptiveAvgPool2d(1).
type AvgPool2d struct {
	Kernel  [2]int
	Options autograd.PoolOptions
}

// Forward pools x [N, C, H, W].
func (m *AvgPool2d) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.AvgPool2d(x, m.Kernel, m.Options)
}

// Params is empty: pooling has no parameters.
func (m *AvgPool2d) Params() []*autograd.Var { return nil }

// String prints the layer as torch prints it.
func (m *AvgPool2d) String() string {
	def := func(v, d int) int {
		if v == 0 {
			return d
		}
		return v
	}
	o := m.Options
	return fmt.Sprintf("AvgPool2d(kernel_size=(%d, %d), stride=(%d, %d), padding=(%d, %d))",
		m.Kernel[0], m.Kernel[1], def(o.Stride[0], m.Kernel[0]), def(o.Stride[1], m.Kernel[1]), o.Padding[0], o.Padding[1])
}

// AdaptiveAvgPool2d is torch.nn.AdaptiveAvgPool2d(Output): each channel
// averaged down to Output [OH, OW] pixels whatever the input's size, as a
// classifier head after convolutions does with Output [1, 1] (global
// average pooling), or torchvision's (7, 7) before a VGG's classifier (see
// autograd.Tape.AdaptiveAvgPool2d: AvgPool2d where the output divides the
// input, torch's uneven, overlapping windows elsewhere).
type AdaptiveAvgPool2d struct {
	Output [2]int
}

// Forward pools x [N, C, H, W] to [N, C, OH, OW].
func (m *AdaptiveAvgPool2d) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.AdaptiveAvgPool2d(x, m.Output)
}

// Params is empty: pooling has no parameters.
func (m *AdaptiveAvgPool2d) Params() []*autograd.Var { return nil }

// String prints the layer as torch prints it.
func (m *AdaptiveAvgPool2d) String() string {
	return fmt.Sprintf("AdaptiveAvgPool2d(output_size=(%d, %d))", m.Output[0], m.Output[1])
}

// Upsample is torch.nn.Upsample on images [N, C, H, W]: to Size [OH, OW]
// when set, else by the integer factor Scale (OH = H·Scale, torch's
// scale_factor=Scale), with the resampling Mode (nearest or bilinear) and
// AlignCorners (bilinear only); see autograd.Tape.Interpolate. A decoder
// or a U-Net upsamples with it before a Conv2d, where others use a
// ConvTranspose2d.
type Upsample struct {
	Size         [2]int
	Scale        int
	Mode         autograd.InterpolateMode
	AlignCorners bool
}

// Forward resamples x [N, C, H, W].
func (u *Upsample) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	if tp.Failed() {
		return tp.Interpolate(x, [2]int{1, 1}, u.Mode, u.AlignCorners)
	}
	out := u.Size
	if out == [2]int{} {
		s := x.Shape()
		if u.Scale < 1 || len(s) != 4 {
			panic(fmt.Sprintf("nn: Upsample: input %v with size %v and scale %d: want x [N, C, H, W] and a size or a positive scale", s, u.Size, u.Scale))
		}
		out = [2]int{s[2] * u.Scale, s[3] * u.Scale}
	}
	return tp.Interpolate(x, out, u.Mode, u.AlignCorners)
}

// Params is empty: resampling has no parameters.
func (u *Upsample) Params() []*autograd.Var { return nil }

// String prints the layer as torch prints it.
func (u *Upsample) String() string {
	what := fmt.Sprintf("size=(%d, %d)", u.Size[0], u.Size[1])
	if u.Size == [2]int{} {
		what = fmt.Sprintf("scale_factor=%d.0", u.Scale)
	}
	return fmt.Sprintf("Upsample(%s, mode='%v')", what, u.Mode)
}
