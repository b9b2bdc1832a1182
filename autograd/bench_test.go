package autograd_test

import (
	"testing"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/tensor"
)

// BenchmarkStep times one training step on the CPU (forward, loss,
// Backward, SGD, Reset) of a small chain, where no gradient is shared, and
// of a residual block x + tanh(xW), whose fan-out makes x's gradient a
// copy on write of the sum's ε. Small sizes make the tape's own overhead
// visible; a steady-state step allocates nothing in both.
func BenchmarkStep(b *testing.B) {
	const k, n = 64, 32
	for _, tc := range []struct {
		name     string
		residual bool
	}{{"chain", false}, {"residual", true}} {
		b.Run(tc.name, func(b *testing.B) {
			dev, err := cpu.New()
			if err != nil {
				b.Fatal(err)
			}
			tp := autograd.NewTape(dev, device.Float32)
			defer tp.Release()
			w1 := autograd.NewParam("w1", must(tensor.Zeros(dev, device.Float32, n, n)))
			b1 := autograd.NewParam("b1", must(tensor.Zeros(dev, device.Float32, n)))
			w2 := autograd.NewParam("w2", must(tensor.Zeros(dev, device.Float32, 10, n)))
			xt := must(tensor.Zeros(dev, device.Float32, k, n))
			yt := must(tensor.Zeros(dev, device.Float32, k))
			params := []*autograd.Var{w1, b1, w2}
			step := func() {
				x := tp.Input(xt, tc.residual)
				h := tp.Linear(x, w1, b1, device.Tanh)
				if tc.residual {
					h = tp.Add(x, h)
				}
				out := tp.Linear(h, w2, nil, device.Identity)
				l := loss.SoftmaxCrossEntropyIndex(tp, out, tp.Constant(yt), loss.Mean)
				if err := tp.Backward(l); err != nil {
					b.Fatal(err)
				}
				for _, p := range params {
					dev.SGD(p.Value().Buffer(), p.Grad().Buffer(), nil, device.SGDConfig{LR: 0.1})
					p.ZeroGrad()
				}
				tp.Reset()
			}
			step()
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
		})
	}
}
