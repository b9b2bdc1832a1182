package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// Linear is the affine layer y = x Wᵀ + b of torch.nn.Linear, with weight
// W [Out × In] and bias b [Out].
type Linear struct {
	In, Out      int
	Weight, Bias *autograd.Var
}

// NewLinear allocates a float32 Linear layer on dev with PyTorch's default
// initialisation: kaiming_uniform(a=√5) for W, which is U(−1/√In, 1/√In),
// and U(−1/√In, 1/√In) for b. The values are drawn from rng (W row by row,
// then b), so a seeded rng gives the same layer on every device; they are
// not PyTorch's numbers, whose generator differs. It is NewLinearDType
// with device.Float32.
func NewLinear(dev device.Device, in, out int, rng *rand.Rand) (*Linear, error) {
	return NewLinearDType(dev, device.Float32, in, out, rng)
}

// NewLinearDType is NewLinear with parameters of dtype dt: device.Float32,
// or device.Float64 (on the cpu device, for gradient checks). Each value is
// drawn as a float64 and then stored in dt, with the same draws from rng in
// the same order for either dtype, so a float32 and a float64 layer from
// equally seeded generators hold the same numbers up to float32 rounding:
// the float32 weight is the float64 weight rounded.
func NewLinearDType(dev device.Device, dt device.DType, in, out int, rng *rand.Rand) (*Linear, error) {
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("nn: NewLinear(%d, %d): sizes must be positive", in, out)
	}
	if out > math.MaxInt/in {
		return nil, fmt.Errorf("nn: NewLinear(%d, %d): the weight has more than MaxInt elements", in, out)
	}
	if dt != device.Float32 && dt != device.Float64 {
		return nil, fmt.Errorf("nn: NewLinear(%d, %d): dtype %v is not float32 or float64", in, out, dt)
	}
	ts, err := initParams(dev, dt, 1/math.Sqrt(float64(in)), rng, []int{out, in}, []int{out})
	if err != nil {
		return nil, fmt.Errorf("nn: NewLinear(%d, %d): %w", in, out, err)
	}
	w, b := ts[0], ts[1]
	return &Linear{In: in, Out: out, Weight: autograd.NewParam("weight", w), Bias: autograd.NewParam("bias", b)}, nil
}

// initParams allocates one tensor of dtype dt per shape on dev and fills
// them, in order, with U(−bound, bound) draws from rng: PyTorch's default
// initialisation of a layer's weight and bias (kaiming_uniform(a=√5) is
// U(−1/√fan_in, 1/√fan_in)). The device memory comes first: a layer too
// large for the device fails there, with an error, before its values are
// drawn on the host.
func initParams(dev device.Device, dt device.DType, bound float64, rng *rand.Rand, shapes ...[]int) ([]*tensor.Tensor, error) {
	ts := make([]*tensor.Tensor, 0, len(shapes))
	release := func() {
		for _, t := range ts {
			t.Release()
		}
	}
	for _, shape := range shapes {
		t, err := tensor.New(dev, dt, shape...)
		if err != nil {
			release()
			return nil, err
		}
		ts = append(ts, t)
	}
	for _, t := range ts {
		var err error
		if dt == device.Float64 {
			err = dev.Upload64(t.Buffer(), uniform[float64](rng, t.Len(), bound))
		} else {
			err = dev.Upload32(t.Buffer(), uniform[float32](rng, t.Len(), bound))
		}
		if err != nil {
			release()
			return nil, err
		}
	}
	return ts, nil
}

// uniform draws n values of U(−bound, bound) from rng, each as a float64
// rounded to T.
func uniform[T float32 | float64](rng *rand.Rand, n int, bound float64) []T {
	v := make([]T, n)
	for i := range v {
		v[i] = T((2*rng.Float64() - 1) * bound)
	}
	return v
}

// Forward returns x Wᵀ + b for x [K × In].
func (l *Linear) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return l.forward(tp, x, device.Identity)
}

func (l *Linear) forward(tp *autograd.Tape, x *autograd.Var, act device.UnaryOp) *autograd.Var {
	return tp.Linear(x, l.Weight, l.Bias, act)
}

// Params is [Weight, Bias] (Bias may be nil and is then left out).
func (l *Linear) Params() []*autograd.Var { return weightBias(l.Weight, l.Bias) }

// NamedParams names the parameters "weight" and "bias".
func (l *Linear) NamedParams() []NamedParam { return namedWeightBias(l.Weight, l.Bias) }

// weightBias is [w, b], or [w] without a bias.
func weightBias(w, b *autograd.Var) []*autograd.Var {
	if b == nil {
		return []*autograd.Var{w}
	}
	return []*autograd.Var{w, b}
}

// namedWeightBias names them "weight" and "bias", as torch does.
func namedWeightBias(w, b *autograd.Var) []NamedParam {
	ps := []NamedParam{{"weight", w}}
	if b != nil {
		ps = append(ps, NamedParam{"bias", b})
	}
	return ps
}

func (l *Linear) String() string { return fmt.Sprintf("Linear(%d, %d)", l.In, l.Out) }

// MLP returns Sequential(Linear(s₀, s₁), act, Linear(s₁, s₂), act, …,
// Linear(s_{n−2}, s_{n−1})) for sizes s (at least two), initialised from a
// generator seeded with seed. act is ReLU, Tanh, Sigmoid, GELU, SiLU,
// LeakyReLU or ELU (with torch's default parameter: slope 0.01, α = 1),
// ReLU6, Hardsigmoid or Hardswish, or
// Identity (then no activation layers are inserted, and the names are 0,
// 1, 2, …).
func MLP(dev device.Device, sizes []int, act device.UnaryOp, seed uint64) (*Sequential, error) {
	return mlp(dev, sizes, act, seed, normNone)
}

// MLPLayerNorm is MLP with a LayerNorm (ϵ = 1e-5, γ = 1, β = 0) after every
// hidden Linear, before its activation: torch.nn.Sequential(Linear,
// LayerNorm, act, Linear, LayerNorm, act, …, Linear). The Linear layers get
// the same initial weights as MLP's for the same seed.
func MLPLayerNorm(dev device.Device, sizes []int, act device.UnaryOp, seed uint64) (*Sequential, error) {
	return mlp(dev, sizes, act, seed, normLayer)
}

// MLPBatchNorm is MLP with a BatchNorm1d (torch's defaults: ϵ = 1e-5,
// momentum 0.1, γ = 1, β = 0) after every hidden Linear, before its
// activation: torch.nn.Sequential(Linear, BatchNorm1d, act, …, Linear).
// The Linear layers get the same initial weights as MLP's for the same
// seed. Train it in batches of at least two samples.
func MLPBatchNorm(dev device.Device, sizes []int, act device.UnaryOp, seed uint64) (*Sequential, error) {
	return mlp(dev, sizes, act, seed, normBatch)
}

// The normalisation after an MLP's hidden Linear layers.
const (
	normNone = iota
	normLayer
	normBatch
)

func mlp(dev device.Device, sizes []int, act device.UnaryOp, seed uint64, norm int) (*Sequential, error) {
	if len(sizes) < 2 {
		return nil, fmt.Errorf("nn: MLP needs at least two sizes (input and output), have %v", sizes)
	}
	switch act {
	case device.Identity, device.ReLU, device.Tanh, device.Sigmoid, device.GELU, device.SiLU, device.LeakyReLU, device.ELU,
		device.ReLU6, device.Hardsigmoid, device.Hardswish:
	default:
		return nil, fmt.Errorf("nn: MLP: activation %v is not one of %s", act, activationNames)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6e6e4d4c50)) // fixed stream for MLP init
	s := &Sequential{}
	for i := 0; i+1 < len(sizes); i++ {
		l, err := NewLinear(dev, sizes[i], sizes[i+1], rng)
		if err != nil {
			Release(s)
			return nil, fmt.Errorf("nn: MLP %v: %w", sizes, err)
		}
		s.Layers = append(s.Layers, l)
		if i+2 < len(sizes) && norm != normNone {
			var n Module
			var err error
			if norm == normLayer {
				n, err = NewLayerNorm(dev, sizes[i+1], 1e-5, true)
			} else {
				n, err = NewBatchNorm1d(dev, sizes[i+1])
			}
			if err != nil {
				Release(s)
				return nil, fmt.Errorf("nn: MLP %v: %w", sizes, err)
			}
			s.Layers = append(s.Layers, n)
		}
		if i+2 < len(sizes) && act != device.Identity {
			s.Layers = append(s.Layers, &Activation{Fn: act, Param: act.DefaultParam()})
		}
	}
	return s, nil
}
