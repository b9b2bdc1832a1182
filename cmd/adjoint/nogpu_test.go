//go:build cuda

package main

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/adjoint-go/adjoint/device"
)

// TestCUDABuildWithoutGPU: a `-tags cuda` build on a host where the driver
// finds no device (CI: the toolkit's libcuda without a GPU, or the
// stand-in driver with FAKECUDA_DEVICES=0) still trains on the CPU, and
// `--device cuda` fails with one line that names the driver's answer and
// exit status 1, instead of the process ending in gorgonia.org/cu's init.
// `make cuda-fake` runs it both ways.
func TestCUDABuildWithoutGPU(t *testing.T) {
	if d, err := device.Open("cuda"); err == nil {
		if c, ok := d.(io.Closer); ok {
			c.Close()
		}
		t.Skip("this host has a CUDA device; TestTrainCUDAMatchesCPU covers the cuda build with one")
	}
	r := trainJSON(t, "--epochs", "1", "--hidden", "16")
	assert.Equal(t, "cpu", r.Device)
	code, out, errs := adjoint(t, "train", "--epochs", "1", "--device", "cuda")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, 1, strings.Count(errs, "\n"), "one line: %q", errs)
	assert.Contains(t, errs, "adjoint: train: device \"cuda\": ")
	assert.Contains(t, errs, "cuInit returned CUDA_ERROR_NO_DEVICE")
}
