//go:build cuda || cudaemu

package cuda_test

import (
	"fmt"

	"github.com/adjoint-go/adjoint/autograd"
	_ "github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/device/cuda"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
	"github.com/adjoint-go/adjoint/tensor"
)

// Open starts the first GPU; its methods queue kernels and return, and the
// synchronising ones (Download32 here) wait for them. The forward product
// of a linear layer, Z = X Wᵀ for K = 2 samples:
func ExampleOpen() {
	dev, err := cuda.Open(0)
	if err != nil {
		panic(err) // an error wrapping device.ErrUnavailable on a host without a GPU
	}
	defer dev.Close()
	x, _ := dev.Alloc(device.Float32, 4) // X [2 × 2]
	w, _ := dev.Alloc(device.Float32, 6) // W [3 × 2]
	z, _ := dev.Alloc(device.Float32, 6) // Z [2 × 3]
	_ = dev.Upload32(x, []float32{1, 2, 3, 4})
	_ = dev.Upload32(w, []float32{1, 0, 0, 1, 1, 1})
	dev.Gemm(false, true, 2, 3, 2, 1, x, 2, w, 2, 0, z, 3)
	out := make([]float32, 6)
	if err := dev.Download32(out, z); err != nil {
		panic(err)
	}
	fmt.Println(dev.Name(), out)
	// Output: cuda:0 [1 2 3 3 4 7]
}

// The same model trains the same way on either device: only the
// device.Open name changes. Importing this package (in a -tags cuda build)
// registers "cuda" with device.Open.
func Example_training() {
	for _, name := range []string{"cpu", "cuda"} {
		dev, err := device.Open(name)
		if err != nil {
			panic(err)
		}
		model, _ := nn.MLP(dev, []int{4, 16, 3}, device.Tanh, 1)
		opt, _ := optim.NewAdam(model.Params(), optim.AdamConfig{LR: 0.05, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
		tp := autograd.NewTape(dev, device.Float32)
		x, _ := tensor.FromFloat32(dev, []float32{1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0}, 3, 4)
		y, _ := tensor.FromFloat32(dev, []float32{0, 1, 2}, 3)
		var losses []string
		for step := range 20 {
			l := loss.SoftmaxCrossEntropyIndex(tp, model.Forward(tp, tp.Constant(x)), tp.Constant(y), loss.Mean)
			if err := tp.Backward(l); err != nil {
				panic(err)
			}
			if step%5 == 0 || step == 19 {
				v, _ := l.Value().Float64s()
				losses = append(losses, fmt.Sprintf("%.3f", v[0]))
			}
			if err := opt.Step(); err != nil {
				panic(err)
			}
			opt.ZeroGrad()
			tp.Reset()
		}
		fmt.Println(name, losses)
		if c, ok := dev.(interface{ Close() error }); ok {
			c.Close()
		}
	}
	// Output:
	// cpu [1.316 0.496 0.109 0.018 0.005]
	// cuda [1.316 0.496 0.109 0.018 0.005]
}
