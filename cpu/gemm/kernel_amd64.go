//go:build amd64 && !purego

package gemm

//go:generate go run kernel_gen.go

import "golang.org/x/sys/cpu"

var (
	// AVX2 kernels need FMA3 as well; x/sys/cpu already checks that the
	// OS saves the YMM/ZMM state.
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = cpu.X86.HasAVX512F && hasAVX2
)

// sgemmKernel6x16AVX2 is the AVX2+FMA micro-kernel: a 6×16 tile of C is
// held in 12 YMM accumulators across the whole k loop.
//
//go:noescape
func sgemmKernel6x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32)

// sgemmKernel14x32AVX512 is the AVX-512F micro-kernel: a 14×32 tile held
// in 28 ZMM accumulators. It is a line-for-line widening of the AVX2
// kernel.
//
//go:noescape
func sgemmKernel14x32AVX512(k int, a, b, c *float32, ldc int, alpha, beta float32)

// sgemmKernel6x16RowsAVX2 is sgemmKernel6x16AVX2 with A read unpacked
// from six rows of a row-major matrix: row r of the tile is a[r*lda:].
//
//go:noescape
func sgemmKernel6x16RowsAVX2(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)

// sgemmKernel6x16ColsAVX2 is sgemmKernel6x16AVX2 with A read unpacked and
// k-major: the six A values of step p are a[p*lda : p*lda+6].
//
//go:noescape
func sgemmKernel6x16ColsAVX2(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)

// dgemmKernel6x8AVX2 is the float64 AVX2+FMA micro-kernel (6×8 tile, the
// float32 kernel with 4-lane doubles).
//
//go:noescape
func dgemmKernel6x8AVX2(k int, a, b, c *float64, ldc int, alpha, beta float64)

// setup32 returns the float32 blocking and micro-kernel for k.
//
// Blocking for AVX2 (tuned on Zen 3: 32 KiB L1d, 512 KiB L2 per core):
// kc=256 makes a packed B micro-panel 256×16×4 B = 16 KiB (half of L1),
// mc=144 makes the packed A block 144×256×4 B = 144 KiB (L2), and
// nc=4080 bounds the packed B block to ~4 MiB (L3).
func setup32(k Kernel) setup[float32] {
	switch k {
	case AVX2:
		return setup[float32]{
			kern:     sgemmKernel6x16AVX2,
			kernRows: sgemmKernel6x16RowsAVX2,
			kernCols: sgemmKernel6x16ColsAVX2,
			mr:       6, nr: 16,
			kc: 256, mc: 144, nc: 4080,
			small: 256, // packing wins from about 6×6×6 up
		}
	case AVX512:
		return setup[float32]{
			kern: sgemmKernel14x32AVX512,
			mr:   14, nr: 32,
			kc: 256, mc: 168, nc: 4064,
			small: 256, // packing wins from about 6×6×6 up
		}
	}
	return genericSetup[float32]()
}

// setup64 returns the float64 blocking and micro-kernel for k.
func setup64(k Kernel) setup[float64] {
	if (k == AVX2 || k == AVX512) && hasAVX2 {
		return setup[float64]{
			kern: dgemmKernel6x8AVX2,
			mr:   6, nr: 8,
			kc: 256, mc: 72, nc: 4088,
			small: 256, // packing wins from about 6×6×6 up
		}
	}
	return genericSetup[float64]()
}
