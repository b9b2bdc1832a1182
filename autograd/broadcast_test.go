package autograd_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// TestBroadcastZeroSize: broadcasts and sums with a dimension of length 0
// give the empty or zero results torch gives, forward and backward.
func TestBroadcastZeroSize(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	in := func(shape ...int) *autograd.Var {
		x := must(tensor.Zeros(dev, device.Float64, shape...))
		t.Cleanup(x.Release)
		return tp.Input(x, true)
	}
	cases := []struct {
		name  string
		build func() (out *autograd.Var, inputs []*autograd.Var)
		shape []int
	}{
		{"Add [2 0] + [0]", func() (*autograd.Var, []*autograd.Var) {
			a, b := in(2, 0), in(0)
			return tp.Add(a, b), []*autograd.Var{a, b}
		}, []int{2, 0}},
		{"BroadcastTo [0] → [3 0]", func() (*autograd.Var, []*autograd.Var) {
			x := in(0)
			return tp.BroadcastTo(x, 3, 0), []*autograd.Var{x}
		}, []int{3, 0}},
		{"BroadcastTo [3 1] → [3 0]", func() (*autograd.Var, []*autograd.Var) {
			x := in(3, 1)
			return tp.BroadcastTo(x, 3, 0), []*autograd.Var{x}
		}, []int{3, 0}},
		{"SumTo [3 0] → [3 1]", func() (*autograd.Var, []*autograd.Var) {
			x := in(3, 0)
			return tp.SumTo(x, 3, 1), []*autograd.Var{x}
		}, []int{3, 1}},
		{"SumTo [3 0] → [0]", func() (*autograd.Var, []*autograd.Var) {
			x := in(3, 0)
			return tp.SumTo(x, 0), []*autograd.Var{x}
		}, []int{0}},
		{"Mul [2 0 3] ⊙ [2 1 3]", func() (*autograd.Var, []*autograd.Var) {
			a, b := in(2, 0, 3), in(2, 1, 3)
			return tp.Mul(a, b), []*autograd.Var{a, b}
		}, []int{2, 0, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer tp.Reset()
			out, inputs := c.build()
			require.Equal(t, c.shape, out.Shape())
			v, err := out.Value().Float64s()
			require.NoError(t, err)
			require.Equal(t, make([]float64, len(v)), v, "zeros (an empty sum is 0)")
			require.NoError(t, tp.Backward(tp.Sum(out)))
			for i, x := range inputs {
				if x.Value().Len() == 0 {
					continue
				}
				g, err := x.Grad().Float64s()
				require.NoError(t, err)
				require.Equal(t, make([]float64, len(g)), g, "gradient of input %d: nothing reached it", i)
			}
		})
	}
}

// TestBroadcastMiddleByHand: a repeat between two kept dimensions, the
// attention-mask shape, on small numbers worked out by hand.
func TestBroadcastMiddleByHand(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	// x [2 1 2] over [2 3 2]: each row of x repeated 3 times in its block.
	x := tp.Input(must(tensor.FromFloat64(dev, []float64{1, 2, 3, 4}, 2, 1, 2)), true)
	y := tp.BroadcastTo(x, 2, 3, 2)
	got, err := y.Value().Float64s()
	require.NoError(t, err)
	require.Equal(t, []float64{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4}, got)
	// L = Σ w ⊙ y with w = 1…12: ∂L/∂x sums w over each repeat.
	w := tp.Constant(must(tensor.FromFloat64(dev, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 2, 3, 2)))
	require.NoError(t, tp.Backward(tp.Sum(tp.Mul(w, y))))
	g, err := x.Grad().Float64s()
	require.NoError(t, err)
	require.Equal(t, []float64{1 + 3 + 5, 2 + 4 + 6, 7 + 9 + 11, 8 + 10 + 12}, g)
	require.Equal(t, []int{2, 1, 2}, x.Grad().Shape())
}

// TestMatMulEmptyInner: a product over an empty inner dimension is a
// matrix of zeros, as in torch, and its gradients are empty or zero.
func TestMatMulEmptyInner(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	a := tp.Input(must(tensor.Zeros(dev, device.Float64, 2, 0)), true)
	b := tp.Input(must(tensor.Zeros(dev, device.Float64, 0, 3)), true)
	c := tp.MatMul(a, b)
	require.Equal(t, []int{2, 3}, c.Shape())
	v, err := c.Value().Float64s()
	require.NoError(t, err)
	require.Equal(t, make([]float64, 6), v)
	require.NoError(t, tp.Backward(tp.Sum(c)))
	tp.Reset()
	// op(A) [2 × 3] times op(B) [3 × 0]: an empty result.
	e := tp.MatMulT(tp.Input(must(tensor.Zeros(dev, device.Float64, 3, 2)), true), tp.Input(must(tensor.Zeros(dev, device.Float64, 0, 3)), true), true, true)
	require.Equal(t, []int{2, 0}, e.Shape())
	require.NoError(t, tp.Backward(tp.Sum(e)))
}

// TestBroadcastKeepsNegativeZero: a repeat in front is a copy, so −0
// stays −0 (1/x = −Inf, as torch gives).
func TestBroadcastKeepsNegativeZero(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	x := tp.ConstantFloat64([]float64{math.Copysign(0, -1), 1}, 2)
	v, err := tp.BroadcastTo(x, 3, 2).Value().Float64s()
	require.NoError(t, err)
	for i := 0; i < 6; i += 2 {
		require.True(t, math.Signbit(v[i]), "element %d: %v", i, v[i])
	}
}
