package cpu_test

import (
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
	require.ErrorContains(t, dev.Sync(), "row 250: class index 129 out of range [0, 129)")

	dev2, err := cpu.New(cpu.WithThreads(2))
	require.NoError(t, err)
	x, err := dev2.Alloc(device.Float32, rows*cols)
	require.NoError(t, err)
	y, err := dev2.Alloc(device.Float32, rows*cols)
	require.NoError(t, err)
	require.Zero(t, testing.AllocsPerRun(20, func() {
		dev2.Unary(device.Tanh, x, y)
		dev2.BiasActivation(device.ReLU, x, rows, cols, nil, y)
		dev2.Axpy(0.5, x, y)
	}))
}
