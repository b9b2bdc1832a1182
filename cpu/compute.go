package cpu

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/device"
)

type float interface{ ~float32 | ~float64 }

// bufs resolves device buffers to CPU buffers of one dtype; nil stays nil.
// It panics, naming the method, when the dtypes differ.
func bufs2(op string, x, y device.Buffer) (*Buffer, *Buffer) {
	a, b := opt(op, x), opt(op, y)
	checkSame(op, a, b)
	return a, b
}

func opt(op string, x device.Buffer) *Buffer {
	if x == nil {
		return nil
	}
	if b, ok := x.(*Buffer); ok && b != nil {
		return b
	}
	return mustBuf(x, op)
}

func checkSame(op string, bs ...*Buffer) {
	var dt device.DType
	for _, b := range bs {
		if b == nil {
			continue
		}
		if dt == 0 {
			dt = b.DType()
		} else if b.DType() != dt {
			panic(fmt.Sprintf("cpu: %s: mixed dtypes %v and %v", op, dt, b.DType()))
		}
	}
}

func checkLen(op, what string, b *Buffer, n int) {
	if b != nil && b.Len() < n {
		panic(fmt.Sprintf("cpu: %s: %s has %d elements, need %d", op, what, b.Len(), n))
	}
}

func checkEq(op string, a, b *Buffer) {
	if a.Len() != b.Len() {
		panic(fmt.Sprintf("cpu: %s: lengths %d and %d differ", op, a.Len(), b.Len()))
	}
}

// Copy2D copies a rows×cols block between strided matrices.
func (c *CPU) Copy2D(dst device.Buffer, dstOff, dstLD int, src device.Buffer, srcOff, srcLD, rows, cols int) {
	c.call.Lock()
	defer c.call.Unlock()
	d, s := bufs2("Copy2D", dst, src)
	if rows == 0 || cols == 0 {
		return
	}
	checkLen("Copy2D", "dst", d, dstOff+(rows-1)*dstLD+cols)
	checkLen("Copy2D", "src", s, srcOff+(rows-1)*srcLD+cols)
	if d.f64 != nil {
		copy2D(d.f64, dstOff, dstLD, s.f64, srcOff, srcLD, rows, cols)
	} else {
		copy2D(d.f32, dstOff, dstLD, s.f32, srcOff, srcLD, rows, cols)
	}
}

func copy2D[T float](d []T, dOff, dLD int, s []T, sOff, sLD, rows, cols int) {
	for i := 0; i < rows; i++ {
		copy(d[dOff+i*dLD:dOff+i*dLD+cols], s[sOff+i*sLD:sOff+i*sLD+cols])
	}
}

// Fill sets every element to v.
func (c *CPU) Fill(b device.Buffer, v float64) {
	c.call.Lock()
	defer c.call.Unlock()
	x := mustBuf(b, "Fill")
	if x.f64 != nil {
		fill(x.f64, v)
	} else {
		fill(x.f32, v)
	}
}

func fill[T float](x []T, v float64) {
	for i := range x {
		x[i] = T(v)
	}
}

// Gemm computes C = α op(A) op(B) + βC.
func (c *CPU) Gemm(transA, transB bool, m, n, k int, alpha float64, a device.Buffer, lda int, b device.Buffer, ldb int, beta float64, cc device.Buffer, ldc int) {
	c.call.Lock()
	defer c.call.Unlock()
	A, B := bufs2("Gemm", a, b)
	C := mustBuf(cc, "Gemm")
	checkSame("Gemm", A, C)
	if C.f64 != nil {
		c.gemm.Dgemm(transA, transB, m, n, k, alpha, A.f64, lda, B.f64, ldb, beta, C.f64, ldc)
	} else {
		c.gemm.Sgemm(transA, transB, m, n, k, float32(alpha), A.f32, lda, B.f32, ldb, float32(beta), C.f32, ldc)
	}
}

// Axpy computes y ← αx + y.
func (c *CPU) Axpy(alpha float64, x, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	a, b := bufs2("Axpy", x, y)
	checkEq("Axpy", a, b)
	if a.f64 != nil {
		axpy(alpha, a.f64, b.f64)
		return
	}
	c.par.a = args{alpha: float32(alpha), x: a.f32, y: b.f32}
	c.par.run(taskAxpy, a.Len(), 1)
}

func axpy[T float](alpha T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// Scale computes y ← αx.
func (c *CPU) Scale(alpha float64, x, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	a, b := bufs2("Scale", x, y)
	checkEq("Scale", a, b)
	if a.f64 != nil {
		scale(alpha, a.f64, b.f64)
		return
	}
	c.par.a = args{alpha: float32(alpha), x: a.f32, y: b.f32}
	c.par.run(taskScale, a.Len(), 1)
}

func scale[T float](alpha T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = alpha * v
	}
}

// Dot returns Σ xᵢyᵢ, accumulated in float64.
func (c *CPU) Dot(x, y device.Buffer) (float64, error) {
	c.call.Lock()
	defer c.call.Unlock()
	a, b := bufs2("Dot", x, y)
	checkEq("Dot", a, b)
	if a.f64 != nil {
		return dot(a.f64, b.f64), c.errNow()
	}
	return dot(a.f32, b.f32), c.errNow()
}

func dot[T float](x, y []T) float64 {
	var s float64
	y = y[:len(x)]
	for i, v := range x {
		s += float64(v) * float64(y[i])
	}
	return s
}

// Unary computes y = f(x) with f's parameter p.
func (c *CPU) Unary(op device.UnaryOp, p float64, x, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	a, b := bufs2("Unary", x, y)
	checkEq("Unary", a, b)
	if a.f64 != nil {
		unary(op, p, a.f64, b.f64)
		return
	}
	c.par.a = args{uop: op, param: p, x: a.f32, y: b.f32}
	c.par.run(taskUnary, a.Len(), unaryCost(op))
}

func unary[T float](op device.UnaryOp, p float64, x, y []T) {
	y = y[:len(x)]
	if fastUnary(op, x, y) { // float32 Exp, Tanh, Sigmoid (fastmath.go)
		return
	}
	switch op {
	case device.Identity:
		copy(y, x)
	case device.Neg:
		for i, v := range x {
			y[i] = -v
		}
	case device.Exp:
		for i, v := range x {
			y[i] = T(math.Exp(float64(v)))
		}
	case device.Log:
		for i, v := range x {
			y[i] = T(math.Log(float64(v)))
		}
	case device.Sqrt:
		for i, v := range x {
			y[i] = T(math.Sqrt(float64(v)))
		}
	case device.Square:
		for i, v := range x {
			y[i] = v * v
		}
	case device.Abs:
		for i, v := range x {
			y[i] = T(math.Abs(float64(v)))
		}
	case device.ReLU:
		for i, v := range x {
			y[i] = max(v, 0)
		}
	case device.Sigmoid:
		for i, v := range x {
			y[i] = T(sigmoid(float64(v)))
		}
	case device.Tanh:
		for i, v := range x {
			y[i] = T(math.Tanh(float64(v)))
		}
	case device.GELU:
		for i, v := range x {
			y[i] = T(gelu(float64(v)))
		}
	case device.SiLU:
		for i, v := range x {
			y[i] = T(float64(v) * sigmoid(float64(v)))
		}
	case device.LeakyReLU:
		s := T(p)
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = s * v // NaN stays NaN
			}
		}
	case device.ELU:
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = T(p * math.Expm1(float64(v)))
			}
		}
	case device.ReLU6:
		for i, v := range x {
			y[i] = relu6(v)
		}
	case device.Hardsigmoid:
		for i, v := range x {
			y[i] = relu6(v+3) / 6
		}
	case device.Hardswish:
		for i, v := range x {
			y[i] = v * relu6(v+3) / 6
		}
	default:
		panic(fmt.Sprintf("cpu: Unary: unknown op %v", op))
	}
}

// relu6 is min(max(x, 0), 6), NaN staying NaN.
func relu6[T float](x T) T {
	if x != x {
		return x
	}
	return min(max(x, 0), 6)
}

// gelu is x Φ(x) with Φ(x) = erfc(−x/√2)/2, which keeps Φ's relative
// accuracy far into the negative tail (1 + erf would cancel).
func gelu(x float64) float64 { return x * math.Erfc(-x/math.Sqrt2) / 2 }

// geluDerivative is Φ(x) + x φ(x), φ(x) = e^(−x²/2)/√(2π).
func geluDerivative(x float64) float64 {
	return math.Erfc(-x/math.Sqrt2)/2 + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
}

// sigmoid is evaluated on the side where e⁻|x| cannot overflow.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// UnaryAdjoint computes δ = f'(x) ⊙ ε, f with its parameter p.
func (c *CPU) UnaryAdjoint(op device.UnaryOp, p float64, x, y, eps, delta device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	X, Y, E, D := opt("UnaryAdjoint", x), opt("UnaryAdjoint", y), opt("UnaryAdjoint", eps), opt("UnaryAdjoint", delta)
	checkSame("UnaryAdjoint", X, Y, E, D)
	checkEq("UnaryAdjoint", X, Y)
	checkEq("UnaryAdjoint", X, E)
	checkEq("UnaryAdjoint", X, D)
	if X.f64 != nil {
		unaryAdjoint(op, p, X.f64, Y.f64, E.f64, D.f64)
		return
	}
	c.par.a = args{uop: op, param: p, x: X.f32, y: Y.f32, e: E.f32, d: D.f32}
	c.par.run(taskUnaryAdjoint, X.Len(), 1)
}

func unaryAdjoint[T float](op device.UnaryOp, p float64, x, y, e, d []T) {
	n := len(x)
	y, e, d = y[:n], e[:n], d[:n]
	switch op {
	case device.Identity:
		copy(d, e)
	case device.Neg:
		for i := range d {
			d[i] = -e[i]
		}
	case device.Exp:
		for i := range d {
			d[i] = y[i] * e[i]
		}
	case device.Log:
		for i := range d {
			d[i] = e[i] / x[i]
		}
	case device.Sqrt:
		for i := range d {
			d[i] = e[i] / (2 * y[i])
		}
	case device.Square:
		for i := range d {
			d[i] = 2 * x[i] * e[i]
		}
	case device.Abs:
		for i := range d {
			switch {
			case x[i] > 0:
				d[i] = e[i]
			case x[i] < 0:
				d[i] = -e[i]
			default:
				d[i] = 0
			}
		}
	case device.ReLU:
		if x32, ok := any(x).([]float32); ok {
			reluAdjoint32(x32, any(e).([]float32), any(d).([]float32))
			return
		}
		for i := range d {
			if x[i] > 0 {
				d[i] = e[i]
			} else {
				d[i] = 0
			}
		}
	case device.Sigmoid:
		for i := range d {
			d[i] = y[i] * (1 - y[i]) * e[i]
		}
	case device.Tanh:
		for i := range d {
			d[i] = (1 - y[i]*y[i]) * e[i]
		}
	case device.GELU:
		for i := range d {
			d[i] = T(geluDerivative(float64(x[i])) * float64(e[i]))
		}
	case device.SiLU:
		for i := range d {
			v := float64(x[i])
			s := sigmoid(v)
			d[i] = T(s * (1 + v*(1-s)) * float64(e[i]))
		}
	case device.LeakyReLU:
		s := T(p)
		for i := range d {
			if x[i] > 0 {
				d[i] = e[i]
			} else {
				d[i] = s * e[i]
			}
		}
	case device.ELU:
		for i := range d {
			if x[i] > 0 {
				d[i] = e[i]
			} else {
				d[i] = T(p * math.Exp(float64(x[i])) * float64(e[i]))
			}
		}
	case device.ReLU6:
		for i := range d {
			if x[i] > 0 && x[i] < 6 {
				d[i] = e[i]
			} else {
				d[i] = 0
			}
		}
	case device.Hardsigmoid:
		for i := range d {
			if x[i] > -3 && x[i] < 3 {
				d[i] = e[i] / 6
			} else {
				d[i] = 0
			}
		}
	case device.Hardswish:
		for i := range d {
			switch v := x[i]; {
			case v < -3:
				d[i] = 0
			case v <= 3:
				d[i] = (v/3 + 0.5) * e[i]
			default:
				d[i] = e[i]
			}
		}
	default:
		panic(fmt.Sprintf("cpu: UnaryAdjoint: unknown op %v", op))
	}
}

// Binary computes c = a ∘ b.
func (c *CPU) Binary(op device.BinaryOp, a, b, cc device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	A, B := bufs2("Binary", a, b)
	C := mustBuf(cc, "Binary")
	checkSame("Binary", A, C)
	checkEq("Binary", A, B)
	checkEq("Binary", A, C)
	if A.f64 != nil {
		binary(op, A.f64, B.f64, C.f64)
		return
	}
	c.par.a = args{bop: op, x: A.f32, y: B.f32, d: C.f32}
	c.par.run(taskBinary, A.Len(), 1)
}

func binary[T float](op device.BinaryOp, a, b, c []T) {
	n := len(a)
	b, c = b[:n], c[:n]
	switch op {
	case device.Add:
		for i := range c {
			c[i] = a[i] + b[i]
		}
	case device.Sub:
		for i := range c {
			c[i] = a[i] - b[i]
		}
	case device.Mul:
		for i := range c {
			c[i] = a[i] * b[i]
		}
	case device.Div:
		for i := range c {
			c[i] = a[i] / b[i]
		}
	default:
		panic(fmt.Sprintf("cpu: Binary: unknown op %v", op))
	}
}

// BiasActivation computes y = f(x + 1bᵀ), f with its parameter p.
func (c *CPU) BiasActivation(op device.UnaryOp, p float64, x device.Buffer, rows, cols int, bias device.Buffer, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	X, Y := bufs2("BiasActivation", x, y)
	B := opt("BiasActivation", bias)
	checkSame("BiasActivation", X, B)
	checkLen("BiasActivation", "x", X, rows*cols)
	checkLen("BiasActivation", "y", Y, rows*cols)
	checkLen("BiasActivation", "bias", B, cols)
	if X.f64 != nil {
		var b []float64
		if B != nil {
			b = B.f64
		}
		biasActivation(op, p, X.f64, rows, cols, b, Y.f64)
	} else {
		var b []float32
		if B != nil {
			b = B.f32
		}
		c.par.a = args{uop: op, param: p, x: X.f32, cols: cols, b: b, y: Y.f32}
		c.par.run(taskBiasActivation, rows, cols*unaryCost(op))
	}
}

func biasActivation[T float](op device.UnaryOp, p float64, x []T, rows, cols int, b, y []T) {
	for i := 0; i < rows; i++ {
		xr, yr := x[i*cols:(i+1)*cols], y[i*cols:(i+1)*cols]
		if b != nil {
			b := b[:cols]
			for j := range yr {
				yr[j] = xr[j] + b[j]
			}
			xr = yr
		}
		if op == device.ReLU { // the common case, without the switch per row
			for j, v := range xr {
				yr[j] = max(v, 0)
			}
			continue
		}
		unary(op, p, xr, yr)
	}
}

// SumRows computes y = βy + Σᵢ x[i,:].
func (c *CPU) SumRows(x device.Buffer, rows, cols int, beta float64, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	X, Y := bufs2("SumRows", x, y)
	checkLen("SumRows", "x", X, rows*cols)
	checkLen("SumRows", "y", Y, cols)
	if X.f64 != nil {
		sumRows(X.f64, rows, cols, beta, Y.f64)
	} else {
		sumRows(X.f32, rows, cols, float32(beta), Y.f32)
	}
}

func sumRows[T float](x []T, rows, cols int, beta T, y []T) {
	y = y[:cols]
	if beta == 0 {
		clear(y)
	} else if beta != 1 {
		for j := range y {
			y[j] *= beta
		}
	}
	for i := 0; i < rows; i++ {
		xr := x[i*cols : (i+1)*cols]
		for j, v := range xr {
			y[j] += v
		}
	}
}

// SumCols computes y = βy + αΣⱼ x[:,j].
func (c *CPU) SumCols(x device.Buffer, rows, cols int, alpha, beta float64, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	X, Y := bufs2("SumCols", x, y)
	checkLen("SumCols", "x", X, rows*cols)
	checkLen("SumCols", "y", Y, rows)
	if X.f64 != nil {
		sumCols(X.f64, rows, cols, alpha, beta, Y.f64)
	} else {
		sumCols(X.f32, rows, cols, alpha, beta, Y.f32)
	}
}

func sumCols[T float](x []T, rows, cols int, alpha, beta float64, y []T) {
	for i := 0; i < rows; i++ {
		var s float64 // accumulate in float64: these sums feed the loss value
		for _, v := range x[i*cols : (i+1)*cols] {
			s += float64(v)
		}
		s *= alpha
		if beta != 0 {
			s += beta * float64(y[i])
		}
		y[i] = T(s)
	}
}

// ArgMaxMatches computes count = β count + #{i : argmax_j x[i,j] = labels[i]}.
func (c *CPU) ArgMaxMatches(x device.Buffer, rows, cols int, labels device.Buffer, beta float64, count device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "ArgMaxMatches"
	X, L, C := mustBuf(x, name), mustBuf(labels, name), mustBuf(count, name)
	checkSame(name, X, L, C)
	checkLen(name, "x", X, rows*cols)
	checkLen(name, "labels", L, rows)
	checkLen(name, "count", C, 1)
	var n int
	if X.f64 != nil {
		n = argMaxMatches(X.f64, rows, cols, L.f64)
		C.f64[0] = betaTimes(beta, C.f64[0]) + float64(n)
	} else {
		n = argMaxMatches(X.f32, rows, cols, L.f32)
		C.f32[0] = float32(betaTimes(beta, float64(C.f32[0])) + float64(n))
	}
}

// T64 is βc, with c not read when β is 0 (it may hold NaN).
func betaTimes(beta, c float64) float64 {
	if beta == 0 {
		return 0
	}
	return beta * c
}

func argMaxMatches[T float](x []T, rows, cols int, labels []T) int {
	n := 0
	if cols == 0 {
		return 0 // no classes: nothing to match
	}
	for i := 0; i < rows; i++ {
		if float64(argMax(x[i*cols:(i+1)*cols])) == float64(labels[i]) {
			n++
		}
	}
	return n
}

// argMax is torch.argmax of one row: the first maximum, where a NaN beats
// every number; −1 for an empty row.
func argMax[T float](x []T) int {
	if len(x) == 0 {
		return -1
	}
	best := 0
	for j, v := range x {
		if b := x[best]; v > b || (v != v && b == b) {
			best = j
		}
	}
	return best
}

// unaryCost weighs an elementwise function by its price relative to an
// add, so that transcendental functions split over the cores sooner.
func unaryCost(op device.UnaryOp) int {
	switch op {
	case device.Exp, device.Sigmoid, device.Tanh: // vectorised float32 (fastmath.go)
		return 2
	case device.Log, device.Sqrt, device.GELU, device.SiLU, device.ELU:
		return 8
	}
	return 1
}
