package autograd_test

import (
	"fmt"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/tensor"
)

// A linear layer z = x Wᵀ + b on a batch of K = 2 samples, an MSE loss, and
// the gradients from one backward pass.
func ExampleTape_Backward() {
	dev, _ := cpu.New()
	w := autograd.NewParam("w", must(tensor.FromFloat32(dev, []float32{1, -1}, 1, 2)))
	b := autograd.NewParam("b", must(tensor.FromFloat32(dev, []float32{0.5}, 1)))

	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	x := tp.Constant(must(tensor.FromFloat32(dev, []float32{1, 2, 3, 1}, 2, 2)))
	y := tp.Constant(must(tensor.FromFloat32(dev, []float32{0, 1}, 2, 1)))
	z := tp.Linear(x, w, b, device.Identity) // z = (−0.5, 2.5)
	l := loss.MSE(tp, z, y, loss.Mean)       // ((−0.5)² + 1.5²)/2 = 1.25
	if err := tp.Backward(l); err != nil {
		panic(err)
	}
	lv, _ := l.Value().Item()
	gw, _ := w.Grad().Float32s()
	gb, _ := b.Grad().Float32s()
	fmt.Println("loss", lv)
	fmt.Println("dL/dw", gw) // (1/K) Σ_k ε_k x_k with ε = −2(y − z): (−0.5·1 + 1.5·3, −0.5·2 + 1.5·1)
	fmt.Println("dL/db", gb)
	// Output:
	// loss 1.25
	// dL/dw [4 0.5]
	// dL/db [1]
}

// Forward-mode differentiation: seed a tangent on the input and read J·v
// at the output, with no backward pass.
func ExampleVar_SetTangent() {
	dev, _ := cpu.New()
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	x := tp.Input(must(tensor.FromFloat64(dev, []float64{0, 1}, 2)), false)
	x.SetTangent(must(tensor.FromFloat64(dev, []float64{1, 1}, 2)))
	y := tp.Mul(x, x) // ẏ = 2x ⊙ ẋ
	dy, _ := y.Tangent().Float64s()
	fmt.Println(dy)
	// Output: [0 2]
}
