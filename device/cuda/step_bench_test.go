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

// BenchmarkSplitK times the products split-k exists for, whole (one
// launch of gemmPlan's or the autotuner's tile) and split as splitKPlan
// and gemmBatchPlan choose ("auto"), then with each batched tile forced
// and with half and twice the parts: the data for tuning both plans on
// the card in hand (gpu-run.sh's tiles step).
func BenchmarkSplitK(b *testing.B) {
	d := open(b)
	defer d.Close()
	shapes := []struct {
		name    string
		m, n, k int
	}{
		{"conv1-gW/32x27x131072", 32, 27, 131072}, // CIFAR conv 3→32, K = 128: Eᵀ X̃
		{"conv2-gW/64x288x32768", 64, 288, 32768}, // conv 32→64, stride 2
		{"fc-gW/10x4096x4096", 10, 4096, 4096},    // a classifier's gradient
		{"fc-fwd/4096x10x4096", 4096, 10, 4096},   // and its forward product
	}
	type variant struct {
		name        string
		whole       bool
		tile, scale int
	}
	variants := []variant{{name: "whole", whole: true}, {name: "auto"}, {name: "parts/2", scale: -1}, {name: "parts*2", scale: 1}}
	for tile, g := range gemmTiles[:numPlanTiles] {
		if g.batched {
			variants = append(variants, variant{name: "tile" + g.suffix, tile: tile + 1})
		}
	}
	for _, s := range shapes {
		rng := rand.New(rand.NewPCG(3, uint64(s.k)))
		A, B := upload(b, d, randVec(rng, s.k*s.m)), upload(b, d, randVec(rng, s.k*s.n))
		C := upload(b, d, make([]float32, s.m*s.n))
		for _, v := range variants {
			b.Run(s.name+"/"+v.name, func(b *testing.B) {
				d.noSplitK, d.splitKTile, d.splitKScale = v.whole, v.tile, v.scale
				defer func() { d.noSplitK, d.splitKTile, d.splitKScale = false, 0, 0 }()
				// op(A) = Aᵀ (A stored k×m, as Eᵀ is), op(B) = B (k×n).
				gemm := func() { d.Gemm(true, false, s.m, s.n, s.k, 1, A, s.m, B, s.n, 0, C, s.n) }
				gemm() // warm-up: modules, the allocator, autotuning
				if err := d.Sync(); err != nil {
					b.Fatal(err)
				}
				before := d.Stats().Launches
				b.ResetTimer()
				for range b.N {
					gemm()
				}
				if err := d.Sync(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(float64(d.Stats().Launches-before)/float64(b.N), "launches/op")
			})
		}
		d.Free(A)
		d.Free(B)
		d.Free(C)
	}
}
