package devicetest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/device"
)

// Base relative tolerances of one float32 or float64 operation, before the
// √n scaling of reductions (see the package documentation).
const (
	Tol32 = 1e-4
	Tol64 = 1e-10
)

// Run checks every method of dev against the float64 reference of this
// package: all families in Float32 and, when dev.Alloc(Float64, 1) succeeds,
// in Float64, then how it reports a bad class index (see ErrorReporting
// in the package documentation), a failure of the data that the device
// must report once and survive.
func Run(t *testing.T, dev device.Device) {
	t.Helper()
	t.Run(device.Float32.String(), func(t *testing.T) { runDType(t, dev, device.Float32) })
	if b, err := dev.Alloc(device.Float64, 1); err != nil {
		t.Logf("%s: Alloc(float64) failed (%v): float64 checks skipped", dev.Name(), err)
	} else {
		dev.Free(b)
		t.Run(device.Float64.String(), func(t *testing.T) { runDType(t, dev, device.Float64) })
	}
	t.Run("ErrorReporting", func(t *testing.T) { testErrorReporting(t, dev, device.Float32) })
	t.Run("GatherErrorReporting", func(t *testing.T) { testGatherErrorReporting(t, dev, device.Float32) })
}

// RunDType is Run for the one dtype dt, ending with the error-reporting
// check in dt.
func RunDType(t *testing.T, dev device.Device, dt device.DType) {
	t.Helper()
	runDType(t, dev, dt)
	t.Run("ErrorReporting", func(t *testing.T) { testErrorReporting(t, dev, dt) })
	t.Run("GatherErrorReporting", func(t *testing.T) { testGatherErrorReporting(t, dev, dt) })
}

// runDType runs every method family in dt, each as a subtest, and checks
// that the device recorded no error.
func runDType(t *testing.T, dev device.Device, dt device.DType) {
	s := &suite{dev: dev, dt: dt, tol: Tol32}
	if dt == device.Float64 {
		s.tol = Tol64
	}
	s.run(t, "Memory", testMemory)
	s.run(t, "Fill", testFill)
	s.run(t, "Copy2D", testCopy2D)
	s.run(t, "Transpose", testTranspose)
	s.run(t, "Im2Col", testIm2Col)
	s.run(t, "Col2Im", testCol2Im)
	s.run(t, "MaxPool", testMaxPool)
	s.run(t, "MaxPoolAdjoint", testMaxPoolAdjoint)
	s.run(t, "MaxPoolTangent", testMaxPoolTangent)
	s.run(t, "Gather", testGather)
	s.run(t, "ScatterAdd", testScatterAdd)
	s.run(t, "Gemm", testGemm)
	s.run(t, "GemmStrided", testGemmStrided)
	s.run(t, "Axpy", testAxpy)
	s.run(t, "Scale", testScale)
	s.run(t, "Dot", testDot)
	t.Run("Unary", func(t *testing.T) {
		for _, op := range device.UnaryOps() {
			s.run(t, "Unary/"+op.String(), func(e *env) { testUnary(e, op) })
		}
	})
	t.Run("UnaryAdjoint", func(t *testing.T) {
		for _, op := range device.UnaryOps() {
			s.run(t, "UnaryAdjoint/"+op.String(), func(e *env) { testUnaryAdjoint(e, op) })
		}
	})
	t.Run("Binary", func(t *testing.T) {
		for _, op := range device.BinaryOps() {
			s.run(t, "Binary/"+op.String(), func(e *env) { testBinary(e, op) })
		}
	})
	t.Run("BiasActivation", func(t *testing.T) {
		for _, op := range device.UnaryOps() {
			s.run(t, "BiasActivation/"+op.String(), func(e *env) { testBiasActivation(e, op) })
		}
	})
	s.run(t, "DropoutMask", testDropoutMask)
	s.run(t, "SumRows", testSumRows)
	s.run(t, "SumCols", testSumCols)
	s.run(t, "ArgMaxMatches", testArgMaxMatches)
	s.run(t, "Softmax", func(e *env) { testSoftmax(e, false) })
	s.run(t, "LogSoftmax", func(e *env) { testSoftmax(e, true) })
	s.run(t, "SoftmaxAdjoint", func(e *env) { testSoftmaxAdjoint(e, false) })
	s.run(t, "LogSoftmaxAdjoint", func(e *env) { testSoftmaxAdjoint(e, true) })
	s.run(t, "LayerNorm", testLayerNorm)
	s.run(t, "LayerNormAdjoint", testLayerNormAdjoint)
	s.run(t, "BatchNorm", testBatchNorm)
	s.run(t, "BatchNormAdjoint", testBatchNormAdjoint)
	t.Run("Loss", func(t *testing.T) {
		for _, kind := range device.LossKinds() {
			if kind == device.Huber {
				for _, d := range []float64{1, 0.5} {
					s.run(t, fmt.Sprintf("Loss/%v-delta=%g", kind, d), func(e *env) { testLoss(e, kind, d) })
				}
				continue
			}
			s.run(t, "Loss/"+kind.String(), func(e *env) { testLoss(e, kind, 0) })
		}
	})
	t.Run("Special", func(t *testing.T) {
		for _, op := range device.UnaryOps() {
			if _, ok := unarySpecials[op]; ok {
				s.run(t, "Special/"+op.String(), func(e *env) { testUnarySpecial(e, op) })
			}
		}
		s.run(t, "Special/Loss", testLossSpecial)
	})
	s.run(t, "SGD", testSGD)
	s.run(t, "Adam", testAdam)
	s.run(t, "RMSprop", testRMSprop)
	t.Run("Sync", func(t *testing.T) {
		require.NoError(t, dev.Sync(), "%s: Sync after the %v conformance checks", dev.Name(), dt)
		require.NoError(t, dev.Err(), "%s: Err after the %v conformance checks", dev.Name(), dt)
	})
}

// suite is the device and dtype under test.
type suite struct {
	dev device.Device
	dt  device.DType
	tol float64 // Tol32 or Tol64
}

// env is the state of one subtest: its own seeded generator and the buffers
// it allocated, freed when it ends.
type env struct {
	*suite
	t     *testing.T
	rng   *rand.Rand
	bufs  []device.Buffer
	fails int // failed comparisons so far
}

// maxFails is the number of failed comparisons after which a subtest stops,
// so that a systematic bug is reported by a screenful rather than hundreds.
const maxFails = 8

// failed records a failed comparison and stops the subtest after maxFails.
func (e *env) failed() bool {
	e.t.Helper()
	e.fails++
	if e.fails >= maxFails {
		require.FailNow(e.t, fmt.Sprintf("%d failed comparisons: stopping this subtest", e.fails))
	}
	return false
}

// run runs f as a subtest, then requires that the device recorded no error.
// key is the family and case ("Gemm", "Unary/relu"); the subtest is named by
// its last element. The generator is seeded from the dtype and key, so every
// backend sees the same data.
func (s *suite) run(t *testing.T, key string, f func(e *env)) {
	t.Helper()
	t.Run(key[strings.LastIndex(key, "/")+1:], func(t *testing.T) {
		h := fnv.New64a()
		fmt.Fprintf(h, "%v/%s", s.dt, key)
		e := &env{suite: s, t: t, rng: rand.New(rand.NewPCG(h.Sum64(), 0x5eed))}
		t.Cleanup(func() {
			for _, b := range e.bufs {
				s.dev.Free(b)
			}
		})
		f(e)
		require.NoError(t, s.dev.Sync(), "%s: Sync after %s (%v)", s.dev.Name(), t.Name(), s.dt)
	})
}

// round rounds x to the dtype under test in place, so that the reference
// sees exactly the values the device holds, and returns x.
func (e *env) round(x []float64) []float64 {
	if e.dt == device.Float32 {
		for i, v := range x {
			x[i] = float64(float32(v))
		}
	}
	return x
}

func (e *env) roundv(v float64) float64 {
	if e.dt == device.Float32 {
		return float64(float32(v))
	}
	return v
}

// uniform returns n rounded values uniform in [lo, hi).
func (e *env) uniform(n int, lo, hi float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = lo + (hi-lo)*e.rng.Float64()
	}
	return e.round(x)
}

// uniformAway is uniform in [lo, hi) without values of magnitude below minAbs.
func (e *env) uniformAway(n int, lo, hi, minAbs float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		for {
			v := e.roundv(lo + (hi-lo)*e.rng.Float64())
			if math.Abs(v) >= minAbs {
				x[i] = v
				break
			}
		}
	}
	return x
}

// filled returns n copies of v.
func filled(n int, v float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = v
	}
	return x
}

func clone(x []float64) []float64 { return append([]float64(nil), x...) }

// alloc allocates n elements, freed when the subtest ends.
func (e *env) alloc(n int) device.Buffer {
	e.t.Helper()
	b, err := e.dev.Alloc(e.dt, n)
	require.NoError(e.t, err, "Alloc(%v, %d)", e.dt, n)
	require.NotNil(e.t, b, "Alloc(%v, %d)", e.dt, n)
	e.bufs = append(e.bufs, b)
	return b
}

// upload allocates a buffer holding x.
func (e *env) upload(x []float64) device.Buffer {
	e.t.Helper()
	b := e.alloc(len(x))
	e.set(b, x)
	return b
}

// set overwrites the contents of b with x.
func (e *env) set(b device.Buffer, x []float64) {
	e.t.Helper()
	require.NoError(e.t, e.rawUpload(b, x), "Upload of %d %v elements", len(x), e.dt)
}

// download returns the contents of b.
func (e *env) download(b device.Buffer) []float64 {
	e.t.Helper()
	x := make([]float64, b.Len())
	require.NoError(e.t, e.rawDownload(x, b), "Download of %d %v elements", b.Len(), e.dt)
	return x
}

// rawUpload uploads x with Upload32 or Upload64, as the dtype requires.
func (e *env) rawUpload(b device.Buffer, x []float64) error {
	if e.dt == device.Float64 {
		return e.dev.Upload64(b, x)
	}
	x32 := make([]float32, len(x))
	for i, v := range x {
		x32[i] = float32(v)
	}
	return e.dev.Upload32(b, x32)
}

// rawDownload downloads into x with Download32 or Download64.
func (e *env) rawDownload(x []float64, b device.Buffer) error {
	if e.dt == device.Float64 {
		return e.dev.Download64(x, b)
	}
	x32 := make([]float32, len(x))
	err := e.dev.Download32(x32, b)
	for i, v := range x32 {
		x[i] = float64(v)
	}
	return err
}

// one is the scale of elementwise results: the inputs are of order one, so
// results are compared relatively above 1 and absolutely below.
func one(int) float64 { return 1 }

// near reports whether got is want within tol·max(|want|, scale); NaN
// matches only NaN and an infinity only itself.
func near(got, want, scale, tol float64) bool {
	switch {
	case math.IsNaN(want):
		return math.IsNaN(got)
	case math.IsInf(want, 0):
		return got == want
	}
	return math.Abs(got-want) <= tol*math.Max(math.Abs(want), scale)
}

// same reports whether got is want exactly (NaN matching NaN).
func same(got, want float64) bool {
	return got == want || math.IsNaN(got) && math.IsNaN(want)
}

// check compares got with want elementwise, element i within
// tol·max(|want[i]|, scale(i)), and reports the first mismatches under the
// name what (method, op, shape).
func (e *env) check(what string, got, want []float64, tol float64, scale func(i int) float64) bool {
	e.t.Helper()
	if !assert.Len(e.t, got, len(want), "%s (%v): result length", what, e.dt) {
		return e.failed()
	}
	bad, first := 0, ""
	for i := range want {
		s := scale(i)
		if near(got[i], want[i], s, tol) {
			continue
		}
		if bad < 5 {
			first += fmt.Sprintf("\n\t[%d] got %.10g, want %.10g (|diff| %.3g, allowed %.3g)",
				i, got[i], want[i], math.Abs(got[i]-want[i]), tol*math.Max(math.Abs(want[i]), s))
		}
		bad++
	}
	if bad == 0 {
		return true
	}
	assert.Fail(e.t, fmt.Sprintf("%s (%v): %d of %d elements differ from the reference (relative tolerance %.3g):%s",
		what, e.dt, bad, len(want), tol, first))
	return e.failed()
}

// checkSame requires got to equal want exactly, for copies and for elements
// a method must not touch.
func (e *env) checkSame(what string, got, want []float64) bool {
	e.t.Helper()
	if !assert.Len(e.t, got, len(want), "%s (%v): length", what, e.dt) {
		return e.failed()
	}
	bad, first := 0, ""
	for i := range want {
		if same(got[i], want[i]) {
			continue
		}
		if bad < 5 {
			first += fmt.Sprintf("\n\t[%d] got %.10g, want %.10g", i, got[i], want[i])
		}
		bad++
	}
	if bad == 0 {
		return true
	}
	assert.Fail(e.t, fmt.Sprintf("%s (%v): %d of %d elements differ:%s", what, e.dt, bad, len(want), first))
	return e.failed()
}

// checkFinite requires every element of got to be finite.
func (e *env) checkFinite(what string, got []float64) bool {
	e.t.Helper()
	for i, v := range got {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			assert.Fail(e.t, fmt.Sprintf("%s (%v): element %d is %v", what, e.dt, i, v))
			return e.failed()
		}
	}
	return true
}

// sqrtN is the √n growth of the rounding error of an n-term sum.
func sqrtN(n int) float64 { return math.Sqrt(float64(max(n, 1))) }
