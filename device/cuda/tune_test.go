//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/adjoint-go/adjoint/device"
)

// TestGemmTilesAgree runs products on every FP32 tile and checks that they
// give the same bits: each output is accumulated over p in order on every
// tile and on both k-loop paths (gemm.cuh), which is what lets autotuning
// pick any of them without changing a result. (The tensor-core tile is
// checked against float64 in TestGemmTF32x3.) The shapes take the fast
// path with and without a partial last k-tile, and the edge path.
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
					for tile, g := range gemmTiles {
						if g.tf32x3 {
							continue
						}
						C := upload(t, d, c0)
						got := gemmOnTile(t, d, tile, ta, tb, m, n, k, 0.5, A, lda, B, ldb, 0.25, C, n)
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
			if want := int64(1 + tuneLaunches(m, n, k)*fp32Tiles()); tuned.Launches-before.Launches != want {
				t.Errorf("tuning made %d launches, want %d: a first run and %d rounds of a warm-up and %d timed per FP32 tile, and the product",
					tuned.Launches-before.Launches, want, tuneRounds, tuneReps(m, n, k))
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
	if _, err := d.tuneGemm(false, false, false, 96, 96, 96, 1, A.(*Buffer), 96, B.(*Buffer), 96, 1, C.(*Buffer), 96); err != nil {
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

// tensorCoreTiles lists the tensor-core (3xTF32) tiles of gemmTiles.
func tensorCoreTiles() []int {
	var tiles []int
	for tile, g := range gemmTiles {
		if g.tf32x3 {
			tiles = append(tiles, tile)
		}
	}
	return tiles
}

// fp32Tiles is the number of FP32 (not tensor-core) tiles.
func fp32Tiles() int {
	n := 0
	for _, g := range gemmTiles {
		if !g.tf32x3 {
			n++
		}
	}
	return n
}

// TestGemmTF32x3 checks each tensor-core tile (3xTF32) against the
// float64 reference with checkGemm's FP32 tolerance, on shapes that take
// its fast loop with and without a partial last k-tile and its edge loop,
// every transpose pair, padded leading dimensions, β = 0 and β ≠ 0, and on
// a long sum of positive products. Then it checks that autotuning times
// those tiles only when AllowTF32x3 is on, and that changing the setting
// forgets the tuned classes.
func TestGemmTF32x3(t *testing.T) {
	d := open(t)
	defer d.Close()
	rng := rand.New(rand.NewPCG(11, 12))
	tcs := tensorCoreTiles()
	if len(tcs) == 0 {
		t.Fatal("gemmTiles has no tensor-core tile")
	}
	shapes := [][3]int{{256, 256, 64}, {256, 128, 100}, {130, 260, 33}, {33, 31, 17}, {1, 1, 1}, {5, 7, 0}}
	if testing.Short() {
		shapes = shapes[2:]
	}
	for _, tc := range tcs {
		t.Run(gemmTiles[tc].suffix, func(t *testing.T) {
			for _, s := range shapes {
				for _, ta := range []bool{false, true} {
					for _, tb := range []bool{false, true} {
						for _, c := range []struct {
							pad  int
							beta float64
						}{{0, 0}, {3, 0.5}} {
							if testing.Short() && c.pad > 0 && s[0] > 128 {
								continue // the small shapes take the padded (edge) path too
							}
							t.Run(fmt.Sprintf("m%d_n%d_k%d_%s%s_pad%d", s[0], s[1], s[2], flag(ta), flag(tb), c.pad), func(t *testing.T) {
								d.forceTile = tc + 1
								defer func() { d.forceTile = 0 }()
								checkGemm(t, d, rng, ta, tb, s[0], s[1], s[2], c.pad, 1.5, c.beta)
							})
						}
					}
				}
			}
			t.Run("long positive sums", func(t *testing.T) { checkLongSums(t, d, rng, tc) })
		})
	}

	m, n, k := 96, 80, 40
	d.tune.minFlops = 2 * float64(m*n*k)
	reps := int64(tuneLaunches(m, n, k)) // per tile: a first run, then rounds of a warm-up and the timed launches
	for _, allow := range []bool{true, false} {
		d.AllowTF32x3(allow)
		if d.tune.tiles != nil {
			t.Fatalf("AllowTF32x3(%v) kept the tuned classes", allow)
		}
		before := d.Stats()
		checkGemm(t, d, rng, false, false, m, n, k, 0, 1, 0)
		want := 1 + reps*int64(fp32Tiles())
		if allow {
			want += reps * int64(len(tcs))
		}
		if got := d.Stats().Launches - before.Launches; got != want {
			t.Errorf("AllowTF32x3(%v): tuning made %d launches, want %d", allow, got, want)
		}
		tile := d.tune.tiles[classOf(false, false, m, n, k)]
		t.Logf("AllowTF32x3(%v): tuned to tile %s", allow, gemmTiles[tile].suffix)
		if !allow && gemmTiles[tile].tf32x3 {
			t.Errorf("AllowTF32x3(false) tuned a class to the tensor-core tile")
		}
	}
}

// checkLongSums multiplies positive operands with a long k on the
// tensor-core tile tc and on the FP32 128 tile, and checks the tensor-core
// result against float64 with the FP32 bound, 10⁻⁵ of Σ|ab|. Every partial
// sum grows here, which is where the tensor core's truncated sums would
// drift had the kernel chained its mma steps through one accumulator
// (kernels/doc.go; 4.7·10⁻⁵ at k = 2048 on the emulator's model of the
// truncation). The log line gives both tiles' largest errors: on a GPU, the
// card's own rounding.
func checkLongSums(t *testing.T, d *Device, rng *rand.Rand, tc int) {
	m, n, k := 128, 128, 4096
	if testing.Short() {
		k = 1024
	}
	a, b := make([]float32, m*k), make([]float32, k*n)
	for i := range a {
		a[i] = float32(rng.Float64())
	}
	for i := range b {
		b[i] = float32(rng.Float64())
	}
	want, scale := make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for p := range k {
			av := float64(a[i*k+p])
			for j := range n {
				ab := av * float64(b[p*n+j])
				want[i*n+j] += ab
				scale[i*n+j] += ab // positive: Σ|ab| = Σab
			}
		}
	}
	A, B := upload(t, d, a), upload(t, d, b)
	defer d.Free(A)
	defer d.Free(B)
	C, err := d.Alloc(device.Float32, m*n)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free(C)
	worst := map[int]float64{}
	for _, tile := range []int{0, tc} {
		got := gemmOnTile(t, d, tile, false, false, m, n, k, 1, A, k, B, n, 0, C, n)
		for i, g := range got {
			worst[tile] = max(worst[tile], math.Abs(float64(g)-want[i])/(scale[i]+1))
		}
	}
	t.Logf("3xTF32 long sums (positive operands, %d×%d×%d): largest error %.2e of Σ|ab| on tile %s, %.2e on FP32 tile %s",
		m, n, k, worst[tc], gemmTiles[tc].suffix, worst[0], gemmTiles[0].suffix)
	if worst[tc] > 1e-5 {
		t.Errorf("tile %s: largest error %.2e of Σ|ab|, want at most 1e-5", gemmTiles[tc].suffix, worst[tc])
	}
	if worst[0] > 1e-5 {
		t.Errorf("tile %s: largest error %.2e of Σ|ab|, want at most 1e-5", gemmTiles[0].suffix, worst[0])
	}
}

// gemmOnTile runs Gemm on gemmTiles[tile] and returns C (m×ldc).
func gemmOnTile(t *testing.T, d *Device, tile int, ta, tb bool, m, n, k int, alpha float64, A device.Buffer, lda int,
	B device.Buffer, ldb int, beta float64, C device.Buffer, ldc int) []float32 {
	t.Helper()
	d.forceTile = tile + 1
	d.Gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
	d.forceTile = 0
	got := make([]float32, m*ldc)
	if err := d.Download32(got, C); err != nil {
		t.Fatal(err)
	}
	return got
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

// TestTrainingTF32x3MatchesCPU trains digits with every matrix product on
// the tensor-core tile (3xTF32) against the CPU, with compareTraining's
// float32 tolerances: what AllowTF32x3 changes must stay within what the
// FP32 tiles are held to (TestTrainingStepMatchesCPU).
func TestTrainingTF32x3MatchesCPU(t *testing.T) {
	d := open(t)
	defer d.Close()
	ref, err := device.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	d.forceTile = tensorCoreTiles()[0] + 1
	compareTraining(t, d, ref, trainingSteps())
}
