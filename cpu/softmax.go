package cpu

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/device"
)

// Softmax computes y = exp(x − lse(x)) per row.
func (c *CPU) Softmax(x device.Buffer, rows, cols int, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	c.softmaxFamily("Softmax", false, x, rows, cols, y)
}

// LogSoftmax computes y = x − lse(x) per row.
func (c *CPU) LogSoftmax(x device.Buffer, rows, cols int, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	c.softmaxFamily("LogSoftmax", true, x, rows, cols, y)
}

func (c *CPU) softmaxFamily(op string, log bool, x device.Buffer, rows, cols int, y device.Buffer) {
	X, Y := bufs2(op, x, y)
	checkLen(op, "x", X, rows*cols)
	checkLen(op, "y", Y, rows*cols)
	if X.f64 == nil {
		c.par.a = args{log: log, x: X.f32, y: Y.f32, cols: cols}
		c.par.run(taskSoftmax, rows, 8*cols)
		return
	}
	for i := 0; i < rows; i++ {
		softmaxRow(log, X.f64[i*cols:(i+1)*cols], Y.f64[i*cols:(i+1)*cols])
	}
}

// logSumExp is max + log Σ exp(x − max), stable for any finite x.
func logSumExp[T float](x []T) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	if math.IsInf(m, -1) {
		return m
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

func softmaxRow[T float](log bool, x, y []T) {
	lse := logSumExp(x)
	for j, v := range x {
		if log {
			y[j] = T(float64(v) - lse)
		} else {
			y[j] = T(math.Exp(float64(v) - lse))
		}
	}
}

// SoftmaxAdjoint computes δ = y ⊙ (ε − ⟨ε, y⟩) per row.
func (c *CPU) SoftmaxAdjoint(y, eps device.Buffer, rows, cols int, delta device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	c.softmaxAdjoint("SoftmaxAdjoint", false, y, eps, rows, cols, delta)
}

// LogSoftmaxAdjoint computes δ = ε − exp(y) Σε per row.
func (c *CPU) LogSoftmaxAdjoint(y, eps device.Buffer, rows, cols int, delta device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	c.softmaxAdjoint("LogSoftmaxAdjoint", true, y, eps, rows, cols, delta)
}

func (c *CPU) softmaxAdjoint(op string, log bool, y, eps device.Buffer, rows, cols int, delta device.Buffer) {
	Y, E := bufs2(op, y, eps)
	D := mustBuf(delta, op)
	checkSame(op, Y, D)
	for _, b := range []*Buffer{Y, E, D} {
		checkLen(op, "buffer", b, rows*cols)
	}
	if Y.f64 == nil {
		c.par.a = args{log: log, y: Y.f32, e: E.f32, d: D.f32, cols: cols}
		c.par.run(taskSoftmaxAdjoint, rows, 2*cols)
		return
	}
	for i := 0; i < rows; i++ {
		lo, hi := i*cols, (i+1)*cols
		softmaxAdjointRow(log, Y.f64[lo:hi], E.f64[lo:hi], D.f64[lo:hi])
	}
}

func softmaxAdjointRow[T float](log bool, y, e, d []T) {
	var s float64
	if log {
		for _, v := range e {
			s += float64(v)
		}
		for j := range d {
			d[j] = T(float64(e[j]) - math.Exp(float64(y[j]))*s)
		}
		return
	}
	for j, v := range e {
		s += float64(v) * float64(y[j])
	}
	for j := range d {
		d[j] = T(float64(y[j]) * (float64(e[j]) - s))
	}
}

// Loss writes ρ per row and, when eps is not nil, epsScale·∇_b ρ.
func (c *CPU) Loss(kind device.LossKind, param float64, pred, target device.Buffer, rows, cols int, losses, eps device.Buffer, epsScale float64) {
	c.call.Lock()
	defer c.call.Unlock()
	P, T := bufs2("Loss", pred, target)
	L, E := opt("Loss", losses), opt("Loss", eps)
	checkSame("Loss", P, L, E)
	checkLen("Loss", "pred", P, rows*cols)
	checkLen("Loss", "losses", L, rows)
	checkLen("Loss", "eps", E, rows*cols)
	if kind == device.SoftmaxCrossEntropyIndex {
		checkLen("Loss", "target", T, rows)
	} else {
		checkLen("Loss", "target", T, rows*cols)
	}
	var err error
	if P.f64 != nil {
		var e []float64
		if E != nil {
			e = E.f64
		}
		err = loss(kind, param, P.f64, T.f64, 0, rows, cols, L.f64, e, epsScale)
	} else {
		var e []float32
		if E != nil {
			e = E.f32
		}
		c.par.a = args{loss: kind, param: param, scale: epsScale, y: P.f32, x: T.f32, d: L.f32, e: e, cols: cols}
		err = c.par.run(taskLoss, rows, 8*cols)
	}
	if err != nil {
		c.fail(err)
	}
}

// loss evaluates rows consecutive samples (row0 is the index of the first,
// for error messages): each row's ρ in float64, and ε scaled by epsScale,
// rounded once to T. A class index that is not an integer in [0, cols)
// makes its row's ρ NaN and ε 0 (the sample adds nothing to a gradient),
// as the cuda kernel does, and the first such row is the error returned.
func loss[T float](kind device.LossKind, delta float64, pred, target []T, row0, rows, cols int, losses, eps []T, epsScale float64) error {
	var bad error
	for k := 0; k < rows; k++ {
		b := pred[k*cols : (k+1)*cols]
		var e []T
		if eps != nil {
			e = eps[k*cols : (k+1)*cols]
		}
		var rho float64
		switch kind {
		case device.SoftmaxCrossEntropyIndex:
			c := int(target[k])
			if float64(c) != float64(target[k]) || c < 0 || c >= cols {
				if bad == nil {
					bad = fmt.Errorf("cpu: loss %v: row %d: class index %v is not an integer in [0, %d): %w", kind, row0+k, target[k], cols, device.ErrInvalidInput)
				}
				losses[k] = T(math.NaN())
				clear(e)
				continue
			}
			lse := logSumExp(b)
			rho = lse - float64(b[c])
			if e != nil {
				for j, v := range b {
					p := math.Exp(float64(v) - lse)
					if j == c {
						p--
					}
					e[j] = T(p * epsScale)
				}
			}
		case device.SoftmaxCrossEntropy:
			a := target[k*cols : (k+1)*cols]
			lse := logSumExp(b)
			var sa float64
			for j, v := range b {
				sa += float64(a[j])
				rho -= float64(a[j]) * (float64(v) - lse)
			}
			if e != nil {
				for j, v := range b {
					e[j] = T((math.Exp(float64(v)-lse)*sa - float64(a[j])) * epsScale)
				}
			}
		default:
			a := target[k*cols : (k+1)*cols]
			for j, bv := range b {
				av := float64(a[j])
				r := av - float64(bv)
				var g float64
				switch kind {
				case device.MSE:
					rho += r * r
					g = -2 * r
				case device.MAE:
					rho += math.Abs(r)
					g = -sign(r)
				case device.Huber:
					if math.Abs(r) <= delta {
						rho += r * r / 2
						g = -r
					} else {
						rho += delta * (math.Abs(r) - delta/2)
						g = -delta * sign(r)
					}
				case device.CrossEntropy:
					if av != 0 { // 0·log 0 = 0, as in the entropy convention
						rho -= av * math.Log(float64(bv))
					}
					g = -av / float64(bv)
				case device.BinaryCrossEntropyLogits:
					// log(1 + eᵇ) − ab without overflow; ε = σ(b) − a.
					b := float64(bv)
					t := math.Exp(-math.Abs(b))
					rho += max(b, 0) - av*b + math.Log1p(t)
					if b >= 0 {
						g = 1/(1+t) - av
					} else {
						g = t/(1+t) - av
					}
				default:
					return fmt.Errorf("cpu: unknown loss kind %v", kind)
				}
				if e != nil {
					e[j] = T(g * epsScale)
				}
			}
		}
		losses[k] = T(rho)
	}
	return bad
}

func sign(r float64) float64 {
	switch {
	case r > 0:
		return 1
	case r < 0:
		return -1
	}
	return 0
}

// SGD performs one torch.optim.SGD step on p.
func (c *CPU) SGD(p, g, v device.Buffer, cfg device.SGDConfig) {
	c.call.Lock()
	defer c.call.Unlock()
	P, G := bufs2("SGD", p, g)
	V := opt("SGD", v)
	checkSame("SGD", P, V)
	checkEq("SGD", P, G)
	if V != nil {
		checkEq("SGD", P, V)
	}
	if cfg.Momentum != 0 && V == nil {
		panic("cpu: SGD: momentum needs a velocity buffer")
	}
	if P.f64 != nil {
		var vv []float64
		if V != nil {
			vv = V.f64
		}
		sgd(P.f64, G.f64, vv, cfg)
	} else {
		var vv []float32
		if V != nil {
			vv = V.f32
		}
		c.par.a = args{x: P.f32, y: G.f32, m: vv, sgd: cfg}
		c.par.run(taskSGD, P.Len(), 2)
	}
}

func sgd[T float](p, g, v []T, cfg device.SGDConfig) {
	lr, mu, damp, wd := T(cfg.LR), T(cfg.Momentum), T(cfg.Dampening), T(cfg.WeightDecay)
	g = g[:len(p)]
	if mu == 0 {
		for i := range p {
			p[i] -= lr * (g[i] + wd*p[i])
		}
		return
	}
	v = v[:len(p)]
	for i := range p {
		gi := g[i] + wd*p[i]
		if cfg.First {
			v[i] = gi
		} else {
			v[i] = mu*v[i] + (1-damp)*gi
		}
		if cfg.Nesterov {
			gi += mu * v[i]
		} else {
			gi = v[i]
		}
		p[i] -= lr * gi
	}
}

// Adam performs one torch.optim.Adam (or AdamW) step on p.
func (c *CPU) Adam(p, g, m, v device.Buffer, cfg device.AdamConfig) {
	c.call.Lock()
	defer c.call.Unlock()
	P, G := bufs2("Adam", p, g)
	M, V := bufs2("Adam", m, v)
	checkSame("Adam", P, M)
	for _, b := range []*Buffer{G, M, V} {
		checkEq("Adam", P, b)
	}
	if cfg.Step < 1 {
		panic(fmt.Sprintf("cpu: Adam: step %d, want ≥ 1", cfg.Step))
	}
	if P.f64 != nil {
		adam(P.f64, G.f64, M.f64, V.f64, cfg)
	} else {
		c.par.a = args{x: P.f32, y: G.f32, m: M.f32, e: V.f32, adam: cfg}
		c.par.run(taskAdam, P.Len(), 8)
	}
}

func adam[T float](p, g, m, v []T, cfg device.AdamConfig) {
	b1, b2 := cfg.Beta1, cfg.Beta2
	bc1 := 1 - math.Pow(b1, float64(cfg.Step))
	bc2 := 1 - math.Pow(b2, float64(cfg.Step))
	// PyTorch's form: p −= (η/bc1) · m / (√v/√bc2 + ϵ).
	stepSize := T(cfg.LR / bc1)
	sqrtBC2 := T(math.Sqrt(bc2))
	lr, wd, eps := T(cfg.LR), T(cfg.WeightDecay), T(cfg.Eps)
	B1, B2 := T(b1), T(b2)
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	for i := range p {
		gi := g[i]
		if cfg.Decoupled {
			p[i] -= lr * wd * p[i]
		} else {
			gi += wd * p[i]
		}
		m[i] = B1*m[i] + (1-B1)*gi
		v[i] = B2*v[i] + (1-B2)*gi*gi
		denom := T(math.Sqrt(float64(v[i])))/sqrtBC2 + eps
		p[i] -= stepSize * m[i] / denom
	}
}

// RMSprop performs one torch.optim.RMSprop step on p (device.RMSpropConfig
// has the formulas).
func (c *CPU) RMSprop(p, g, v, gAvg, b device.Buffer, cfg device.RMSpropConfig) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "RMSprop"
	P, G := bufs2(name, p, g)
	V, A, B := mustBuf(v, name), opt(name, gAvg), opt(name, b)
	checkSame(name, P, V, A, B)
	for _, x := range []*Buffer{G, V, A, B} {
		if x != nil {
			checkEq(name, P, x)
		}
	}
	if cfg.Centered && A == nil {
		panic("cpu: RMSprop: centered needs a mean-gradient buffer")
	}
	if cfg.Momentum > 0 && B == nil {
		panic("cpu: RMSprop: momentum needs a momentum buffer")
	}
	if P.f64 != nil {
		rmsprop(P.f64, G.f64, V.f64, buf64(A), buf64(B), cfg)
	} else {
		c.par.a = args{x: P.f32, y: G.f32, e: V.f32, m: buf32(A), b: buf32(B), rms: cfg}
		c.par.run(taskRMSprop, P.Len(), 8)
	}
}

// rmsprop is device.RMSpropConfig's step in T, in torch's order of
// operations; gAvg (centered) and b (momentum) are nil when unused.
func rmsprop[T float](p, g, v, gAvg, b []T, cfg device.RMSpropConfig) {
	lr, alpha, eps, wd, mu := T(cfg.LR), T(cfg.Alpha), T(cfg.Eps), T(cfg.WeightDecay), T(cfg.Momentum)
	n := len(p)
	g, v = g[:n], v[:n]
	for i := range p {
		gi := g[i] + wd*p[i]
		vi := alpha*v[i] + (1-alpha)*(gi*gi)
		v[i] = vi
		if cfg.Centered {
			ai := alpha*gAvg[i] + (1-alpha)*gi
			gAvg[i] = ai
			vi -= ai * ai
		}
		q := gi / (T(math.Sqrt(float64(vi))) + eps)
		if cfg.Momentum > 0 {
			bi := mu*b[i] + q
			b[i] = bi
			p[i] -= lr * bi
		} else {
			p[i] -= lr * q
		}
	}
}

// LayerNorm normalises each row: y = (x − μ)/√(σ² + ϵ) ⊙ γ + β.
func (c *CPU) LayerNorm(x device.Buffer, rows, cols int, gamma, beta device.Buffer, epsilon float64, y, mean, rstd device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "LayerNorm"
	X, Y := bufs2(name, x, y)
	G, B, M, R := opt(name, gamma), opt(name, beta), mustBuf(mean, name), mustBuf(rstd, name)
	checkSame(name, X, G, B, M, R)
	checkLen(name, "x", X, rows*cols)
	checkLen(name, "y", Y, rows*cols)
	checkLen(name, "gamma", G, cols)
	checkLen(name, "beta", B, cols)
	checkLen(name, "mean", M, rows)
	checkLen(name, "rstd", R, rows)
	if X.f64 != nil {
		layerNorm(X.f64, rows, cols, buf64(G), buf64(B), epsilon, Y.f64, M.f64, R.f64)
	} else {
		layerNorm(X.f32, rows, cols, buf32(G), buf32(B), epsilon, Y.f32, M.f32, R.f32)
	}
}

// buf64 and buf32 are a buffer's storage, nil for a nil buffer.
func buf64(b *Buffer) []float64 {
	if b == nil {
		return nil
	}
	return b.f64
}

func buf32(b *Buffer) []float32 {
	if b == nil {
		return nil
	}
	return b.f32
}

// layerNorm normalises rows in float64 (two passes: mean, then variance).
func layerNorm[T float](x []T, rows, cols int, gamma, beta []T, epsilon float64, y, mean, rstd []T) {
	for i := 0; i < rows; i++ {
		xr, yr := x[i*cols:(i+1)*cols], y[i*cols:(i+1)*cols]
		var mu float64
		for _, v := range xr {
			mu += float64(v)
		}
		mu /= float64(max(cols, 1))
		var v2 float64
		for _, v := range xr {
			d := float64(v) - mu
			v2 += d * d
		}
		r := 1 / math.Sqrt(v2/float64(max(cols, 1))+epsilon)
		for j, v := range xr {
			h := (float64(v) - mu) * r
			if gamma != nil {
				h *= float64(gamma[j])
			}
			if beta != nil {
				h += float64(beta[j])
			}
			yr[j] = T(h)
		}
		mean[i], rstd[i] = T(mu), T(r)
	}
}

// LayerNormAdjoint computes δ = r (g − mean(g) − x̂ mean(g ⊙ x̂)), g = ε ⊙ γ,
// and the parameter gradients Σ ε ⊙ x̂ and Σ ε.
func (c *CPU) LayerNormAdjoint(x, eps device.Buffer, rows, cols int, gamma, mean, rstd device.Buffer, delta, gGamma, gBeta device.Buffer, beta float64) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "LayerNormAdjoint"
	X, E := bufs2(name, x, eps)
	G, M, R := opt(name, gamma), mustBuf(mean, name), mustBuf(rstd, name)
	D, GG, GB := opt(name, delta), opt(name, gGamma), opt(name, gBeta)
	checkSame(name, X, E, G, M, R, D, GG, GB)
	checkLen(name, "x", X, rows*cols)
	checkLen(name, "eps", E, rows*cols)
	checkLen(name, "gamma", G, cols)
	checkLen(name, "mean", M, rows)
	checkLen(name, "rstd", R, rows)
	checkLen(name, "delta", D, rows*cols)
	checkLen(name, "gGamma", GG, cols)
	checkLen(name, "gBeta", GB, cols)
	if X.f64 != nil {
		layerNormAdjoint(X.f64, E.f64, rows, cols, buf64(G), M.f64, R.f64, buf64(D), buf64(GG), buf64(GB), beta)
	} else {
		layerNormAdjoint(X.f32, E.f32, rows, cols, buf32(G), M.f32, R.f32, buf32(D), buf32(GG), buf32(GB), beta)
	}
}

func layerNormAdjoint[T float](x, e []T, rows, cols int, gamma, mean, rstd, delta, gGamma, gBeta []T, beta float64) {
	if delta != nil {
		n := float64(max(cols, 1))
		for i := 0; i < rows; i++ {
			xr, er, dr := x[i*cols:(i+1)*cols], e[i*cols:(i+1)*cols], delta[i*cols:(i+1)*cols]
			mu, r := float64(mean[i]), float64(rstd[i])
			var s1, s2 float64 // Σ g, Σ g ⊙ x̂
			for j, ev := range er {
				g := float64(ev)
				if gamma != nil {
					g *= float64(gamma[j])
				}
				s1 += g
				s2 += g * (float64(xr[j]) - mu) * r
			}
			for j, ev := range er {
				g := float64(ev)
				if gamma != nil {
					g *= float64(gamma[j])
				}
				h := (float64(xr[j]) - mu) * r
				dr[j] = T(r * (g - s1/n - h*s2/n))
			}
		}
	}
	for j := 0; j < cols && (gGamma != nil || gBeta != nil); j++ {
		var sg, sb float64
		for i := 0; i < rows; i++ {
			ev := float64(e[i*cols+j])
			sg += ev * (float64(x[i*cols+j]) - float64(mean[i])) * float64(rstd[i])
			sb += ev
		}
		if gGamma != nil {
			gGamma[j] = T(sg + betaTimes(beta, float64(gGamma[j])))
		}
		if gBeta != nil {
			gBeta[j] = T(sb + betaTimes(beta, float64(gBeta[j])))
		}
	}
}
