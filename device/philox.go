package device

import "math"

// Dropout masks are drawn from Philox-4x32-10 (Salmon, Moraes, Dror and
// Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the
// counter-based generator that cuRAND and PyTorch's CUDA generator use: a
// block of four 32-bit words is a pure function of a 128-bit counter and a
// 64-bit key, so every GPU thread draws its own block with no shared state
// and every device draws the same bits. This file is the definition that
// Device.DropoutMask implements (kernels/elementwise.cu has the CUDA one)
// and that device/devicetest checks against.

// The multipliers and key increments (Weyl constants) of Philox-4x32.
const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9 // golden ratio
	philoxW1 = 0xBB67AE85 // √3 − 1
)

// Philox4x32 returns the Philox-4x32-10 block of counter ctr under key:
// ten rounds, each two 32×32→64-bit products whose halves are crossed
// with the other words and the round key, the key bumped by the Weyl
// constants between rounds.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	for round := 0; round < 10; round++ {
		if round > 0 {
			key[0] += philoxW0
			key[1] += philoxW1
		}
		p0 := uint64(philoxM0) * uint64(ctr[0])
		p1 := uint64(philoxM1) * uint64(ctr[2])
		ctr = [4]uint32{
			uint32(p1>>32) ^ ctr[1] ^ key[0], uint32(p1),
			uint32(p0>>32) ^ ctr[3] ^ key[1], uint32(p0),
		}
	}
	return ctr
}

// DropoutBlock returns the four draws of block b of a dropout mask under
// seed and offset: Philox4x32 of the 64-bit counter offset + b (low word
// first, the two upper words 0) under the key seed (low word first).
// Element i of a mask takes word i mod 4 of block ⌊i/4⌋.
func DropoutBlock(seed, offset, b uint64) [4]uint32 {
	c := offset + b
	return Philox4x32([4]uint32{uint32(c), uint32(c >> 32), 0, 0}, [2]uint32{uint32(seed), uint32(seed >> 32)})
}

// DropoutThreshold returns the integer threshold and the scale of a
// dropout of probability p ∈ [0, 1]: an element whose draw is below the
// threshold ⌊p·2³²⌋ is dropped (0), any other is scaled by 1/(1−p). p = 1
// gives threshold 2³² (every draw is below it) and scale 0.
func DropoutThreshold(p float64) (threshold uint64, scale float64) {
	if p >= 1 {
		return 1 << 32, 0
	}
	return uint64(math.Ldexp(p, 32)), 1 / (1 - p)
}

// DropoutBlocks is the number of Philox blocks a mask of n elements uses:
// the amount by which to advance the offset between two masks that must
// not share a draw.
func DropoutBlocks(n int) uint64 { return uint64(n+3) / 4 }
