package cpu

import (
	"fmt"

	"github.com/adjoint-go/adjoint/device"
)

// DropoutMask writes a dropout mask of probability p: element i is 0 when
// word i mod 4 of device.DropoutBlock(seed, offset, ⌊i/4⌋) is below
// device.DropoutThreshold(p), 1/(1−p) otherwise. Float32 masks large
// enough are split over the workers by blocks of four, so the bits do not
// depend on the split.
func (c *CPU) DropoutMask(mask device.Buffer, p float64, seed, offset uint64) {
	c.call.Lock()
	defer c.call.Unlock()
	m := mustBuf(mask, "DropoutMask")
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("cpu: DropoutMask: p = %v, want it in [0, 1]", p))
	}
	threshold, scale := device.DropoutThreshold(p)
	if m.f64 != nil {
		dropoutMask(m.f64, 0, threshold, scale, seed, offset)
		return
	}
	c.par.a = args{y: m.f32, param: scale, seed: seed, offset: offset, threshold: threshold}
	// A block of four draws costs about as much as sixteen adds.
	c.par.run(taskDropoutMask, int(device.DropoutBlocks(m.Len())), 16)
}

// dropoutMask fills mask, which starts at block first of the whole mask,
// from the Philox blocks first, first+1, ….
func dropoutMask[T float](mask []T, first, threshold uint64, scale float64, seed, offset uint64) {
	keep := T(scale)
	for i := 0; i < len(mask); i += 4 {
		words := device.DropoutBlock(seed, offset, first+uint64(i/4))
		for j, w := range words[:min(4, len(mask)-i)] {
			if uint64(w) < threshold {
				mask[i+j] = 0
			} else {
				mask[i+j] = keep
			}
		}
	}
}
