package cpu_test

import (
	"fmt"
	"testing"

	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device/devicetest"
)

// TestConformance runs the device conformance suite on the default CPU
// device, on one whose allocations start as NaN, and on every GEMM kernel
// that this build and this CPU provide, single-threaded and with two
// threads. Each run gets a fresh device: the suite's last check leaves a
// recorded error behind.
func TestConformance(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		dev, err := cpu.New()
		if err != nil {
			t.Fatalf("cpu.New(): %v", err)
		}
		devicetest.Run(t, dev)
	})
	// Buffers that start as NaN, as a GPU's fresh memory may hold anything:
	// a kernel that reads its output before writing it fails here.
	t.Run("poison", func(t *testing.T) {
		dev, err := cpu.New(cpu.WithPoison())
		if err != nil {
			t.Fatalf("cpu.New(WithPoison): %v", err)
		}
		devicetest.Run(t, dev)
	})
	for _, kernel := range []string{"generic", "avx2", "avx512"} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("kernel=%s/threads=%d", kernel, threads), func(t *testing.T) {
				dev, err := cpu.New(cpu.WithKernel(kernel), cpu.WithThreads(threads))
				if err != nil {
					t.Skipf("kernel %q is not available in this build or on this CPU: cpu.New: %v", kernel, err)
				}
				devicetest.Run(t, dev)
			})
		}
	}
}
