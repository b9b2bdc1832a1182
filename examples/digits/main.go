// Command digits trains a small MLP on the embedded digits set with the
// library directly: the program the README's "Use it as a library" shows.
package main

import (
	"fmt"
	"log"

	"github.com/adjoint-go/adjoint/autograd"
	_ "github.com/adjoint-go/adjoint/cpu" // registers the "cpu" device
	"github.com/adjoint-go/adjoint/data"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
)

func main() {
	dev, err := device.Open("auto") // CUDA when built with -tags cuda on a GPU host, else the CPU
	if err != nil {
		log.Fatal(err)
	}
	digits, err := data.Digits()
	if err != nil {
		log.Fatal(err)
	}
	train, test, err := data.Split(digits, 0.2, 42)
	if err != nil {
		log.Fatal(err)
	}
	std := data.FitStandardizer(train.X, train.Features)
	std.Apply(train.X)
	std.Apply(test.X)

	model, err := nn.MLP(dev, []int{64, 128, 10}, device.ReLU, 1) // 0.weight [128 64], 0.bias, 2.weight, 2.bias
	if err != nil {
		log.Fatal(err)
	}
	opt, err := optim.NewAdam(model.Params(), optim.DefaultAdam())
	if err != nil {
		log.Fatal(err)
	}

	tp := autograd.NewTape(dev, device.Float32)
	batches := data.NewBatcher(train, 64, true, 1)
	for epoch := 1; epoch <= 20; epoch++ {
		for x, y, k, ok := batches.Next(); ok; x, y, k, ok = batches.Next() {
			xb := tp.ConstantFloat32(x, k, train.Features) // one [K × 64] batch per launch
			yb := tp.ConstantFloat32(y, k)
			logits := model.Forward(tp, xb)
			l := loss.SoftmaxCrossEntropyIndex(tp, logits, yb, loss.Mean) // torch CrossEntropyLoss
			if err := tp.Backward(l); err != nil {
				log.Fatal(err)
			}
			if err := opt.Step(); err != nil {
				log.Fatal(err)
			}
			opt.ZeroGrad()
			tp.Reset() // frees the step's intermediates, the batch among them
		}
		batches.Reset()
	}

	// Inference: no tape nodes are recorded.
	var acc float64
	tp.NoGrad(func() {
		logits := model.Forward(tp, tp.ConstantFloat32(test.X, test.Len(), test.Features))
		acc, err = loss.Accuracy(tp, logits, tp.ConstantFloat32(test.Y, test.Len())) // out of device memory, say
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("test accuracy %.2f%% on %s\n", 100*acc, dev.Name())
}
