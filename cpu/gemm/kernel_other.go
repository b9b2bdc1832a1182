//go:build !amd64 || purego

package gemm

const (
	hasAVX2   = false
	hasAVX512 = false
)

// setup32 returns the float32 blocking and micro-kernel for k. Only the
// portable kernel exists on this architecture (or with the purego tag).
func setup32(Kernel) setup[float32] { return genericSetup[float32]() }

// setup64 returns the float64 blocking and micro-kernel for k.
func setup64(Kernel) setup[float64] { return genericSetup[float64]() }
