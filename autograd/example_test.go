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

// Broadcasting as in PyTorch: a per-feature scale s [3] over a batch
// x [2 × 3]. The gradient of s has s's shape: ε summed over the batch.
func ExampleTape_Mul_broadcast() {
	dev, _ := cpu.New()
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	x := tp.ConstantFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	s := autograd.NewParam("s", must(tensor.FromFloat32(dev, []float32{1, 10, 100}, 3)))
	y := tp.Mul(x, s) // s repeated over the 2 rows: BroadcastTo(s, 2, 3)
	if err := tp.Backward(tp.Sum(y)); err != nil {
		panic(err)
	}
	yv, _ := y.Value().Float32s()
	gs, _ := s.Grad().Float32s()
	fmt.Println(y.Shape(), yv)
	fmt.Println("dL/ds", s.Grad().Shape(), gs) // Σ over rows of x: (1+4, 2+5, 3+6)
	// Output:
	// [2 3] [1 20 300 4 50 600]
	// dL/ds [3] [5 7 9]
}
