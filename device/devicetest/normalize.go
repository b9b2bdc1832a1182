package devicetest

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/device"
)

// normShapes are (rows, cols) pairs for LayerNorm; cols is the normalised
// length, across the warp and block kernels of a GPU (≤ 1024 and above).
var normShapes = [][2]int{{1, 1}, {1, 2}, {4, 3}, {17, 31}, {33, 64}, {8, 65}, {65, 127}, {9, 129}, {5, 257}, {3, 1500}}

// normRows returns a rows×cols matrix whose rows cycle through moderate
// values, values around 1000 with a small spread (cancellation in x − μ),
// and constant rows (σ² = 0, where only ϵ keeps 1/√(σ² + ϵ) finite).
func (e *env) normRows(rows, cols int) []float64 {
	x := make([]float64, rows*cols)
	for i := 0; i < rows; i++ {
		row := x[i*cols : (i+1)*cols]
		c := -1 + 2*e.rng.Float64()
		for j := range row {
			switch i % 3 {
			case 0:
				row[j] = -3 + 6*e.rng.Float64()
			case 1:
				row[j] = 1000 + 2*e.rng.Float64()
			case 2:
				row[j] = c
			}
		}
	}
	return e.round(x)
}

// refLayerNorm returns x̂, mean and rstd of each row in float64.
func refLayerNorm(x []float64, rows, cols int, epsilon float64) (xhat, mean, rstd []float64) {
	xhat, mean, rstd = make([]float64, rows*cols), make([]float64, rows), make([]float64, rows)
	for i := 0; i < rows; i++ {
		row := x[i*cols : (i+1)*cols]
		var mu, v2 float64
		for _, v := range row {
			mu += v
		}
		mu /= float64(cols)
		for _, v := range row {
			v2 += (v - mu) * (v - mu)
		}
		r := 1 / math.Sqrt(v2/float64(cols)+epsilon)
		for j, v := range row {
			xhat[i*cols+j] = (v - mu) * r
		}
		mean[i], rstd[i] = mu, r
	}
	return xhat, mean, rstd
}

// testLayerNorm checks y = x̂ ⊙ γ + β, mean and rstd, with and without the
// affine parameters, for two ϵ, into a NaN-filled y and in place.
func testLayerNorm(e *env) {
	for _, sh := range normShapes {
		rows, cols := sh[0], sh[1]
		for _, affine := range []bool{true, false} {
			for _, epsilon := range []float64{1e-5, 0.1} {
				for _, inPlace := range []bool{false, true} {
					what := fmt.Sprintf("LayerNorm(rows=%d, cols=%d, affine=%v, epsilon=%g, in place=%v)", rows, cols, affine, epsilon, inPlace)
					x := e.normRows(rows, cols)
					var gamma, beta []float64
					var gb, bb device.Buffer
					if affine {
						gamma, beta = e.uniform(cols, -2, 2), e.uniform(cols, -1, 1)
						gb, bb = e.upload(gamma), e.upload(beta)
					}
					xhat, mean, rstd := refLayerNorm(x, rows, cols, epsilon)
					want := make([]float64, rows*cols)
					for i, h := range xhat {
						want[i] = h
						if affine {
							want[i] = h*gamma[i%cols] + beta[i%cols]
						}
					}
					xb := e.upload(x)
					yb := xb
					if !inPlace {
						yb = e.upload(filled(rows*cols, math.NaN()))
					}
					mb, rb := e.upload(filled(rows, math.NaN())), e.upload(filled(rows, math.NaN()))
					e.dev.LayerNorm(xb, rows, cols, gb, bb, epsilon, yb, mb, rb)
					// |x̂| ≤ √cols, so results are compared at the scale of
					// γ, β and the row's largest |x̂|.
					e.check(what+": y", e.download(yb), want, e.tol*sqrtN(cols), func(int) float64 { return 4 })
					e.check(what+": mean", e.download(mb), mean, e.tol, one)
					e.check(what+": rstd", e.download(rb), rstd, e.tol, one)
					if !inPlace {
						e.checkSame(what+": x must be untouched", e.download(xb), x)
					}
				}
			}
		}
	}
}

// testLayerNormAdjoint checks δ and the parameter gradients against the
// formulas of Device.LayerNormAdjoint, with every output optional and the
// parameter gradients both set (β = 0, on NaN) and accumulated (β = 1).
func testLayerNormAdjoint(e *env) {
	for _, sh := range normShapes {
		rows, cols := sh[0], sh[1]
		for _, affine := range []bool{true, false} {
			for _, beta := range []float64{0, 1} {
				what := fmt.Sprintf("LayerNormAdjoint(rows=%d, cols=%d, affine=%v, beta=%g)", rows, cols, affine, beta)
				const epsilon = 1e-5
				x := e.normRows(rows, cols)
				eps := e.uniform(rows*cols, -1, 1)
				var gamma []float64
				var gb device.Buffer
				if affine {
					gamma = e.uniform(cols, -2, 2)
					gb = e.upload(gamma)
				}
				_, mean, rstd := refLayerNorm(x, rows, cols, epsilon)
				// The device gets mean and rstd as rounded to its dtype;
				// the reference uses the same values.
				mean, rstd = e.round(mean), e.round(rstd)
				wantD, scaleD := make([]float64, rows*cols), make([]float64, rows*cols)
				for i := 0; i < rows; i++ {
					var s1, s2, a1 float64
					for j := 0; j < cols; j++ {
						g := eps[i*cols+j]
						if affine {
							g *= gamma[j]
						}
						h := (x[i*cols+j] - mean[i]) * rstd[i]
						s1 += g
						s2 += g * h
						a1 += math.Abs(g) * (1 + math.Abs(h))
					}
					n := float64(cols)
					for j := 0; j < cols; j++ {
						g := eps[i*cols+j]
						if affine {
							g *= gamma[j]
						}
						h := (x[i*cols+j] - mean[i]) * rstd[i]
						wantD[i*cols+j] = rstd[i] * (g - s1/n - h*s2/n)
						scaleD[i*cols+j] = rstd[i] * (math.Abs(g) + (1+math.Abs(h))*a1/n)
					}
				}
				prevG, prevB := e.uniform(cols, -1, 1), e.uniform(cols, -1, 1)
				if beta == 0 {
					prevG, prevB = filled(cols, math.NaN()), filled(cols, math.NaN())
				}
				wantG, wantB := make([]float64, cols), make([]float64, cols)
				scaleG, scaleB := make([]float64, cols), make([]float64, cols)
				for j := 0; j < cols; j++ {
					if beta != 0 {
						wantG[j], wantB[j] = prevG[j], prevB[j]
						scaleG[j], scaleB[j] = math.Abs(prevG[j]), math.Abs(prevB[j])
					}
					for i := 0; i < rows; i++ {
						h := (x[i*cols+j] - mean[i]) * rstd[i]
						wantG[j] += eps[i*cols+j] * h
						wantB[j] += eps[i*cols+j]
						scaleG[j] += math.Abs(eps[i*cols+j]) * (1 + math.Abs(h))
						scaleB[j] += math.Abs(eps[i*cols+j])
					}
				}
				xb, ebuf := e.upload(x), e.upload(eps)
				mb, rb := e.upload(mean), e.upload(rstd)
				db := e.upload(filled(rows*cols, math.NaN()))
				ggb, gbb := e.upload(prevG), e.upload(prevB)
				e.dev.LayerNormAdjoint(xb, ebuf, rows, cols, gb, mb, rb, db, ggb, gbb, beta)
				e.check(what+": delta", e.download(db), wantD, e.tol*sqrtN(cols), func(i int) float64 { return scaleD[i] })
				e.check(what+": gGamma", e.download(ggb), wantG, e.tol*sqrtN(rows), func(j int) float64 { return scaleG[j] })
				e.check(what+": gBeta", e.download(gbb), wantB, e.tol*sqrtN(rows), func(j int) float64 { return scaleB[j] })
				e.checkSame(what+": eps must be untouched", e.download(ebuf), eps)

				// Optional outputs: δ alone, then the parameter gradients alone.
				db2 := e.upload(filled(rows*cols, math.NaN()))
				e.dev.LayerNormAdjoint(xb, ebuf, rows, cols, gb, mb, rb, db2, nil, nil, beta)
				e.check(what+": delta alone", e.download(db2), wantD, e.tol*sqrtN(cols), func(i int) float64 { return scaleD[i] })
				gg2 := e.upload(prevG)
				e.dev.LayerNormAdjoint(xb, ebuf, rows, cols, gb, mb, rb, nil, gg2, nil, beta)
				e.check(what+": gGamma alone", e.download(gg2), wantG, e.tol*sqrtN(rows), func(j int) float64 { return scaleG[j] })
			}
		}
	}
}
