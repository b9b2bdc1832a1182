package loss_test

import (
	"fmt"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/tensor"
)

// The error vectors of softmax cross-entropy are softmax(b) − e_c: all the
// network ever sees of the loss.
func ExampleErrorVectors() {
	dev, _ := cpu.New()
	logits, _ := tensor.FromFloat64(dev, []float64{0, 0, 0, 0}, 1, 4)
	class, _ := tensor.FromFloat64(dev, []float64{1}, 1)
	rho, eps, _ := loss.ErrorVectors(device.SoftmaxCrossEntropyIndex, 0, logits, class)
	r, _ := rho.Float64s()
	e, _ := eps.Float64s()
	fmt.Printf("ρ = %.4f (log 4)\n", r[0])
	fmt.Println("ε =", e)
	// Output:
	// ρ = 1.3863 (log 4)
	// ε = [0.25 -0.75 0.25 0.25]
}

func ExampleAccuracy() {
	dev, _ := cpu.New()
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	logits := tp.ConstantFloat32([]float32{
		0.1, 2.0, -1, // argmax 1
		3.0, 0.5, 0.5, // argmax 0
		1.0, 1.0, 0.0, // a tie: the first maximum, 0, as torch.argmax
		0.0, 0.2, 0.9, // argmax 2
	}, 4, 3)
	labels := tp.ConstantFloat32([]float32{1, 0, 1, 2}, 4)
	acc, err := loss.Accuracy(tp, logits, labels)
	fmt.Println(acc, err)
	// Output: 0.75 <nil>
}
