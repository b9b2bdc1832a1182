package nn

import (
	"fmt"

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

// NewLayerNorm allocates a LayerNorm of n features on dev; affine adds the
// learned γ and β, as PyTorch's default does.
func NewLayerNorm(dev device.Device, n int, eps float64, affine bool) (*LayerNorm, error) {
	if n <= 0 || !(eps > 0) {
		return nil, fmt.Errorf("nn: NewLayerNorm(%d, eps %v): want n > 0 and eps > 0", n, eps)
	}
	l := &LayerNorm{N: n, Eps: eps}
	if !affine {
		return l, nil
	}
	ones, zeros := make([]float32, n), make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	w, err := tensor.FromFloat32(dev, ones, n)
	if err != nil {
		return nil, fmt.Errorf("nn: NewLayerNorm: %w", err)
	}
	b, err := tensor.FromFloat32(dev, zeros, n)
	if err != nil {
		w.Release()
		return nil, fmt.Errorf("nn: NewLayerNorm: %w", err)
	}
	l.Weight, l.Bias = autograd.NewParam("weight", w), autograd.NewParam("bias", b)
	return l, nil
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
