package device_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/adjoint-go/adjoint/device"
)

// TestPhilox4x32KnownAnswers checks the generator against the three
// philox4x32 10 lines of Random123's kat_vectors (counter, key, block).
func TestPhilox4x32KnownAnswers(t *testing.T) {
	cases := []struct {
		name      string
		ctr, want [4]uint32
		key       [2]uint32
	}{
		{"zeros", [4]uint32{}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, [2]uint32{}},
		{"ones",
			[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
			[4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
			[2]uint32{0xffffffff, 0xffffffff}},
		{"pi",
			[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
			[4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
			[2]uint32{0xa4093822, 0x299f31d0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, device.Philox4x32(c.ctr, c.key))
		})
	}
}

// TestDropoutBlockLayout checks where seed, offset and block go: the
// counter is offset + b across both low words, the key is the seed.
func TestDropoutBlockLayout(t *testing.T) {
	seed, offset := uint64(0x299f31d0a4093822), uint64(1<<32-2)
	got := device.DropoutBlock(seed, offset, 3) // counter 2³² + 1
	want := device.Philox4x32([4]uint32{1, 1, 0, 0}, [2]uint32{0xa4093822, 0x299f31d0})
	assert.Equal(t, want, got)
	assert.NotEqual(t, got, device.DropoutBlock(seed+1, offset, 3), "the seed must change the block")
}

// TestDropoutThreshold checks the integer threshold at the ends and that
// the words below it are a p-fraction of all 2³².
func TestDropoutThreshold(t *testing.T) {
	for _, c := range []struct {
		p         float64
		threshold uint64
		scale     float64
	}{
		{0, 0, 1},
		{0.25, 1 << 30, 4.0 / 3},
		{0.5, 1 << 31, 2},
		{1 - 0x1p-53, 1<<32 - 1, 0x1p53},
		{1, 1 << 32, 0},
	} {
		th, s := device.DropoutThreshold(c.p)
		assert.Equal(t, c.threshold, th, "p = %v", c.p)
		assert.InDelta(t, c.scale, s, 1e-9*math.Max(1, c.scale), "p = %v", c.p)
	}
}

// TestDropoutDrawsAreUniform bins 2¹⁶ words of consecutive blocks into 16
// bins and checks Pearson's χ² against its 15 degrees of freedom (the
// 99.99% quantile is 42.3): a counter or key wired wrongly (a block that
// repeats, a constant word) fails it.
func TestDropoutDrawsAreUniform(t *testing.T) {
	const words = 1 << 16
	var bins [16]int
	for b := uint64(0); b < words/4; b++ {
		for _, w := range device.DropoutBlock(7, 1<<40, b) {
			bins[w>>28]++
		}
	}
	want := float64(words) / 16
	chi2 := 0.0
	for _, n := range bins {
		chi2 += (float64(n) - want) * (float64(n) - want) / want
	}
	assert.Less(t, chi2, 42.3, "bins %v", bins)
	assert.Equal(t, uint64(0), device.DropoutBlocks(0))
	assert.Equal(t, uint64(1), device.DropoutBlocks(1))
	assert.Equal(t, uint64(2), device.DropoutBlocks(5))
}
