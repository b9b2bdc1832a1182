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
		transpose(X.f64, rows, cols, Y.f64, 0, batch)
		return
	}
	c.par.a = args{x: X.f32, y: Y.f32, rows: rows, cols: cols}
	c.par.run(taskTranspose, batch, rows*cols)
}

// transpose transposes matrices lo…hi−1, walking each in tiles of
// tile×tile, so that both the rows read and the rows written stay in the
// cache.
func transpose[T float](x []T, rows, cols int, y []T, lo, hi int) {
	const tile = 32
	for b := lo; b < hi; b++ {
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
// of cols. Float32 batches large enough are split over the workers by
// images.
func (c *CPU) Im2Col(x device.Buffer, g device.ConvGeometry, cols device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	X, C := mustBuf(x, "Im2Col"), mustBuf(cols, "Im2Col")
	checkConv("Im2Col", g, X, C)
	if X.f64 != nil {
		im2col(X.f64, g, C.f64, 0, g.N)
		return
	}
	c.par.a = args{x: X.f32, y: C.f32, conv: g}
	c.par.run(taskIm2Col, g.N, g.OutH()*g.OutW()*g.Patch())
}

// im2col fills the rows of cols of images lo…hi−1.
func im2col[T float](x []T, g device.ConvGeometry, cols []T, lo, hi int) {
	oh, ow, patch := g.OutH(), g.OutW(), g.Patch()
	for n := lo; n < hi; n++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				row := cols[((n*oh+i)*ow+j)*patch:][:patch]
				k := 0
				for c := 0; c < g.C; c++ {
					img := x[(n*g.C+c)*g.H*g.W:][:g.H*g.W]
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
// copies from it. Float32 batches large enough are split over the workers
// by images, whose pixels no other image's patches touch.
func (c *CPU) Col2Im(cols device.Buffer, g device.ConvGeometry, beta float64, x device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	X, C := mustBuf(x, "Col2Im"), mustBuf(cols, "Col2Im")
	checkConv("Col2Im", g, X, C)
	if X.f64 != nil {
		col2im(C.f64, g, beta, X.f64, 0, g.N)
		return
	}
	c.par.a = args{x: C.f32, y: X.f32, conv: g, param: beta}
	c.par.run(taskCol2Im, g.N, g.OutH()*g.OutW()*g.Patch())
}

// col2im computes images lo…hi−1 of x = βx + Col2Im(cols): it scales
// (or clears) them, then adds each element of cols to the pixel it was
// copied from, walking cols in order: the scatter form, which needs no
// division, and each pixel's terms still add up in one fixed order.
func col2im[T float](cols []T, g device.ConvGeometry, beta float64, x []T, lo, hi int) {
	oh, ow, patch := g.OutH(), g.OutW(), g.Patch()
	imgs := x[lo*g.C*g.H*g.W : hi*g.C*g.H*g.W]
	switch beta {
	case 0:
		clear(imgs)
	case 1:
	default:
		for i := range imgs {
			imgs[i] *= T(beta)
		}
	}
	for n := lo; n < hi; n++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				row := cols[((n*oh+i)*ow+j)*patch:][:patch]
				k := 0
				for c := 0; c < g.C; c++ {
					img := x[(n*g.C+c)*g.H*g.W:][:g.H*g.W]
					for kh := 0; kh < g.KH; kh++ {
						h := i*g.StrideH - g.PadH + kh*g.DilationH
						if h < 0 || h >= g.H {
							k += g.KW
							continue
						}
						for kw := 0; kw < g.KW; kw++ {
							if w := j*g.StrideW - g.PadW + kw*g.DilationW; w >= 0 && w < g.W {
								img[h*g.W+w] += row[k]
							}
							k++
						}
					}
				}
			}
		}
	}
}
