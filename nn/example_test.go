package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	_ "github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/tensor"
)

// An MLP has PyTorch's nn.Sequential parameter names and shapes.
func ExampleMLP() {
	dev, _ := device.Open("cpu")
	model, _ := nn.MLP(dev, []int{64, 128, 10}, device.ReLU, 1)
	fmt.Println(model)
	for _, p := range nn.NamedParams(model) {
		fmt.Println(p.Name, p.Var.Shape())
	}
	// Output:
	// Sequential(Linear(64, 128), relu, Linear(128, 10))
	// 0.weight [128 64]
	// 0.bias [128]
	// 2.weight [10 128]
	// 2.bias [10]
}

// A residual block is x + body(x); inside a Sequential it takes an index.
func ExampleResidual() {
	dev, _ := device.Open("cpu")
	body, _ := nn.MLP(dev, []int{8, 8, 8}, device.Tanh, 1)
	model := nn.NewSequential(&nn.Residual{Body: body}, nn.ReLU())
	for _, p := range nn.NamedParams(model) {
		fmt.Println(p.Name, p.Var.Shape())
	}
	// Output:
	// 0.body.0.weight [8 8]
	// 0.body.0.bias [8]
	// 0.body.2.weight [8 8]
	// 0.body.2.bias [8]
}

// One training step: forward, loss, backward, on a tape that is reset
// afterwards while the parameters persist.
func ExampleSequential_Forward() {
	dev, _ := device.Open("cpu")
	model, _ := nn.MLP(dev, []int{2, 4, 3}, device.ReLU, 1)
	tp := autograd.NewTape(dev, device.Float32)
	x, _ := tensor.FromFloat32(dev, []float32{0.5, -1, 1, 2}, 2, 2)
	y, _ := tensor.FromFloat32(dev, []float32{0, 2}, 2) // class indices
	logits := model.Forward(tp, tp.Constant(x))
	l := loss.SoftmaxCrossEntropyIndex(tp, logits, tp.Constant(y), loss.Mean)
	fmt.Println("nodes:", tp.Len()) // two fused Linear layers and the loss
	if err := tp.Backward(l); err != nil {
		fmt.Println(err)
	}
	fmt.Println("gradient of 0.weight:", model.Params()[0].Grad().Shape())
	tp.Reset()
	// Output:
	// nodes: 3
	// gradient of 0.weight: [4 2]
}

// LayerNorm between layers, named as torch.nn.Sequential names it.
func ExampleLayerNorm() {
	dev, _ := device.Open("cpu")
	rng := rand.New(rand.NewPCG(1, 2))
	l1, _ := nn.NewLinear(dev, 4, 8, rng)
	norm, _ := nn.NewLayerNorm(dev, 8, 1e-5, true)
	l2, _ := nn.NewLinear(dev, 8, 2, rng)
	model := nn.NewSequential(l1, norm, nn.ReLU(), l2)
	fmt.Println(model)
	for _, p := range nn.NamedParams(model) {
		fmt.Println(p.Name, p.Var.Shape())
	}
	// Output:
	// Sequential(Linear(4, 8), LayerNorm(8, eps=1e-05), relu, Linear(8, 2))
	// 0.weight [8 4]
	// 0.bias [8]
	// 1.weight [8]
	// 1.bias [8]
	// 3.weight [2 8]
	// 3.bias [2]
}
