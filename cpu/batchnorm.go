package cpu

import (
	"math"

	"github.com/adjoint-go/adjoint/device"
)

// Batch normalisation over the channels of x [n, c, inner]: channel ch's
// values are x[(i·c + ch)·inner + s] for i < n, s < inner. Each channel's
// sums are taken in float64, in that order, by one goroutine; float32
// work is split over channels (statistics, adjoint) or over the n·c blocks
// of inner values (apply).

// bnArgs are the operands of a batch-normalisation call.
type bnArgs[T float] struct {
	x, e, y, d              []T
	gamma, beta, mean, rstd []T
	gGamma, gBeta           []T
	n, c, inner             int
	epsilon, beta0          float64 // ϵ; the parameter gradients' β
	batchStats              bool
}

// BatchNormStats writes each channel's mean and 1/√(σ² + ϵ).
func (c *CPU) BatchNormStats(x device.Buffer, n, ch, inner int, epsilon float64, mean, rstd device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "BatchNormStats"
	X, M, R := mustBuf(x, name), mustBuf(mean, name), mustBuf(rstd, name)
	checkSame(name, X, M, R)
	checkLen(name, "x", X, n*ch*inner)
	checkLen(name, "mean", M, ch)
	checkLen(name, "rstd", R, ch)
	if X.f64 != nil {
		batchNormStats(&bnArgs[float64]{x: X.f64, mean: M.f64, rstd: R.f64, n: n, c: ch, inner: inner, epsilon: epsilon}, 0, ch)
		return
	}
	c.par.a = args{bn: bnArgs[float32]{x: X.f32, mean: M.f32, rstd: R.f32, n: n, c: ch, inner: inner, epsilon: epsilon}}
	c.par.run(taskBatchNormStats, ch, 2*n*inner)
}

// BatchNormApply writes y = (x − μ)·r·γ + β per channel.
func (c *CPU) BatchNormApply(x device.Buffer, n, ch, inner int, mean, rstd, gamma, beta device.Buffer, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "BatchNormApply"
	X, Y := bufs2(name, x, y)
	M, R, G, B := mustBuf(mean, name), mustBuf(rstd, name), opt(name, gamma), opt(name, beta)
	checkSame(name, X, M, R, G, B)
	checkLen(name, "x", X, n*ch*inner)
	checkLen(name, "y", Y, n*ch*inner)
	for what, b := range map[string]*Buffer{"mean": M, "rstd": R, "gamma": G, "beta": B} {
		checkLen(name, what, b, ch)
	}
	if X.f64 != nil {
		batchNormApply(&bnArgs[float64]{x: X.f64, y: Y.f64, mean: M.f64, rstd: R.f64, gamma: buf64(G), beta: buf64(B), n: n, c: ch, inner: inner}, 0, n*ch)
		return
	}
	c.par.a = args{bn: bnArgs[float32]{x: X.f32, y: Y.f32, mean: M.f32, rstd: R.f32, gamma: buf32(G), beta: buf32(B), n: n, c: ch, inner: inner}}
	c.par.run(taskBatchNormApply, n*ch, inner)
}

// BatchNormAdjoint writes δ and the parameter gradients per channel.
func (c *CPU) BatchNormAdjoint(x, eps device.Buffer, n, ch, inner int, gamma, mean, rstd device.Buffer, batchStats bool, delta, gGamma, gBeta device.Buffer, beta float64) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "BatchNormAdjoint"
	X, E := bufs2(name, x, eps)
	G, M, R := opt(name, gamma), mustBuf(mean, name), mustBuf(rstd, name)
	D, GG, GB := opt(name, delta), opt(name, gGamma), opt(name, gBeta)
	checkSame(name, X, E, G, M, R, D, GG, GB)
	checkLen(name, "x", X, n*ch*inner)
	checkLen(name, "eps", E, n*ch*inner)
	checkLen(name, "delta", D, n*ch*inner)
	for what, b := range map[string]*Buffer{"gamma": G, "mean": M, "rstd": R, "gGamma": GG, "gBeta": GB} {
		checkLen(name, what, b, ch)
	}
	if X.f64 != nil {
		batchNormAdjoint(&bnArgs[float64]{x: X.f64, e: E.f64, gamma: buf64(G), mean: M.f64, rstd: R.f64, d: buf64(D), gGamma: buf64(GG), gBeta: buf64(GB),
			n: n, c: ch, inner: inner, beta0: beta, batchStats: batchStats}, 0, ch)
		return
	}
	c.par.a = args{bn: bnArgs[float32]{x: X.f32, e: E.f32, gamma: buf32(G), mean: M.f32, rstd: R.f32, d: buf32(D), gGamma: buf32(GG), gBeta: buf32(GB),
		n: n, c: ch, inner: inner, beta0: beta, batchStats: batchStats}}
	c.par.run(taskBatchNormAdjoint, ch, 3*n*inner)
}

// batchNormStats computes channels lo…hi−1: the mean, then the variance
// about it (two passes).
func batchNormStats[T float](a *bnArgs[T], lo, hi int) {
	m := float64(a.n * a.inner)
	for ch := lo; ch < hi; ch++ {
		var sum float64
		for i := range a.n {
			base := (i*a.c + ch) * a.inner
			for _, v := range a.x[base : base+a.inner] {
				sum += float64(v)
			}
		}
		mu := sum / m
		var v2 float64
		for i := range a.n {
			base := (i*a.c + ch) * a.inner
			for _, v := range a.x[base : base+a.inner] {
				d := float64(v) - mu
				v2 += d * d
			}
		}
		a.mean[ch], a.rstd[ch] = T(mu), T(1/math.Sqrt(v2/m+a.epsilon))
	}
}

// batchNormApply writes blocks lo…hi−1 of the n·c blocks of inner values.
func batchNormApply[T float](a *bnArgs[T], lo, hi int) {
	for b := lo; b < hi; b++ {
		ch := b % a.c
		scale, shift := float64(a.rstd[ch]), 0.0
		if a.gamma != nil {
			scale *= float64(a.gamma[ch])
		}
		if a.beta != nil {
			shift = float64(a.beta[ch])
		}
		mu := float64(a.mean[ch])
		for k := b * a.inner; k < (b+1)*a.inner; k++ {
			a.y[k] = T((float64(a.x[k])-mu)*scale + shift)
		}
	}
}

// batchNormAdjoint computes channels lo…hi−1: Σ ε and Σ ε x̂ in one pass,
// then δ, whose g = ε γ makes mean(g) = γ Σε/M and mean(g x̂) = γ Σεx̂/M.
func batchNormAdjoint[T float](a *bnArgs[T], lo, hi int) {
	m := float64(a.n * a.inner)
	for ch := lo; ch < hi; ch++ {
		mu, r, gamma := float64(a.mean[ch]), float64(a.rstd[ch]), 1.0
		if a.gamma != nil {
			gamma = float64(a.gamma[ch])
		}
		var sumE, sumEX float64
		for i := range a.n {
			base := (i*a.c + ch) * a.inner
			for k := base; k < base+a.inner; k++ {
				ev := float64(a.e[k])
				sumE += ev
				sumEX += ev * (float64(a.x[k]) - mu) * r
			}
		}
		if a.d != nil {
			meanG, meanGX := 0.0, 0.0
			if a.batchStats {
				meanG, meanGX = gamma*sumE/m, gamma*sumEX/m
			}
			for i := range a.n {
				base := (i*a.c + ch) * a.inner
				for k := base; k < base+a.inner; k++ {
					h := (float64(a.x[k]) - mu) * r
					a.d[k] = T(r * (gamma*float64(a.e[k]) - meanG - h*meanGX))
				}
			}
		}
		if a.gGamma != nil {
			a.gGamma[ch] = T(sumEX + betaTimes(a.beta0, float64(a.gGamma[ch])))
		}
		if a.gBeta != nil {
			a.gBeta[ch] = T(sumE + betaTimes(a.beta0, float64(a.gBeta[ch])))
		}
	}
}
