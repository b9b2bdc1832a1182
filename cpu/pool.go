package cpu

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/device"
)

// MaxPool writes each window's maximum and its index within the plane.
// Float32 batches large enough are split over the workers by images.
func (c *CPU) MaxPool(x device.Buffer, g device.ConvGeometry, y, argmax device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "MaxPool"
	X, Y, A := mustBuf(x, name), mustBuf(y, name), mustBuf(argmax, name)
	checkPool(name, g, X, Y, A)
	if X.f64 != nil {
		maxPool(X.f64, g, Y.f64, A.f64, 0, g.N)
		return
	}
	c.par.a = args{x: X.f32, y: Y.f32, e: A.f32, conv: g}
	c.par.run(taskMaxPool, g.N, g.C*g.OutH()*g.OutW()*g.KH*g.KW)
}

// checkPool panics, naming op, when g is no pooling or a buffer is too
// short for it.
func checkPool(op string, g device.ConvGeometry, x, y, argmax *Buffer) {
	if err := g.CheckPool(); err != nil {
		panic(fmt.Sprintf("cpu: %s: %v", op, err))
	}
	checkLen(op, "x", x, g.N*g.C*g.H*g.W)
	checkSame(op, x, y, argmax)
	n := g.N * g.C * g.OutH() * g.OutW()
	checkLen(op, "y", y, n)
	checkLen(op, "argmax", argmax, n)
}

// maxPool pools images lo…hi−1 as torch's max_pool2d does: the running
// maximum starts at −∞ on the window's first pixel inside the image and
// moves to a pixel that is larger or NaN.
func maxPool[T float](x []T, g device.ConvGeometry, y, argmax []T, lo, hi int) {
	oh, ow, hw := g.OutH(), g.OutW(), g.H*g.W
	for p := lo * g.C; p < hi*g.C; p++ { // planes (n, c)
		img := x[p*hw:][:hw]
		out, arg := y[p*oh*ow:][:oh*ow], argmax[p*oh*ow:][:oh*ow]
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				best, at := T(math.Inf(-1)), -1
				for kh := 0; kh < g.KH; kh++ {
					h := i*g.StrideH - g.PadH + kh*g.DilationH
					if h < 0 || h >= g.H {
						continue
					}
					for kw := 0; kw < g.KW; kw++ {
						w := j*g.StrideW - g.PadW + kw*g.DilationW
						if w < 0 || w >= g.W {
							continue
						}
						if at < 0 {
							at = h*g.W + w
						}
						if v := img[h*g.W+w]; v > best || v != v {
							best, at = v, h*g.W+w
						}
					}
				}
				out[i*ow+j], arg[i*ow+j] = best, T(at)
			}
		}
	}
}

// MaxPoolAdjoint adds each output's ε to the pixel that was its maximum.
func (c *CPU) MaxPoolAdjoint(eps, argmax device.Buffer, g device.ConvGeometry, beta float64, dx device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "MaxPoolAdjoint"
	E, A, D := mustBuf(eps, name), mustBuf(argmax, name), mustBuf(dx, name)
	checkPool(name, g, D, E, A)
	if D.f64 != nil {
		maxPoolAdjoint(E.f64, A.f64, g, beta, D.f64, 0, g.N)
		return
	}
	c.par.a = args{x: E.f32, e: A.f32, y: D.f32, conv: g, param: beta}
	c.par.run(taskMaxPoolAdjoint, g.N, g.C*g.OutH()*g.OutW())
}

// maxPoolAdjoint computes images lo…hi−1 of dx = β dx + the scatter of ε
// to the argmax pixels, walking the outputs in order.
func maxPoolAdjoint[T float](eps, argmax []T, g device.ConvGeometry, beta float64, dx []T, lo, hi int) {
	oh, ow, hw := g.OutH(), g.OutW(), g.H*g.W
	for p := lo * g.C; p < hi*g.C; p++ {
		img := dx[p*hw:][:hw]
		scaleOrClear(img, beta)
		e, a := eps[p*oh*ow:][:oh*ow], argmax[p*oh*ow:][:oh*ow]
		for k, v := range e {
			if at := int(a[k]); at >= 0 { // −1: a window without a pixel
				img[at] += v
			}
		}
	}
}

// scaleOrClear sets x = βx, writing zeros for β = 0 (x may hold NaN).
func scaleOrClear[T float](x []T, beta float64) {
	switch beta {
	case 0:
		clear(x)
	case 1:
	default:
		for i := range x {
			x[i] *= T(beta)
		}
	}
}

// MaxPoolTangent gathers each output's argmax pixel of dx.
func (c *CPU) MaxPoolTangent(dx, argmax device.Buffer, g device.ConvGeometry, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "MaxPoolTangent"
	D, A, Y := mustBuf(dx, name), mustBuf(argmax, name), mustBuf(y, name)
	checkPool(name, g, D, Y, A)
	if D.f64 != nil {
		maxPoolTangent(D.f64, A.f64, g, Y.f64)
		return
	}
	maxPoolTangent(D.f32, A.f32, g, Y.f32)
}

func maxPoolTangent[T float](dx, argmax []T, g device.ConvGeometry, y []T) {
	outs, hw := g.OutH()*g.OutW(), g.H*g.W
	for k := range y[:g.N*g.C*outs] {
		y[k] = 0
		if at := int(argmax[k]); at >= 0 {
			y[k] = dx[k/outs*hw+at]
		}
	}
}
