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

// Label smoothing moves s of the target's mass to the uniform distribution:
// for logits that are all equal every target costs log N, smoothed or not,
// and the gradient is softmax(b) − ((1 − s) e_c + s/N).
func ExampleSoftmaxCrossEntropyIndexSmoothed() {
	dev, _ := cpu.New()
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	logits := tp.Input(must(tensor.FromFloat64(dev, []float64{0, 0, 0, 0}, 1, 4)), true)
	l := loss.SoftmaxCrossEntropyIndexSmoothed(tp, logits, tp.ConstantFloat64([]float64{1}, 1), 0.2, loss.Mean)
	if err := tp.Backward(l); err != nil {
		fmt.Println(err)
	}
	v, _ := l.Value().Float64s()
	g, _ := logits.Grad().Float64s()
	fmt.Printf("loss %.4f, gradient %.2f\n", v[0], g)
	// Output:
	// loss 1.3863, gradient [0.20 -0.60 0.20 0.20]
}
