package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// sentinel fills the parts of the operands that are not part of a matrix
// (stride padding and slack at the end). For A and B it is NaN so that
// reading it would poison the result; for C it must come back unchanged.
const sentinel = 12345.5

type shape struct{ m, n, k int }

type strides struct{ extraA, extraB, extraC int }

type scalars struct{ alpha, beta float64 }

var (
	awkward  = []int{1, 2, 3, 7, 13, 17, 31, 33}
	bigger   = []int{65, 127, 129}
	transAll = []struct {
		name   string
		ta, tb bool
	}{{"NN", false, false}, {"NT", false, true}, {"TN", true, false}, {"TT", true, true}}
	scalarSet = []scalars{{1, 0}, {1, 1}, {-0.5, 2}, {0.75, -1}, {0, 0.5}, {2, 0}}
)

func shapesFor(short bool) []shape {
	var ss []shape
	for _, m := range awkward {
		for _, n := range awkward {
			for _, k := range awkward {
				ss = append(ss, shape{m, n, k})
			}
		}
	}
	for _, x := range bigger {
		for _, y := range append(awkward[:3:3], bigger...) {
			ss = append(ss, shape{x, y, 17}, shape{y, x, 65}, shape{x, 13, y}, shape{7, x, y})
		}
	}
	ss = append(ss, shape{0, 5, 3}, shape{5, 0, 3}, shape{5, 3, 0}, shape{0, 0, 0},
		shape{6, 16, 256}, shape{12, 32, 257}, shape{14, 32, 255}, shape{150, 40, 260})
	if short {
		ss = ss[:0:0]
		for _, m := range []int{1, 3, 7, 17} {
			for _, n := range []int{1, 2, 17, 33} {
				ss = append(ss, shape{m, n, 13}, shape{m, n, 129})
			}
		}
	}
	return ss
}

// operands holds a random problem in float64 together with its layout.
type operands struct {
	ta, tb        bool
	m, n, k       int
	lda, ldb, ldc int
	a, b, c       []float64
}

func newOperands(rng *rand.Rand, ta, tb bool, s shape, st strides, nanC bool) *operands {
	o := &operands{ta: ta, tb: tb, m: s.m, n: s.n, k: s.k}
	rowsA, colsA := s.m, s.k
	if ta {
		rowsA, colsA = s.k, s.m
	}
	rowsB, colsB := s.k, s.n
	if tb {
		rowsB, colsB = s.n, s.k
	}
	o.lda = max(1, colsA) + st.extraA
	o.ldb = max(1, colsB) + st.extraB
	o.ldc = max(1, s.n) + st.extraC
	fill := func(rows, cols, ld int, pad float64, nan bool) []float64 {
		x := make([]float64, rows*ld+3) // slack after the last row too
		for i := range x {
			x[i] = pad
		}
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				if nan {
					x[i*ld+j] = math.NaN()
				} else {
					x[i*ld+j] = rng.Float64()*2 - 1
				}
			}
		}
		return x
	}
	o.a = fill(rowsA, colsA, o.lda, math.NaN(), false)
	o.b = fill(rowsB, colsB, o.ldb, math.NaN(), false)
	o.c = fill(s.m, s.n, o.ldc, sentinel, nanC)
	return o
}

func (o *operands) opA(i, p int) float64 {
	if o.ta {
		return o.a[p*o.lda+i]
	}
	return o.a[i*o.lda+p]
}

func (o *operands) opB(p, j int) float64 {
	if o.tb {
		return o.b[j*o.ldb+p]
	}
	return o.b[p*o.ldb+j]
}

// reference returns the expected C and, per element, a bound on the
// magnitude of the terms (for a k-relative error tolerance).
func (o *operands) reference(alpha, beta float64) (want, mag []float64) {
	// Materialise op(A) (m×k) and op(B) (k×n) densely, then use i-p-j loops.
	A := make([]float64, o.m*o.k)
	B := make([]float64, o.k*o.n)
	for i := 0; i < o.m; i++ {
		for p := 0; p < o.k; p++ {
			A[i*o.k+p] = o.opA(i, p)
		}
	}
	for p := 0; p < o.k; p++ {
		for j := 0; j < o.n; j++ {
			B[p*o.n+j] = o.opB(p, j)
		}
	}
	want = append([]float64(nil), o.c...)
	mag = make([]float64, len(o.c))
	sum := make([]float64, o.n)
	abs := make([]float64, o.n)
	for i := 0; i < o.m; i++ {
		clear(sum)
		clear(abs)
		for p := 0; p < o.k; p++ {
			av := A[i*o.k+p]
			br := B[p*o.n : p*o.n+o.n]
			for j, bv := range br {
				x := av * bv
				sum[j] += x
				abs[j] += math.Abs(x)
			}
		}
		for j := 0; j < o.n; j++ {
			idx := i*o.ldc + j
			v := alpha * sum[j]
			mg := math.Abs(alpha) * abs[j]
			if beta != 0 {
				v += beta * o.c[idx]
				mg += math.Abs(beta * o.c[idx])
			}
			want[idx] = v
			mag[idx] = mg
		}
	}
	return want, mag
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func checkResult(t *testing.T, got func(int) float64, want, mag []float64, o *operands, eps float64, ctx string) {
	t.Helper()
	for idx := range want {
		i, j := idx/o.ldc, idx%o.ldc
		g := got(idx)
		if i >= o.m || j >= o.n {
			// Outside the matrix: must be untouched (bit-exact sentinel).
			if g != sentinel {
				require.Failf(t, "element outside C modified", "%s: C[%d] (row %d col %d) = %v", ctx, idx, i, j, g)
			}
			continue
		}
		tol := 4*float64(o.k+2)*eps*mag[idx] + 1e-30
		if math.IsNaN(g) || math.Abs(g-want[idx]) > tol {
			require.Failf(t, "wrong result", "%s: C[%d,%d] = %v, want %v (tol %g)", ctx, i, j, g, want[idx], tol)
		}
	}
}

func engines(t testing.TB, threads ...int) []*Engine {
	var es []*Engine
	for _, k := range Available() {
		for _, th := range threads {
			e, err := New(k, th)
			require.NoError(t, err)
			es = append(es, e)
		}
	}
	return es
}

func TestSgemmDgemm(t *testing.T) {
	// Split even small problems over all threads so that the partitioning
	// is exercised on awkward shapes: static splits on the engines with
	// the default chunk size, dynamic chunks on those with tiny chunks.
	saved, savedChunk := minWorkPerThread, chunkSize
	minWorkPerThread = 1
	defer func() { minWorkPerThread, chunkSize = saved, savedChunk }()
	shapes := shapesFor(testing.Short())
	for _, e := range engines(t, 1, 2, 3, 4) {
		defer e.Close()
		chunk := savedChunk
		if e.Threads() == 4 {
			chunk = 20
		}
		for _, tr := range transAll {
			for _, prec := range []string{"f32", "f64"} {
				name := fmt.Sprintf("%v/threads=%d/%s/%s", e.Kernel(), e.Threads(), tr.name, prec)
				t.Run(name, func(t *testing.T) {
					chunkSize = chunk
					rng := rand.New(rand.NewPCG(1, uint64(len(name))))
					for si, s := range shapes {
						sc := scalarSet[si%len(scalarSet)]
						st := strides{}
						if si%3 != 0 {
							st = strides{extraA: si % 5, extraB: (si + 2) % 7, extraC: 1 + si%4}
						}
						nanC := sc.beta == 0
						runCase(t, e, rng, tr.ta, tr.tb, s, st, sc, nanC, prec == "f64")
					}
				})
			}
		}
	}
}

func runCase(t *testing.T, e *Engine, rng *rand.Rand, ta, tb bool, s shape, st strides, sc scalars, nanC, f64 bool) {
	t.Helper()
	o := newOperands(rng, ta, tb, s, st, nanC)
	ctx := fmt.Sprintf("m=%d n=%d k=%d lda=%d ldb=%d ldc=%d alpha=%v beta=%v", s.m, s.n, s.k, o.lda, o.ldb, o.ldc, sc.alpha, sc.beta)
	if f64 {
		want, mag := o.reference(sc.alpha, sc.beta)
		c := append([]float64(nil), o.c...)
		e.Dgemm(ta, tb, s.m, s.n, s.k, sc.alpha, o.a, o.lda, o.b, o.ldb, sc.beta, c, o.ldc)
		checkResult(t, func(i int) float64 { return c[i] }, want, mag, o, 0x1p-52, ctx)
		return
	}
	// Round the inputs to float32 first so the reference sees the same data.
	a32, b32, c32 := to32(o.a), to32(o.b), to32(o.c)
	for i, v := range a32 {
		o.a[i] = float64(v)
	}
	for i, v := range b32 {
		o.b[i] = float64(v)
	}
	for i, v := range c32 {
		o.c[i] = float64(v)
	}
	alpha, beta := float32(sc.alpha), float32(sc.beta)
	want, mag := o.reference(float64(alpha), float64(beta))
	e.Sgemm(ta, tb, s.m, s.n, s.k, alpha, a32, o.lda, b32, o.ldb, beta, c32, o.ldc)
	checkResult(t, func(i int) float64 { return float64(c32[i]) }, want, mag, o, 0x1p-23, ctx)
}

func TestSgemmLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large shapes skipped in -short mode")
	}
	// The last shape is large enough for the dynamic chunk schedule.
	shapes := []shape{{257, 513, 300}, {300, 257, 513}, {1000, 33, 600}, {1100, 1030, 37}}
	for _, e := range engines(t, 1, 2) {
		defer e.Close()
		for _, tr := range transAll {
			for _, s := range shapes {
				name := fmt.Sprintf("%v/threads=%d/%s/%dx%dx%d", e.Kernel(), e.Threads(), tr.name, s.m, s.n, s.k)
				t.Run(name, func(t *testing.T) {
					rng := rand.New(rand.NewPCG(7, uint64(s.m)))
					runCase(t, e, rng, tr.ta, tr.tb, s, strides{3, 5, 2}, scalars{0.5, -1.5}, false, false)
					runCase(t, e, rng, tr.ta, tr.tb, s, strides{}, scalars{1, 0}, true, false)
					if s.m == 257 {
						runCase(t, e, rng, tr.ta, tr.tb, s, strides{1, 0, 1}, scalars{-1, 0.5}, false, true)
					}
				})
			}
		}
	}
}

// TestConcurrentEngines runs several engines from different goroutines
// (meaningful under -race).
func TestConcurrentEngines(t *testing.T) {
	done := make(chan error)
	for g := 0; g < 3; g++ {
		go func() {
			defer func() {
				if r := recover(); r != nil {
					done <- fmt.Errorf("%v", r)
					return
				}
				done <- nil
			}()
			e, _ := New(Auto, 2)
			defer e.Close()
			rng := rand.New(rand.NewPCG(uint64(g), 3))
			for i := 0; i < 5; i++ {
				runCase(t, e, rng, g%2 == 0, i%2 == 0, shape{70 + g, 90, 80 + i}, strides{}, scalars{1, 1}, false, false)
			}
		}()
	}
	for g := 0; g < 3; g++ {
		require.NoError(t, <-done)
	}
}

func TestKernelNames(t *testing.T) {
	tests := []struct {
		in      string
		want    Kernel
		wantErr bool
	}{
		{"auto", Auto, false},
		{"generic", Generic, false},
		{"AVX2", AVX2, false},
		{" avx512 ", AVX512, false},
		{"sse", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			k, err := ParseKernel(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, k)
			require.Equal(t, strings.ToLower(strings.TrimSpace(tt.in)), k.String())
		})
	}
	require.Equal(t, "Kernel(9)", Kernel(9).String())
}

func TestAvailableAndNew(t *testing.T) {
	av := Available()
	require.NotEmpty(t, av)
	require.Equal(t, Generic, av[0])
	for _, k := range av {
		e, err := New(k, 0)
		require.NoError(t, err)
		require.Equal(t, k, e.Kernel())
		require.Equal(t, runtime.GOMAXPROCS(0), e.Threads())
		e.Close()
		e.Close() // idempotent
		require.PanicsWithValue(t, errClosed, func() {
			e.Sgemm(false, false, 1, 1, 1, 1, []float32{1}, 1, []float32{1}, 1, 0, []float32{0}, 1)
		})
	}
	e, err := New(Auto, 3)
	require.NoError(t, err)
	require.Equal(t, av[len(av)-1], e.Kernel())
	require.Equal(t, 3, e.Threads())
	e.Close()

	for _, k := range []Kernel{AVX2, AVX512} {
		if !available(k) {
			_, err := New(k, 1)
			require.Error(t, err, k.String())
		}
	}
	_, err = New(Kernel(42), 1)
	require.Error(t, err)
	_, err = New(Kernel(-1), 1)
	require.Error(t, err)
}

func TestPanics(t *testing.T) {
	e, err := New(Auto, 1)
	require.NoError(t, err)
	defer e.Close()
	f := make([]float32, 100)
	tests := []struct {
		name, want string
		call       func()
	}{
		{"m<0", "m < 0", func() { e.Sgemm(false, false, -1, 2, 2, 1, f, 2, f, 2, 0, f, 2) }},
		{"n<0", "n < 0", func() { e.Sgemm(false, false, 2, -1, 2, 1, f, 2, f, 2, 0, f, 2) }},
		{"k<0", "k < 0", func() { e.Sgemm(false, false, 2, 2, -1, 1, f, 2, f, 2, 0, f, 2) }},
		{"lda", "lda", func() { e.Sgemm(false, false, 2, 3, 4, 1, f, 3, f, 3, 0, f, 3) }},
		{"ldaT", "lda", func() { e.Sgemm(true, false, 5, 3, 4, 1, f, 4, f, 3, 0, f, 3) }},
		{"ldb", "ldb", func() { e.Sgemm(false, false, 2, 3, 4, 1, f, 4, f, 2, 0, f, 3) }},
		{"ldbT", "ldb", func() { e.Sgemm(false, true, 2, 3, 4, 1, f, 4, f, 3, 0, f, 3) }},
		{"ldc", "ldc", func() { e.Sgemm(false, false, 2, 3, 4, 1, f, 4, f, 3, 0, f, 2) }},
		{"lenA", "length of a", func() { e.Sgemm(false, false, 30, 3, 4, 1, f, 4, f, 3, 0, f[:0], 3) }},
		{"lenB", "length of b", func() { e.Sgemm(false, false, 2, 3, 40, 1, f, 40, f, 3, 0, f, 3) }},
		{"lenC", "length of c", func() { e.Sgemm(false, false, 3, 3, 4, 1, f, 4, f, 3, 0, f[:8], 3) }},
		{"dgemm", "length of c", func() {
			d := make([]float64, 10)
			e.Dgemm(false, false, 3, 3, 1, 1, d, 1, d, 3, 0, d[:5], 3)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := func() (msg string) {
				defer func() { msg = fmt.Sprint(recover()) }()
				tt.call()
				return "no panic"
			}()
			require.True(t, strings.HasPrefix(msg, "gemm: "), msg)
			require.Contains(t, msg, tt.want)
		})
	}
	// Zero-sized problems accept empty slices.
	require.NotPanics(t, func() { e.Sgemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1) })
	require.NotPanics(t, func() { e.Sgemm(true, true, 0, 4, 0, 1, nil, 1, nil, 1, 0, nil, 4) })
	c := []float32{1, 2, 3, 4}
	e.Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 3, c, 2)
	require.Equal(t, []float32{3, 6, 9, 12}, c)
}

func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	shapes := []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"tiny", false, false, 4, 4, 4},
		{"mlp-fwd", false, true, 64, 128, 64},
		{"mlp-out", false, false, 64, 10, 128},
		{"mlp-grad", true, false, 128, 10, 64},
		{"large", false, false, 257, 513, 300},
		{"largeTT", true, true, 300, 257, 513},
		{"dynamic", false, true, 1030, 1100, 40},
	}
	for _, e := range engines(t, 1, 2) {
		defer e.Close()
		for _, s := range shapes {
			t.Run(fmt.Sprintf("%v/threads=%d/%s", e.Kernel(), e.Threads(), s.name), func(t *testing.T) {
				a := make([]float32, s.m*s.k)
				b := make([]float32, s.k*s.n)
				c := make([]float32, s.m*s.n)
				lda, ldb := s.k, s.n
				if s.ta {
					lda = s.m
				}
				if s.tb {
					ldb = s.k
				}
				call := func() { e.Sgemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, b, ldb, 0.5, c, s.n) }
				call()
				require.Zero(t, testing.AllocsPerRun(5, call))
				a64 := make([]float64, len(a))
				b64 := make([]float64, len(b))
				c64 := make([]float64, len(c))
				call64 := func() { e.Dgemm(s.ta, s.tb, s.m, s.n, s.k, 1, a64, lda, b64, ldb, 0.5, c64, s.n) }
				call64()
				require.Zero(t, testing.AllocsPerRun(5, call64))
			})
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		m, n, mr, nr, t int
	}{
		{1024, 1024, 6, 16, 2}, {6, 1024, 6, 16, 2}, {1024, 16, 6, 16, 2},
		{100, 100, 6, 16, 3}, {1000, 1000, 6, 16, 16}, {7, 17, 6, 16, 8},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d/t=%d", tt.m, tt.n, tt.t), func(t *testing.T) {
			tm, tn := split(tt.m, tt.n, tt.mr, tt.nr, tt.t, tt.t%2 == 0)
			require.LessOrEqual(t, tm*tn, tt.t)
			require.GreaterOrEqual(t, tm*tn, 1)
			// The parts tile [0,m)×[0,n) exactly.
			covered := 0
			for i := 0; i < tm; i++ {
				lo, hi := partRange(tt.m, tt.mr, tm, i)
				require.Zero(t, lo%tt.mr)
				covered += hi - lo
			}
			require.Equal(t, tt.m, covered)
			covered = 0
			for j := 0; j < tn; j++ {
				lo, hi := partRange(tt.n, tt.nr, tn, j)
				require.Zero(t, lo%tt.nr)
				covered += hi - lo
			}
			require.Equal(t, tt.n, covered)
		})
	}
}

// refKernel returns a plain Go micro-kernel for an mr×nr tile, so that the
// blocking and packing logic can be tested for every tile shape (including
// the AVX-512 one, which cannot run on every machine).
func refKernel[T float](mr, nr int) kernelFunc[T] {
	return func(k int, a, b, c *T, ldc int, alpha, beta T) {
		pa := unsafe.Slice(a, mr*k)
		pb := unsafe.Slice(b, nr*k)
		pc := unsafe.Slice(c, (mr-1)*ldc+nr)
		for r := 0; r < mr; r++ {
			for j := 0; j < nr; j++ {
				var s T
				for p := 0; p < k; p++ {
					s += pa[p*mr+r] * pb[p*nr+j]
				}
				if beta == 0 {
					pc[r*ldc+j] = alpha * s
				} else {
					pc[r*ldc+j] = alpha*s + beta*pc[r*ldc+j]
				}
			}
		}
	}
}

// TestBlocking runs the driver with tiny cache blocks (so every loop runs
// several times and partial blocks occur everywhere) and with the tile
// shapes of all kernels.
func TestBlocking(t *testing.T) {
	type tc struct {
		name           string
		kern32         kernelFunc[float32]
		mr, nr         int
		kc, mc, nc     int
		threads, small int
	}
	tests := []tc{
		{"ref14x32", refKernel[float32](14, 32), 14, 32, 7, 28, 64, 2, 0},
		{"ref6x16", refKernel[float32](6, 16), 6, 16, 5, 12, 48, 3, 0},
		{"ref3x5", refKernel[float32](3, 5), 3, 5, 4, 6, 10, 2, 0},
		{"go4x4", kernelGo4x4[float32], 4, 4, 9, 8, 12, 2, 0},
	}
	if hasAVX2 {
		tests = append(tests,
			tc{"avx2-small-blocks", setup32(AVX2).kern, 6, 16, 5, 12, 32, 2, 0},
			tc{"avx2-direct-small-blocks", setup32(AVX2).kern, 6, 16, 5, 12, 32, 2, 0},
			tc{"avx2-kc1", setup32(AVX2).kern, 6, 16, 1, 6, 16, 1, 0})
	}
	if hasAVX512 {
		tests = append(tests, tc{"avx512-small-blocks", setup32(AVX512).kern, 14, 32, 5, 28, 64, 2, 0})
	}
	saved := minWorkPerThread
	minWorkPerThread = 1
	defer func() { minWorkPerThread = saved }()
	shapes := []shape{{1, 1, 1}, {13, 17, 29}, {33, 65, 31}, {29, 70, 11}, {64, 64, 64}, {5, 100, 3}}
	for _, tt := range tests {
		for _, tr := range transAll {
			t.Run(tt.name+"/"+tr.name, func(t *testing.T) {
				e, err := New(Generic, tt.threads)
				require.NoError(t, err)
				defer e.Close()
				s := &e.e.s32
				s.kern, s.mr, s.nr, s.kc, s.mc, s.nc, s.small = tt.kern32, tt.mr, tt.nr, tt.kc, tt.mc, tt.nc, tt.small
				if strings.Contains(tt.name, "direct") {
					s.kernRows, s.kernCols = setup32(AVX2).kernRows, setup32(AVX2).kernCols
				}
				d := &e.e.s64
				d.kern, d.mr, d.nr, d.kc, d.mc, d.nc, d.small = refKernel[float64](tt.mr, tt.nr), tt.mr, tt.nr, tt.kc, tt.mc, tt.nc, tt.small
				rng := rand.New(rand.NewPCG(5, 5))
				for i, sh := range shapes {
					sc := scalarSet[i%len(scalarSet)]
					runCase(t, e, rng, tr.ta, tr.tb, sh, strides{i % 3, 1, 2}, sc, sc.beta == 0, false)
					runCase(t, e, rng, tr.ta, tr.tb, sh, strides{2, i % 2, 1}, sc, sc.beta == 0, true)
				}
			})
		}
	}
}

// TestCleanupStopsWorkers checks that an Engine dropped without Close
// does not leak its worker goroutines.
func TestCleanupStopsWorkers(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		e, err := New(Generic, 4)
		require.NoError(t, err)
		c := make([]float32, 64*64)
		e.Sgemm(false, false, 64, 64, 64, 1, c, 64, c, 64, 0, c, 64)
	}()
	// (require.Eventually would itself add goroutines.)
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		require.True(t, time.Now().Before(deadline), "workers still running: %d > %d goroutines", runtime.NumGoroutine(), before)
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
}
