package devicetest

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/device"
)

// poolGeometries: torch's usual 2×2 stride 2, overlapping 3×3 windows
// (pixels that win several windows), padding, a dilated window, odd
// sizes, and a batch that splits over CPU threads.
var poolGeometries = []device.ConvGeometry{
	{N: 2, C: 3, H: 6, W: 8, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1},
	{N: 2, C: 2, H: 7, W: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilationH: 1, DilationW: 1},
	{N: 1, C: 3, H: 5, W: 6, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilationH: 1, DilationW: 1},
	{N: 2, C: 2, H: 9, W: 7, KH: 3, KW: 2, StrideH: 1, StrideW: 2, PadH: 1, PadW: 1, DilationH: 2, DilationW: 1},
	{N: 1, C: 1, H: 1, W: 1, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1},
	{N: 8, C: 16, H: 16, W: 16, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1},
}

// maxPoolRef is torch's max_pool2d with indices, written from its
// definition: the first pixel inside the window starts the search at −∞,
// a larger value or a NaN takes over.
func maxPoolRef(x []float64, g device.ConvGeometry) (y, argmax []float64) {
	oh, ow := g.OutH(), g.OutW()
	for p := range g.N * g.C {
		for i := range oh {
			for j := range ow {
				best, at := math.Inf(-1), -1
				for kh := range g.KH {
					for kw := range g.KW {
						h, w := i*g.StrideH-g.PadH+kh*g.DilationH, j*g.StrideW-g.PadW+kw*g.DilationW
						if h < 0 || h >= g.H || w < 0 || w >= g.W {
							continue
						}
						v := x[p*g.H*g.W+h*g.W+w]
						if at < 0 {
							at = h*g.W + w
						}
						if v > best || math.IsNaN(v) {
							best, at = v, h*g.W+w
						}
					}
				}
				y, argmax = append(y, best), append(argmax, float64(at))
			}
		}
	}
	return y, argmax
}

// poolInput draws small integers, so that windows hold ties, with NaN,
// ±Inf and a plane of −∞ among them.
func (e *env) poolInput(g device.ConvGeometry) []float64 {
	x := make([]float64, g.N*g.C*g.H*g.W)
	for i := range x {
		x[i] = float64(e.rng.IntN(5)) - 2
		switch e.rng.IntN(40) {
		case 0:
			x[i] = math.NaN()
		case 1:
			x[i] = math.Inf(1)
		case 2:
			x[i] = math.Inf(-1)
		}
	}
	if g.C > 1 { // the second plane of the first image: −∞ only
		for i := range g.H * g.W {
			x[g.H*g.W+i] = math.Inf(-1)
		}
	}
	return x
}

// testMaxPool requires the maxima and their indices exactly, on NaN-filled
// outputs.
func testMaxPool(e *env) {
	for _, g := range poolGeometries {
		x := e.poolInput(g)
		wantY, wantA := maxPoolRef(x, g)
		xb := e.upload(x)
		yb, ab := e.upload(filled(len(wantY), math.NaN())), e.upload(filled(len(wantY), math.NaN()))
		e.dev.MaxPool(xb, g, yb, ab)
		what := fmt.Sprintf("MaxPool(%+v)", g)
		e.checkSame(what+": y", e.download(yb), wantY)
		e.checkSame(what+": argmax", e.download(ab), wantA)
	}
}

// testMaxPoolAdjoint checks the scatter of ε to the argmax pixels, with
// β = 0 on a NaN-filled dx, 1 and 0.5.
func testMaxPoolAdjoint(e *env) {
	for _, g := range poolGeometries {
		_, argmax := maxPoolRef(e.poolInput(g), g)
		for _, beta := range sumBetas {
			eps := e.uniform(len(argmax), -1, 1)
			dx, want, scale := e.betaStart(g.N*g.C*g.H*g.W, beta)
			plane, outs := g.H*g.W, g.OutH()*g.OutW()
			for k, a := range argmax {
				if a >= 0 {
					at := k/outs*plane + int(a)
					want[at] += eps[k]
					scale[at] += math.Abs(eps[k])
				}
			}
			eb, ab, db := e.upload(eps), e.upload(argmax), e.upload(dx)
			e.dev.MaxPoolAdjoint(eb, ab, g, beta, db)
			tol := e.tol * math.Sqrt(float64(g.KH*g.KW+1))
			e.check(fmt.Sprintf("MaxPoolAdjoint(%+v, beta=%g)", g, beta), e.download(db), want, tol, func(i int) float64 { return scale[i] })
		}
	}
}

// testMaxPoolTangent requires each output to be dx at its argmax exactly
// (0 for −1), on a NaN-filled y.
func testMaxPoolTangent(e *env) {
	for _, g := range poolGeometries {
		_, argmax := maxPoolRef(e.poolInput(g), g)
		dx := e.uniform(g.N*g.C*g.H*g.W, -1, 1)
		want := make([]float64, len(argmax))
		outs := g.OutH() * g.OutW()
		for k, a := range argmax {
			if a >= 0 {
				want[k] = dx[k/outs*g.H*g.W+int(a)]
			}
		}
		db, ab, yb := e.upload(dx), e.upload(argmax), e.upload(filled(len(argmax), math.NaN()))
		e.dev.MaxPoolTangent(db, ab, g, yb)
		e.checkSame(fmt.Sprintf("MaxPoolTangent(%+v)", g), e.download(yb), want)
	}
}
