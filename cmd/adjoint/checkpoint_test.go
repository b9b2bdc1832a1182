package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/safetensors"
	"github.com/adjoint-go/adjoint/tensor"
)

// TestOptimTensor: optimizer state is stored in its parameter's dtype, and
// reads back exactly: F32 for a float32 parameter (its state, widened to
// float64 by optim.State, narrows back exactly), F64 for a float64 one.
func TestOptimTensor(t *testing.T) {
	dev, err := cpu.New()
	require.NoError(t, err)
	tests := []struct {
		dtype device.DType
		want  string
		v     []float64
	}{
		{device.Float32, "F32", []float64{float64(float32(0.1)), -3, float64(float32(math.Pi)), float64(float32(1e-30))}},
		{device.Float64, "F64", []float64{0.1, -3, math.Pi, 1e-300}},
	}
	for _, tc := range tests {
		t.Run(tc.dtype.String(), func(t *testing.T) {
			x, err := tensor.Zeros(dev, tc.dtype, 2, 2)
			require.NoError(t, err)
			p := autograd.NewParam("w", x)
			st := optimTensor(p, tc.v)
			assert.Equal(t, tc.want, st.DType)
			assert.Equal(t, []int{2, 2}, st.Shape)
			got, err := st.Float64()
			require.NoError(t, err)
			require.Equal(t, tc.v, got)
			assert.Equal(t, tc.want, optimDType(tc.dtype))
		})
	}
}

// TestCheckpointOptimDType: adjoint train stores a float32 model's
// optimizer state as F32, as it always has, and a resume refuses a buffer
// stored in another dtype than its parameter's rather than round it.
func TestCheckpointOptimDType(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "small.st")
	adjointOK(t, "train", "--epochs", "1", "--hidden", "8", "--save", ck)
	f, err := safetensors.LoadFile(ck)
	require.NoError(t, err)
	n := 0
	for name, st := range f.Tensors {
		if strings.HasPrefix(name, "optim/") {
			assert.Equal(t, "F32", st.DType, name)
			n++
		}
	}
	assert.Equal(t, 8, n, "exp_avg and exp_avg_sq of 4 parameters")

	v, err := f.Tensors["optim/0/exp_avg"].Float64()
	require.NoError(t, err)
	f.Tensors["optim/0/exp_avg"] = safetensors.FromFloat64(f.Tensors["optim/0/exp_avg"].Shape, v)
	f64 := filepath.Join(dir, "f64.st")
	require.NoError(t, safetensors.SaveFile(f64, f))
	code, out, errs := adjoint(t, "train", "--resume", f64, "--epochs", "2")
	assert.Equal(t, 1, code, "stderr: %s", errs)
	assert.Empty(t, out)
	assert.Contains(t, errs, "f64.st: optim/0/exp_avg: dtype F64, want F32 for the float32 parameter 0.weight")
}
