package nn

import (
	"fmt"
	"slices"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// LayerNorm is torch.nn.LayerNorm(N, eps) over the last dimension: each
// sample's N features are normalised to mean 0 and variance 1, then scaled
// by Weight (γ, initialised to 1) and shifted by Bias (β, initialised to 0).
// Without the affine map (elementwise_affine=False) both are nil; a nil
// Bias alone is torch's bias=False (γ only), a nil Weight alone γ = 1.
type LayerNorm struct {
	N            int
	Eps          float64
	Weight, Bias *autograd.Var
}

// NewLayerNorm allocates a LayerNorm of n features on dev with float32
// parameters; affine adds the learned γ and β, as PyTorch's default does.
// It is NewLayerNormDType with device.Float32.
func NewLayerNorm(dev device.Device, n int, eps float64, affine bool) (*LayerNorm, error) {
	return NewLayerNormDType(dev, device.Float32, n, eps, affine)
}

// NewLayerNormDType is NewLayerNorm with γ and β of dtype dt:
// device.Float32, or device.Float64 (on the cpu device, for gradient
// checks).
func NewLayerNormDType(dev device.Device, dt device.DType, n int, eps float64, affine bool) (*LayerNorm, error) {
	if n <= 0 || !(eps > 0) {
		return nil, fmt.Errorf("nn: NewLayerNorm(%d, eps %v): want n > 0 and eps > 0", n, eps)
	}
	if dt != device.Float32 && dt != device.Float64 {
		return nil, fmt.Errorf("nn: NewLayerNorm(%d): dtype %v is not float32 or float64", n, dt)
	}
	l := &LayerNorm{N: n, Eps: eps}
	if !affine {
		return l, nil
	}
	w, err := filled(dev, dt, n, 1)
	if err != nil {
		return nil, fmt.Errorf("nn: NewLayerNorm(%d): %w", n, err)
	}
	b, err := filled(dev, dt, n, 0)
	if err != nil {
		w.Release()
		return nil, fmt.Errorf("nn: NewLayerNorm(%d): %w", n, err)
	}
	l.Weight, l.Bias = autograd.NewParam("weight", w), autograd.NewParam("bias", b)
	return l, nil
}

// filled returns a new [n] tensor of dtype dt holding c in every element.
func filled(dev device.Device, dt device.DType, n int, c float64) (*tensor.Tensor, error) {
	if dt == device.Float64 {
		return tensor.FromFloat64(dev, slices.Repeat([]float64{c}, n), n)
	}
	return tensor.FromFloat32(dev, slices.Repeat([]float32{float32(c)}, n), n)
}

// Forward normalises each row of x.
func (l *LayerNorm) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.LayerNorm(x, l.Weight, l.Bias, l.Eps)
}

// Params is [Weight, Bias], leaving out a nil one (both are nil without
// the affine map; a nil Bias is torch's bias=False).
func (l *LayerNorm) Params() []*autograd.Var {
	var ps []*autograd.Var
	for _, p := range l.NamedParams() {
		ps = append(ps, p.Var)
	}
	return ps
}

// NamedParams names them "weight" and "bias", as PyTorch does, leaving out
// a nil one.
func (l *LayerNorm) NamedParams() []NamedParam {
	var ps []NamedParam
	if l.Weight != nil {
		ps = append(ps, NamedParam{"weight", l.Weight})
	}
	if l.Bias != nil {
		ps = append(ps, NamedParam{"bias", l.Bias})
	}
	return ps
}

func (l *LayerNorm) String() string {
	switch {
	case l.Weight == nil && l.Bias == nil:
		return fmt.Sprintf("LayerNorm(%d, eps=%g, elementwise_affine=False)", l.N, l.Eps)
	case l.Bias == nil:
		return fmt.Sprintf("LayerNorm(%d, eps=%g, bias=False)", l.N, l.Eps)
	case l.Weight == nil:
		return fmt.Sprintf("LayerNorm(%d, eps=%g, weight=False)", l.N, l.Eps)
	}
	return fmt.Sprintf("LayerNorm(%d, eps=%g)", l.N, l.Eps)
}
