package devicetest

import (
	"fmt"
	"math"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/device"
)

// lengths are the vector lengths of the elementwise and memory checks: odd
// sizes around GPU tile and warp multiples, and a few larger ones.
var lengths = []int{1, 3, 17, 31, 33, 64, 65, 127, 129, 257, 1000, 4099, 40009} // the last splits over CPU threads

// testMemory checks Alloc, Upload, Download and Free round trips and the
// length-mismatch errors of Upload and Download.
func testMemory(e *env) {
	t := e.t
	for _, n := range lengths {
		what := fmt.Sprintf("Alloc/Upload/Download n=%d", n)
		b, err := e.dev.Alloc(e.dt, n)
		require.NoError(t, err, what)
		require.Equal(t, n, b.Len(), "%s: Len", what)
		require.Equal(t, e.dt, b.DType(), "%s: DType", what)

		x := e.uniform(n, -10, 10)
		if n >= 17 { // special values survive the round trip bit for bit
			copy(x, []float64{0, 1e30, -1e-30, math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat32, -math.SmallestNonzeroFloat32 * (1 << 30)})
			e.round(x)
		}
		require.NoError(t, e.rawUpload(b, x), what)
		got := make([]float64, n)
		require.NoError(t, e.rawDownload(got, b), what)
		e.checkSame(what, got, x)

		// A second upload overwrites the first.
		x2 := e.uniform(n, -1, 1)
		require.NoError(t, e.rawUpload(b, x2), what)
		require.NoError(t, e.rawDownload(got, b), what)
		e.checkSame(what+" (second upload)", got, x2)

		// Length mismatches are errors, in both directions.
		assert.Error(t, e.rawUpload(b, make([]float64, n+1)), "%s: Upload of %d elements into %d must fail", what, n+1, n)
		assert.Error(t, e.rawDownload(make([]float64, n+1), b), "%s: Download of %d elements into %d must fail", what, n, n+1)
		if n > 1 {
			assert.Error(t, e.rawUpload(b, make([]float64, n-1)), "%s: Upload of %d elements into %d must fail", what, n-1, n)
			assert.Error(t, e.rawDownload(make([]float64, n-1), b), "%s: Download of %d elements into %d must fail", what, n, n-1)
		}
		// The failed transfers left the contents alone.
		require.NoError(t, e.rawDownload(got, b), what)
		e.checkSame(what+" (after failed transfers)", got, x2)

		// Free, then a new buffer of the same size (perhaps the same
		// memory, from a caching allocator) works like the first.
		e.dev.Free(b)
		b2 := e.alloc(n)
		require.Equal(t, n, b2.Len(), "%s: Len after Free and Alloc", what)
		x3 := e.uniform(n, -5, 5)
		require.NoError(t, e.rawUpload(b2, x3), what)
		require.NoError(t, e.rawDownload(got, b2), what)
		e.checkSame(what+" (after Free and Alloc)", got, x3)
	}
	// Many live buffers do not alias.
	data := make([][]float64, 8)
	bs := make([]device.Buffer, len(data))
	for i := range data {
		data[i] = e.uniform(65, float64(i), float64(i+1))
		bs[i] = e.upload(data[i])
	}
	for i := range data {
		e.checkSame(fmt.Sprintf("Upload/Download live buffer %d of %d", i, len(bs)), e.download(bs[i]), data[i])
	}
	require.NoError(t, e.dev.Sync(), "Sync after Memory")
}

// testFill checks that Fill sets every element.
func testFill(e *env) {
	for _, n := range lengths {
		for _, v := range []float64{0, 1, -2.5, math.Pi, 1e20} {
			b := e.upload(e.uniform(n, -1, 1))
			e.dev.Fill(b, v)
			e.checkSame(fmt.Sprintf("Fill(n=%d, v=%g)", n, v), e.download(b), filled(n, e.roundv(v)))
		}
	}
}

// testCopy2D checks Copy2D with offsets and leading dimensions (a source
// stride of 0 included), and that it writes nothing outside the block.
func testCopy2D(e *env) {
	cases := []struct{ rows, cols, srcOff, srcLD, dstOff, dstLD int }{
		{1, 1, 0, 1, 0, 1},
		{0, 5, 0, 5, 0, 5},
		{4, 0, 0, 3, 0, 3},
		{3, 5, 2, 7, 1, 9},
		{17, 31, 0, 31, 0, 31},
		{17, 31, 5, 40, 3, 33},
		{31, 17, 0, 17, 4, 64},
		{33, 64, 7, 65, 0, 64},
		{64, 1, 0, 1, 0, 2},
		{65, 127, 3, 129, 11, 130},
		{129, 33, 0, 257, 1, 33},
		{257, 3, 1, 3, 2, 4},
		{1, 257, 0, 257, 5, 300},
		{127, 65, 64, 129, 65, 130},
		{5, 7, 2, 0, 1, 9}, // srcLD 0: one row repeated (autograd's broadcasts)
		{33, 65, 0, 0, 3, 65},
	}
	for _, c := range cases {
		what := fmt.Sprintf("Copy2D(rows=%d, cols=%d, srcOff=%d, srcLD=%d, dstOff=%d, dstLD=%d)",
			c.rows, c.cols, c.srcOff, c.srcLD, c.dstOff, c.dstLD)
		src := e.uniform(c.srcOff+max(c.rows*c.srcLD, c.cols)+3, -1, 1)
		dst := e.uniform(c.dstOff+c.rows*c.dstLD+2, 2, 3)
		sb, db := e.upload(src), e.upload(dst)
		e.dev.Copy2D(db, c.dstOff, c.dstLD, sb, c.srcOff, c.srcLD, c.rows, c.cols)
		want := clone(dst)
		for i := 0; i < c.rows; i++ {
			for j := 0; j < c.cols; j++ {
				want[c.dstOff+i*c.dstLD+j] = src[c.srcOff+i*c.srcLD+j]
			}
		}
		e.checkSame(what+": dst", e.download(db), want)
		e.checkSame(what+": src must be untouched", e.download(sb), src)
	}
}
