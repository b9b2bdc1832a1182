package cpu_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
)

// Work above the parallel threshold is split over the worker pool: the
// split must not change which row an error names, nor allocate.
func TestParallelKernels(t *testing.T) {
	dev, err := cpu.New(cpu.WithThreads(2))
	require.NoError(t, err)
	const rows, cols = 300, 129
	alloc := func(n int) device.Buffer {
		b, err := dev.Alloc(device.Float32, n)
		require.NoError(t, err)
		dev.Fill(b, 0.5)
		return b
	}
	pred, losses, eps := alloc(rows*cols), alloc(rows), alloc(rows*cols)
	target := alloc(rows)
	dev.Fill(target, 1)
	require.NoError(t, dev.Upload32(target, append(make([]float32, 250), append([]float32{float32(cols)}, make([]float32, rows-251)...)...)))
	dev.Loss(device.SoftmaxCrossEntropyIndex, 0, pred, target, rows, cols, losses, eps, 1)
	err = dev.Sync()
	require.ErrorContains(t, err, "row 250: class index 129 is not an integer in [0, 129)")
	require.ErrorIs(t, err, device.ErrInvalidInput)
	require.ErrorIs(t, dev.Sync(), device.ErrInvalidInput, "reported until the batch is done")
	dev.ClearInputErr()
	require.NoError(t, dev.Sync(), "the device goes on")

	dev2, err := cpu.New(cpu.WithThreads(2))
	require.NoError(t, err)
	x, err := dev2.Alloc(device.Float32, rows*cols)
	require.NoError(t, err)
	y, err := dev2.Alloc(device.Float32, rows*cols)
	require.NoError(t, err)
	require.Zero(t, testing.AllocsPerRun(20, func() {
		dev2.Unary(device.Tanh, 0, x, y)
		dev2.BiasActivation(device.ReLU, 0, x, rows, cols, nil, y)
		dev2.Axpy(0.5, x, y)
	}))
}

// TestParallelCallers drives one device from several goroutines, as a
// server answering requests with one model does: every call is
// serialised, so each goroutine gets the results it would get alone (the
// race detector runs this in make test).
func TestParallelCallers(t *testing.T) {
	dev, err := cpu.New(cpu.WithThreads(2))
	require.NoError(t, err)
	const n, goroutines, rounds = 96, 4, 20
	w := make([]float32, n*n)
	for i := range w {
		w[i] = float32(i%7) - 3
	}
	W, err := dev.Alloc(device.Float32, n*n)
	require.NoError(t, err)
	require.NoError(t, dev.Upload32(W, w))
	// forward computes relu(x Wᵀ) for a batch whose rows are all v.
	forward := func(v float32) ([]float32, error) {
		x, err := dev.Alloc(device.Float32, n*n)
		if err != nil {
			return nil, err
		}
		defer dev.Free(x)
		y, err := dev.Alloc(device.Float32, n*n)
		if err != nil {
			return nil, err
		}
		defer dev.Free(y)
		dev.Fill(x, float64(v))
		dev.Gemm(false, true, n, n, n, 1, x, n, W, n, 0, y, n)
		dev.Unary(device.ReLU, 0, y, y)
		out := make([]float32, n*n)
		return out, dev.Download32(out, y)
	}
	want := map[float32][]float32{}
	for g := range goroutines {
		v := float32(g + 1)
		out, err := forward(v)
		require.NoError(t, err)
		want[v] = out
	}
	errs := make(chan error, goroutines)
	for g := range goroutines {
		go func() {
			v := float32(g + 1)
			for range rounds {
				out, err := forward(v)
				if err != nil {
					errs <- err
					return
				}
				for i := range out {
					if out[i] != want[v][i] {
						errs <- fmt.Errorf("goroutine %d: element %d = %v, want %v", g, i, out[i], want[v][i])
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range goroutines {
		require.NoError(t, <-errs)
	}
}

// TestParallelGemmStrided: a batch of small products, split over the workers
// each with an engine of its own, gives the bits of the same products on
// one thread (interleaved C blocks too, as a grouped convolution writes),
// and a warm call allocates nothing.
func TestParallelGemmStrided(t *testing.T) {
	one, err := cpu.New(cpu.WithThreads(1))
	require.NoError(t, err)
	two, err := cpu.New(cpu.WithThreads(2))
	require.NoError(t, err)
	for _, tc := range []struct {
		name           string
		batch, m, n, k int
		ldc, strideC   int
		transA, transB bool
	}{
		{"stacked", 12, 33, 20, 17, 20, 33 * 20, false, true},
		{"interleaved", 8, 200, 3, 9, 8 * 3, 3, false, false},
		{"transposed", 6, 64, 64, 32, 64, 64 * 64, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lenA, lenB := tc.batch*tc.m*tc.k, tc.batch*tc.k*tc.n
			lenC := (tc.batch-1)*tc.strideC + (tc.m-1)*tc.ldc + tc.n
			a, b, c0 := make([]float32, lenA), make([]float32, lenB), make([]float32, lenC)
			for i := range a {
				a[i] = float32(i%13)/7 - 0.9
			}
			for i := range b {
				b[i] = float32(i%11)/5 - 1.1
			}
			for i := range c0 {
				c0[i] = float32(i%5) - 2
			}
			run := func(dev *cpu.CPU) []float32 {
				bufs := make([]device.Buffer, 3)
				for i, v := range [][]float32{a, b, c0} {
					bufs[i], err = dev.Alloc(device.Float32, len(v))
					require.NoError(t, err)
					require.NoError(t, dev.Upload32(bufs[i], v))
				}
				lda, ldb := tc.k, tc.n
				if tc.transA {
					lda = tc.m
				}
				if tc.transB {
					ldb = tc.k
				}
				call := func() {
					dev.GemmStrided(tc.transA, tc.transB, tc.batch, tc.m, tc.n, tc.k, 1.5, bufs[0], lda, tc.m*tc.k,
						bufs[1], ldb, tc.k*tc.n, 0.25, bufs[2], tc.ldc, tc.strideC)
				}
				call()
				out := append([]float32(nil), cpu.Float32s(bufs[2])...)
				require.Zero(t, testing.AllocsPerRun(5, call), "a warm GemmStrided")
				return out
			}
			require.Equal(t, run(one), run(two))
		})
	}
}

// BenchmarkGemmStridedSmall times batches of products too small for the
// GEMM engine to split (attention's per-head products, a depthwise
// convolution's per-channel ones) on one thread and on two, where the
// batch is split by products: the ratio of the two is the gain.
func BenchmarkGemmStridedSmall(b *testing.B) {
	for _, sh := range []struct {
		name           string
		batch, m, n, k int
	}{{"heads64/128x128x64", 64, 128, 128, 64}, {"depthwise32/1024x1x9", 32, 1024, 1, 9}} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", sh.name, threads), func(b *testing.B) {
				dev, err := cpu.New(cpu.WithThreads(threads))
				require.NoError(b, err)
				alloc := func(n int) device.Buffer {
					buf, err := dev.Alloc(device.Float32, n)
					require.NoError(b, err)
					dev.Fill(buf, 0.5)
					return buf
				}
				A, B, C := alloc(sh.batch*sh.m*sh.k), alloc(sh.batch*sh.k*sh.n), alloc(sh.batch*sh.m*sh.n)
				for range b.N {
					dev.GemmStrided(false, true, sh.batch, sh.m, sh.n, sh.k, 1, A, sh.k, sh.m*sh.k, B, sh.k, sh.k*sh.n, 0, C, sh.n, sh.m*sh.n)
				}
				b.ReportMetric(2*float64(sh.batch*sh.m*sh.n*sh.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
