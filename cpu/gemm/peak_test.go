package gemm

import (
	"sync"
	"testing"
	"time"
)

func TestPeakTmp(t *testing.T) {
	run := func(th int) float64 {
		var wg sync.WaitGroup
		start := time.Now()
		const iters = 200000
		for g := 0; g < th; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := alignedSlice[float32](6 * 256)
				b := alignedSlice[float32](16 * 256)
				c := alignedSlice[float32](6 * 16)
				for i := 0; i < iters; i++ {
					sgemmKernel6x16AVX2(256, &a[0], &b[0], &c[0], 16, 1, 1)
				}
			}()
		}
		wg.Wait()
		return float64(th) * iters * 2 * 6 * 16 * 256 / time.Since(start).Seconds() / 1e9
	}
	for i := 0; i < 5; i++ {
		t.Logf("1 thread: %.1f GFLOP/s, 2 threads: %.1f GFLOP/s", run(1), run(2))
	}
}
