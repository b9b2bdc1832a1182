//go:build amd64 && !purego

package cpu

import "golang.org/x/sys/cpu"

var fastmathAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// The assembly routines process n groups of eight elements.

//go:noescape
func expAVX2(dst, src *float32, n int)

//go:noescape
func tanhAVX2(dst, src *float32, n int)

//go:noescape
func sigmoidAVX2(dst, src *float32, n int)

//go:noescape
func reluMaskAVX2(d, x, e *float32, n int)

// reluAdjoint32 sets d[i] = e[i] where x[i] > 0 and 0 elsewhere; x and e
// are at least as long as d.
func reluAdjoint32(x, e, d []float32) {
	done := 0
	if full := len(d) / 8; fastmathAVX2 && full > 0 {
		reluMaskAVX2(&d[0], &x[0], &e[0], full)
		done = 8 * full
	}
	reluAdjointGeneric(x[done:], e[done:], d[done:])
}

const (
	fmExp = iota
	fmTanh
	fmSigmoid
)

// call8 runs function f of the assembly on n groups of eight.
func call8(f int, dst, src *float32, n int) {
	switch f {
	case fmExp:
		expAVX2(dst, src, n)
	case fmTanh:
		tanhAVX2(dst, src, n)
	default:
		sigmoidAVX2(dst, src, n)
	}
}

// vec8 runs f over src in groups of eight; the last partial group goes
// through a stack buffer so that every element takes the vector path.
func vec8(f int, dst, src []float32) {
	n := len(src)
	dst = dst[:n]
	if full := n / 8; full > 0 {
		call8(f, &dst[0], &src[0], full)
	}
	if rem := n % 8; rem > 0 {
		var buf [8]float32
		copy(buf[:], src[n-rem:])
		call8(f, &buf[0], &buf[0], 1)
		copy(dst[n-rem:], buf[:rem])
	}
}

// expSlice sets dst[i] = exp(src[i]); len(dst) >= len(src).
func expSlice(dst, src []float32) {
	if !fastmathAVX2 {
		expGeneric(dst, src)
		return
	}
	vec8(fmExp, dst, src)
}

// tanhSlice sets dst[i] = tanh(src[i]); len(dst) >= len(src).
func tanhSlice(dst, src []float32) {
	if !fastmathAVX2 {
		tanhGeneric(dst, src)
		return
	}
	vec8(fmTanh, dst, src)
}

// sigmoidSlice sets dst[i] = 1/(1+exp(-src[i])); len(dst) >= len(src).
func sigmoidSlice(dst, src []float32) {
	if !fastmathAVX2 {
		sigmoidGeneric(dst, src)
		return
	}
	vec8(fmSigmoid, dst, src)
}
