package optim_test

import (
	"fmt"

	"github.com/adjoint-go/adjoint/autograd"
	_ "github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/optim"
	"github.com/adjoint-go/adjoint/tensor"
)

// Minimise (p − 3)² with SGD and momentum, as torch.optim.SGD would.
func ExampleSGD() {
	dev, _ := device.Open("cpu")
	pt, _ := tensor.FromFloat32(dev, []float32{0})
	p := autograd.NewParam("p", pt)
	three, _ := tensor.FromFloat32(dev, []float32{3})
	opt, _ := optim.NewSGD([]*autograd.Var{p}, optim.SGDConfig{LR: 0.1, Momentum: 0.5})
	tp := autograd.NewTape(dev, device.Float32)
	for range 60 {
		d := tp.Sub(p, tp.Constant(three))
		l := tp.Sum(tp.Mul(d, d))
		opt.ZeroGrad()
		if err := tp.Backward(l); err != nil {
			fmt.Println(err)
			return
		}
		if err := opt.Step(); err != nil {
			fmt.Println(err)
			return
		}
		tp.Reset()
	}
	v, _ := p.Value().Item()
	fmt.Printf("p = %.4f\n", v)
	// Output:
	// p = 3.0000
}

// A linear warm-up, then a cosine that counts its epochs from the
// milestone: torch's SequentialLR of LinearLR and CosineAnnealingLR.
func ExampleSequentialLR() {
	s := optim.SequentialLR{
		Schedules: []optim.Schedule{
			optim.LinearLR{Base: 0.1, StartFactor: 0.1, EndFactor: 1, TotalIters: 2},
			optim.CosineAnnealingLR{Base: 0.1, TMax: 4},
		},
		Milestones: []int{2},
	}
	for e := range 6 {
		fmt.Printf("epoch %d: lr %.4f\n", e, s.LR(e))
	}
	// Output:
	// epoch 0: lr 0.0100
	// epoch 1: lr 0.0550
	// epoch 2: lr 0.1000
	// epoch 3: lr 0.0854
	// epoch 4: lr 0.0500
	// epoch 5: lr 0.0146
}

// Learning-rate schedules are closed forms of the epoch.
func ExampleCosineAnnealingLR() {
	s := optim.CosineAnnealingLR{Base: 0.1, TMax: 4}
	for e := range 5 {
		fmt.Printf("epoch %d: lr %.4f\n", e, s.LR(e))
	}
	// Output:
	// epoch 0: lr 0.1000
	// epoch 1: lr 0.0854
	// epoch 2: lr 0.0500
	// epoch 3: lr 0.0146
	// epoch 4: lr 0.0000
}
