package devicetest

import (
	"fmt"
	"math"

	"github.com/stretchr/testify/assert"

	"github.com/adjoint-go/adjoint/device"
)

// dropoutMaskRef is the mask device.DropoutMask defines, built from
// device.DropoutBlock (checked against Random123's known answers in
// package device) and rounded to the dtype under test.
func (e *env) dropoutMaskRef(n int, p float64, seed, offset uint64) []float64 {
	threshold, scale := device.DropoutThreshold(p)
	keep := e.roundv(scale)
	want := make([]float64, n)
	for i := range want {
		if uint64(device.DropoutBlock(seed, offset, uint64(i/4))[i%4]) >= threshold {
			want[i] = keep
		}
	}
	return want
}

// testDropoutMask requires DropoutMask to produce the reference's bits
// exactly, over lengths that end inside a block of four, probabilities
// from 0 to 1, and counters that cross 2³² (the high counter word), and
// to overwrite a NaN-filled mask.
func testDropoutMask(e *env) {
	type key struct{ seed, offset uint64 }
	keys := []key{{0, 0}, {42, 7}, {0x299f31d0a4093822, 1<<32 - 3}}
	for _, n := range append([]int{2, 4, 5}, lengths...) {
		for _, p := range []float64{0, 0.1, 0.5, 0.9, 1} {
			for _, k := range keys {
				mask := e.upload(filled(n, math.NaN()))
				e.dev.DropoutMask(mask, p, k.seed, k.offset)
				what := fmt.Sprintf("DropoutMask(n=%d, p=%g, seed=%#x, offset=%#x)", n, p, k.seed, k.offset)
				if !e.checkSame(what, e.download(mask), e.dropoutMaskRef(n, p, k.seed, k.offset)) {
					return
				}
			}
		}
	}
	// A mask at offset DropoutBlocks(n) continues the one of n elements
	// at offset 0: both are slices of one long mask, sharing no draw.
	const n = 1001
	skip := 4 * int(device.DropoutBlocks(n))
	first, second, long := e.alloc(n), e.alloc(n), e.alloc(skip+n)
	e.dev.DropoutMask(first, 0.5, 9, 0)
	e.dev.DropoutMask(second, 0.5, 9, device.DropoutBlocks(n))
	e.dev.DropoutMask(long, 0.5, 9, 0)
	l := e.download(long)
	e.checkSame("DropoutMask: a mask at offset 0", e.download(first), l[:n])
	e.checkSame("DropoutMask: the mask at the next offset", e.download(second), l[skip:])
	assert.Panics(e.t, func() { e.dev.DropoutMask(first, 1.5, 0, 0) }, "DropoutMask with p = 1.5")
	assert.Panics(e.t, func() { e.dev.DropoutMask(first, math.NaN(), 0, 0) }, "DropoutMask with p = NaN")
}
