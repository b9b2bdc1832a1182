package tensor_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

func TestTensor(t *testing.T) {
	dev, err := cpu.New()
	require.NoError(t, err)

	t.Run("round trip", func(t *testing.T) {
		x, err := tensor.FromFloat32(dev, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
		require.NoError(t, err)
		require.Equal(t, []int{2, 3}, x.Shape())
		require.Equal(t, 2, x.Rows())
		require.Equal(t, 3, x.Cols())
		require.Equal(t, device.Float32, x.DType())
		v, err := x.Float32s()
		require.NoError(t, err)
		require.Equal(t, []float32{1, 2, 3, 4, 5, 6}, v)
	})
	t.Run("shape errors", func(t *testing.T) {
		_, err := tensor.FromFloat32(dev, []float32{1, 2, 3}, 2, 2)
		require.EqualError(t, err, "tensor: FromFloat32: 3 values do not fill shape [2 2] (4 elements)")
		require.PanicsWithValue(t, "tensor: New: negative dimension in shape [2 -1]", func() { _, _ = tensor.New(dev, device.Float32, 2, -1) })
		require.PanicsWithValue(t, "tensor: New: shape [4294967296 4294967296] has more than MaxInt elements", func() { _, _ = tensor.New(dev, device.Float32, 1<<32, 1<<32) })
	})
	t.Run("reshape is a view", func(t *testing.T) {
		x, _ := tensor.FromFloat64(dev, []float64{1, 2, 3, 4, 5, 6}, 2, 3)
		v := x.Reshape(3, -1)
		require.Equal(t, []int{3, 2}, v.Shape())
		v.Release() // does not free x's memory
		got, err := x.Float64s()
		require.NoError(t, err)
		require.Equal(t, []float64{1, 2, 3, 4, 5, 6}, got)
	})
	t.Run("scalar", func(t *testing.T) {
		s, err := tensor.FromFloat64(dev, []float64{2.5})
		require.NoError(t, err)
		v, err := s.Reshape().Item()
		require.NoError(t, err)
		require.Equal(t, 2.5, v)
		_, err = tensor.Zeros(dev, device.Float32, 2)
		require.NoError(t, err)
		z, _ := tensor.Zeros(dev, device.Float32, 2)
		_, err = z.Item()
		require.EqualError(t, err, "tensor: Item on shape [2] (2 elements)")
	})
}

func ExampleFromFloat32() {
	dev, _ := cpu.New()
	x, _ := tensor.FromFloat32(dev, []float32{1, 2, 3, 4, 5, 6}, 2, 3) // K = 2 samples, N = 3 features
	fmt.Println(x)
	fmt.Println(x.Rows(), x.Cols())
	// Output:
	// Tensor([2 3] float32 cpu [1 2 3 4 5 6])
	// 2 3
}

// TestDownloadInvalid: the downloads of a tensor without memory (a
// released one, the zero Tensor) return ErrInvalid instead of crashing.
func TestDownloadInvalid(t *testing.T) {
	dev, err := cpu.New()
	require.NoError(t, err)
	released, err := tensor.New(dev, device.Float32, 2)
	require.NoError(t, err)
	released.Release()
	for name, x := range map[string]*tensor.Tensor{"released": released, "zero": {}} {
		_, err := x.Float32s()
		require.ErrorIs(t, err, tensor.ErrInvalid, name)
		_, err = x.Float64s()
		require.ErrorIs(t, err, tensor.ErrInvalid, name)
		_, err = x.Item()
		require.ErrorIs(t, err, tensor.ErrInvalid, name)
	}
}
