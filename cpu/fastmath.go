package cpu

import (
	"math"
	"unsafe"

	"github.com/adjoint-go/adjoint/device"
)

// Fast float32 exp, tanh and sigmoid for slices.
//
// expSlice, tanhSlice and sigmoidSlice compute dst[i] = f(src[i]) with a
// relative error of about 2 ulp (well under 1e-6) over the whole float32
// range, with IEEE behaviour at the edges: exp overflows to +Inf above
// ~88.72 and underflows through the subnormals to 0, tanh and sigmoid
// saturate to ±1 and 0/1, NaN stays NaN, and ±Inf map to the limits. On
// amd64 with AVX2+FMA they run eight lanes at a time in assembly
// (fastmath_amd64.s); elsewhere the scalar functions below run per element.
// Both follow the same algorithm, and dst may alias src.
//
// exp(x): n = round(x·log₂e), r = x − n·ln2 (ln2 split into an exact head
// and a tail, so r is accurate), exp(r) = 1 + r + r²·q(r) with q a
// degree-4 near-minimax polynomial on |r| ≤ ln2/2 (its error, 3e-9, is far
// below float32 rounding), and the result is scaled by 2ⁿ as two factors
// 2^⌊n/2⌋·2^(n−⌊n/2⌋), so that the scale never overflows in the exponent
// and subnormal results are rounded once. x is first clamped to
// [−104, 89], where exp is already 0 or +Inf in float32.
//
// tanh(x) = sign(x)·tanh(a), a = |x|: for a < 0.625, a + a³·t(a²) with t a
// degree-4 near-minimax polynomial (relative error 4e-9); above,
// 1 − 2/(exp(2a)+1), which has no cancellation there and saturates to 1
// when exp overflows.
//
// sigmoid(x): with e = exp(−|x|) (never overflows), 1/(1+e) for x ≥ 0 and
// e/(1+e) for x < 0, so tiny results keep their relative accuracy.

const (
	fmExpHi = 89.0
	fmExpLo = -104.0
	fmLog2e = 1.4426950216293335
	fmMagic = 12582912.0 // 1.5·2²³: adding it rounds to an integer
	fmLn2Hi = 0.693359375
	fmLn2Lo = -0.00021219444170128554
	fmQ0    = 0.5
	fmQ1    = 0.1666651964187622
	fmQ2    = 0.04166620597243309
	fmQ3    = 0.008368882350623608
	fmQ4    = 0.0013950478751212358

	fmTanhSmall = 0.625
	fmT0        = -0.3333328366279602
	fmT1        = 0.13331490755081177
	fmT2        = -0.05374349653720856
	fmT3        = 0.020650586113333702
	fmT4        = -0.005717044696211815
)

// exp32 is the scalar float32 exp (see above).
func exp32(x float32) float32 {
	x = max(min(x, fmExpHi), fmExpLo) // NaN stays NaN
	t := x*fmLog2e + fmMagic
	n := t - fmMagic
	r := x - n*fmLn2Hi
	r -= n * fmLn2Lo
	q := fmQ4*r + fmQ3
	q = q*r + fmQ2
	q = q*r + fmQ1
	q = q*r + fmQ0
	p := 1 + (r + r*r*q)
	ni := int32(n)
	n1 := ni >> 1
	n2 := ni - n1
	s1 := math.Float32frombits(uint32(n1+127) << 23)
	s2 := math.Float32frombits(uint32(n2+127) << 23)
	return p * s1 * s2
}

// tanh32 is the scalar float32 tanh (see above).
func tanh32(x float32) float32 {
	// tanh(|x|), then the sign of x (so that tanh(-0) = -0).
	a := math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
	var y float32
	if a < fmTanhSmall {
		u := a * a
		t := fmT4*u + fmT3
		t = t*u + fmT2
		t = t*u + fmT1
		t = t*u + fmT0
		y = a + a*u*t
	} else {
		y = 1 - 2/(exp32(2*a)+1)
	}
	return math.Float32frombits(math.Float32bits(y) | math.Float32bits(x)&(1<<31))
}

// sigmoid32 is the scalar float32 logistic function (see above).
func sigmoid32(x float32) float32 {
	e := exp32(-math.Float32frombits(math.Float32bits(x) &^ (1 << 31)))
	r := 1 / (1 + e)
	if x < 0 {
		return e * r
	}
	return r
}

func expGeneric(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = exp32(v)
	}
}

func tanhGeneric(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = tanh32(v)
	}
}

func sigmoidGeneric(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = sigmoid32(v)
	}
}

// fastUnary computes y = op(x) with the fast float32 functions when T is
// float32 and op is Exp, Tanh or Sigmoid, and reports whether it did.
// float64 keeps math.* (the reference for gradient checks).
func fastUnary[T float](op device.UnaryOp, x, y []T) bool {
	var z T
	if unsafe.Sizeof(z) != 4 || len(x) == 0 {
		return false
	}
	x32 := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
	y32 := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(y))), len(y))
	switch op {
	case device.Exp:
		expSlice(y32, x32)
	case device.Tanh:
		tanhSlice(y32, x32)
	case device.Sigmoid:
		sigmoidSlice(y32, x32)
	default:
		return false
	}
	return true
}

// reluAdjointGeneric sets d[i] = e[i] where x[i] > 0 and 0 elsewhere,
// with a mask built from x's bits instead of a branch: the sign of x is
// random in a network, and a mispredicted branch per element made this
// loop several times slower than the memory traffic. With b the bits of x
// as an int32, x > 0 (NaN excluded) is 0 < b ≤ bits(+Inf).
func reluAdjointGeneric(x, e, d []float32) {
	x, e = x[:len(d)], e[:len(d)]
	for i := range d {
		b := int32(math.Float32bits(x[i]))
		mask := ^(((b - 1) | (0x7f800000 - b)) >> 31)
		d[i] = math.Float32frombits(math.Float32bits(e[i]) & uint32(mask))
	}
}
