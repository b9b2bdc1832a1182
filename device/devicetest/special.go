package devicetest

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/device"
)

// The other checks keep their inputs where every function is smooth and
// every reference accurate. The points below are where libraries part
// ways, so each backend must give the values PyTorch gives there
// (autograd/torch_test.go checks the CPU against torch itself at the same
// points): ReLU and |x| have derivative 0 at 0, log and √ at 0 give an
// infinite derivative, exp overflows and underflows, the sigmoid and tanh
// saturate with derivative 0, MAE's error is 0 at a zero residual, Huber's
// error is continuous at |r| = δ, and the cross-entropies of logits ±800
// stay finite. Every point is exact in float32.

// unarySpecial is one point of an elementwise function: x, f(x), f'(x).
type unarySpecial struct{ x, y, dydx float64 }

var unarySpecials = map[device.UnaryOp][]unarySpecial{
	device.ReLU:    {{0, 0, 0}, {-2, 0, 0}, {2, 2, 1}},
	device.Abs:     {{0, 0, 0}, {-2, 2, -1}, {2, 2, 1}},
	device.Log:     {{0, math.Inf(-1), math.Inf(1)}, {1, 0, 1}},
	device.Sqrt:    {{0, 0, math.Inf(1)}, {4, 2, 0.25}},
	device.Exp:     {{800, math.Inf(1), math.Inf(1)}, {-800, 0, 0}, {0, 1, 1}},
	device.Sigmoid: {{800, 1, 0}, {-800, 0, 0}, {0, 0.5, 0.25}},
	device.Tanh:    {{800, 1, 0}, {-800, -1, 0}, {0, 0, 1}},
	// GELU: 0 and ½ at 0; the identity far right; far left both vanish
	// (−800 Φ(−800) underflows to −0, which compares equal to 0).
	device.GELU: {{0, 0, 0.5}, {800, 800, 1}, {-800, 0, 0}, {-3, -3 * 0.0013498980316301, 0.0013498980316301 - 3*0.0044318484119380}},
	// SiLU: ½ slope at 0; the identity far right; far left both vanish
	// (−800 σ(−800) underflows to −0) rather than turning NaN.
	device.SiLU: {{0, 0, 0.5}, {800, 800, 1}, {-800, 0, 0}},
	// With paramFor's parameters: LeakyReLU's slope 0.25 at 0 (torch's
	// choice) and left of it; ELU's α = 1.5 at 0, and its saturation at −α
	// with the derivative vanishing, where e⁻⁸⁰⁰ underflows.
	device.LeakyReLU: {{0, 0, 0.25}, {-2, -0.5, 0.25}, {2, 2, 1}},
	device.ELU:       {{0, 0, 1.5}, {-800, -1.5, 0}, {800, 800, 1}},
	// The clamps' corners, with torch's derivatives there: ReLU6's and
	// Hardsigmoid's 0 at both ends, Hardswish's one-sided −½ at −3 and
	// 3/2 at 3.
	device.ReLU6:       {{0, 0, 0}, {6, 6, 0}, {3, 3, 1}, {-800, 0, 0}, {800, 6, 0}},
	device.Hardsigmoid: {{-3, 0, 0}, {3, 1, 0}, {0, 0.5, 1.0 / 6}, {-800, 0, 0}, {800, 1, 0}},
	device.Hardswish:   {{-3, 0, -0.5}, {3, 3, 1.5}, {0, 0, 0.5}, {-800, 0, 0}, {800, 800, 1}},
}

// testUnarySpecial checks Unary, BiasActivation and UnaryAdjoint of op at
// its special points, cycled to lengths that reach a vector loop and its
// tail; the adjoint's ε alternates 1.5 and −0.5, so an infinite derivative
// must come back as +Inf and −Inf.
func testUnarySpecial(e *env, op device.UnaryOp) {
	pts, p := unarySpecials[op], paramFor(op)
	for _, n := range []int{len(pts), 37} {
		x, y, d, eps := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range x {
			p := pts[i%len(pts)]
			eps[i] = 1.5
			if i%2 == 1 {
				eps[i] = -0.5
			}
			x[i], y[i], d[i] = p.x, p.y, p.dydx*eps[i]
		}
		what := fmt.Sprintf("Unary(%v, n=%d) at special points", op, n)
		xb, yb := e.upload(x), e.upload(filled(n, math.NaN()))
		e.dev.Unary(op, p, xb, yb)
		e.check(what, e.download(yb), y, e.tol, one)

		// The fused epilogue of a linear layer, x + 0 as one row.
		what = fmt.Sprintf("BiasActivation(%v, 1×%d) at special points", op, n)
		yb = e.upload(filled(n, math.NaN()))
		e.dev.BiasActivation(op, p, xb, 1, n, e.upload(make([]float64, n)), yb)
		e.check(what, e.download(yb), y, e.tol, one)

		what = fmt.Sprintf("UnaryAdjoint(%v, n=%d) at special points", op, n)
		db := e.upload(filled(n, math.NaN()))
		e.dev.UnaryAdjoint(op, p, xb, e.upload(y), e.upload(eps), db)
		e.check(what, e.download(db), d, e.tol, one)
	}
}

// lossSpecial is a two-row case of a loss at its special points, with the
// per-row ρ and the error vectors ε = ∇_b ρ.
type lossSpecial struct {
	kind         device.LossKind
	delta        float64
	cols         int
	pred, target []float64
	rho, eps     []float64
}

var lossSpecials = []lossSpecial{
	// Zero residuals: ε = −sign(0) = 0, as torch's L1Loss.
	{kind: device.MAE, cols: 3,
		pred: []float64{0.25, -1.5, 2, 1, 0.5, 0}, target: []float64{0.25, -1.5, 2, 1, 1, 0},
		rho: []float64{0, 0.5}, eps: []float64{0, 0, 0, 0, -1, 0}},
	// Residuals of exactly ±δ: both branches give r²/2 and ε = −r there.
	{kind: device.Huber, delta: 0.5, cols: 3,
		pred: []float64{0.75, -1.5, 0, 2, -1, 3}, target: []float64{0.25, -1, 0, 2.5, -1.5, 3},
		rho: []float64{0.25, 0.25}, eps: []float64{0.5, -0.5, 0, -0.5, 0.5, 0}},
	// Logits ±800: e^800 overflows any float, the loss must not.
	{kind: device.BinaryCrossEntropyLogits, cols: 3,
		pred: []float64{800, -800, 800, -800, 800, 0}, target: []float64{0, 1, 0.5, 0, 1, 0.5},
		rho: []float64{2000, math.Ln2}, eps: []float64{1, -1, 0.5, 0, 0, 0}},
	{kind: device.SoftmaxCrossEntropyIndex, cols: 3,
		pred: []float64{800, -800, 0, 800, -800, 0}, target: []float64{0, 1},
		rho: []float64{0, 1600}, eps: []float64{0, 0, 0, 1, -1, 0}},
	{kind: device.SoftmaxCrossEntropy, cols: 3,
		pred: []float64{800, -800, 0, -800, 0, 800}, target: []float64{0.5, 0.5, 0, 0, 0, 1},
		rho: []float64{800, 0}, eps: []float64{0.5, -0.5, 0, 0, 0, 0}},
}

// testLossSpecial checks Loss at the special points of lossSpecials.
func testLossSpecial(e *env) {
	for _, c := range lossSpecials {
		rows := len(c.rho)
		what := fmt.Sprintf("Loss(%v, delta=%g) at special points", c.kind, c.delta)
		lb, eb := e.upload(filled(rows, math.NaN())), e.upload(filled(rows*c.cols, math.NaN()))
		e.dev.Loss(c.kind, c.delta, e.upload(c.pred), e.upload(c.target), rows, c.cols, lb, eb, 1)
		e.check(what+": rho", e.download(lb), c.rho, e.tol, one)
		e.check(what+": eps", e.download(eb), c.eps, e.tol, one)
	}
}
