package autograd_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/tensor"
)

// TestIntermediateGradients checks Grad of every Var of small DAGs with
// fan-out, intermediates included, against central differences: for each
// named Var v and element i, the same graph is rebuilt with v replaced by
// v ± h·eᵢ, and (L(v + h·eᵢ) − L(v − h·eᵢ))/2h must equal ∂L/∂vᵢ. The
// cases make an adjoint pass one Var's ε on to an input as that input's
// gradient (Add, Scale by 1, Reshape) and then add a second contribution
// into it, which must not change the first Var's gradient.
func TestIntermediateGradients(t *testing.T) {
	type at = func(name string, v *V) *V
	cases := []struct {
		name  string
		build func(tp *autograd.Tape, x, w *V, at at) *V
	}{
		{"tanh and identity fan-out", func(tp *autograd.Tape, x, _ *V, at at) *V {
			x = at("x", x)
			u := at("u", tp.Tanh(x))
			y := at("y", tp.Scale(x, 1))
			z := at("z", tp.Add(y, u))
			return tp.Sum(at("zz", tp.Mul(z, z)))
		}},
		{"x plus x", func(tp *autograd.Tape, x, _ *V, at at) *V {
			x = at("x", x)
			z := at("z", tp.Add(x, x))
			return tp.Sum(at("zz", tp.Mul(z, z)))
		}},
		{"adopter used again", func(tp *autograd.Tape, x, _ *V, at at) *V {
			x = at("x", x)
			y := at("y", tp.Scale(x, 1))
			u := at("u", tp.Tanh(y))
			z := at("z", tp.Add(y, u))
			return tp.Sum(at("zz", tp.Mul(z, z)))
		}},
		{"reshape views", func(tp *autograd.Tape, x, _ *V, at at) *V {
			x = at("x", x)
			u := at("u", tp.Tanh(x))
			r := at("r", tp.Reshape(x, 3, 2))
			s := at("s", tp.Reshape(r, 2, 3))
			z := at("z", tp.Add(s, u))
			return tp.Sum(at("zz", tp.Mul(z, z)))
		}},
		{"residual linear", func(tp *autograd.Tape, x, w *V, at at) *V {
			x, w = at("x", x), at("w", w)
			h := at("h", tp.Linear(x, w, nil, device.Identity))
			z := at("z", tp.Add(x, h))
			return tp.Sum(at("zz", tp.Mul(z, z)))
		}},
		{"sub and loss", func(tp *autograd.Tape, x, w *V, at at) *V {
			x, w = at("x", x), at("w", w)
			h := at("h", tp.Linear(x, w, nil, device.Tanh))
			y := at("y", tp.Scale(h, 1))
			z := at("z", tp.Sub(y, x))
			d := at("d", tp.Add(z, h))
			return loss.MSE(tp, d, tp.Constant(must(tensor.Zeros(tp.Device(), device.Float64, 2, 3))), loss.Mean)
		}},
	}
	xv := []float64{0.3, -0.8, 1.1, 0.5, -0.2, 0.9}
	wv := []float64{0.5, -0.3, 0.2, 0.1, 0.7, -0.4, -0.6, 0.25, 0.35}
	const h = 1e-6
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dev := newCPU(t)
			xt := must(tensor.FromFloat64(dev, xv, 2, 3))
			defer xt.Release()
			w := autograd.NewParam("w", must(tensor.FromFloat64(dev, wv, 3, 3)))
			defer w.Release()

			tp := autograd.NewTape(dev, device.Float64)
			defer tp.Release()
			vars := map[string]*V{}
			var names []string
			l := tc.build(tp, tp.Input(xt, true), w, func(name string, v *V) *V {
				vars[name] = v
				names = append(names, name)
				return v
			})
			require.NoError(t, tp.Backward(l))
			got := map[string][]float64{}
			for _, name := range names {
				g := vars[name].Grad()
				require.NotNil(t, g, "%s has no gradient", name)
				got[name] = must(g.Float64s())
			}

			// value of L with v replaced by v + d·eᵢ
			perturbed := func(target string, i int, d float64) float64 {
				tp := autograd.NewTape(dev, device.Float64)
				defer tp.Release()
				var val float64
				tp.NoGrad(func() {
					l := tc.build(tp, tp.Constant(xt), w, func(name string, v *V) *V {
						if name != target {
							return v
						}
						p := make([]float64, v.Value().Len())
						p[i] = d
						pt := must(tensor.FromFloat64(dev, p, v.Shape()...))
						t.Cleanup(pt.Release)
						return tp.Add(v, tp.Constant(pt))
					})
					val = must(l.Value().Item())
				})
				return val
			}
			for _, name := range names {
				for i, g := range got[name] {
					fd := (perturbed(name, i, h) - perturbed(name, i, -h)) / (2 * h)
					assert.InDelta(t, fd, g, 1e-6, "∂L/∂%s[%d]", name, i)
				}
			}
		})
	}
}

// copyCounter is a Device that counts copies (Copy2D, Scale) and additions
// (Axpy, Binary Add).
type copyCounter struct {
	device.Device
	copies, adds int
}

func (d *copyCounter) Copy2D(dst device.Buffer, dstOff, ldDst int, src device.Buffer, srcOff, ldSrc, rows, cols int) {
	d.copies++
	d.Device.Copy2D(dst, dstOff, ldDst, src, srcOff, ldSrc, rows, cols)
}

func (d *copyCounter) Scale(alpha float64, x, y device.Buffer) {
	d.copies++
	d.Device.Scale(alpha, x, y)
}

func (d *copyCounter) Axpy(alpha float64, x, y device.Buffer) {
	d.adds++
	d.Device.Axpy(alpha, x, y)
}

func (d *copyCounter) Binary(op device.BinaryOp, a, b, out device.Buffer) {
	if op == device.Add {
		d.adds++
	}
	d.Device.Binary(op, a, b, out)
}

// TestSharedGradientCostsNothingWithoutFanOut: passing ε on without a copy
// stays free on a chain (no copy, no addition in Backward), and where a
// Var fans out, the sum x + tanh(xW) costs one copy, the copy on write of
// x's gradient, where both inputs of the sum adopt its ε (before, the
// second input got a scaled copy instead).
func TestSharedGradientCostsNothingWithoutFanOut(t *testing.T) {
	for _, tc := range []struct {
		name         string
		residual     bool
		copies, adds int
	}{
		{"chain", false, 0, 0},
		{"residual", true, 1, 0}, // the Gemm into x's gradient adds with β = 1
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := &copyCounter{Device: newCPU(t)}
			tp := autograd.NewTape(dev, device.Float64)
			defer tp.Release()
			w1 := autograd.NewParam("w1", must(tensor.FromFloat64(dev, []float64{0.5, -0.2, 0.3, 0.8}, 2, 2)))
			w2 := autograd.NewParam("w2", must(tensor.FromFloat64(dev, []float64{0.1, 0.4, -0.7, 0.2, 0.6, -0.3}, 3, 2)))
			xt := must(tensor.FromFloat64(dev, []float64{1, 2, -1, 0.5}, 2, 2))
			yt := must(tensor.FromFloat64(dev, []float64{0, 2}, 2))
			x := tp.Input(xt, true)
			h := tp.Scale(tp.Linear(x, w1, nil, device.Tanh), 1)
			if tc.residual {
				h = tp.Add(x, h)
			}
			out := tp.Linear(h, w2, nil, device.Identity)
			l := loss.SoftmaxCrossEntropyIndex(tp, out, tp.Constant(yt), loss.Mean)
			dev.copies, dev.adds = 0, 0
			require.NoError(t, tp.Backward(l))
			assert.Equal(t, tc.copies, dev.copies, "copies in Backward")
			assert.Equal(t, tc.adds, dev.adds, "additions in Backward")
		})
	}
}
