package devicetest

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/device"
)

// bnShapes are (n, c, inner) for the batch-normalisation kernels: one
// value per sample ([N, C]), one sample of many values, channel counts and
// channel sizes M = n·inner around a GPU block's 256 threads and above,
// and few channels of thousands of values, which a GPU splits over several
// blocks per channel.
var bnShapes = [][3]int{{2, 1, 1}, {5, 3, 1}, {1, 2, 7}, {3, 4, 5}, {8, 2, 32}, {4, 3, 67}, {17, 5, 16}, {2, 4, 300}, {64, 2, 9}, {4, 2, 1100}, {1, 1, 3000}}

// bnInput returns x [n, c, inner] whose channels cycle through moderate
// values, values around 1000 with a small spread (cancellation in x − μ)
// and constants (σ² = 0).
func (e *env) bnInput(n, c, inner int) []float64 {
	x := make([]float64, n*c*inner)
	for ch := range c {
		k := -1 + 2*e.rng.Float64()
		for i := range n {
			for s := range inner {
				v := k
				switch ch % 3 {
				case 0:
					v = -3 + 6*e.rng.Float64()
				case 1:
					v = 1000 + 2*e.rng.Float64()
				}
				x[(i*c+ch)*inner+s] = v
			}
		}
	}
	return e.round(x)
}

// channel returns the indices of channel ch's values in x [n, c, inner].
func channel(n, c, inner, ch int) []int {
	idx := make([]int, 0, n*inner)
	for i := range n {
		for s := range inner {
			idx = append(idx, (i*c+ch)*inner+s)
		}
	}
	return idx
}

// refBatchNormStats returns each channel's mean and 1/√(σ² + ϵ) in float64.
func refBatchNormStats(x []float64, n, c, inner int, epsilon float64) (mean, rstd []float64) {
	mean, rstd = make([]float64, c), make([]float64, c)
	for ch := range c {
		idx := channel(n, c, inner, ch)
		var mu, v2 float64
		for _, k := range idx {
			mu += x[k]
		}
		mu /= float64(len(idx))
		for _, k := range idx {
			v2 += (x[k] - mu) * (x[k] - mu)
		}
		mean[ch], rstd[ch] = mu, 1/math.Sqrt(v2/float64(len(idx))+epsilon)
	}
	return mean, rstd
}

// testBatchNorm checks BatchNormStats, then BatchNormApply from the
// statistics it wrote, with and without γ and β, into a NaN-filled y and
// in place.
func testBatchNorm(e *env) {
	for _, sh := range bnShapes {
		n, c, inner := sh[0], sh[1], sh[2]
		for _, affine := range []bool{true, false} {
			for _, inPlace := range []bool{false, true} {
				what := fmt.Sprintf("BatchNorm(n=%d, c=%d, inner=%d, affine=%v, in place=%v)", n, c, inner, affine, inPlace)
				const epsilon = 1e-5
				x := e.bnInput(n, c, inner)
				mean, rstd := refBatchNormStats(x, n, c, inner, epsilon)
				xb := e.upload(x)
				mb, rb := e.upload(filled(c, math.NaN())), e.upload(filled(c, math.NaN()))
				e.dev.BatchNormStats(xb, n, c, inner, epsilon, mb, rb)
				e.check(what+": mean", e.download(mb), mean, e.tol, one)
				e.check(what+": rstd", e.download(rb), rstd, e.tol, one)

				var gamma, beta []float64
				var gb, bb device.Buffer
				if affine {
					gamma, beta = e.uniform(c, -2, 2), e.uniform(c, -1, 1)
					gb, bb = e.upload(gamma), e.upload(beta)
				}
				// The apply reads the statistics as the device rounded them.
				mean, rstd = e.round(mean), e.round(rstd)
				want, scale := make([]float64, len(x)), make([]float64, len(x))
				for ch := range c {
					for _, k := range channel(n, c, inner, ch) {
						h := (x[k] - mean[ch]) * rstd[ch]
						want[k], scale[k] = h, 1+math.Abs(h)
						if affine {
							want[k] = h*gamma[ch] + beta[ch]
							scale[k] = (1+math.Abs(h))*math.Abs(gamma[ch]) + math.Abs(beta[ch])
						}
						// x − μ cancels: its rounding is relative to |x|·r.
						scale[k] += math.Abs(x[k]) * rstd[ch] * math.Max(1, math.Abs(want[k]))
					}
				}
				mb, rb = e.upload(mean), e.upload(rstd)
				yb := xb
				if !inPlace {
					yb = e.upload(filled(len(x), math.NaN()))
				}
				e.dev.BatchNormApply(xb, n, c, inner, mb, rb, gb, bb, yb)
				e.check(what+": y", e.download(yb), want, e.tol, func(i int) float64 { return scale[i] })
				if !inPlace {
					e.checkSame(what+": x must be untouched", e.download(xb), x)
				}
			}
		}
	}
}

// testBatchNormAdjoint checks δ (with batch statistics and with constant
// ones) and the parameter gradients against the formulas of
// Device.BatchNormAdjoint, with every output optional and the parameter
// gradients both set (β = 0, on NaN) and accumulated (β = 1).
func testBatchNormAdjoint(e *env) {
	for _, sh := range bnShapes {
		n, c, inner := sh[0], sh[1], sh[2]
		m := float64(n * inner)
		// Five of the eight combinations: accumulation (β = 1) with and
		// without γ and with constant statistics, and every other flag once.
		for _, combo := range []struct {
			affine, batchStats bool
			beta               float64
		}{{true, true, 0}, {true, true, 1}, {false, true, 0}, {true, false, 0}, {false, false, 1}} {
			affine, batchStats, beta := combo.affine, combo.batchStats, combo.beta
			what := fmt.Sprintf("BatchNormAdjoint(n=%d, c=%d, inner=%d, affine=%v, batchStats=%v, beta=%g)", n, c, inner, affine, batchStats, beta)
			x := e.bnInput(n, c, inner)
			eps := e.uniform(len(x), -1, 1)
			var gamma []float64
			var gb device.Buffer
			if affine {
				gamma = e.uniform(c, -2, 2)
				gb = e.upload(gamma)
			}
			mean, rstd := refBatchNormStats(x, n, c, inner, 1e-5)
			mean, rstd = e.round(mean), e.round(rstd)
			prevG, prevB := e.uniform(c, -1, 1), e.uniform(c, -1, 1)
			if beta == 0 {
				prevG, prevB = filled(c, math.NaN()), filled(c, math.NaN())
			}
			wantD, scaleD := make([]float64, len(x)), make([]float64, len(x))
			wantG, wantB, scaleG, scaleB := make([]float64, c), make([]float64, c), make([]float64, c), make([]float64, c)
			for ch := range c {
				g := 1.0
				if affine {
					g = gamma[ch]
				}
				idx := channel(n, c, inner, ch)
				var sumE, sumEX, abs float64
				for _, k := range idx {
					h := (x[k] - mean[ch]) * rstd[ch]
					sumE += eps[k]
					sumEX += eps[k] * h
					abs += math.Abs(eps[k]) * (1 + math.Abs(h) + math.Abs(x[k])*rstd[ch])
				}
				for _, k := range idx {
					h := (x[k] - mean[ch]) * rstd[ch]
					if batchStats {
						wantD[k] = rstd[ch] * g * (eps[k] - sumE/m - h*sumEX/m)
						scaleD[k] = rstd[ch] * math.Abs(g) * (math.Abs(eps[k]) + (1+math.Abs(h))*abs/m)
					} else {
						wantD[k] = rstd[ch] * g * eps[k]
						scaleD[k] = rstd[ch] * math.Abs(g*eps[k])
					}
				}
				if beta != 0 {
					wantG[ch], wantB[ch] = prevG[ch], prevB[ch]
					scaleG[ch], scaleB[ch] = math.Abs(prevG[ch]), math.Abs(prevB[ch])
				}
				wantG[ch] += sumEX
				wantB[ch] += sumE
				scaleG[ch] += abs
				for _, k := range idx {
					scaleB[ch] += math.Abs(eps[k])
				}
			}
			tolD, tolP := e.tol*sqrtN(n*inner), e.tol*sqrtN(n*inner)
			xb, ebuf := e.upload(x), e.upload(eps)
			mb, rb := e.upload(mean), e.upload(rstd)
			db := e.upload(filled(len(x), math.NaN()))
			ggb, gbb := e.upload(prevG), e.upload(prevB)
			e.dev.BatchNormAdjoint(xb, ebuf, n, c, inner, gb, mb, rb, batchStats, db, ggb, gbb, beta)
			e.check(what+": delta", e.download(db), wantD, tolD, func(i int) float64 { return scaleD[i] })
			e.check(what+": gGamma", e.download(ggb), wantG, tolP, func(j int) float64 { return scaleG[j] })
			e.check(what+": gBeta", e.download(gbb), wantB, tolP, func(j int) float64 { return scaleB[j] })
			e.checkSame(what+": eps must be untouched", e.download(ebuf), eps)

			// Optional outputs: δ alone, then each parameter gradient alone.
			db2 := e.upload(filled(len(x), math.NaN()))
			e.dev.BatchNormAdjoint(xb, ebuf, n, c, inner, gb, mb, rb, batchStats, db2, nil, nil, beta)
			e.check(what+": delta alone", e.download(db2), wantD, tolD, func(i int) float64 { return scaleD[i] })
			gg2, gb2 := e.upload(prevG), e.upload(prevB)
			e.dev.BatchNormAdjoint(xb, ebuf, n, c, inner, gb, mb, rb, batchStats, nil, gg2, nil, beta)
			e.check(what+": gGamma alone", e.download(gg2), wantG, tolP, func(j int) float64 { return scaleG[j] })
			e.dev.BatchNormAdjoint(xb, ebuf, n, c, inner, gb, mb, rb, batchStats, nil, nil, gb2, beta)
			e.check(what+": gBeta alone", e.download(gb2), wantB, tolP, func(j int) float64 { return scaleB[j] })
		}
	}
}
