package devicetest

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/device"
)

// This file is the float64 reference: plain loops transcribing the formulas
// in the doc comments of package device, independent of every backend.

// paramFor is the parameter the suite passes with op: not torch's default,
// so that a backend that ignores it fails, and for the functions without
// one a value that would change their results if a backend read it. Both
// are exact in float32.
func paramFor(op device.UnaryOp) float64 {
	switch op {
	case device.LeakyReLU:
		return 0.25
	case device.ELU:
		return 1.5
	}
	return 7.5
}

// refUnary is f(x) for the functions of device.UnaryOp, p its parameter.
func refUnary(op device.UnaryOp, p, x float64) float64 {
	switch op {
	case device.Identity:
		return x
	case device.Neg:
		return -x
	case device.Exp:
		return math.Exp(x)
	case device.Log:
		return math.Log(x)
	case device.Sqrt:
		return math.Sqrt(x)
	case device.Square:
		return x * x
	case device.Abs:
		return math.Abs(x)
	case device.ReLU:
		if x > 0 {
			return x
		}
		return 0
	case device.Sigmoid:
		return 1 / (1 + math.Exp(-x))
	case device.Tanh:
		return math.Tanh(x)
	case device.GELU:
		return x * 0.5 * (1 + math.Erf(x/math.Sqrt2))
	case device.SiLU:
		return x / (1 + math.Exp(-x))
	case device.LeakyReLU:
		if x > 0 {
			return x
		}
		return p * x
	case device.ELU:
		if x > 0 {
			return x
		}
		return p * (math.Exp(x) - 1)
	case device.ReLU6:
		return math.Min(math.Max(x, 0), 6)
	case device.Hardsigmoid:
		return math.Min(math.Max(x+3, 0), 6) / 6
	case device.Hardswish:
		return x * math.Min(math.Max(x+3, 0), 6) / 6
	}
	panic(fmt.Sprintf("devicetest: no reference for unary op %v", op))
}

// refDerivative is the analytic f'(x), written in x alone, p as in
// refUnary.
func refDerivative(op device.UnaryOp, p, x float64) float64 {
	switch op {
	case device.Identity:
		return 1
	case device.Neg:
		return -1
	case device.Exp:
		return math.Exp(x)
	case device.Log:
		return 1 / x
	case device.Sqrt:
		return 0.5 / math.Sqrt(x)
	case device.Square:
		return 2 * x
	case device.Abs:
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	case device.ReLU:
		if x > 0 {
			return 1
		}
		return 0
	case device.Sigmoid:
		s := 1 / (1 + math.Exp(-x))
		return s * (1 - s)
	case device.Tanh:
		th := math.Tanh(x)
		return 1 - th*th
	case device.GELU:
		return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
	case device.SiLU:
		s := 1 / (1 + math.Exp(-x))
		return s * (1 + x*(1-s))
	case device.LeakyReLU:
		if x > 0 {
			return 1
		}
		return p
	case device.ELU:
		if x > 0 {
			return 1
		}
		return p * math.Exp(x)
	case device.ReLU6:
		if x > 0 && x < 6 {
			return 1
		}
		return 0
	case device.Hardsigmoid:
		if x > -3 && x < 3 {
			return 1.0 / 6
		}
		return 0
	case device.Hardswish:
		switch {
		case x < -3:
			return 0
		case x <= 3:
			return x/3 + 0.5
		}
		return 1
	}
	panic(fmt.Sprintf("devicetest: no reference derivative for unary op %v", op))
}

// refBinary is a ∘ b.
func refBinary(op device.BinaryOp, a, b float64) float64 {
	switch op {
	case device.Add:
		return a + b
	case device.Sub:
		return a - b
	case device.Mul:
		return a * b
	case device.Div:
		return a / b
	}
	panic(fmt.Sprintf("devicetest: no reference for binary op %v", op))
}

// refGemm returns C = α op(A) op(B) + βC over the m×n block of c (a copy;
// elements outside the block are unchanged), with β = 0 ignoring C, and the
// error scale Σₚ|α aᵢₚ bₚⱼ| + |β cᵢⱼ| of each element.
func refGemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) (want, scale []float64) {
	want = clone(c)
	scale = make([]float64, len(c))
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, abs float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
				abs += math.Abs(av * bv)
			}
			idx := i*ldc + j
			want[idx] = alpha * s
			scale[idx] = math.Abs(alpha) * abs
			if beta != 0 {
				want[idx] += beta * c[idx]
				scale[idx] += math.Abs(beta * c[idx])
			}
		}
	}
	return want, scale
}

// refLogSumExp is log Σ exp(xᵢ), shifted by the maximum.
func refLogSumExp(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	var s float64
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

// refSoftmax is softmax or log-softmax of every row of a rows×cols x.
func refSoftmax(log bool, x []float64, rows, cols int) []float64 {
	y := make([]float64, rows*cols)
	for i := 0; i < rows; i++ {
		row := x[i*cols : (i+1)*cols]
		lse := refLogSumExp(row)
		for j, v := range row {
			if log {
				y[i*cols+j] = v - lse
			} else {
				y[i*cols+j] = math.Exp(v - lse)
			}
		}
	}
	return y
}

// refLoss returns ρ for one row and ε = ∇_b ρ, with error scales for both.
// For SoftmaxCrossEntropyIndex, a holds the class index in a[0].
func refLoss(kind device.LossKind, delta float64, a, b []float64) (rho, rhoScale float64, eps, epsScale []float64) {
	n := len(b)
	eps, epsScale = make([]float64, n), make([]float64, n)
	switch kind {
	case device.MSE, device.MAE, device.Huber, device.CrossEntropy:
		for j := range b {
			r := a[j] - b[j]
			var term float64
			switch kind {
			case device.MSE:
				term, eps[j] = r*r, -2*r
			case device.MAE:
				term, eps[j] = math.Abs(r), -sgn(r)
			case device.Huber:
				if math.Abs(r) <= delta {
					term = r * r / 2
				} else {
					term = delta * (math.Abs(r) - delta/2)
				}
				eps[j] = -math.Max(-delta, math.Min(delta, r))
			case device.CrossEntropy:
				if a[j] != 0 {
					term = -a[j] * math.Log(b[j])
				}
				eps[j] = -a[j] / b[j]
			}
			rho += term
			rhoScale += math.Abs(term)
			epsScale[j] = 1
		}
	case device.SoftmaxCrossEntropy:
		lse := refLogSumExp(b)
		var sa, absA float64
		for j := range b {
			sa += a[j]
			absA += math.Abs(a[j])
			rho -= a[j] * (b[j] - lse)
			rhoScale += math.Abs(a[j]) * (math.Abs(b[j]) + math.Abs(lse))
		}
		for j := range b {
			p := math.Exp(b[j] - lse)
			eps[j] = p*sa - a[j]
			epsScale[j] = p*absA + math.Abs(a[j])
		}
	case device.SoftmaxCrossEntropyIndex:
		c := int(a[0])
		lse := refLogSumExp(b)
		rho = lse - b[c]
		rhoScale = math.Abs(lse) + math.Abs(b[c])
		for j := range b {
			p := math.Exp(b[j] - lse)
			eps[j], epsScale[j] = p, p
			if j == c {
				eps[j]--
				epsScale[j]++
			}
		}
	case device.BinaryCrossEntropyLogits:
		for j := range b {
			// −a log σ(b) − (1−a) log(1−σ(b)), written as in math books.
			s := 1 / (1 + math.Exp(-b[j]))
			term := -a[j]*math.Log(s) - (1-a[j])*math.Log(1-s)
			rho += term
			rhoScale += math.Abs(term) + math.Abs(a[j]*b[j])
			eps[j], epsScale[j] = s-a[j], 1
		}
	default:
		panic(fmt.Sprintf("devicetest: no reference for loss %v", kind))
	}
	return rho, rhoScale, eps, epsScale
}

func sgn(r float64) float64 {
	switch {
	case r > 0:
		return 1
	case r < 0:
		return -1
	}
	return 0
}

// refSGD is one torch.optim.SGD step, as device.SGDConfig documents it.
func refSGD(p, g, v []float64, cfg device.SGDConfig) {
	for i := range p {
		gi := g[i] + cfg.WeightDecay*p[i]
		if cfg.Momentum == 0 {
			p[i] -= cfg.LR * gi
			continue
		}
		if cfg.First {
			v[i] = gi
		} else {
			v[i] = cfg.Momentum*v[i] + (1-cfg.Dampening)*gi
		}
		d := v[i]
		if cfg.Nesterov {
			d = gi + cfg.Momentum*v[i]
		}
		p[i] -= cfg.LR * d
	}
}

// refAdam is one Adam or AdamW step, as device.AdamConfig documents it.
func refAdam(p, g, m, v []float64, cfg device.AdamConfig) {
	bc1 := 1 - math.Pow(cfg.Beta1, float64(cfg.Step))
	bc2 := 1 - math.Pow(cfg.Beta2, float64(cfg.Step))
	for i := range p {
		gi := g[i]
		if cfg.Decoupled {
			p[i] -= cfg.LR * cfg.WeightDecay * p[i]
		} else {
			gi += cfg.WeightDecay * p[i]
		}
		m[i] = cfg.Beta1*m[i] + (1-cfg.Beta1)*gi
		v[i] = cfg.Beta2*v[i] + (1-cfg.Beta2)*gi*gi
		p[i] -= cfg.LR * (m[i] / bc1) / (math.Sqrt(v[i]/bc2) + cfg.Eps)
	}
}

// refRMSprop is one RMSprop step, as device.RMSpropConfig documents it;
// gAvg and b are updated only when centered and with momentum.
func refRMSprop(p, g, v, gAvg, b []float64, cfg device.RMSpropConfig) {
	for i := range p {
		gi := g[i] + cfg.WeightDecay*p[i]
		v[i] = cfg.Alpha*v[i] + (1-cfg.Alpha)*gi*gi
		d := v[i]
		if cfg.Centered {
			gAvg[i] = cfg.Alpha*gAvg[i] + (1-cfg.Alpha)*gi
			d -= gAvg[i] * gAvg[i]
		}
		q := gi / (math.Sqrt(d) + cfg.Eps)
		if cfg.Momentum > 0 {
			b[i] = cfg.Momentum*b[i] + q
			q = b[i]
		}
		p[i] -= cfg.LR * q
	}
}
