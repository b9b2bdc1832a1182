package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSgemm measures square products for every available kernel with
// the default thread count (GOMAXPROCS) and reports GFLOP/s.
//
//	go test -bench Sgemm -run XXX ./cpu/gemm/
func BenchmarkSgemm(b *testing.B) {
	type cfg struct {
		name   string
		ta, tb bool
		n      int
	}
	var cfgs []cfg
	for _, n := range []int{64, 256, 512, 1024, 2048} {
		cfgs = append(cfgs, cfg{"NN", false, false, n})
	}
	cfgs = append(cfgs, cfg{"NT", false, true, 1024}, cfg{"TN", true, false, 1024})
	for _, k := range Available() {
		e, err := New(k, 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cfgs {
			if k == Generic && c.n > 1024 {
				continue // minutes per op; not informative
			}
			b.Run(fmt.Sprintf("%v/%s/n=%d", k, c.name, c.n), func(b *testing.B) {
				benchSgemm(b, e, c.ta, c.tb, c.n, c.n, c.n)
			})
		}
		e.Close()
	}
}

// BenchmarkSgemmMLP measures the products of a small MLP (64-128-10,
// batch 64): forward, and the two gradient products of each layer.
func BenchmarkSgemmMLP(b *testing.B) {
	shapes := []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"fwd1", false, false, 64, 128, 64},
		{"fwd2", false, false, 64, 10, 128},
		{"dW2", true, false, 128, 10, 64},
		{"dX2", false, true, 64, 128, 10},
		{"dW1", true, false, 64, 128, 64},
	}
	for _, k := range Available() {
		e, err := New(k, 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range shapes {
			b.Run(fmt.Sprintf("%v/%s", k, s.name), func(b *testing.B) {
				benchSgemm(b, e, s.ta, s.tb, s.m, s.n, s.k)
			})
		}
		e.Close()
	}
}

func benchSgemm(b *testing.B, e *Engine, ta, tb bool, m, n, k int) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := make([]float32, m*k)
	bb := make([]float32, k*n)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = rng.Float32()
	}
	for i := range bb {
		bb[i] = rng.Float32()
	}
	lda, ldb := k, n
	if ta {
		lda = m
	}
	if tb {
		ldb = k
	}
	e.Sgemm(ta, tb, m, n, k, 1, a, lda, bb, ldb, 0, c, n) // warm up buffers
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Sgemm(ta, tb, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)/sec/1e9, "GFLOP/s")
}

// BenchmarkDgemm measures the float64 path (square, NN).
func BenchmarkDgemm(b *testing.B) {
	for _, k := range Available() {
		e, err := New(k, 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{64, 256, 1024} {
			if k == Generic && n > 256 {
				continue
			}
			b.Run(fmt.Sprintf("%v/NN/n=%d", k, n), func(b *testing.B) {
				a := make([]float64, n*n)
				bb := make([]float64, n*n)
				c := make([]float64, n*n)
				for i := range a {
					a[i], bb[i] = float64(i%7), float64(i%5)
				}
				e.Dgemm(false, false, n, n, n, 1, a, n, bb, n, 0, c, n)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					e.Dgemm(false, false, n, n, n, 1, a, n, bb, n, 0, c, n)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(2*float64(n)*float64(n)*float64(n)/sec/1e9, "GFLOP/s")
			})
		}
		e.Close()
	}
}

// BenchmarkSgemmMid measures the mid-sized products (n = 64…512 squares
// and the shapes of small and medium MLP layers) with the best kernel, on
// one thread and on the default number of threads.
//
//	go test -bench SgemmMid -run XXX ./cpu/gemm/
func BenchmarkSgemmMid(b *testing.B) {
	type cfg struct {
		name    string
		ta, tb  bool
		m, n, k int
	}
	var cfgs []cfg
	for _, n := range []int{64, 128, 256, 512} {
		cfgs = append(cfgs,
			cfg{fmt.Sprintf("NN/%d", n), false, false, n, n, n},
			cfg{fmt.Sprintf("NT/%d", n), false, true, n, n, n},
			cfg{fmt.Sprintf("TN/%d", n), true, false, n, n, n})
	}
	cfgs = append(cfgs,
		cfg{"NN/64x128x64", false, false, 64, 128, 64},
		cfg{"NN/64x10x128", false, false, 64, 10, 128},
		cfg{"TN/128x10x64", true, false, 128, 10, 64},
		cfg{"NT/64x128x10", false, true, 64, 128, 10},
		cfg{"NN/10x128x64", false, false, 10, 128, 64},
		cfg{"NN/256x10x512", false, false, 256, 10, 512},
		cfg{"TN/512x10x256", true, false, 512, 10, 256},
		cfg{"NT/256x512x784", false, true, 256, 512, 784},
		cfg{"NN/256x784x512", false, false, 256, 784, 512},
		cfg{"TN/512x784x256", true, false, 512, 784, 256})
	ks := Available()
	for _, threads := range []int{1, 0} {
		e, err := New(ks[len(ks)-1], threads)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cfgs {
			b.Run(fmt.Sprintf("t=%d/%s", e.Threads(), c.name), func(b *testing.B) {
				benchSgemm(b, e, c.ta, c.tb, c.m, c.n, c.k)
			})
		}
		e.Close()
	}
}
