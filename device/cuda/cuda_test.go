//go:build cuda || cudaemu

package cuda

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/device/devicetest"
	"github.com/adjoint-go/adjoint/kernels"
)

// These tests need a CUDA device: a GPU with the cuda build, or the
// emulated one (-tags cudaemu, or -tags cuda on the stand-in driver of
// scripts/cuda/fakecuda; `make cuda-emu`, `make cuda-fake`). Without one
// they fail rather than skip, so that a GPU run cannot pass by accident.
// Build them anywhere with
//
//	go test -tags cuda -c -o cuda.test ./device/cuda/
//
// and run them on the GPU host (scripts/cuda/gpu-bundle.sh, gpu-run.sh).

// trainingSteps is how many steps TestTrainingStepMatchesCPU compares: 60,
// or 12 with -short, for emulated kernels (every CUDA thread a host
// thread, meeting at host barriers).
func trainingSteps() int {
	if testing.Short() {
		return 12
	}
	return 60
}

func open(tb testing.TB) *Device {
	tb.Helper()
	d, err := Open(0)
	if err != nil {
		tb.Fatalf("Open(0): %v", err)
	}
	tb.Logf("%s: %s, %d SMs", d.Name(), d.GPU(), d.SMs())
	return d
}

// TestConformance runs the shared device suite against the float64
// reference (float32 only: Alloc(Float64) fails on this backend).
func TestConformance(t *testing.T) {
	d := open(t)
	defer d.Close()
	devicetest.Run(t, d)
}

// TestRegistered checks that device.Open("cuda") reaches this backend.
func TestRegistered(t *testing.T) {
	dev, err := device.Open("cuda")
	if err != nil {
		t.Fatalf(`device.Open("cuda"): %v`, err)
	}
	d, ok := dev.(*Device)
	if !ok {
		t.Fatalf(`device.Open("cuda") returned %T`, dev)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Alloc(device.Float32, 1); err == nil {
		t.Error("Alloc after Close succeeded")
	}
}

// TestGemmShapes checks every transpose variant and tile size against a
// float64 triple loop on awkward shapes: edges, k not a multiple of the
// K tile, leading dimensions not divisible by 4 (scalar loads), β ≠ 0, and
// β = 0 with NaN in C (C must not be read).
func TestGemmShapes(t *testing.T) {
	d := open(t)
	defer d.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {33, 31, 17}, {64, 64, 64}, {129, 127, 9},
		{200, 300, 1}, {256, 130, 100}, {1000, 1100, 70}, {17, 2000, 3}, {0, 5, 5}, {5, 5, 0},
		// The fast k-loop (interior blocks, aligned operands): k a multiple
		// of the k-tile, a partial last tile, and k below one tile.
		{128, 128, 8}, {128, 128, 12}, {256, 256, 100}, {64, 64, 4}}
	checkGemmShapes(t, d, rng, shapes)
}

// checkGemmShapes runs checkGemm on each m×n×k shape with every transpose
// pair, leading dimensions of n and n+3, and β of 0 and 0.5, then checks
// that the device recorded no error.
func checkGemmShapes(t *testing.T, d *Device, rng *rand.Rand, shapes [][3]int) {
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, pad := range []int{0, 3} {
					for _, beta := range []float64{0, 0.5} {
						name := fmt.Sprintf("m%d_n%d_k%d_%s%s_pad%d_beta%g", m, n, k, flag(ta), flag(tb), pad, beta)
						t.Run(name, func(t *testing.T) {
							checkGemm(t, d, rng, ta, tb, m, n, k, pad, 1.5, beta)
						})
					}
				}
			}
		}
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestGemmRowSlices: a product taller than one launch's grid (gridDim.y
// ≤ 65535 row blocks: 8,388,480 rows, reached by the m×1×1 broadcasts of
// autograd's Sum adjoint on a large tensor) runs as row slices. The limit
// is lowered here so that the slicing runs on small matrices: every
// transpose, a partial last slice, padded leading dimensions, β ≠ 0.
func TestGemmRowSlices(t *testing.T) {
	d := open(t)
	defer d.Close()
	if got, want := d.gemmRowLimit(), 8388480; got != want {
		t.Fatalf("gemmRowLimit() = %d, want %d", got, want)
	}
	if tile, _, _ := gemmGrid(0, d.gemmRowLimit(), 1); tile != 0 {
		t.Fatalf("tile 0 cannot take gemmRowLimit() rows")
	}
	if tile, _, _ := gemmPlan(d.gemmRowLimit()+1, 1, d.SMs()); tile >= 0 {
		t.Fatalf("gemmPlan takes %d rows in one grid: the row limit is too low", d.gemmRowLimit()+1)
	}
	d.gemmRows = 100
	rng := rand.New(rand.NewPCG(3, 4))
	// 1000 rows are ten launches of 100 (small products are not autotuned).
	x := upload(t, d, randVec(rng, 1000))
	defer d.Free(x)
	before := d.Stats().Launches
	d.Gemm(false, false, 1000, 1, 1, 1, x, 1, x, 1, 0, x, 1)
	if got := d.Stats().Launches - before; got != 10 {
		t.Fatalf("a 1000-row product with 100-row launches made %d launches, want 10", got)
	}
	checkGemmShapes(t, d, rng, [][3]int{{1000, 1, 1}, {250, 3, 5}, {301, 17, 9}})
}

// TestGemmSplitK: a product with too few blocks of C for the GPU and a
// long k (a convolution's weight gradient) is cut along k into one
// batched launch of equal chunks, a launch for a shorter last chunk if
// any, and the SumRows that adds them into C. The multiprocessor count is
// raised to an H100's so that the emulator's plans are a GPU's.
func TestGemmSplitK(t *testing.T) {
	d := open(t)
	defer d.Close()
	sms := d.sms
	d.sms = 132
	defer func() { d.sms = sms }()
	rng := rand.New(rand.NewPCG(21, 22))
	cases := []struct {
		m, n, k, launches int
	}{
		{32, 27, 4096, 2}, // one block of C: 16 chunks of 256
		{64, 96, 1024, 2}, // 6 blocks: 4 chunks of 256
		{20, 9, 1000, 3},  // 2 chunks: 512 and a last of 488
		{32, 32, 511, 1},  // too short to split
	}
	for _, c := range cases {
		parts, chunk := splitKPlan(c.m, c.n, c.k, d.sms)
		t.Logf("%d×%d×%d: %d parts of %d", c.m, c.n, c.k, parts, chunk)
		x := upload(t, d, randVec(rng, c.m*c.k+c.k*c.n+c.m*c.n)).(*Buffer)
		before := d.Stats().Launches
		d.Gemm(false, false, c.m, c.n, c.k, 1, x, c.k, x.view(c.m*c.k), c.n, 0, x.view(c.m*c.k+c.k*c.n), c.n)
		if got := d.Stats().Launches - before; got != int64(c.launches) {
			t.Errorf("%d×%d×%d: %d launches, want %d", c.m, c.n, c.k, got, c.launches)
		}
		d.Free(x)
		// Every transpose, β of 0 (C all NaN, never read) and 0.5, and a
		// padded C, which is computed whole.
		checkGemmShapes(t, d, rng, [][3]int{{c.m, c.n, c.k}})
	}
}

// TestSumRowsLongColumns: a SumRows of a few long columns (a convolution's
// bias gradient) takes two passes, with the multiprocessor count raised
// to an H100's, and gives the double-precision column sums; a short one
// takes one.
func TestSumRowsLongColumns(t *testing.T) {
	d := open(t)
	defer d.Close()
	sms := d.sms
	d.sms = 132
	defer func() { d.sms = sms }()
	rng := rand.New(rand.NewPCG(23, 24))
	for _, s := range [][3]int{{131072, 32, 2}, {5000, 70, 2}, {511, 3, 1}} {
		rows, cols := s[0], s[1]
		checkSums(t, d, rng, rows, cols, cols, s[2], 1, func(x []float32, j int) float64 {
			var sum float64
			for i := range rows {
				sum += float64(x[i*cols+j])
			}
			return sum
		}, func(X, Y device.Buffer, alpha, beta float64) { d.SumRows(X, rows, cols, beta, Y) })
	}
}

// TestSumColsLongRows: a few rows of at least 2¹⁶ columns (autograd's Sum
// of a whole tensor is one such row) take the two-pass path, whose result
// must be the double-precision sum, scaled and accumulated as SumCols
// says, in exactly two launches.
func TestSumColsLongRows(t *testing.T) {
	d := open(t)
	defer d.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][2]int{{1, sumColsSplitCols}, {3, 70001}} {
		rows, cols := s[0], s[1]
		checkSums(t, d, rng, rows, cols, rows, 2, -1.5, func(x []float32, i int) float64 {
			var sum float64
			for _, v := range x[i*cols : (i+1)*cols] {
				sum += float64(v)
			}
			return sum
		}, func(X, Y device.Buffer, alpha, beta float64) { d.SumCols(X, rows, cols, alpha, beta, Y) })
	}
}

// checkSums runs reduce (y = α·sum + βy, of a random rows×cols x into an
// outLen-long y) with β of 0 (y all NaN, never read) and 0.5, and checks
// its launches and every y[i] against α·sum(x, i) + βy[i] in double.
func checkSums(t *testing.T, d *Device, rng *rand.Rand, rows, cols, outLen, launches int, alpha float64,
	sum func(x []float32, i int) float64, reduce func(X, Y device.Buffer, alpha, beta float64)) {
	t.Helper()
	x := randVec(rng, rows*cols)
	X := upload(t, d, x)
	defer d.Free(X)
	for _, beta := range []float64{0, 0.5} {
		t.Run(fmt.Sprintf("%dx%d_beta%g", rows, cols, beta), func(t *testing.T) {
			y := randVec(rng, outLen)
			y0 := append([]float32(nil), y...)
			if beta == 0 {
				for i := range y {
					y[i] = float32NaN() // not read
				}
			}
			Y := upload(t, d, y)
			defer d.Free(Y)
			before := d.Stats().Launches
			reduce(X, Y, alpha, beta)
			if got := d.Stats().Launches - before; got != int64(launches) {
				t.Errorf("%d launches, want %d", got, launches)
			}
			got := make([]float32, outLen)
			if err := d.Download32(got, Y); err != nil {
				t.Fatal(err)
			}
			for i := range outLen {
				want := alpha * sum(x, i)
				if beta != 0 {
					want += beta * float64(y0[i])
				}
				if math.Abs(float64(got[i])-want) > 1e-6*max(1, math.Abs(want)) {
					t.Errorf("element %d: %v, want %v", i, got[i], want)
				}
			}
		})
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

func checkGemm(t *testing.T, d *Device, rng *rand.Rand, ta, tb bool, m, n, k, pad int, alpha, beta float64) {
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+pad, bc+pad, n+pad
	a := randVec(rng, max(ar*lda, 1))
	b := randVec(rng, max(br*ldb, 1))
	c := randVec(rng, max(m*ldc, 1))
	if beta == 0 {
		for i := range c {
			c[i] = float32NaN()
		}
	}
	A, B, C := upload(t, d, a), upload(t, d, b), upload(t, d, c)
	defer d.Free(A)
	defer d.Free(B)
	defer d.Free(C)
	d.Gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
	got := make([]float32, len(c))
	if err := d.Download32(got, C); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, abs float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if ta {
					av = float64(a[p*lda+i])
				} else {
					av = float64(a[i*lda+p])
				}
				if tb {
					bv = float64(b[j*ldb+p])
				} else {
					bv = float64(b[p*ldb+j])
				}
				s += av * bv
				abs += max(av*bv, -av*bv)
			}
			want := alpha * s
			if beta != 0 {
				want += beta * float64(c[i*ldc+j])
			}
			g := float64(got[i*ldc+j])
			if tol := 1e-5 * (alpha*abs + 1); !(g-want <= tol && want-g <= tol) {
				t.Fatalf("C[%d,%d] = %v, want %v", i, j, g, want)
			}
		}
	}
	// The padding columns of C are untouched.
	for i := 0; i < m; i++ {
		for j := n; j < ldc; j++ {
			if g, w := got[i*ldc+j], c[i*ldc+j]; g != w && !(g != g && w != w) {
				t.Fatalf("padding C[%d,%d] changed from %v to %v", i, j, w, g)
			}
		}
	}
}

func float32NaN() float32 {
	var z float32
	return z / z
}

func randVec(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.Float64()*2 - 1)
	}
	return x
}

func upload(tb testing.TB, d *Device, x []float32) device.Buffer {
	tb.Helper()
	b, err := d.Alloc(device.Float32, len(x))
	if err != nil {
		tb.Fatal(err)
	}
	if err := d.Upload32(b, x); err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestIndexLossError checks that an out-of-range class gives a NaN loss
// and an error at the next Sync.
func TestIndexLossError(t *testing.T) {
	d := open(t)
	defer d.Close()
	pred := upload(t, d, []float32{1, 2, 3, 4, 5, 6})
	target := upload(t, d, []float32{2, 3})
	losses := upload(t, d, []float32{0, 0})
	d.Loss(device.SoftmaxCrossEntropyIndex, 0, pred, target, 2, 3, losses, nil, 1)
	if err := d.Sync(); err == nil {
		t.Fatal("Sync after an out-of-range class: no error")
	} else {
		t.Logf("Sync: %v", err)
		if !errors.Is(err, device.ErrInvalidInput) || !strings.Contains(err.Error(), "row 1: class index 3 is not an integer in [0, 3)") {
			t.Errorf("Sync: %v, want the row and device.ErrInvalidInput", err)
		}
	}
	got := make([]float32, 2)
	if err := d.Download32(got, losses); !errors.Is(err, device.ErrInvalidInput) {
		t.Errorf("Download after the bad batch: %v, want its error until ClearInputErr", err)
	}
	if got[1] == got[1] {
		t.Errorf("loss of the bad row = %v, want NaN", got[1])
	}
	// The tuner's synchronisations leave the error to its caller: a
	// product of a class not tuned yet, timed now, does not swallow it.
	d.tune.minFlops = 2 * 64 * 64 * 64
	a := upload(t, d, randVec(rand.New(rand.NewPCG(1, 1)), 64*64))
	d.Gemm(false, false, 64, 64, 64, 1, a, 64, a, 64, 0, a, 64)
	if err := d.Sync(); !errors.Is(err, device.ErrInvalidInput) {
		t.Errorf("Sync after an autotuned product: %v, want the bad batch's error still", err)
	}
	d.ClearInputErr() // the batch is done (Tape.Reset does this)
	if err := d.Sync(); err != nil {
		t.Fatalf("Sync after ClearInputErr: %v", err)
	}
	// A good batch after the bad one.
	if err := d.Upload32(target, []float32{2, 1}); err != nil {
		t.Fatal(err)
	}
	d.Loss(device.SoftmaxCrossEntropyIndex, 0, pred, target, 2, 3, losses, nil, 1)
	if err := d.Download32(got, losses); err != nil {
		t.Fatal(err)
	}
	lse := math.Log(math.Exp(4) + math.Exp(5) + math.Exp(6))
	if want := lse - 5; math.Abs(float64(got[1])-want) > 1e-5 {
		t.Errorf("loss of row 1 after the bad batch = %v, want %v", got[1], want)
	}
}

// TestSteadyStateAllocs checks that a step that frees what it allocated
// reuses the cached memory (no new device allocation, no Go allocation in
// the launches).
func TestSteadyStateAllocs(t *testing.T) {
	d := open(t)
	defer d.Close()
	step := func() {
		x, _ := d.Alloc(device.Float32, 1000)
		y, _ := d.Alloc(device.Float32, 1000)
		d.Fill(x, 1)
		d.Unary(device.ReLU, 0, x, y)
		d.Axpy(2, x, y)
		d.Free(x)
		d.Free(y)
	}
	step()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	live := len(d.w.live)
	if n := testing.AllocsPerRun(100, step); n > 0 {
		t.Errorf("%v Go allocations per step, want 0", n)
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if len(d.w.live) != live {
		t.Errorf("device allocations grew from %d to %d", live, len(d.w.live))
	}
}

// BenchmarkGemm times C = AB for square n×n float32 matrices and reports
// GFLOP/s (2n³ flops per product). Each timed loop ends with Sync, so the
// time covers the GPU work, not just the launches.
func BenchmarkGemm(b *testing.B) {
	d := open(b)
	defer d.Close()
	for _, n := range []int{256, 1024, 2048, 4096} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			A, B, C := upload(b, d, randVec(rng, n*n)), upload(b, d, randVec(rng, n*n)), upload(b, d, make([]float32, n*n))
			defer d.Free(A)
			defer d.Free(B)
			defer d.Free(C)
			for range 3 { // warm up: module load, JIT, clocks
				d.Gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n)
			}
			if err := d.Sync(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				d.Gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n)
			}
			if err := d.Sync(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			flops := 2 * float64(n) * float64(n) * float64(n) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestTrainingStepMatchesCPU trains digits on the GPU and on the CPU side by
// side (compareTraining), then checks that a steady-state step makes no
// device allocation and no Go allocation.
func TestTrainingStepMatchesCPU(t *testing.T) {
	d := open(t)
	defer d.Close()
	ref, err := device.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	gpu, x, y := compareTraining(t, d, ref, trainingSteps())
	k := len(y)
	if _, err := gpu.step(x, y, k); err != nil {
		t.Fatal(err)
	}
	live := len(d.w.live)
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := gpu.step(x, y, k); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("%v Go allocations per training step on %s, want 0", allocs, d.Name())
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if n := len(d.w.live); n != live {
		t.Errorf("device allocations grew from %d to %d over 50 steady-state steps", live, n)
	}
}

// TestAllocOutOfMemory asks for more memory than any card has: Alloc must
// return an error that wraps device.ErrOutOfMemory and names the size, and
// the device must stay usable afterwards.
func TestAllocOutOfMemory(t *testing.T) {
	d := open(t)
	defer d.Close()
	const n = 1 << 40 // 4 TiB of float32
	b, err := d.Alloc(device.Float32, n)
	if err == nil {
		d.Free(b)
		t.Fatalf("Alloc of %d float32 succeeded", n)
	}
	t.Logf("Alloc: %v", err)
	if !errors.Is(err, device.ErrOutOfMemory) {
		t.Errorf("Alloc error %v does not wrap device.ErrOutOfMemory", err)
	}
	if err := d.Sync(); err != nil {
		t.Fatalf("Sync after a refused Alloc: %v (out of memory must not fail the device)", err)
	}
	x := upload(t, d, []float32{1, -2, 3})
	defer d.Free(x)
	d.Unary(device.ReLU, 0, x, x)
	got := make([]float32, 3)
	if err := d.Download32(got, x); err != nil {
		t.Fatal(err)
	}
	if got[0] != 1 || got[1] != 0 || got[2] != 3 {
		t.Errorf("ReLU after a refused Alloc = %v, want [1 0 3]", got)
	}
}

// BenchmarkGemmTiles times every SGEMM tile on the products a training step
// makes (NN: δ = εW, NT: Z = XWᵀ, TN: g_W = εᵀX) at square sizes, in GFLOP/s,
// bypassing gemmPlan: the data for tuning gemmPlan's choice on a new card.
// Sub-benchmarks are named op/n/tile, e.g. NT/4096/128; auto is what Gemm
// itself runs (autotuned from 2³⁰ flops, else gemmPlan's choice), and its
// log line names the tile.
func BenchmarkGemmTiles(b *testing.B) {
	d := open(b)
	defer d.Close()
	ops := []struct {
		name   string
		ta, tb bool
	}{{"NN", false, false}, {"NT", false, true}, {"TN", true, false}}
	for _, n := range []int{256, 1024, 2048, 4096, 8192} {
		rng := rand.New(rand.NewPCG(5, uint64(n)))
		A, B, C := upload(b, d, randVec(rng, n*n)), upload(b, d, randVec(rng, n*n)), upload(b, d, make([]float32, n*n))
		for _, op := range ops {
			for force := 0; force <= numGemmTiles; force++ {
				label := "auto"
				if force > 0 {
					label = gemmTiles[force-1].suffix
				}
				b.Run(fmt.Sprintf("%s/%d/%s", op.name, n, label), func(b *testing.B) {
					d.forceTile = force
					defer func() { d.forceTile = 0 }()
					d.Gemm(op.ta, op.tb, n, n, n, 1, A, n, B, n, 0, C, n) // warm-up
					if err := d.Sync(); err != nil {
						b.Fatal(err)
					}
					b.ResetTimer()
					for range b.N {
						d.Gemm(op.ta, op.tb, n, n, n, 1, A, n, B, n, 0, C, n)
					}
					if err := d.Sync(); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					if force == 0 { // which tile auto ran: gpu-run.sh's table shows it
						d.tune.mu.Lock()
						tile, ok := d.tune.tiles[classOf(op.ta, op.tb, n, n, n)]
						d.tune.mu.Unlock()
						if ok {
							b.Logf("%s/%d: autotuned to tile %s", op.name, n, gemmTiles[tile].suffix)
						} else {
							tile, _, _ := gemmPlan(n, n, d.sms)
							b.Logf("%s/%d: gemmPlan's tile %s", op.name, n, gemmTiles[tile].suffix)
						}
					}
				})
			}
		}
		d.Free(A)
		d.Free(B)
		d.Free(C)
	}
}

// TestLaunchFailureIsRecorded makes the driver refuse a launch (a block of
// 2048 threads, over every GPU's limit of 1024): the next Sync must return
// an error naming the kernel, and the error must stay (errors are sticky).
func TestLaunchFailureIsRecorded(t *testing.T) {
	d := open(t)
	defer d.Close()
	x := upload(t, d, []float32{1, 2, 3})
	d.launch(kFill, 1, 1, 2048, 1, intArg(3), ptrArg(d.buf("test", x, false)), fltArg(0))
	err := d.Sync()
	if err == nil {
		t.Fatal("Sync after a refused launch: no error")
	}
	t.Logf("Sync: %v", err)
	if !strings.Contains(err.Error(), "launch fill") {
		t.Errorf("error %q does not name the kernel", err)
	}
	if d.Err() == nil {
		t.Error("Err is nil after a failed launch")
	}
	if _, err := d.Dot(x, x); err == nil {
		t.Error("Dot after a failed launch: no error (errors must be sticky)")
	}
}

// TestStepCounts counts what one training step of the digits MLP (64-128-10,
// Adam, K = 64) asks of the device. On a GPU such a small step is bound by
// host time per launch and per round trip, not by arithmetic, so these
// counts are its cost: the bounds keep new launches or round trips from
// creeping in unnoticed.
func TestStepCounts(t *testing.T) {
	d := open(t)
	defer d.Close()
	tr, x, y := warmTrainer(t, d)
	before := d.Stats()
	const steps = 3
	for range steps {
		if _, err := tr.step(x, y, 64); err != nil {
			t.Fatal(err)
		}
	}
	after := d.Stats()
	launches := (after.Launches - before.Launches) / steps
	trips := (after.RoundTrips - before.RoundTrips) / steps
	t.Logf("per step: %d launches, %d round trips, %d device allocations", launches, trips, after.DriverAllocs-before.DriverAllocs)
	// 14: forward 4 (two products, two bias_act), loss 2 (loss_warp with
	// ε already scaled by 1/K, sum_cols scaled to the mean), argmax 1,
	// backward 6 (three products, two bias sums, one ReLU adjoint; no seed
	// fill and no ε scaling: the prediction adopts ε), and one adam_multi
	// for all four parameter tensors (17 with one adam each).
	if launches > 14 {
		t.Errorf("%d launches per step, want at most 14", launches)
	}
	if trips != 3 {
		t.Errorf("%d round trips per step, want 3 (upload x, upload y, download the loss)", trips)
	}
	if after.DriverAllocs != before.DriverAllocs {
		t.Errorf("%d device allocations in %d steady-state steps, want 0", after.DriverAllocs-before.DriverAllocs, steps)
	}
	// A small network never loads the modules of the tiles only autotuning
	// picks (JIT time).
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, ref := range kernelTable {
		if (ref.module == kernels.GemmWide || ref.module == kernels.GemmTC) && d.w.have[id] {
			t.Errorf("a small training step loaded %s of module %s", ref.name, ref.module)
		}
	}
}

// TestPreload loads every kernel of the device at once. On a GPU the driver
// JIT-compiles each module's PTX for the card here, so this is where a
// module the card cannot load fails, even one that only large products
// reach (gemm_wide, gemm_tc); the log line gives the time (gpu-run.sh's summary
// shows it: the JIT on a machine's first run, the driver's cache after).
func TestPreload(t *testing.T) {
	d := open(t)
	defer d.Close()
	if err := d.Preload(); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	for id, ok := range d.w.have {
		if !ok {
			t.Errorf("after Preload, kernel %s is not loaded", kernelTable[id].name)
		}
	}
	d.mu.Unlock()
	first := d.Stats().LoadTime
	t.Logf("kernels loaded in %v (%d modules: the driver's JIT, or its cache)", first, len(kernels.Modules()))
	if first <= 0 {
		t.Errorf("Stats().LoadTime = %v after loading every kernel", first)
	}
	if err := d.Preload(); err != nil {
		t.Fatal(err)
	}
	if again := d.Stats().LoadTime; again != first {
		t.Errorf("a second Preload loaded kernels again: LoadTime %v, then %v", first, again)
	}
}

// TestGemmStridedLaunches: a batch of small products with disjoint C
// blocks is one launch of a batched tile (or one per gridDim.z's worth of
// products, the limit lowered here), whatever the layout of C; a batch
// whose C blocks overlap, or on a tile without the batched form, is one
// launch per product. Every result is checked against float64.
func TestGemmStridedLaunches(t *testing.T) {
	d := open(t)
	defer d.Close()
	rng := rand.New(rand.NewPCG(9, 10))
	const batch, m, n, k = 6, 19, 13, 11
	cases := []struct {
		name             string
		ldc, strideC     int
		force, perLaunch int
		launches         int
	}{
		{name: "stacked", ldc: n, strideC: m*n + 3, launches: 1},
		{name: "interleaved", ldc: batch * n, strideC: n, launches: 1},
		{name: "z_limit", ldc: n, strideC: m * n, perLaunch: 4, launches: 2},
		{name: "tile_32", ldc: n, strideC: m * n, force: 3, launches: 1},
		{name: "tile_128_unbatched", ldc: n, strideC: m * n, force: 1, launches: batch},
		{name: "overlapping", ldc: n, strideC: n, launches: batch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d.forceTile, d.gemmBatches = c.force, c.perLaunch
			defer func() { d.forceTile, d.gemmBatches = 0, 0 }()
			a, b := randVec(rng, batch*m*k), randVec(rng, batch*k*n)
			lenC := (batch-1)*c.strideC + (m-1)*c.ldc + n
			cv := randVec(rng, lenC)
			A, B, C := upload(t, d, a), upload(t, d, b), upload(t, d, cv)
			defer d.Free(A)
			defer d.Free(B)
			defer d.Free(C)
			before := d.Stats().Launches
			d.GemmStrided(false, true, batch, m, n, k, 1.25, A, k, m*k, B, k, k*n, 0.5, C, c.ldc, c.strideC)
			if got := d.Stats().Launches - before; got != int64(c.launches) {
				t.Errorf("%d launches, want %d", got, c.launches)
			}
			got := make([]float32, lenC)
			if err := d.Download32(got, C); err != nil {
				t.Fatal(err)
			}
			// The reference runs the products in order, as the contract
			// reads when C blocks overlap (the fallback keeps that order).
			want := make([]float64, lenC)
			for i, v := range cv {
				want[i] = float64(v)
			}
			for z := range batch {
				for i := range m {
					for j := range n {
						var s float64
						for p := range k {
							s += float64(a[z*m*k+i*k+p]) * float64(b[z*k*n+j*k+p])
						}
						idx := z*c.strideC + i*c.ldc + j
						want[idx] = 1.25*s + 0.5*want[idx]
					}
				}
			}
			for i := range want {
				if diff := math.Abs(float64(got[i]) - want[i]); diff > 1e-5*(1+math.Abs(want[i])) {
					t.Fatalf("C[%d] = %g, want %g", i, got[i], want[i])
				}
			}
		})
	}
}

// BenchmarkGemmStrided times attention's per-head products (64 heads of a
// 128-token sequence, head size 64: QKᵀ and PV) as one batched launch and,
// for comparison, as one launch per product (the batch limit lowered to
// 1): what batching saves in launch cost on the card in hand.
func BenchmarkGemmStrided(b *testing.B) {
	d := open(b)
	defer d.Close()
	const heads, seq, dh = 64, 128, 64
	rng := rand.New(rand.NewPCG(7, 8))
	Q, K, S := upload(b, d, randVec(rng, heads*seq*dh)), upload(b, d, randVec(rng, heads*seq*dh)), upload(b, d, make([]float32, heads*seq*seq))
	products := []struct {
		name    string
		m, n, k int
		run     func()
	}{
		{"QKt", seq, seq, dh, func() {
			d.GemmStrided(false, true, heads, seq, seq, dh, 1, Q, dh, seq*dh, K, dh, seq*dh, 0, S, seq, seq*seq)
		}},
		{"PV", seq, dh, seq, func() {
			d.GemmStrided(false, false, heads, seq, dh, seq, 1, S, seq, seq*seq, K, dh, seq*dh, 0, Q, dh, seq*dh)
		}},
	}
	for _, p := range products {
		for _, perLaunch := range []int{0, 1} {
			label := "batched"
			if perLaunch == 1 {
				label = "per-product"
			}
			b.Run(p.name+"/"+label, func(b *testing.B) {
				d.gemmBatches = perLaunch
				defer func() { d.gemmBatches = 0 }()
				p.run() // warm-up: the module's load
				if err := d.Sync(); err != nil {
					b.Fatal(err)
				}
				launches := d.Stats().Launches
				b.ResetTimer()
				for range b.N {
					p.run()
				}
				if err := d.Sync(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				flops := 2 * float64(heads) * float64(p.m) * float64(p.n) * float64(p.k)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(float64(d.Stats().Launches-launches)/float64(b.N), "launches/op")
			})
		}
	}
}

// TestProfile: while profiling is on, each launch is counted and timed
// under its kernel's name; turning it on again clears the counts, and
// launches while it is off are not counted.
func TestProfile(t *testing.T) {
	d := open(t)
	defer d.Close()
	x := upload(t, d, make([]float32, 1000))
	defer d.Free(x)
	d.Fill(x, 1) // not profiled
	d.SetProfiling(true)
	d.Fill(x, 2)
	d.Fill(x, 3)
	d.Axpy(0.5, x, x)
	d.SetProfiling(false)
	d.Axpy(0.5, x, x) // not profiled
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, k := range d.Profile() {
		got[k.Kernel] = k.Launches
		if k.Total <= 0 {
			t.Errorf("%s: total time %v, want > 0", k.Kernel, k.Total)
		}
	}
	if want := map[string]int64{"fill": 2, "axpy": 1}; !maps.Equal(got, want) {
		t.Fatalf("profile %v, want %v", got, want)
	}
	table := FormatProfile(d.Profile())
	for _, want := range []string{"kernel", "fill", "axpy", "all"} {
		if !strings.Contains(table, want) {
			t.Errorf("FormatProfile lacks %q:\n%s", want, table)
		}
	}
	d.SetProfiling(true)
	d.SetProfiling(false)
	if p := d.Profile(); len(p) != 0 {
		t.Fatalf("profile after a restart: %v, want empty", p)
	}
}
