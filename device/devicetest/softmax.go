package devicetest

import (
	"fmt"
	"math"
)

// softmaxShapes are (rows, cols) pairs; cols is the softmax length.
var softmaxShapes = [][2]int{
	{1, 1}, {4, 1}, {1, 3}, {4, 3}, {17, 31}, {31, 17}, {33, 64}, {8, 65},
	{65, 127}, {9, 129}, {5, 257}, {127, 33},
}

// logits returns a rows×cols matrix whose rows cycle through four kinds:
// moderate logits, ±1000 (with a small spread) to check stability, a row
// of equal large values, and a wide range [−20, 20]. It also returns each
// row's largest magnitude.
func (e *env) logits(rows, cols int) (x, maxAbs []float64) {
	x = make([]float64, rows*cols)
	maxAbs = make([]float64, rows)
	for i := 0; i < rows; i++ {
		row := x[i*cols : (i+1)*cols]
		for j := range row {
			u := e.rng.Float64()
			switch i % 4 {
			case 0:
				row[j] = -4 + 8*u
			case 1:
				s := 1000.0
				if e.rng.IntN(2) == 0 {
					s = -1000
				}
				row[j] = s + (-3 + 6*u)
			case 2:
				row[j] = 1000
			case 3:
				row[j] = -20 + 40*u
			}
		}
		e.round(row)
		for _, v := range row {
			maxAbs[i] = math.Max(maxAbs[i], math.Abs(v))
		}
	}
	return x, maxAbs
}

// rowTol is the tolerance of results computed from logits of magnitude
// maxAbs: the rounding of x − lse grows with |x| and exp turns it into a
// relative error, so rows of ±1000 get 10× the base tolerance.
func (e *env) rowTol(maxAbs float64) float64 { return e.tol * math.Max(1, maxAbs/100) }

// testSoftmax checks Softmax or LogSoftmax: the values, that they are
// finite, and that every row of softmax probabilities sums to 1.
func testSoftmax(e *env, log bool) {
	method := "Softmax"
	if log {
		method = "LogSoftmax"
	}
	for _, sh := range softmaxShapes {
		rows, cols := sh[0], sh[1]
		what := fmt.Sprintf("%s(rows=%d, cols=%d)", method, rows, cols)
		x, maxAbs := e.logits(rows, cols)
		want := refSoftmax(log, x, rows, cols)
		xb, yb := e.upload(x), e.upload(filled(rows*cols, math.NaN()))
		if log {
			e.dev.LogSoftmax(xb, rows, cols, yb)
		} else {
			e.dev.Softmax(xb, rows, cols, yb)
		}
		got := e.download(yb)
		if !e.checkFinite(what, got) {
			continue
		}
		for i := 0; i < rows; i++ {
			lo, hi := i*cols, (i+1)*cols
			rowWhat := fmt.Sprintf("%s: row %d (max |x| %g)", what, i, maxAbs[i])
			if log {
				e.check(rowWhat, got[lo:hi], want[lo:hi], e.rowTol(maxAbs[i]), func(int) float64 { return math.Max(1, maxAbs[i]/100) })
			} else {
				e.check(rowWhat, got[lo:hi], want[lo:hi], e.rowTol(maxAbs[i]), func(int) float64 { return 1e-7 })
			}
			var sum float64
			for _, v := range got[lo:hi] {
				if log {
					v = math.Exp(v)
				}
				sum += v
			}
			e.check(rowWhat+": probabilities must sum to 1", []float64{sum}, []float64{1}, e.rowTol(maxAbs[i])*sqrtN(cols), one)
		}
		e.checkSame(what+": x must be untouched", e.download(xb), x)
	}
}

// testSoftmaxAdjoint checks SoftmaxAdjoint δ = y ⊙ (ε − ⟨ε, y⟩) or
// LogSoftmaxAdjoint δ = ε − exp(y) Σε, given y from the reference.
func testSoftmaxAdjoint(e *env, log bool) {
	method := "SoftmaxAdjoint"
	if log {
		method = "LogSoftmaxAdjoint"
	}
	for _, sh := range softmaxShapes {
		rows, cols := sh[0], sh[1]
		what := fmt.Sprintf("%s(rows=%d, cols=%d)", method, rows, cols)
		x, _ := e.logits(rows, cols)
		y := e.round(refSoftmax(log, x, rows, cols))
		eps := e.uniform(rows*cols, -2, 2)
		want, scale := make([]float64, rows*cols), make([]float64, rows*cols)
		for i := 0; i < rows; i++ {
			yr, er := y[i*cols:(i+1)*cols], eps[i*cols:(i+1)*cols]
			var s, abs float64
			for j := range yr {
				if log {
					s += er[j]
					abs += math.Abs(er[j])
				} else {
					s += er[j] * yr[j]
					abs += math.Abs(er[j] * yr[j])
				}
			}
			for j := range yr {
				if log {
					p := math.Exp(yr[j])
					want[i*cols+j] = er[j] - p*s
					scale[i*cols+j] = math.Abs(er[j]) + p*abs
				} else {
					want[i*cols+j] = yr[j] * (er[j] - s)
					scale[i*cols+j] = math.Abs(yr[j]) * (math.Abs(er[j]) + abs)
				}
			}
		}
		yb, eb, db := e.upload(y), e.upload(eps), e.upload(filled(rows*cols, math.NaN()))
		if log {
			e.dev.LogSoftmaxAdjoint(yb, eb, rows, cols, db)
		} else {
			e.dev.SoftmaxAdjoint(yb, eb, rows, cols, db)
		}
		e.check(what+": delta", e.download(db), want, e.tol*sqrtN(cols), func(i int) float64 { return scale[i] })
		e.checkSame(what+": eps must be untouched", e.download(eb), eps)
	}
}
