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
