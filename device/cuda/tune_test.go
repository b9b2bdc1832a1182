//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmTilesAgree runs products on every tile and checks that they give
// the same bits: each output is accumulated over p in order on every tile
// and on both k-loop paths (gemm.cuh), which is what lets autotuning pick
// any tile without changing a result. The shapes take the fast path with
// and without a partial last k-tile, and the edge path.
func TestGemmTilesAgree(t *testing.T) {
	d := open(t)
	defer d.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range [][3]int{{256, 512, 36}, {300, 260, 20}, {128, 128, 8}, {64, 64, 4}} {
		m, n, k := s[0], s[1], s[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				t.Run(fmt.Sprintf("m%d_n%d_k%d_%s%s", m, n, k, flag(ta), flag(tb)), func(t *testing.T) {
					A, B := upload(t, d, randVec(rng, m*k)), upload(t, d, randVec(rng, k*n))
					c0 := randVec(rng, m*n)
					lda, ldb := k, n
					if ta {
						lda = m
					}
					if tb {
						ldb = k
					}
					var first []float32
					for tile := range gemmTiles {
						C := upload(t, d, c0)
						d.forceTile = tile + 1
						d.Gemm(ta, tb, m, n, k, 0.5, A, lda, B, ldb, 0.25, C, n)
						d.forceTile = 0
						got := make([]float32, m*n)
						if err := d.Download32(got, C); err != nil {
							t.Fatal(err)
						}
						d.Free(C)
						if first == nil {
							first = got
							continue
						}
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(first[i]) {
								t.Fatalf("tile %s: C[%d] = %v, tile %s gave %v", gemmTiles[tile].suffix, i, got[i], gemmTiles[0].suffix, first[i])
							}
						}
					}
					d.Free(A)
					d.Free(B)
				})
			}
		}
	}
}

// TestGemmAutotune lowers the autotuning threshold so that small products
// are tuned on this device, and checks that: the result is right with
// β = 0 and with β ≠ 0 (timing runs must not accumulate into C); a class is
// tuned once (the next product of the class is one launch and no round
// trip); the scratch matrix of the β ≠ 0 case goes back to the allocator;
// and SetGemmAutotune(false) returns to gemmPlan.
func TestGemmAutotune(t *testing.T) {
	d := open(t)
	defer d.Close()
	d.tune.minFlops = 2 * 64 * 64 * 64
	rng := rand.New(rand.NewPCG(7, 8))
	// Four shapes of four classes (the class ignores β).
	for _, c := range []struct {
		m, n, k int
		beta    float64
	}{{200, 300, 40, 0}, {130, 64, 72, 0}, {260, 300, 40, 0.5}, {70, 64, 72, 0.5}} {
		m, n, k, beta := c.m, c.n, c.k, c.beta
		t.Run(fmt.Sprintf("m%d_n%d_k%d_beta%g", m, n, k, beta), func(t *testing.T) {
			before := d.Stats()
			checkGemm(t, d, rng, false, true, m, n, k, 0, 1.5, beta)
			tuned := d.Stats()
			class := classOf(false, true, m, n, k)
			tile, ok := d.tune.tiles[class]
			if !ok {
				t.Fatalf("class %+v was not tuned", class)
			}
			t.Logf("tuned tile %s after %d launches", gemmTiles[tile].suffix, tuned.Launches-before.Launches)
			if tuned.Launches-before.Launches < int64(1+2*numGemmTiles) {
				t.Errorf("tuning made %d launches, want at least 2 per tile and the product", tuned.Launches-before.Launches)
			}
			// The class is tuned: one launch, no synchronisation.
			checkGemm(t, d, rng, false, true, m, n, k, 0, 1.5, beta)
			again := d.Stats()
			// checkGemm's own uploads and download are 4 round trips.
			if l, r := again.Launches-tuned.Launches, again.RoundTrips-tuned.RoundTrips; l != 1 || r != 4 {
				t.Errorf("a tuned class took %d launches and %d round trips, want 1 and 4", l, r)
			}
		})
	}
	// Tuning a β ≠ 0 product gives its scratch matrix back.
	A, B, C := upload(t, d, randVec(rng, 96*96)), upload(t, d, randVec(rng, 96*96)), upload(t, d, randVec(rng, 96*96))
	inUse := buffersInUse(d)
	if _, err := d.tuneGemm(false, false, 96, 96, 96, 1, A.(*Buffer), 96, B.(*Buffer), 96, 1, C.(*Buffer), 96); err != nil {
		t.Fatal(err)
	}
	if got := buffersInUse(d); got != inUse {
		t.Errorf("tuning a β ≠ 0 product left %d buffers in use, %d before", got, inUse)
	}
	d.Free(A)
	d.Free(B)
	d.Free(C)

	d.SetGemmAutotune(false)
	before := d.Stats()
	checkGemm(t, d, rng, true, false, 96, 96, 96, 0, 1, 0)
	if l := d.Stats().Launches - before.Launches; l != 1 {
		t.Errorf("with autotuning off a product took %d launches, want 1", l)
	}
	if _, ok := d.tune.tiles[classOf(true, false, 96, 96, 96)]; ok {
		t.Error("with autotuning off a class was tuned")
	}
}

// buffersInUse counts the device allocations that are not in the caching
// allocator's free lists.
func buffersInUse(d *Device) int {
	d.mu.Lock()
	n := len(d.w.live)
	d.mu.Unlock()
	d.allocMu.Lock()
	defer d.allocMu.Unlock()
	for _, l := range d.free {
		n -= len(l)
	}
	return n
}
