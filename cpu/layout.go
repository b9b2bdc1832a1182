package cpu

import (
	"fmt"

	"github.com/adjoint-go/adjoint/device"
)

// Transpose writes y[b, j, i] = x[b, i, j] for batch rows×cols matrices.
func (c *CPU) Transpose(x device.Buffer, batch, rows, cols int, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "Transpose"
	X, Y := bufs2(name, x, y)
	checkNonNegative(name, batch, rows, cols)
	n := batch * rows * cols
	checkLen(name, "x", X, n)
	checkLen(name, "y", Y, n)
	if X.f64 != nil {
		transpose(X.f64[:n], batch, rows, cols, Y.f64[:n])
		return
	}
	transpose(X.f32[:n], batch, rows, cols, Y.f32[:n])
}

// transpose walks x in tiles of tile×tile, so that both the rows read and
// the rows written stay in the cache.
func transpose[T float](x []T, batch, rows, cols int, y []T) {
	const tile = 32
	for b := 0; b < batch; b++ {
		xb, yb := x[b*rows*cols:(b+1)*rows*cols], y[b*rows*cols:(b+1)*rows*cols]
		for i0 := 0; i0 < rows; i0 += tile {
			for j0 := 0; j0 < cols; j0 += tile {
				for i := i0; i < min(i0+tile, rows); i++ {
					for j := j0; j < min(j0+tile, cols); j++ {
						yb[j*rows+i] = xb[i*cols+j]
					}
				}
			}
		}
	}
}

func checkNonNegative(op string, dims ...int) {
	for _, d := range dims {
		if d < 0 {
			panic(fmt.Sprintf("cpu: %s: negative dimension %d", op, d))
		}
	}
}

// checkConv panics, naming op, when g is no convolution or a buffer is
// too short for it.
func checkConv(op string, g device.ConvGeometry, x, cols *Buffer) {
	if err := g.Check(); err != nil {
		panic(fmt.Sprintf("cpu: %s: %v", op, err))
	}
	checkSame(op, x, cols)
	checkLen(op, "x", x, g.N*g.C*g.H*g.W)
	checkLen(op, "cols", cols, g.Pixels()*g.Patch())
}

// Im2Col copies every patch of x that the convolution g reads into a row
// of cols.
func (c *CPU) Im2Col(x device.Buffer, g device.ConvGeometry, cols device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	X, C := mustBuf(x, "Im2Col"), mustBuf(cols, "Im2Col")
	checkConv("Im2Col", g, X, C)
	if X.f64 != nil {
		im2col(X.f64, g, C.f64)
		return
	}
	im2col(X.f32, g, C.f32)
}

func im2col[T float](x []T, g device.ConvGeometry, cols []T) {
	oh, ow := g.OutH(), g.OutW()
	r := 0 // the row of cols: (n, i, j)
	for n := 0; n < g.N; n++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				row := cols[r*g.Patch() : (r+1)*g.Patch()]
				r++
				k := 0
				for c := 0; c < g.C; c++ {
					img := x[(n*g.C+c)*g.H*g.W : (n*g.C+c+1)*g.H*g.W]
					for kh := 0; kh < g.KH; kh++ {
						h := i*g.StrideH - g.PadH + kh*g.DilationH
						for kw := 0; kw < g.KW; kw++ {
							w := j*g.StrideW - g.PadW + kw*g.DilationW
							if h >= 0 && h < g.H && w >= 0 && w < g.W {
								row[k] = img[h*g.W+w]
							} else {
								row[k] = 0
							}
							k++
						}
					}
				}
			}
		}
	}
}

// Col2Im sums, into each pixel of x, the elements of cols that Im2Col
// copies from it.
func (c *CPU) Col2Im(cols device.Buffer, g device.ConvGeometry, beta float64, x device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	X, C := mustBuf(x, "Col2Im"), mustBuf(cols, "Col2Im")
	checkConv("Col2Im", g, X, C)
	if X.f64 != nil {
		col2im(C.f64, g, beta, X.f64)
		return
	}
	col2im(C.f32, g, beta, X.f32)
}

// col2im gathers per pixel, over the taps (kh, kw) in order, the output
// pixels (i, j) that read it: i·StrideH = h + PadH − kh·DilationH.
func col2im[T float](cols []T, g device.ConvGeometry, beta float64, x []T) {
	oh, ow, patch := g.OutH(), g.OutW(), g.Patch()
	for n := 0; n < g.N; n++ {
		for c := 0; c < g.C; c++ {
			img := x[(n*g.C+c)*g.H*g.W : (n*g.C+c+1)*g.H*g.W]
			for h := 0; h < g.H; h++ {
				for w := 0; w < g.W; w++ {
					var s T
					for kh := 0; kh < g.KH; kh++ {
						th := h + g.PadH - kh*g.DilationH
						if th < 0 || th%g.StrideH != 0 || th/g.StrideH >= oh {
							continue
						}
						i := th / g.StrideH
						for kw := 0; kw < g.KW; kw++ {
							tw := w + g.PadW - kw*g.DilationW
							if tw < 0 || tw%g.StrideW != 0 || tw/g.StrideW >= ow {
								continue
							}
							j := tw / g.StrideW
							s += cols[((n*oh+i)*ow+j)*patch+(c*g.KH+kh)*g.KW+kw]
						}
					}
					if beta != 0 {
						s += T(beta) * img[h*g.W+w]
					}
					img[h*g.W+w] = s
				}
			}
		}
	}
}
