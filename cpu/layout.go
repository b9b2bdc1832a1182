package cpu

import (
	"fmt"

	"github.com/adjoint-go/adjoint/device"
)

// Transpose writes y[b, j, i, :] = x[b, i, j, :] for batch rows×cols
// matrices of inner-element blocks.
func (c *CPU) Transpose(x device.Buffer, batch, rows, cols, inner int, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "Transpose"
	X, Y := bufs2(name, x, y)
	checkNonNegative(name, batch, rows, cols, inner)
	n := batch * rows * cols * inner
	checkLen(name, "x", X, n)
	checkLen(name, "y", Y, n)
	if inner != 1 {
		if X.f64 != nil {
			transposeBlocks(X.f64, batch, rows, cols, inner, Y.f64)
		} else {
			transposeBlocks(X.f32, batch, rows, cols, inner, Y.f32)
		}
		return
	}
	if X.f64 != nil {
		transpose(X.f64, rows, cols, Y.f64, 0, batch)
		return
	}
	c.par.a = args{x: X.f32, y: Y.f32, rows: rows, cols: cols}
	c.par.run(taskTranspose, batch, rows*cols)
}

// transposeBlocks moves blocks of inner elements, one copy each.
func transposeBlocks[T float](x []T, batch, rows, cols, inner int, y []T) {
	for b := 0; b < batch; b++ {
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				copy(y[((b*cols+j)*rows+i)*inner:][:inner], x[((b*rows+i)*cols+j)*inner:][:inner])
			}
		}
	}
}

// transpose transposes matrices lo…hi−1 in strips of eight columns of x:
// a strip's eight rows of y are written in sequence as the rows of x are
// read, so the writes stream even when the rows of y are 4 KiB apart
// (which maps a tile's rows to one L1 set and thrashes a square tiling).
func transpose[T float](x []T, rows, cols int, y []T, lo, hi int) {
	for b := lo; b < hi; b++ {
		xb, yb := x[b*rows*cols:][:rows*cols], y[b*rows*cols:][:rows*cols]
		j := 0
		for ; j+8 <= cols; j += 8 {
			y0, y1, y2, y3 := yb[j*rows:][:rows], yb[(j+1)*rows:][:rows], yb[(j+2)*rows:][:rows], yb[(j+3)*rows:][:rows]
			y4, y5, y6, y7 := yb[(j+4)*rows:][:rows], yb[(j+5)*rows:][:rows], yb[(j+6)*rows:][:rows], yb[(j+7)*rows:][:rows]
			for i := range rows {
				s := xb[i*cols+j:][:8]
				y0[i], y1[i], y2[i], y3[i], y4[i], y5[i], y6[i], y7[i] = s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
			}
		}
		for ; j < cols; j++ {
			for i := range rows {
				yb[j*rows+i] = xb[i*cols+j]
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

// im2col fills the rows of cols of images lo…hi−1, one output row (n, i)
// at a time: its OW rows of cols (a few KiB) stay in L1 while each line of
// each channel is read once, where walking pixel by pixel would touch a
// line of every channel per pixel (planes 4 KiB apart share L1 sets). A
// line of a patch whose taps all fall inside the image (most) is copied
// without a test per tap.
func im2col[T float](x []T, g device.ConvGeometry, cols []T, lo, hi int) {
	oh, ow, patch := g.OutH(), g.OutW(), g.Patch()
	hw, span := g.H*g.W, (g.KW-1)*g.DilationW+1
	for n := lo; n < hi; n++ {
		imgs := x[n*g.C*hw:][:g.C*hw]
		for i := 0; i < oh; i++ {
			rows := cols[(n*oh+i)*ow*patch:][:ow*patch] // the OW rows of output row i
			for c := 0; c < g.C; c++ {
				for kh := 0; kh < g.KH; kh++ {
					k := (c*g.KH + kh) * g.KW
					h := i*g.StrideH - g.PadH + kh*g.DilationH
					if h < 0 || h >= g.H {
						for j := 0; j < ow; j++ {
							clear(rows[j*patch+k:][:g.KW])
						}
						continue
					}
					line := imgs[c*hw+h*g.W:][:g.W]
					// Output columns jlo…jhi−1 read taps inside the line
					// alone; the ones before and after touch the padding.
					jlo, jhi := interior(ow, g.W, span, g.StrideW, g.PadW)
					for j := 0; j < jlo; j++ {
						im2colEdge(rows[j*patch+k:][:g.KW], line, j*g.StrideW-g.PadW, g.DilationW)
					}
					if span == 3 && g.KW == 3 { // 3×3 kernels: unrolled
						d, w0 := jlo*patch+k, jlo*g.StrideW-g.PadW
						for j := jlo; j < jhi; j++ {
							out, src := rows[d:d+3:d+3], line[w0:w0+3:w0+3]
							out[0], out[1], out[2] = src[0], src[1], src[2]
							d, w0 = d+patch, w0+g.StrideW
						}
					} else {
						for j := jlo; j < jhi; j++ {
							out, src := rows[j*patch+k:][:g.KW], line[j*g.StrideW-g.PadW:][:span]
							for kw := range out {
								out[kw] = src[kw*g.DilationW]
							}
						}
					}
					for j := jhi; j < ow; j++ {
						im2colEdge(rows[j*patch+k:][:g.KW], line, j*g.StrideW-g.PadW, g.DilationW)
					}
				}
			}
		}
	}
}

// interior returns the output columns jlo…jhi−1 whose taps, a span wide
// from j·stride − pad, all fall inside a line of w pixels (jlo ≤ jhi).
func interior(ow, w, span, stride, pad int) (jlo, jhi int) {
	jlo = min(ow, (pad+stride-1)/stride)
	if last := w - span + pad; last >= 0 {
		jhi = min(ow, last/stride+1)
	}
	return jlo, max(jlo, jhi)
}

// im2colEdge copies the taps of one patch line that starts at w0 and may
// reach into the padding, which reads as 0.
func im2colEdge[T float](out, line []T, w0, dilation int) {
	for kw := range out {
		if w := w0 + kw*dilation; w >= 0 && w < len(line) {
			out[kw] = line[w]
		} else {
			out[kw] = 0
		}
	}
}

// col2imEdge adds the taps of one patch line that starts at w0 into the
// pixels inside the line; those in the padding are dropped.
func col2imEdge[T float](in, line []T, w0, dilation int) {
	for kw, v := range in {
		if w := w0 + kw*dilation; w >= 0 && w < len(line) {
			line[w] += v
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
// copied from, in im2col's order (an output row at a time, its rows of
// cols in L1): the scatter form, which needs no division, and each
// pixel's terms still add up in one fixed order.
func col2im[T float](cols []T, g device.ConvGeometry, beta float64, x []T, lo, hi int) {
	oh, ow, patch := g.OutH(), g.OutW(), g.Patch()
	hw, span := g.H*g.W, (g.KW-1)*g.DilationW+1
	scaleOrClear(x[lo*g.C*hw:hi*g.C*hw], beta)
	for n := lo; n < hi; n++ {
		imgs := x[n*g.C*hw:][:g.C*hw]
		for i := 0; i < oh; i++ {
			rows := cols[(n*oh+i)*ow*patch:][:ow*patch]
			for c := 0; c < g.C; c++ {
				for kh := 0; kh < g.KH; kh++ {
					h := i*g.StrideH - g.PadH + kh*g.DilationH
					if h < 0 || h >= g.H {
						continue
					}
					k := (c*g.KH + kh) * g.KW
					line := imgs[c*hw+h*g.W:][:g.W]
					// As in im2col: interior columns, then the edges.
					jlo, jhi := interior(ow, g.W, span, g.StrideW, g.PadW)
					for j := 0; j < jlo; j++ {
						col2imEdge(rows[j*patch+k:][:g.KW], line, j*g.StrideW-g.PadW, g.DilationW)
					}
					if span == 3 && g.KW == 3 { // 3×3 kernels: unrolled
						d, w0 := jlo*patch+k, jlo*g.StrideW-g.PadW
						for j := jlo; j < jhi; j++ {
							in, dst := rows[d:d+3:d+3], line[w0:w0+3:w0+3]
							dst[0] += in[0]
							dst[1] += in[1]
							dst[2] += in[2]
							d, w0 = d+patch, w0+g.StrideW
						}
					} else {
						for j := jlo; j < jhi; j++ {
							in, dst := rows[j*patch+k:][:g.KW], line[j*g.StrideW-g.PadW:][:span]
							for kw, v := range in {
								dst[kw*g.DilationW] += v
							}
						}
					}
					for j := jhi; j < ow; j++ {
						col2imEdge(rows[j*patch+k:][:g.KW], line, j*g.StrideW-g.PadW, g.DilationW)
					}
				}
			}
		}
	}
}
