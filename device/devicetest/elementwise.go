package devicetest

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/device"
)

// matShapes are (rows, cols) pairs for the row-wise and column-wise
// methods: vectors both ways, tile sizes ± 1, rectangular mixes.
var matShapes = [][2]int{
	{1, 1}, {1, 257}, {257, 1}, {3, 17}, {17, 3}, {31, 33}, {33, 31},
	{64, 64}, {65, 127}, {127, 65}, {129, 31}, {33, 257}, {300, 129},
}

// domain returns n inputs in the domain of op: positive for log and sqrt,
// and otherwise away from 0, where abs and relu are not differentiable,
// and for the clamps across all their pieces, away from their corners
// (special.go checks those).
func (e *env) domain(op device.UnaryOp, n int) []float64 {
	switch op {
	case device.Log, device.Sqrt:
		return e.uniform(n, 0.05, 4)
	case device.ReLU6, device.Hardsigmoid, device.Hardswish:
		x := e.uniformAway(n, -8, 8, 1e-2)
		for i, v := range x {
			for _, corner := range []float64{-3, 3, 6} {
				if math.Abs(v-corner) < 1e-2 {
					x[i] = e.roundv(v + 0.05) // 0.04 to 0.06 past the corner
				}
			}
		}
		return x
	}
	return e.uniformAway(n, -4, 4, 1e-2)
}

// testUnary checks y = f(x) into a NaN-filled y and in place.
func testUnary(e *env, op device.UnaryOp) {
	p := paramFor(op)
	for _, n := range lengths {
		x := e.domain(op, n)
		want := make([]float64, n)
		for i, v := range x {
			want[i] = refUnary(op, p, v)
		}
		what := fmt.Sprintf("Unary(%v, %g, n=%d)", op, p, n)
		xb, yb := e.upload(x), e.upload(filled(n, math.NaN()))
		e.dev.Unary(op, p, xb, yb)
		e.check(what, e.download(yb), want, e.tol, one)
		e.checkSame(what+": x must be untouched", e.download(xb), x)

		e.dev.Unary(op, p, xb, xb)
		e.check(what+" in place (y == x)", e.download(xb), want, e.tol, one)
	}
}

// testUnaryAdjoint checks δ = f'(x) ⊙ ε against the analytic derivative.
func testUnaryAdjoint(e *env, op device.UnaryOp) {
	p := paramFor(op)
	for _, n := range lengths {
		x := e.domain(op, n)
		y := make([]float64, n)
		for i, v := range x {
			y[i] = refUnary(op, p, v)
		}
		e.round(y)
		eps := e.uniform(n, -2, 2)
		want := make([]float64, n)
		for i, v := range x {
			want[i] = refDerivative(op, p, v) * eps[i]
		}
		what := fmt.Sprintf("UnaryAdjoint(%v, %g, n=%d)", op, p, n)
		xb, yb, eb, db := e.upload(x), e.upload(y), e.upload(eps), e.upload(filled(n, math.NaN()))
		e.dev.UnaryAdjoint(op, p, xb, yb, eb, db)
		e.check(what+": delta", e.download(db), want, e.tol, one)
		e.checkSame(what+": eps must be untouched", e.download(eb), eps)
	}
}

// testBinary checks c = a ∘ b into a NaN-filled c, with c == a and c == b.
func testBinary(e *env, op device.BinaryOp) {
	for _, n := range lengths {
		a := e.uniform(n, -4, 4)
		var b []float64
		if op == device.Div {
			b = e.uniformAway(n, -4, 4, 0.5)
		} else {
			b = e.uniform(n, -4, 4)
		}
		want := make([]float64, n)
		for i := range want {
			want[i] = refBinary(op, a[i], b[i])
		}
		what := fmt.Sprintf("Binary(%v, n=%d)", op, n)
		ab, bb, cb := e.upload(a), e.upload(b), e.upload(filled(n, math.NaN()))
		e.dev.Binary(op, ab, bb, cb)
		e.check(what, e.download(cb), want, e.tol, one)
		e.checkSame(what+": a must be untouched", e.download(ab), a)
		e.checkSame(what+": b must be untouched", e.download(bb), b)

		e.dev.Binary(op, ab, bb, ab)
		e.check(what+" in place (c == a)", e.download(ab), want, e.tol, one)
		e.checkSame(what+" in place (c == a): b must be untouched", e.download(bb), b)

		e.set(ab, a)
		e.dev.Binary(op, ab, bb, bb)
		e.check(what+" in place (c == b)", e.download(bb), want, e.tol, one)
	}
}

// testBiasActivation checks y = f(x + 1bᵀ) with and without bias, into a
// NaN-filled y and in place.
func testBiasActivation(e *env, op device.UnaryOp) {
	p := paramFor(op)
	for _, sh := range matShapes {
		rows, cols := sh[0], sh[1]
		for _, withBias := range []bool{true, false} {
			for _, inPlace := range []bool{false, true} {
				// x + b in the domain of op, and away from 0.
				bias := make([]float64, cols)
				if withBias {
					if op == device.Log || op == device.Sqrt {
						bias = e.uniform(cols, 0.05, 2)
					} else {
						bias = e.uniform(cols, -1, 1)
					}
				}
				x := make([]float64, rows*cols)
				for i := range x {
					for {
						var v float64
						if op == device.Log || op == device.Sqrt {
							v = e.roundv(0.05 + 2*e.rng.Float64())
						} else {
							v = e.roundv(-3 + 6*e.rng.Float64())
						}
						if math.Abs(v+bias[i%cols]) >= 1e-2 {
							x[i] = v
							break
						}
					}
				}
				want := make([]float64, rows*cols)
				for i, v := range x {
					want[i] = refUnary(op, p, v+bias[i%cols])
				}
				what := fmt.Sprintf("BiasActivation(%v, rows=%d, cols=%d, bias=%v, in place=%v)", op, rows, cols, withBias, inPlace)
				xb := e.upload(x)
				var bb device.Buffer
				if withBias {
					bb = e.upload(bias)
				}
				yb := xb
				if !inPlace {
					yb = e.upload(filled(rows*cols, math.NaN()))
				}
				e.dev.BiasActivation(op, p, xb, rows, cols, bb, yb)
				e.check(what, e.download(yb), want, e.tol, one)
				if !inPlace {
					e.checkSame(what+": x must be untouched", e.download(xb), x)
				}
				if withBias {
					e.checkSame(what+": bias must be untouched", e.download(bb), bias)
				}
			}
		}
	}
}

// sumBetas are the β of SumRows and SumCols; β = 0 runs with y filled with
// NaN, which must be overwritten (Alloc leaves memory unspecified).
var sumBetas = []float64{0, 1, 0.5}

// testSumRows checks y = βy + Σᵢ x[i,:].
func testSumRows(e *env) { testSum(e, "SumRows", true) }

// testSumCols checks y = βy + αΣⱼ x[:,j] (α = 1, and α = 1/4 with β ≠ 0).
func testSumCols(e *env) { testSum(e, "SumCols", false) }

// testSum checks one of the two reductions of a rows×cols x: over the rows
// (one output per column) or over the columns (one output per row).
func testSum(e *env, name string, overRows bool) {
	for _, sh := range matShapes {
		rows, cols := sh[0], sh[1]
		outs, terms := rows, cols
		at := func(o, t int) int { return o*cols + t }
		if overRows {
			outs, terms = cols, rows
			at = func(o, t int) int { return t*cols + o }
		}
		for _, beta := range sumBetas {
			x := e.uniform(rows*cols, -1, 1)
			y := filled(outs, math.NaN())
			if beta != 0 {
				y = e.uniform(outs, -1, 1)
			}
			alpha := 1.0 // SumCols scales its sums; SumRows has no α
			if !overRows && beta != 0 {
				alpha = 0.25
			}
			want, scale := make([]float64, outs), make([]float64, outs)
			for o := range outs {
				for t := range terms {
					want[o] += alpha * x[at(o, t)]
					scale[o] += alpha * math.Abs(x[at(o, t)])
				}
				if beta != 0 {
					want[o] += beta * y[o]
					scale[o] += math.Abs(beta * y[o])
				}
			}
			what := fmt.Sprintf("%s(rows=%d, cols=%d, alpha=%g, beta=%g)", name, rows, cols, alpha, beta)
			xb, yb := e.upload(x), e.upload(y)
			if overRows {
				e.dev.SumRows(xb, rows, cols, beta, yb)
			} else {
				e.dev.SumCols(xb, rows, cols, alpha, beta, yb)
			}
			e.check(what, e.download(yb), want, e.tol*sqrtN(terms+1), func(i int) float64 { return scale[i] })
			e.checkSame(what+": x must be untouched", e.download(xb), x)
		}
	}
}

// testArgMaxMatches checks count = β count + #{i : argmax x[i,:] = labels[i]}
// against a plain loop, on rows built to catch the usual mistakes: labels
// that are the argmax, another class, or no class at all (−1, cols, 0.5,
// NaN); rows with a tied maximum, where only the first counts; and rows
// holding a NaN, which wins as in torch.argmax.
func testArgMaxMatches(e *env) {
	for _, sh := range matShapes {
		rows, cols := sh[0], sh[1]
		x := e.uniform(rows*cols, -3, 3)
		labels := make([]float64, rows)
		for i := range rows {
			row := x[i*cols : (i+1)*cols]
			if cols > 1 && i%5 == 1 { // a tie: the maximum again, later in the row
				a := e.rng.IntN(cols - 1)
				b := a + 1 + e.rng.IntN(cols-1-a)
				row[a] = 4
				row[b] = 4
			}
			if cols > 1 && i%7 == 3 {
				row[e.rng.IntN(cols)] = math.NaN()
			}
			best := refArgMax(row)
			switch i % 4 {
			case 0, 1: // the argmax: a match
				labels[i] = float64(best)
			case 2: // another class, or (every 3rd time) no class
				switch i % 3 {
				case 0:
					labels[i] = float64((best + 1) % max(cols, 2))
				case 1:
					labels[i] = []float64{-1, float64(cols), 0.5, math.NaN()}[i%4]
				default:
					labels[i] = float64(e.rng.IntN(cols))
				}
			case 3: // the last of a tie, or a class at random
				labels[i] = float64(cols - 1 - (i % cols))
				for j := cols - 1; j > best; j-- {
					if x[i*cols+j] == x[i*cols+best] {
						labels[i] = float64(j)
						break
					}
				}
			}
		}
		want := 0
		for i := range rows {
			if float64(refArgMax(x[i*cols:(i+1)*cols])) == labels[i] {
				want++
			}
		}
		for _, beta := range []float64{0, 1, 0.5} {
			prev := 7.0
			if beta == 0 {
				prev = math.NaN()
			}
			what := fmt.Sprintf("ArgMaxMatches(rows=%d, cols=%d, beta=%g)", rows, cols, beta)
			xb, lb, cb := e.upload(x), e.upload(labels), e.upload([]float64{prev})
			e.dev.ArgMaxMatches(xb, rows, cols, lb, beta, cb)
			w := float64(want)
			if beta != 0 {
				w += beta * prev
			}
			e.checkSame(what, e.download(cb), []float64{w})
			e.checkSame(what+": x must be untouched", e.download(xb), x)
			e.checkSame(what+": labels must be untouched", e.download(lb), labels)
		}
	}
}

// refArgMax is torch.argmax of one row: the first maximum, NaN above all.
func refArgMax(row []float64) int {
	best := 0
	for j, v := range row {
		if math.IsNaN(row[best]) {
			break
		}
		if math.IsNaN(v) || v > row[best] {
			best = j
		}
	}
	return best
}
