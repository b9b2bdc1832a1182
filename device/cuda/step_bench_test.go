//go:build cuda || cudaemu

package cuda

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkTrainingStep times one training step of the digits MLP
// (64-128-10, Adam, K = 64) from upload to the loss on the host. On a GPU
// it is the small step of the target; on the stand-in driver with
// FAKECUDA_NULL=1 (kernels checked, not run) it is the host's share of
// that step: the launches and copies through exec, cgo and
// gorgonia.org/cu, which no GPU can make faster.
func BenchmarkTrainingStep(b *testing.B) {
	d := open(b)
	defer d.Close()
	tr, x, y := warmTrainer(b, d)
	before := d.Stats()
	b.ResetTimer()
	for range b.N {
		if _, err := tr.step(x, y, 64); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	after := d.Stats()
	b.ReportMetric(float64(after.Launches-before.Launches)/float64(b.N), "launches/op")
	b.ReportMetric(float64(after.RoundTrips-before.RoundTrips)/float64(b.N), "roundtrips/op")
}

// warmTrainer returns a trainer of the digits MLP on d and a batch of 64
// samples, after one step on it: the allocator's cache and the optimizer's
// tensor table are then warm, as in any later step.
func warmTrainer(tb testing.TB, d *Device) (tr *trainer, x, y []float32) {
	tb.Helper()
	tr = newTrainer(tb, d)
	rng := rand.New(rand.NewPCG(7, 8))
	x, y = randVec(rng, 64*64), make([]float32, 64)
	for i := range y {
		y[i] = float32(i % 10)
	}
	if _, err := tr.step(x, y, 64); err != nil {
		tb.Fatal(err)
	}
	return tr, x, y
}
