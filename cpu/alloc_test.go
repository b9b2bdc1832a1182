package cpu_test

import (
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
)

// TestWithPoison checks that a poisoning device hands out NaN, in new
// buffers and in buffers reused from its cache, of both dtypes.
func TestWithPoison(t *testing.T) {
	dev, err := cpu.New(cpu.WithPoison())
	require.NoError(t, err)
	for _, dt := range []device.DType{device.Float32, device.Float64} {
		t.Run(dt.String(), func(t *testing.T) {
			values := func(b device.Buffer) []float64 {
				out := make([]float64, b.Len())
				if dt == device.Float32 {
					for i, v := range cpu.Float32s(b) {
						out[i] = float64(v)
					}
				} else {
					copy(out, cpu.Float64s(b))
				}
				return out
			}
			for round := range 2 { // a new buffer, then the same one from the cache
				b, err := dev.Alloc(dt, 5)
				require.NoError(t, err)
				for i, v := range values(b) {
					require.Truef(t, math.IsNaN(v), "round %d: element %d = %v, want NaN", round, i, v)
				}
				dev.Fill(b, 1)
				require.Equal(t, []float64{1, 1, 1, 1, 1}, values(b))
				dev.Free(b)
			}
		})
	}
}

// TestAllocBeyondMemory asks for a buffer larger than any machine's
// memory: Alloc must return an error wrapping device.ErrOutOfMemory, where
// make would end the process with Go's unrecoverable "out of memory".
func TestAllocBeyondMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the machine's memory is read on Linux only")
	}
	dev, err := cpu.New()
	require.NoError(t, err)
	for _, dt := range []device.DType{device.Float32, device.Float64} {
		_, err := dev.Alloc(dt, math.MaxInt/2)
		require.ErrorIs(t, err, device.ErrOutOfMemory)
		require.Contains(t, err.Error(), "GiB of memory")
		b, err := dev.Alloc(dt, 1<<20) // the device stays usable
		require.NoError(t, err)
		dev.Free(b)
	}
}
