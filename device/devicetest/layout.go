package devicetest

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/device"
)

// transposeShapes are (batch, rows, cols, inner) of Transpose: vectors,
// sizes off GPU tiles, blocks of several elements (axes other than the
// last two), and a batch that splits over CPU threads.
var transposeShapes = [][4]int{{1, 1, 1, 1}, {0, 3, 4, 1}, {1, 1, 7, 1}, {1, 7, 1, 1}, {3, 17, 31, 1}, {2, 33, 65, 1},
	{5, 64, 3, 1}, {1, 257, 129, 1}, {4, 100, 90, 1}, {2, 3, 5, 4}, {3, 7, 2, 9}, {1, 5, 6, 33}}

// testTranspose requires y[b, j, i, :] = x[b, i, j, :] exactly, on a
// NaN-filled y, with x untouched.
func testTranspose(e *env) {
	for _, s := range transposeShapes {
		batch, rows, cols, inner := s[0], s[1], s[2], s[3]
		x := e.uniform(batch*rows*cols*inner, -1, 1)
		want := make([]float64, len(x))
		for b := range batch {
			for i := range rows {
				for j := range cols {
					for q := range inner {
						want[((b*cols+j)*rows+i)*inner+q] = x[((b*rows+i)*cols+j)*inner+q]
					}
				}
			}
		}
		xb, yb := e.upload(x), e.upload(filled(len(x), math.NaN()))
		e.dev.Transpose(xb, batch, rows, cols, inner, yb)
		what := fmt.Sprintf("Transpose(batch=%d, rows=%d, cols=%d, inner=%d)", batch, rows, cols, inner)
		e.checkSame(what, e.download(yb), want)
		e.checkSame(what+": x", e.download(xb), x)
	}
}

// convGeometries cover 1×1 and rectangular kernels, strides, padding
// (wider than the kernel's reach included), dilation, one image and
// several, and sizes whose element counts are not multiples of GPU blocks.
var convGeometries = []device.ConvGeometry{
	{N: 1, C: 1, H: 1, W: 1, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1},
	{N: 2, C: 3, H: 5, W: 5, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1},
	{N: 2, C: 3, H: 5, W: 7, KH: 3, KW: 2, StrideH: 1, StrideW: 2, PadH: 1, PadW: 1, DilationH: 1, DilationW: 1},
	{N: 3, C: 2, H: 8, W: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilationH: 1, DilationW: 1},
	{N: 1, C: 4, H: 9, W: 6, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilationH: 2, DilationW: 1},
	{N: 2, C: 1, H: 4, W: 4, KH: 2, KW: 2, StrideH: 3, StrideW: 3, PadH: 3, PadW: 0, DilationH: 1, DilationW: 1},
	{N: 4, C: 5, H: 13, W: 11, KH: 5, KW: 4, StrideH: 2, StrideW: 1, PadH: 2, PadW: 1, DilationH: 1, DilationW: 2},
	{N: 0, C: 2, H: 3, W: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1},
	{N: 9, C: 3, H: 16, W: 15, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilationH: 1, DilationW: 1}, // splits over CPU threads
	{N: 1, C: 2, H: 3, W: 4, KH: 2, KW: 3, StrideH: 1, StrideW: 2, PadH: 0, PadW: 4, DilationH: 1, DilationW: 1},   // columns wholly in the padding
}

// im2colRef is Im2Col written as the definition reads, and where returns,
// for each element of the result, the pixel it copies (−1: padding).
func im2colRef(x []float64, g device.ConvGeometry) (cols []float64, where []int) {
	oh, ow := g.OutH(), g.OutW()
	for n := range g.N {
		for i := range oh {
			for j := range ow {
				for c := range g.C {
					for kh := range g.KH {
						for kw := range g.KW {
							h, w := i*g.StrideH-g.PadH+kh*g.DilationH, j*g.StrideW-g.PadW+kw*g.DilationW
							at := -1
							if h >= 0 && h < g.H && w >= 0 && w < g.W {
								at = ((n*g.C+c)*g.H+h)*g.W + w
							}
							where = append(where, at)
							if at < 0 {
								cols = append(cols, 0)
							} else {
								cols = append(cols, x[at])
							}
						}
					}
				}
			}
		}
	}
	return cols, where
}

// testIm2Col requires every element of cols exactly, on a NaN-filled cols.
func testIm2Col(e *env) {
	for _, g := range convGeometries {
		x := e.uniform(g.N*g.C*g.H*g.W, -1, 1)
		want, _ := im2colRef(x, g)
		xb, cb := e.upload(x), e.upload(filled(g.Pixels()*g.Patch(), math.NaN()))
		e.dev.Im2Col(xb, g, cb)
		e.checkSame(fmt.Sprintf("Im2Col(%+v)", g), e.download(cb), want)
	}
}

// testCol2Im checks Col2Im against the scatter form of Im2Col's adjoint
// (each element of cols added to the pixel it was copied from), with β =
// 0 on a NaN-filled x, 1 and 0.5; a pixel's sum has at most KH·KW terms.
func testCol2Im(e *env) {
	for _, g := range convGeometries {
		_, where := im2colRef(make([]float64, g.N*g.C*g.H*g.W), g)
		for _, beta := range sumBetas {
			cols := e.uniform(g.Pixels()*g.Patch(), -1, 1)
			x, want, scale := e.betaStart(g.N*g.C*g.H*g.W, beta)
			for k, at := range where {
				if at >= 0 {
					want[at] += cols[k]
					scale[at] += math.Abs(cols[k])
				}
			}
			cb, xb := e.upload(cols), e.upload(x)
			e.dev.Col2Im(cb, g, beta, xb)
			tol := e.tol * math.Sqrt(float64(g.KH*g.KW+1))
			e.check(fmt.Sprintf("Col2Im(%+v, beta=%g)", g, beta), e.download(xb), want, tol, func(i int) float64 { return scale[i] })
		}
	}
}

// betaStart returns the starting contents x of an n-element output that a
// method adds into with factor β (NaN for β = 0: it must not be read), and
// the reference's start: want = βx, with its error scale |βx|.
func (e *env) betaStart(n int, beta float64) (x, want, scale []float64) {
	x, want, scale = filled(n, math.NaN()), make([]float64, n), make([]float64, n)
	if beta == 0 {
		return x, want, scale
	}
	x = e.uniform(n, -1, 1)
	for i, v := range x {
		want[i], scale[i] = beta*v, math.Abs(beta*v)
	}
	return x, want, scale
}
