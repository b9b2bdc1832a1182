package cuda

import (
	"math"
	"testing"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/data"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
)

// trainer runs the training step of `adjoint train` (digits, 64-128-10
// ReLU, Adam, softmax cross-entropy) on one device: everything stays on the
// device, and only the loss value comes back each step.
type trainer struct {
	dev     device.Device
	tp      *autograd.Tape
	model   *nn.Sequential
	opt     *optim.Adam
	correct device.Buffer
	lossOut [1]float64
}

func newTrainer(t testing.TB, dev device.Device) *trainer {
	t.Helper()
	model, err := nn.MLP(dev, []int{64, 128, 10}, device.ReLU, 1)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.NewAdam(model.Params(), optim.DefaultAdam())
	if err != nil {
		t.Fatal(err)
	}
	correct, err := dev.Alloc(device.Float32, 1)
	if err != nil {
		t.Fatal(err)
	}
	dev.Fill(correct, 0)
	tr := &trainer{dev: dev, tp: autograd.NewTape(dev, device.Float32), model: model, opt: opt, correct: correct}
	t.Cleanup(func() {
		dev.Free(correct)
		tr.tp.Release()
		nn.Release(model)
	})
	return tr
}

func (tr *trainer) step(x, y []float32, k int) (float64, error) {
	tp := tr.tp
	defer tp.Reset()
	xt, yt := tp.Temp(k, 64), tp.Temp(k)
	if err := tp.Err(); err != nil {
		return 0, err
	}
	if err := tr.dev.Upload32(xt.Buffer(), x); err != nil {
		return 0, err
	}
	if err := tr.dev.Upload32(yt.Buffer(), y); err != nil {
		return 0, err
	}
	logits := tr.model.Forward(tp, tp.Constant(xt))
	l := loss.SoftmaxCrossEntropyIndex(tp, logits, tp.Constant(yt), loss.Mean)
	tr.dev.ArgMaxMatches(logits.Value().Buffer(), k, 10, yt.Buffer(), 1, tr.correct)
	tr.opt.ZeroGrad()
	if err := tp.Backward(l); err != nil {
		return 0, err
	}
	if err := tr.opt.Step(); err != nil {
		return 0, err
	}
	if err := tr.dev.Download64(tr.lossOut[:], l.Value().Buffer()); err != nil {
		return 0, err
	}
	return tr.lossOut[0], nil
}

// compareTraining trains the same model from the same initialisation on
// dev and on ref, batch for batch, and requires the losses, the count of
// correct predictions and the final parameters to agree to float32
// accuracy. It returns dev's trainer and a batch, for further checks.
func compareTraining(t *testing.T, dev, ref device.Device, steps int) (*trainer, []float32, []float32) {
	t.Helper()
	ds, err := data.Digits()
	if err != nil {
		t.Fatal(err)
	}
	std := data.FitStandardizer(ds.X, ds.Features)
	std.Apply(ds.X)
	a, b := newTrainer(t, dev), newTrainer(t, ref)
	const k = 64
	batches := ds.Len() / k
	for s := range steps {
		n := s % batches
		x, y := ds.X[n*k*64:(n+1)*k*64], ds.Y[n*k:(n+1)*k]
		la, err := a.step(x, y, k)
		if err != nil {
			t.Fatalf("step %d on %s: %v", s, dev.Name(), err)
		}
		lb, err := b.step(x, y, k)
		if err != nil {
			t.Fatalf("step %d on %s: %v", s, ref.Name(), err)
		}
		if math.Abs(la-lb) > 2e-3*max(1, math.Abs(lb)) {
			t.Errorf("step %d: loss %.6f on %s, %.6f on %s", s, la, dev.Name(), lb, ref.Name())
		}
		if s%20 == 0 || s == steps-1 {
			t.Logf("step %2d: loss %.6f (%s) %.6f (%s)", s, la, dev.Name(), lb, ref.Name())
		}
	}
	counts := make([]float32, 2)
	if err := dev.Download32(counts[:1], a.correct); err != nil {
		t.Fatal(err)
	}
	if err := ref.Download32(counts[1:], b.correct); err != nil {
		t.Fatal(err)
	}
	t.Logf("correct predictions over %d samples: %v (%s) %v (%s)", steps*k, counts[0], dev.Name(), counts[1], ref.Name())
	// Near-ties in the logits may flip a few argmaxes between devices; the
	// count must also beat chance (one in ten), even this early in training.
	if diff := math.Abs(float64(counts[0] - counts[1])); diff > 0.01*float64(steps*k) || counts[0] <= float32(steps*k)/10 {
		t.Errorf("correct predictions over %d samples: %v on %s, %v on %s", steps*k, counts[0], dev.Name(), counts[1], ref.Name())
	}
	pa, pb := a.model.Params(), b.model.Params()
	for i := range pa {
		va, err := pa[i].Value().Float32s()
		if err != nil {
			t.Fatal(err)
		}
		vb, err := pb[i].Value().Float32s()
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for j := range va {
			worst = max(worst, math.Abs(float64(va[j]-vb[j])))
		}
		if worst > 1e-3 {
			t.Errorf("parameter %d after %d steps: max |%s − %s| = %.3g", i, steps, dev.Name(), ref.Name(), worst)
		}
	}
	return a, ds.X[:k*64], ds.Y[:k]
}

// TestCompareTrainingOnCPU runs compareTraining between two CPU devices
// that compute differently (portable GEMM on one thread against the
// default kernels), so that the comparison the GPU run relies on is itself
// tested in CI.
func TestCompareTrainingOnCPU(t *testing.T) {
	ref, err := device.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	other, err := cpu.New(cpu.WithKernel("generic"), cpu.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	compareTraining(t, other, ref, 60)
}
