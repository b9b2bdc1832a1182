package nn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
)

// TestLayerNormNilParams: a nil Weight or Bias is left out of Params and
// NamedParams, as Linear leaves out a nil Bias, so that StateDict, the
// optimizers and a training step work with bias=False and the like.
func TestLayerNormNilParams(t *testing.T) {
	dev := cpuDev(t)
	tests := []struct {
		name         string
		weight, bias bool
		names        []string
		str          string
	}{
		{"affine", true, true, []string{"weight", "bias"}, "LayerNorm(4, eps=1e-05)"},
		{"no bias", true, false, []string{"weight"}, "LayerNorm(4, eps=1e-05, bias=False)"},
		{"no weight", false, true, []string{"bias"}, "LayerNorm(4, eps=1e-05, weight=False)"},
		{"no affine", false, false, nil, "LayerNorm(4, eps=1e-05, elementwise_affine=False)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := nn.NewLayerNorm(dev, 4, 1e-5, true)
			require.NoError(t, err)
			var want []*autograd.Var
			if tc.weight {
				want = append(want, ln.Weight)
			} else {
				ln.Weight = nil
			}
			if tc.bias {
				want = append(want, ln.Bias)
			} else {
				ln.Bias = nil
			}
			assert.Equal(t, want, ln.Params())
			assert.Equal(t, tc.names, names(nn.NamedParams(ln)))
			assert.Equal(t, tc.str, ln.String())
			sd, err := nn.StateDict(ln)
			require.NoError(t, err)
			assert.Len(t, sd, len(tc.names))
			require.NoError(t, nn.LoadStateDict(sd, ln))

			// A training step through the layer updates what it has.
			tp := autograd.NewTape(dev, device.Float32)
			defer tp.Release()
			opt, err := optim.NewSGD(ln.Params(), optim.SGDConfig{LR: 0.1})
			require.NoError(t, err)
			x := input(t, tp, []float32{1, 2, 4, 8, -1, 0, 1, 3}, 2, 4)
			require.NoError(t, tp.Backward(tp.Sum(tp.Mul(ln.Forward(tp, x), x))))
			require.NoError(t, opt.Step())
		})
	}
}
