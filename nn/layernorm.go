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
// Without the affine map (elementwise_affine=False) both are nil.
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

// Params is [Weight, Bias], or nothing without the affine map.
func (l *LayerNorm) Params() []*autograd.Var {
	if l.Weight == nil {
		return nil
	}
	return []*autograd.Var{l.Weight, l.Bias}
}

// NamedParams names them "weight" and "bias", as PyTorch does.
func (l *LayerNorm) NamedParams() []NamedParam {
	if l.Weight == nil {
		return nil
	}
	return []NamedParam{{"weight", l.Weight}, {"bias", l.Bias}}
}

func (l *LayerNorm) String() string {
	if l.Weight == nil {
		return fmt.Sprintf("LayerNorm(%d, eps=%g, elementwise_affine=False)", l.N, l.Eps)
	}
	return fmt.Sprintf("LayerNorm(%d, eps=%g)", l.N, l.Eps)
}
