package devicetest

import (
	"fmt"
	"math"

	"github.com/stretchr/testify/require"
)

// gemmShapes are (m, n, k) triples: degenerate vectors, rank-one products
// (k = 1: autograd's broadcasts are outer products with a vector of ones),
// sizes one off the usual 16/32/64 tiles both ways, and rectangular mixes.
var gemmShapes = [][3]int{
	{1, 1, 1}, {1, 1, 257}, {3, 5, 7}, {17, 1, 33}, {1, 31, 3}, {33, 65, 1}, {129, 31, 1},
	{31, 33, 17}, {64, 64, 64}, {65, 33, 127}, {127, 65, 31},
	{33, 129, 65}, {129, 17, 257}, {257, 31, 33}, {17, 257, 31},
}

// gemmVariants are the α, β and leading-dimension paddings of each shape;
// β = 0 runs with C (padding included) filled with NaN, which must be
// overwritten in the block and kept outside it.
var gemmVariants = []struct {
	alpha, beta      float64
	padA, padB, padC int
}{
	{1, 0, 0, 0, 0},
	{-0.75, 0, 3, 5, 2},
	{1.5, 1, 1, 4, 7},
	{0.5, -2, 7, 1, 3},
}

// testGemm checks C = α op(A) op(B) + βC for every transpose pair.
func testGemm(e *env) {
	for _, sh := range gemmShapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, transA := range []bool{false, true} {
			for _, transB := range []bool{false, true} {
				for _, v := range gemmVariants {
					checkGemm(e, transA, transB, m, n, k, v.alpha, v.beta, v.padA, v.padB, v.padC)
				}
			}
		}
	}
}

func checkGemm(e *env, transA, transB bool, m, n, k int, alpha, beta float64, padA, padB, padC int) {
	// A is m×k (k×m when transposed), B is k×n (n×k), C is m×n; each
	// stored row-major with its leading dimension padded.
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	lda, ldb, ldc := colsA+padA, colsB+padB, n+padC
	what := fmt.Sprintf("Gemm(transA=%v, transB=%v, m=%d, n=%d, k=%d, alpha=%g, A %d×%d lda=%d, B %d×%d ldb=%d, beta=%g, C ldc=%d)",
		transA, transB, m, n, k, alpha, rowsA, colsA, lda, rowsB, colsB, ldb, beta, ldc)

	a := e.uniform(rowsA*lda, -1, 1)
	b := e.uniform(rowsB*ldb, -1, 1)
	var c []float64
	if beta == 0 {
		c = filled(m*ldc, math.NaN())
	} else {
		c = e.uniform(m*ldc, -1, 1)
	}
	ab, bb, cb := e.upload(a), e.upload(b), e.upload(c)
	e.dev.Gemm(transA, transB, m, n, k, alpha, ab, lda, bb, ldb, beta, cb, ldc)
	want, scale := refGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	got := e.download(cb)

	// The m×n block within tolerance, the padding columns untouched.
	var gotBlk, wantBlk, scaleBlk, gotPad, wantPad []float64
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			idx := i*ldc + j
			if j < n {
				gotBlk, wantBlk, scaleBlk = append(gotBlk, got[idx]), append(wantBlk, want[idx]), append(scaleBlk, scale[idx])
			} else {
				gotPad, wantPad = append(gotPad, got[idx]), append(wantPad, c[idx])
			}
		}
	}
	e.check(what+": C", gotBlk, wantBlk, e.tol*sqrtN(k), func(i int) float64 { return scaleBlk[i] })
	e.checkSame(what+": C padding beyond column n must be untouched", gotPad, wantPad)
	e.checkSame(what+": A must be untouched", e.download(ab), a)
	e.checkSame(what+": B must be untouched", e.download(bb), b)
}

// testAxpy checks y ← αx + y.
func testAxpy(e *env) {
	for _, n := range lengths {
		for _, alpha := range []float64{1, -0.5, 2.75, 0} {
			what := fmt.Sprintf("Axpy(alpha=%g, n=%d)", alpha, n)
			x, y := e.uniform(n, -2, 2), e.uniform(n, -2, 2)
			xb, yb := e.upload(x), e.upload(y)
			e.dev.Axpy(alpha, xb, yb)
			want, scale := make([]float64, n), make([]float64, n)
			for i := range want {
				want[i] = alpha*x[i] + y[i]
				scale[i] = math.Abs(alpha*x[i]) + math.Abs(y[i])
			}
			e.check(what+": y", e.download(yb), want, 2*e.tol, func(i int) float64 { return scale[i] })
			e.checkSame(what+": x must be untouched", e.download(xb), x)
		}
	}
}

// testScale checks y ← αx, into a NaN-filled y and in place.
func testScale(e *env) {
	for _, n := range lengths {
		for _, alpha := range []float64{1, -0.5, 3, 0} {
			x := e.uniform(n, -2, 2)
			want := make([]float64, n)
			for i := range want {
				want[i] = alpha * x[i]
			}
			what := fmt.Sprintf("Scale(alpha=%g, n=%d)", alpha, n)
			xb, yb := e.upload(x), e.upload(filled(n, math.NaN()))
			e.dev.Scale(alpha, xb, yb)
			e.check(what+": y", e.download(yb), want, e.tol, one)
			e.checkSame(what+": x must be untouched", e.download(xb), x)

			e.dev.Scale(alpha, xb, xb)
			e.check(what+" in place (y == x)", e.download(xb), want, e.tol, one)
		}
	}
}

// testDot checks Σ xᵢyᵢ, and Dot(x, x).
func testDot(e *env) {
	for _, n := range append(lengths[:len(lengths):len(lengths)], 65537) {
		x, y := e.uniform(n, -1, 1), e.uniform(n, -1, 1)
		xb, yb := e.upload(x), e.upload(y)
		var want, scale, wantSq float64
		for i := range x {
			want += x[i] * y[i]
			scale += math.Abs(x[i] * y[i])
			wantSq += x[i] * x[i]
		}
		got, err := e.dev.Dot(xb, yb)
		require.NoError(e.t, err, "Dot(n=%d)", n)
		e.check(fmt.Sprintf("Dot(n=%d)", n), []float64{got}, []float64{want}, e.tol*sqrtN(n), func(int) float64 { return scale })
		got, err = e.dev.Dot(xb, xb)
		require.NoError(e.t, err, "Dot(x, x) n=%d", n)
		e.check(fmt.Sprintf("Dot(x, x) n=%d", n), []float64{got}, []float64{wantSq}, e.tol*sqrtN(n), func(int) float64 { return wantSq })
	}
}

// stridedCases are GemmStrided batches: tight strides, gaps between the
// matrices (which must stay untouched), a shared A or B (stride 0), and
// products whose C blocks interleave row by row (C stored [m, batch, n]:
// attention's heads written side by side), with a batch of many small
// products among them (a GPU runs those in one launch).
var stridedCases = []struct {
	batch, m, n, k int
	gapA, gapB     int  // elements between consecutive matrices
	sharedA        bool // stride 0: one A for the batch
	sharedB        bool
	interleaveC    bool // C's row i holds row i of every product, side by side
}{
	{1, 3, 4, 5, 0, 0, false, false, false},
	{3, 5, 7, 4, 0, 0, false, false, false},
	{4, 17, 9, 33, 3, 5, false, false, false},
	{5, 8, 6, 7, 0, 0, true, false, false},
	{2, 33, 65, 17, 1, 0, false, true, false},
	{3, 9, 5, 6, 2, 0, false, false, true},
	{24, 37, 70, 16, 0, 0, false, false, false},
	{0, 3, 3, 3, 0, 0, false, false, false},
}

// testGemmStrided checks every product of a batch against refGemm, with
// each transpose, β = 0 on a NaN-filled C and β = 0.5; C's gaps between
// products must keep their NaN.
func testGemmStrided(e *env) {
	for _, sc := range stridedCases {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, beta := range []float64{0, 0.5} {
				checkGemmStrided(e, tr[0], tr[1], sc.batch, sc.m, sc.n, sc.k, sc.gapA, sc.gapB, sc.sharedA, sc.sharedB, sc.interleaveC, beta)
			}
		}
	}
}

func checkGemmStrided(e *env, transA, transB bool, batch, m, n, k, gapA, gapB int, sharedA, sharedB, interleaveC bool, beta float64) {
	lda, ldb, ldc := k, n, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	strideA, strideB, strideC := m*k+gapA, k*n+gapB, m*n+2 // C: two NaNs between products
	if sharedA {
		strideA = 0
	}
	if sharedB {
		strideB = 0
	}
	if interleaveC {
		strideC, ldc = n, batch*n+1 // and a NaN at the end of each row
	}
	size := func(stride, one int) int { return max(1, (batch-1)*stride+one) }
	a, b := e.uniform(size(strideA, m*k), -1, 1), e.uniform(size(strideB, k*n), -1, 1)
	// inC[i] marks C's elements that belong to a product; the others hold
	// NaN, never read and never written.
	lenC := size(strideC, (m-1)*ldc+n)
	inC := make([]bool, lenC)
	for z := range batch {
		for i := range m {
			for j := range n {
				inC[z*strideC+i*ldc+j] = true
			}
		}
	}
	c := filled(lenC, math.NaN())
	if beta != 0 {
		for i, v := range e.uniform(lenC, -1, 1) {
			if inC[i] {
				c[i] = v
			}
		}
	}
	ab, bb, cb := e.upload(a), e.upload(b), e.upload(c)
	e.dev.GemmStrided(transA, transB, batch, m, n, k, 0.75, ab, lda, strideA, bb, ldb, strideB, beta, cb, ldc, strideC)
	got := e.download(cb)
	want, scale := clone(c), make([]float64, len(c))
	for z := range batch {
		off := z * strideC
		w, s := refGemm(transA, transB, m, n, k, 0.75, a[z*strideA:], lda, b[z*strideB:], ldb, beta, c[off:off+(m-1)*ldc+n], ldc)
		for i := range m {
			copy(want[off+i*ldc:off+i*ldc+n], w[i*ldc:i*ldc+n])
			copy(scale[off+i*ldc:off+i*ldc+n], s[i*ldc:i*ldc+n])
		}
	}
	what := fmt.Sprintf("GemmStrided(transA=%v, transB=%v, batch=%d, m=%d, n=%d, k=%d, strides %d %d %d, beta=%g)",
		transA, transB, batch, m, n, k, strideA, strideB, strideC, beta)
	e.check(what, got, want, e.tol*sqrtN(k), func(i int) float64 { return scale[i] })
}
