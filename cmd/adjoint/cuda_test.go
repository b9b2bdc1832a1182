//go:build cuda || cudaemu

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestTrainCUDAMatchesCPU runs `adjoint train` on the cuda device (a GPU,
// or with -tags cudaemu the CPU emulation of the same kernels) and on the
// cpu device, and requires the same metrics: the whole command path,
// evaluation included, on the CUDA backend.
func TestTrainCUDAMatchesCPU(t *testing.T) {
	for _, norm := range []string{"none", "layer"} {
		t.Run("norm="+norm, func(t *testing.T) {
			args := []string{"--epochs", "2", "--hidden", "32", "--batch", "128", "--seed", "5", "--norm", norm}
			g := trainJSON(t, append([]string{"--device", "cuda"}, args...)...)
			c := trainJSON(t, append([]string{"--device", "cpu"}, args...)...)
			assert.Contains(t, g.Device, "cuda")
			assert.Greater(t, g.LoadSeconds, 0.0, "the cuda device preloads its kernels before the clock starts")
			assert.Zero(t, c.LoadSeconds, "the cpu device has nothing to load")
			assert.InDelta(t, c.TrainLoss, g.TrainLoss, 1e-4)
			assert.InDelta(t, c.TestLoss, g.TestLoss, 1e-4)
			assert.InDelta(t, c.TestAccuracy, g.TestAccuracy, 0.01)
			assert.Greater(t, g.TestAccuracy, 0.2, "better than chance after two epochs")
		})
	}
	// --tf32x3 is accepted by a cuda device; these products stay below its
	// threshold, so the metrics are those of FP32.
	args := []string{"--epochs", "1", "--hidden", "32", "--seed", "5"}
	g := trainJSON(t, append([]string{"--device", "cuda", "--tf32x3"}, args...)...)
	c := trainJSON(t, append([]string{"--device", "cpu"}, args...)...)
	assert.InDelta(t, c.TestLoss, g.TestLoss, 1e-4)
}
