package cpu

import (
	"fmt"
	"math"
	"testing"
)

type fastFunc struct {
	name    string
	vec     func(dst, src []float32) // the dispatched version (assembly on amd64)
	generic func(dst, src []float32)
	ref     func(float64) float64
}

var fastFuncs = []fastFunc{
	{"exp", expSlice, expGeneric, math.Exp},
	{"tanh", tanhSlice, tanhGeneric, math.Tanh},
	{"sigmoid", sigmoidSlice, sigmoidGeneric, sigmoid},
}

// ulp32 is the spacing of float32 values at |w| (subnormal spacing below
// the normal range).
func ulp32(w float64) float64 {
	w = math.Abs(w)
	if w < 0x1p-126 {
		return 0x1p-149
	}
	_, e := math.Frexp(w)
	return math.Ldexp(1, e-24)
}

// fastErr returns the error of got against the exact value want in units
// of float32 ulps, or +Inf when the special-value behaviour is wrong.
func fastErr(got float32, want float64) float64 {
	switch {
	case math.IsNaN(want):
		if got == got {
			return math.Inf(1)
		}
		return 0
	case math.IsNaN(float64(got)):
		return math.Inf(1)
	}
	w32 := float32(want)
	if math.IsInf(float64(w32), 0) || math.IsInf(float64(got), 0) {
		// At the overflow threshold allow either side of the rounding.
		if got == w32 || math.Abs(want) > math.MaxFloat32*(1-1e-6) {
			return 0
		}
		return math.Inf(1)
	}
	return math.Abs(float64(got)-want) / ulp32(want)
}

// checkFast evaluates both versions of f on xs and fails on a relative
// error above 1e-6 (8 ulp) or any wrong special value; it returns the
// largest error in ulps.
func checkFast(t *testing.T, f fastFunc, xs []float32) (maxUlp float64, at float32) {
	t.Helper()
	got := make([]float32, len(xs))
	for _, impl := range []func(dst, src []float32){f.vec, f.generic} {
		impl(got, xs)
		for i, x := range xs {
			want := f.ref(float64(x))
			e := fastErr(got[i], want)
			// 1e-6 relative; below the normal range the absolute
			// spacing of the subnormals dominates.
			finite := !math.IsInf(float64(got[i]), 0) && !math.IsNaN(want)
			if e > 8 || finite && math.Abs(want) >= 0x1p-126 && math.Abs(float64(got[i])-want) > 1e-6*math.Abs(want) {
				t.Fatalf("%s(%g) [bits %#x] = %g, want %g (%.3g ulp)", f.name, x, math.Float32bits(x), got[i], want, e)
			}
			if e > maxUlp {
				maxUlp, at = e, x
			}
		}
	}
	return maxUlp, at
}

func TestFastMathSpecial(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	xs := []float32{0, float32(math.Copysign(0, -1)), 1, -1, inf, -inf, nan, -nan,
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		0x1p-126, -0x1p-126, 88.72283, 88.72284, 88.7, 89, 89.5, 100, 1e10,
		-87.33, -87.34, -100, -103.9, -103.98, -104, -105, -1e10,
		0.625, -0.625, 0.62499994, -0.62499994, 0.6250001, 1e-3, -1e-3, 1e-20, 9, 9.01, 20, -20, 44, -44}
	for _, f := range fastFuncs {
		t.Run(f.name, func(t *testing.T) {
			checkFast(t, f, xs)
			got := make([]float32, len(xs))
			f.vec(got, xs)
			for i, x := range xs {
				switch {
				case math.IsInf(float64(x), 1) && f.name == "exp":
					if !math.IsInf(float64(got[i]), 1) {
						t.Errorf("exp(+Inf) = %g", got[i])
					}
				case math.IsInf(float64(x), -1) && f.name == "exp":
					if got[i] != 0 {
						t.Errorf("exp(-Inf) = %g", got[i])
					}
				case f.name == "tanh" && math.Abs(float64(x)) >= 10:
					if got[i] != float32(math.Copysign(1, float64(x))) {
						t.Errorf("tanh(%g) = %g, want ±1", x, got[i])
					}
				case f.name == "sigmoid" && x >= 20:
					if got[i] != 1 {
						t.Errorf("sigmoid(%g) = %g, want 1", x, got[i])
					}
				case f.name == "sigmoid" && x <= -104:
					if got[i] != 0 {
						t.Errorf("sigmoid(%g) = %g, want 0", x, got[i])
					}
				case x == 0 && f.name == "tanh":
					if math.Float32bits(got[i]) != math.Float32bits(x) {
						t.Errorf("tanh(%g) = %g, want the same signed zero", x, got[i])
					}
				}
			}
		})
	}
}

// TestFastMathSweep compares against float64 math on every 251st float32
// bit pattern (about 17 million points per function, both signs, from
// the subnormals to the infinities and NaNs) and densely around the
// branch points.
func TestFastMathSweep(t *testing.T) {
	step := uint64(251)
	if testing.Short() {
		step = 4099
	}
	var xs []float32
	for b := uint64(0); b < 1<<32; b += step {
		xs = append(xs, math.Float32frombits(uint32(b)))
	}
	// Dense ranges: every value near tanh's switch, the exp overflow and
	// subnormal thresholds, and a uniform grid over [-20, 20].
	for _, c := range []float32{0.625, -0.625, 88.72283, -87.33655, -103.27893} {
		b := math.Float32bits(c)
		for d := uint32(0); d < 20000; d++ {
			xs = append(xs, math.Float32frombits(b-10000+d))
		}
	}
	for i := 0; i <= 400000; i++ {
		xs = append(xs, float32(-20+float64(i)*1e-4))
	}
	for _, f := range fastFuncs {
		t.Run(f.name, func(t *testing.T) {
			const batch = 1 << 16
			worst, at := 0.0, float32(0)
			for lo := 0; lo < len(xs); lo += batch {
				e, x := checkFast(t, f, xs[lo:min(len(xs), lo+batch)])
				if e > worst {
					worst, at = e, x
				}
			}
			t.Logf("%s: %d points, max error %.3f ulp at %g", f.name, len(xs), worst, at)
		})
	}
}

// TestFastMathLengths checks the tail handling for every length mod 8
// and that dst may alias src.
func TestFastMathLengths(t *testing.T) {
	for _, f := range fastFuncs {
		for n := 0; n <= 41; n++ {
			xs := make([]float32, n)
			for i := range xs {
				xs[i] = float32(i)*0.37 - 7
			}
			want := make([]float32, n)
			f.generic(want, xs)
			got := make([]float32, n+1)
			got[n] = 42
			f.vec(got, xs)
			if got[n] != 42 {
				t.Fatalf("%s: n=%d wrote past len(src)", f.name, n)
			}
			f.vec(xs, xs)
			for i := range want {
				if e := fastErr(got[i], float64(want[i])); e > 4 || got[i] != xs[i] {
					t.Fatalf("%s: n=%d i=%d got %g (in place %g), want %g", f.name, n, i, got[i], xs[i], want[i])
				}
			}
		}
	}
}

func TestFastMathAllocs(t *testing.T) {
	xs := make([]float32, 13)
	for _, f := range fastFuncs {
		if a := testing.AllocsPerRun(10, func() { f.vec(xs, xs) }); a != 0 {
			t.Errorf("%s allocates %v times", f.name, a)
		}
	}
}

func BenchmarkFastMath(b *testing.B) {
	const n = 4096
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(i%2000)*0.01 - 10
	}
	ys := make([]float32, n)
	type impl struct {
		name string
		f    func(dst, src []float32)
	}
	for _, f := range fastFuncs {
		ref := f.ref
		for _, im := range []impl{
			{"fast", f.vec},
			{"generic", f.generic},
			{"float64", func(dst, src []float32) {
				for i, v := range src {
					dst[i] = float32(ref(float64(v)))
				}
			}},
		} {
			b.Run(fmt.Sprintf("%s/%s", f.name, im.name), func(b *testing.B) {
				for b.Loop() {
					im.f(ys, xs)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
			})
		}
	}
}

// TestReluAdjoint checks the branch-free ReLU adjoint (assembly on amd64,
// bit mask elsewhere) against x > 0 ? e : 0 on the values where a mask is
// easy to get wrong (±0, NaN, ±Inf, subnormals, the extremes of float32),
// at every length up to 40 and at offsets that misalign the vectors.
func TestReluAdjoint(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	special := []float32{0, float32(math.Copysign(0, -1)), nan, -nan, inf, -inf, 1e-45, -1e-45, 1.2e-38, -1.2e-38,
		math.MaxFloat32, -math.MaxFloat32, 1, -1, 0.5, -3}
	x := make([]float32, 48)
	e := make([]float32, 48)
	for i := range x {
		x[i] = special[(i*7)%len(special)]
		e[i] = float32(i + 1)
	}
	for _, impl := range []struct {
		name string
		f    func(x, e, d []float32)
	}{{"dispatched", reluAdjoint32}, {"generic", reluAdjointGeneric}} {
		for off := 0; off < 3; off++ {
			for n := 0; n <= 40; n++ {
				d := make([]float32, n+off)
				for i := range d {
					d[i] = -99
				}
				impl.f(x[off:off+n], e[off:off+n], d[off:])
				for i := 0; i < n; i++ {
					want := float32(0)
					if x[off+i] > 0 {
						want = e[off+i]
					}
					if got := d[off+i]; got != want || math.Signbit(float64(got)) {
						t.Fatalf("%s, offset %d, length %d: x = %v: d = %v, want %v", impl.name, off, n, x[off+i], got, want)
					}
				}
				for i := 0; i < off; i++ {
					if d[i] != -99 {
						t.Fatalf("%s wrote before its slice", impl.name)
					}
				}
			}
		}
	}
}
