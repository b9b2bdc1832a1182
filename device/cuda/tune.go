//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/adjoint-go/adjoint/device"
)

// tuner keeps the autotuned SGEMM tile of each product class.
type tuner struct {
	mu       sync.Mutex // held while a class is tuned, so it is tuned once
	off      bool
	tf32x3   bool    // the tensor-core tile is a candidate (AllowTF32x3)
	minFlops float64 // tuneMinFlops; tests lower it
	tiles    map[gemmClass]int
}

// SetGemmAutotune turns the autotuning of large products on (the default)
// or off. On, the first product of each size class of at least 2³⁰ flops
// (transposes and ⌈log₂⌉ of m, n, k) launches every SGEMM tile a few times,
// timed with the device synchronized before and after, and the class keeps
// the fastest: a one-off cost (one warm-up and at most 16 timed launches per
// tile) for tiles that fit the card in hand rather than thresholds guessed
// for another. Every FP32 tile accumulates in the same order, so the choice
// never changes a result (the tensor-core tile, which AllowTF32x3 adds,
// does). Off, every product takes gemmPlan's untimed choice.
func (d *Device) SetGemmAutotune(on bool) {
	d.tune.mu.Lock()
	d.tune.off = !on
	d.tune.mu.Unlock()
}

// AllowTF32x3 lets autotuning run large products (at least 2³⁰ flops) on
// the tensor cores, with each float32 operand split into a pair of TF32
// numbers and three TF32 products summed in float32 (3xTF32): the class
// takes the tensor-core kernel when timing on the card finds it faster
// than every FP32 tile. Off by default, like PyTorch's allow_tf32.
//
// What changes: a product's error stays of the order of FP32's (each
// product is within about 2.5·2⁻²¹ of exact before the float32 sum, against
// 2⁻²⁴ for an FP32 multiply-add, while a long sum rounds k/16 times
// instead of k: on an H200, 8.6·10⁻⁷ of Σ|ab| against 3.5·10⁻⁶ for the FP32
// tile at k = 4096), but the bits differ from the FP32 tiles'
// and depend on the class's choice; and an infinite operand (or one within
// 2⁻¹² of the largest float32) makes its products NaN where FP32 gives
// ±inf. NaNs propagate as in FP32. Products below the threshold, and every
// product with autotuning off, stay on the FP32 tiles. Changing the setting
// forgets the tiles tuned so far.
func (d *Device) AllowTF32x3(on bool) {
	d.tune.mu.Lock()
	if d.tune.tf32x3 != on {
		d.tune.tf32x3 = on
		d.tune.tiles = nil
	}
	d.tune.mu.Unlock()
}

// autotunes reports whether an m×n×k product is large enough to be
// autotuned (and autotuning is on): such a product takes its class's tile.
func (d *Device) autotunes(m, n, k int) bool {
	if d.forceTile > 0 {
		return false
	}
	t := &d.tune
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.off && 2*float64(m)*float64(n)*float64(k) >= t.threshold()
}

// threshold is the fewest flops of a product that is autotuned.
func (t *tuner) threshold() float64 {
	if t.minFlops > 0 {
		return t.minFlops
	}
	return tuneMinFlops
}

// gemmTileFor returns the tile for a product: the class's autotuned tile
// when the product is large enough, tuning the class on its first call,
// else gemmPlan's. It returns −1 when m is too large for any tile's grid.
func (d *Device) gemmTileFor(transA, transB bool, m, n, k int, alpha float64, A *Buffer, lda int, B *Buffer, ldb int, beta float64, C *Buffer, ldc int) int {
	if d.forceTile > 0 {
		tile, _, _ := gemmGrid(d.forceTile-1, m, n)
		return tile
	}
	plan, _, _ := gemmPlan(m, n, d.sms)
	t := &d.tune
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.off || plan < 0 || 2*float64(m)*float64(n)*float64(k) < t.threshold() {
		return plan
	}
	class := classOf(transA, transB, m, n, k)
	if tile, ok := t.tiles[class]; ok {
		if g, _, _ := gemmGrid(tile, m, n); g >= 0 {
			return tile
		}
		return plan // a taller product of the class than the one tuned
	}
	tile, err := d.tuneGemm(t.tf32x3, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
	if err != nil || tile < 0 {
		// Not worth failing the product over: keep the plan for the class.
		tile = plan
	}
	if t.tiles == nil {
		t.tiles = map[gemmClass]int{}
	}
	t.tiles[class] = tile
	return tile
}

// tuneGemm times every tile whose grid fits on this product (the
// tensor-core tile only when tf32x3 allows it) and returns the fastest.
// With β = 0 the product writes C without reading it, so the timing runs
// write C itself (the real launch follows); otherwise they write a scratch
// m×n matrix, so that C is not accumulated into repeatedly.
func (d *Device) tuneGemm(tf32x3, transA, transB bool, m, n, k int, alpha float64, A *Buffer, lda int, B *Buffer, ldb int, beta float64, C *Buffer, ldc int) (int, error) {
	out := C
	if beta != 0 {
		// The scratch has C's leading dimension: the epilogue's vector
		// stores depend on it, so the timing runs store as the product will.
		s, err := d.Alloc(device.Float32, (m-1)*ldc+n)
		if err != nil {
			return -1, fmt.Errorf("cuda: Gemm autotune scratch: %w", err)
		}
		defer d.Free(s)
		out = s.(*Buffer)
	}
	var candidates []int
	for tile, g := range gemmTiles {
		if g.tf32x3 && !tf32x3 {
			continue
		}
		if g, _, _ := gemmGrid(tile, m, n); g >= 0 {
			candidates = append(candidates, tile)
		}
	}
	launch := func(tile int) {
		d.launchGemm(tile, transA, transB, m, n, k, alpha, A, lda, B, ldb, 0, out, ldc)
	}
	// Every candidate runs once before any is timed: the first launch of a
	// tile loads its module, which the driver JIT-compiles (seconds on a
	// machine's first run, the GPU idle meanwhile), and neither that nor
	// the clocks' climb back after it may fall into one tile's timing.
	for _, tile := range candidates {
		launch(tile)
	}
	if err := d.syncDevice(); err != nil {
		return -1, err
	}
	reps := tuneReps(m, n, k)
	return fastest(candidates, func(tile int) (time.Duration, error) {
		best := time.Duration(math.MaxInt64)
		for range tuneRounds { // the best round: a moment of noise costs a tile nothing
			launch(tile) // warm-up
			if err := d.syncDevice(); err != nil {
				return 0, err
			}
			start := time.Now()
			for range reps {
				launch(tile)
			}
			if err := d.syncDevice(); err != nil {
				return 0, err
			}
			best = min(best, time.Since(start))
		}
		return best, nil
	})
}

// syncDevice is Sync for the tuner: it waits for the queued work and
// returns a failure of the device, leaving a failure of the data
// (device.ErrInvalidInput) recorded for the caller whose batch it is.
func (d *Device) syncDevice() error {
	r := d.roundTrip(call{op: opSync})
	if err := d.deviceErr(); err != nil {
		return err
	}
	return r.err
}

// tuneRounds is how many times each tile is timed; the best counts.
const tuneRounds = 2

// tuneLaunches is how many launches autotuning an m×n×k product makes per
// candidate tile: the first run, then per round a warm-up and the timed
// launches.
func tuneLaunches(m, n, k int) int {
	return 1 + tuneRounds*(1+tuneReps(m, n, k))
}
