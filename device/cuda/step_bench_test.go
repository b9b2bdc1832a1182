//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/adjoint-go/adjoint/bench"
	"github.com/adjoint-go/adjoint/device"
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

// profiledSteps are the bench's training steps that BenchmarkSplitKSteps
// times and profiles: the CIFAR-sized convolutional network, whose weight
// gradients are products with few blocks of C and k = K·H·W, and the wide
// MLP of issue #4's target, whose classifier gradient (10×4096, k = 4096)
// is split too.
var profiledSteps = []struct{ label, config string }{
	{"conv-cifar", "conv/cifar/3x32x32-32-64/K128"},
	{"mlp-wide4k", "mlp/wide/4096-4096-4096-10/K4096"},
}

// BenchmarkSplitKSteps times one training step of each of profiledSteps
// (as adjoint bench runs it: forward, loss, backward, SGD, one wait) with
// split-k (gemmSplitK) and without, then profiles one step of each and
// logs where its device time goes, kernel by kernel (Device.SetProfiling;
// the log shows under -test.v).
func BenchmarkSplitKSteps(b *testing.B) {
	d := open(b)
	defer d.Close()
	configs := map[string]bench.Config{}
	for _, c := range bench.Table(false) {
		configs[c.Name] = c
	}
	modes := []struct {
		name    string
		noSplit bool
	}{{"split", false}, {"whole", true}}
	var profiles []string
	for _, s := range profiledSteps {
		cfg, ok := configs[s.config]
		if !ok {
			b.Fatalf("bench.Table has no %s", s.config)
		}
		r, err := bench.NewRunner(d, device.Float32, cfg)
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range modes {
			b.Run(s.label+"/"+mode.name, func(b *testing.B) {
				d.noSplitK = mode.noSplit
				defer func() { d.noSplitK = false }()
				if err := r.Step(); err != nil { // the allocator's cache, autotuning
					b.Fatal(err)
				}
				before := d.Stats().Launches
				b.ResetTimer()
				for range b.N {
					if err := r.Step(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(d.Stats().Launches-before)/float64(b.N), "launches/op")
			})
		}
		// Once, here rather than in the sub-benchmarks, which run once per
		// b.N tried.
		for _, mode := range modes {
			d.noSplitK = mode.noSplit
			d.SetProfiling(true)
			err := r.Step()
			prof := d.Profile()
			d.SetProfiling(false)
			d.noSplitK = false
			if err != nil {
				b.Fatal(err)
			}
			profiles = append(profiles, fmt.Sprintf("%s, one profiled step (%s):\n%s", s.config, mode.name, FormatProfile(prof)))
		}
		r.Close()
	}
	for _, p := range profiles {
		b.Log(p)
	}
}
