package autograd_test

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/autograd/gradcheck"
	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// softplusOp is a node written outside the library, in the lecture's form
// [δ] ← G(ε, z): forward z = log(1 + eˣ), adjoint δ = ε ⊙ σ(x), tangent
// ż = σ(x) ⊙ ẋ. It is built from Device calls only, so it runs on every
// backend.
var softplusOp = autograd.Op{
	Name: "Softplus",
	Adjoint: func(tp *autograd.Tape, n *autograd.Node, eps *tensor.Tensor) {
		x := n.In[0]
		delta := tp.Temp(x.Shape()...)
		if !delta.Valid() {
			return
		}
		dev := tp.Device()
		dev.Unary(device.Sigmoid, 0, x.Value().Buffer(), delta.Buffer())     // σ(x)
		dev.Binary(device.Mul, eps.Buffer(), delta.Buffer(), delta.Buffer()) // ε ⊙ σ(x)
		tp.Accumulate(x, delta)
	},
	Tangent: func(tp *autograd.Tape, n *autograd.Node) *tensor.Tensor {
		x := n.In[0]
		t := tp.Temp(x.Shape()...)
		if t.Valid() {
			dev := tp.Device()
			dev.Unary(device.Sigmoid, 0, x.Value().Buffer(), t.Buffer())
			dev.Binary(device.Mul, x.Tangent().Buffer(), t.Buffer(), t.Buffer())
		}
		return t
	},
}

// softplus records z = log(1 + eˣ) on tp. The forward pass is eˣ, +1, log
// on the device; it overflows for x ≳ 88 in float32, which a production
// version would avoid (log(1 + eˣ) = x + log(1 + e⁻ˣ) for x > 0).
func softplus(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	n, out := tp.Record(&softplusOp, x.Shape(), x)
	if tp.Failed() {
		return out
	}
	dev, z := tp.Device(), out.Value().Buffer()
	ones := tp.Temp(x.Shape()...)
	if !ones.Valid() {
		return out
	}
	dev.Fill(ones.Buffer(), 1)
	dev.Unary(device.Exp, 0, x.Value().Buffer(), z)
	dev.Binary(device.Add, z, ones.Buffer(), z)
	dev.Unary(device.Log, 0, z, z)
	return tp.Done(n)
}

// A node defined outside the library: its forward and adjoint side by
// side, used like a built-in op, and checked with gradcheck (the adjoint
// identity ⟨Jv, u⟩ = ⟨v, Jᵀu⟩ by Backward, by the tangent rule and by
// central differences).
func ExampleOp() {
	dev, _ := cpu.New()
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	x := tp.Input(must(tensor.FromFloat64(dev, []float64{-1, 0, 2}, 3)), true)
	l := tp.Sum(softplus(tp, x))
	if err := tp.Backward(l); err != nil {
		panic(err)
	}
	lv, _ := l.Value().Item()
	g, _ := x.Grad().Float64s()
	fmt.Printf("L = Σ softplus(x) = %.4f\n", lv)
	fmt.Printf("dL/dx = σ(x) = [%.4f %.4f %.4f]\n", g[0], g[1], g[2])

	r, err := gradcheck.Check(dev, gradcheck.Case{
		Name:   "softplus",
		Shapes: [][]int{{4, 5}},
		Build: func(tp *autograd.Tape, in []*autograd.Var) *autograd.Var {
			return softplus(tp, in[0])
		},
	}, 1)
	if err != nil {
		panic(err)
	}
	agree := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*r.Scale }
	fmt.Println("adjoint identity holds:", agree(r.Reverse, r.Forward) && agree(r.Reverse, r.Central))
	// Output:
	// L = Σ softplus(x) = 3.1333
	// dL/dx = σ(x) = [0.2689 0.5000 0.8808]
	// adjoint identity holds: true
}
