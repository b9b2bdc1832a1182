// Package gradcheck checks an op's adjoint and tangent rules against each
// other and against central differences, in the manner of JAX's check_vjp:
// for random inputs x, directions v and output weights u it verifies the
// adjoint identity
//
//	⟨J v, u⟩ = ⟨v, Jᵀ u⟩
//
// where Jᵀu comes from Backward (reverse mode), J v from the tangent rules
// (forward mode), and J v also from (f(x+hv) − f(x−hv)) / 2h. Use a float64
// device (the CPU) so that differences are accurate.
package gradcheck

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// Case is one function of one or more tensors to check.
type Case struct {
	Name string
	// Shapes of the differentiated inputs.
	Shapes [][]int
	// Input maps a standard-normal draw to the op's domain (nil: identity),
	// e.g. to keep Log's inputs positive.
	Input func(x float64) float64
	// Build records the function on tp. It may create constants; it is
	// called several times and must be deterministic.
	Build func(tp *autograd.Tape, in []*autograd.Var) *autograd.Var
}

// Result holds the three estimates of ⟨J v, u⟩ and the largest elementwise
// gap between the tangent J v and its central-difference estimate.
type Result struct {
	Reverse, Forward, Central float64
	TangentGap                float64
	Scale                     float64 // a magnitude for relative tolerances
}

// Check evaluates a Case on dev in float64 with the given seed.
func Check(dev device.Device, c Case, seed uint64) (Result, error) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	xs := make([][]float64, len(c.Shapes))
	vs := make([][]float64, len(c.Shapes))
	for i, s := range c.Shapes {
		n := 1
		for _, d := range s {
			n *= d
		}
		xs[i], vs[i] = make([]float64, n), make([]float64, n)
		for j := range xs[i] {
			x := rng.NormFloat64()
			if c.Input != nil {
				x = c.Input(x)
			}
			xs[i][j] = x
			vs[i][j] = rng.NormFloat64()
		}
	}
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()

	// Reverse mode: Jᵀu by Backward, with tangents v seeded for forward mode.
	in, release, err := inputs(tp, c.Shapes, xs, vs, 0)
	defer release()
	if err != nil {
		return Result{}, err
	}
	for i, v := range in {
		t, err := tensor.FromFloat64(dev, vs[i], c.Shapes[i]...)
		if err != nil {
			return Result{}, err
		}
		defer t.Release()
		v.SetTangent(t)
	}
	out := c.Build(tp, in)
	if err := tp.Err(); err != nil {
		return Result{}, fmt.Errorf("%s: forward: %w", c.Name, err)
	}
	y, err := out.Value().Float64s()
	if err != nil {
		return Result{}, err
	}
	u := make([]float64, len(y))
	for i := range u {
		u[i] = rng.NormFloat64()
	}
	var res Result
	tangent := out.Tangent()
	if tangent == nil {
		return Result{}, fmt.Errorf("%s: output carries no tangent", c.Name)
	}
	jv, err := tangent.Float64s()
	if err != nil {
		return Result{}, err
	}
	res.Forward = dot(jv, u)
	seed64, err := tensor.FromFloat64(dev, u, out.Shape()...)
	if err != nil {
		return Result{}, err
	}
	defer seed64.Release()
	if err := tp.BackwardWith(out, seed64); err != nil {
		return Result{}, fmt.Errorf("%s: backward: %w", c.Name, err)
	}
	for i, v := range in {
		g := v.Grad()
		if g == nil {
			continue // no path from this input: its contribution is zero
		}
		gv, err := g.Float64s()
		if err != nil {
			return Result{}, err
		}
		res.Reverse += dot(vs[i], gv)
		res.Scale = max(res.Scale, norm(vs[i])*norm(gv))
	}
	tp.Reset()

	// Central differences.
	const h = 1e-6
	plus, err := evaluate(tp, c, xs, vs, h)
	if err != nil {
		return Result{}, err
	}
	minus, err := evaluate(tp, c, xs, vs, -h)
	if err != nil {
		return Result{}, err
	}
	fd := make([]float64, len(plus))
	for i := range fd {
		fd[i] = (plus[i] - minus[i]) / (2 * h)
		res.TangentGap = max(res.TangentGap, math.Abs(fd[i]-jv[i]))
	}
	res.Central = dot(fd, u)
	res.Scale = max(res.Scale, norm(fd)*norm(u), 1e-300)
	return res, nil
}

// inputs records x + h·v as differentiable leaves; the tape does not own
// their memory, so the caller runs release when done with them.
func inputs(tp *autograd.Tape, shapes [][]int, xs, vs [][]float64, h float64) ([]*autograd.Var, func(), error) {
	in := make([]*autograd.Var, len(shapes))
	var owned []*tensor.Tensor
	release := func() {
		for _, t := range owned {
			t.Release()
		}
	}
	for i, s := range shapes {
		x := make([]float64, len(xs[i]))
		for j := range x {
			x[j] = xs[i][j] + h*vs[i][j]
		}
		t, err := tensor.FromFloat64(tp.Device(), x, s...)
		if err != nil {
			return nil, release, err
		}
		owned = append(owned, t)
		in[i] = tp.Input(t, true)
	}
	return in, release, nil
}

func evaluate(tp *autograd.Tape, c Case, xs, vs [][]float64, h float64) ([]float64, error) {
	defer tp.Reset()
	in, release, err := inputs(tp, c.Shapes, xs, vs, h)
	defer release()
	if err != nil {
		return nil, err
	}
	var out *autograd.Var
	tp.NoGrad(func() { out = c.Build(tp, in) })
	if err := tp.Err(); err != nil {
		return nil, err
	}
	return out.Value().Float64s()
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func norm(a []float64) float64 { return math.Sqrt(dot(a, a)) }
