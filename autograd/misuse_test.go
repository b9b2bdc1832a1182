package autograd_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/tensor"
)

func TestShapeMisusePanicsNamingOpAndShapes(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	v := func(shape ...int) *autograd.Var { return tp.Constant(must(tensor.New(dev, device.Float32, shape...))) }
	cases := []struct {
		name string
		f    func()
		msg  string
	}{
		{"MatMul", func() { tp.MatMul(v(2, 3), v(4, 5)) }, "autograd: MatMul: shapes [2 3] and [4 5] do not multiply"},
		{"MatMulT", func() { tp.MatMulT(v(2, 3), v(2, 5), false, true) }, "autograd: MatMul: shapes [2 3] and [2 5]ᵀ do not multiply"},
		{"MatMul rank", func() { tp.MatMul(v(2, 3), v(3)) }, "autograd: MatMul: shapes [2 3] and [3] do not multiply: want two matrices, or two batches of matrices with the same leading dimensions"},
		{"MatMul batch", func() { tp.MatMul(v(2, 2, 3), v(3, 3, 4)) }, "autograd: MatMul: shapes [2 2 3] and [3 3 4] do not multiply: want two matrices, or two batches of matrices with the same leading dimensions"},
		{"MatMul batched inner", func() { tp.MatMul(v(2, 2, 3), v(2, 4, 4)) }, "autograd: MatMul: shapes [2 2 3] and [2 4 4] do not multiply"},
		{"Linear", func() { tp.Linear(v(2, 3), v(4, 5), nil, device.Identity) }, "autograd: Linear: input [2 3] and weight [4 5]: want x [K × I] and W [O × I]"},
		{"Linear bias", func() { tp.Linear(v(2, 3), v(4, 3), v(5), device.Identity) }, "autograd: Linear: bias [5] for weight [4 3]: want [4]"},
		{"Linear act", func() { tp.Linear(v(2, 3), v(4, 3), nil, device.Exp) }, "autograd: Linear: activation exp cannot be fused; apply it as its own op"},
		{"Add", func() { tp.Add(v(2, 3), v(3, 2)) }, "autograd: Add: shapes [2 3] and [3 2] do not broadcast (dimension 0 of the result: 2 against 3)"},
		{"Mul", func() { tp.Mul(v(2, 3), v(2)) }, "autograd: Mul: shapes [2 3] and [2] do not broadcast (dimension 1 of the result: 3 against 2)"},
		{"BroadcastTo", func() { tp.BroadcastTo(v(2, 3), 3, 3) }, "autograd: BroadcastTo: shape [2 3] does not broadcast to [3 3]: its dimension 0 is 2, not 1 or 3"},
		{"BroadcastTo aligned", func() { tp.BroadcastTo(v(2, 3), 4, 5, 3) }, "autograd: BroadcastTo: shape [2 3] does not broadcast to [4 5 3]: its dimension 0 is 2, not 1 or 5"},
		{"SumTo", func() { tp.SumTo(v(2, 3), 3, 1) }, "autograd: SumTo: shape [3 1] does not broadcast to [2 3]: its dimension 0 is 3, not 1 or 2"},
		{"BroadcastTo rank", func() { tp.BroadcastTo(v(1, 2, 3), 2, 3) }, "autograd: BroadcastTo: shape [1 2 3] does not broadcast to [2 3]: it has more dimensions"},
		{"Concat", func() { tp.Concat(1, v(2, 3), v(3, 3)) }, "autograd: Concat along axis 1: shapes [2 3] and [3 3]"},
		{"Slice", func() { tp.Slice(v(2, 3), 1, 2, 5) }, "autograd: Slice [2:5] along axis 1 of shape [2 3]"},
		{"Split", func() { tp.Split(v(2, 3), -1, 1, 1) }, "autograd: Split of axis 1 (length 3) of shape [2 3] into sizes [1 1]"},
		{"Reshape", func() { tp.Reshape(v(2, 3), 4, 2) }, "tensor: Reshape [2 3] (6 elements) to [4 2]"},
		{"ConvTranspose2d channels", func() { tp.ConvTranspose2d(v(1, 2, 3, 3), v(3, 2, 3, 3), nil, autograd.ConvTransposeOptions{}) },
			"autograd: ConvTranspose2d: input [1 2 3 3], weight [3 2 3 3] and 0 groups: want x [N, C, H, W] and w [C, O/groups, KH, KW], C a multiple of groups"},
		{"Conv2d groups", func() { tp.Conv2d(v(1, 4, 5, 5), v(6, 2, 3, 3), nil, autograd.ConvOptions{Groups: 3}) },
			"autograd: Conv2d: input [1 4 5 5], weight [6 2 3 3] and 3 groups: want x [N, C, H, W] and w [O, C/groups, KH, KW], O a multiple of groups"},
		{"ConvTranspose2d output padding", func() {
			tp.ConvTranspose2d(v(1, 2, 3, 3), v(2, 2, 3, 3), nil, autograd.ConvTransposeOptions{Stride: [2]int{2, 2}, OutputPadding: [2]int{2, 0}})
		}, "autograd: ConvTranspose2d: input [1 2 3 3], weight [2 2 3 3], {Stride:[2 2] Padding:[0 0] OutputPadding:[2 0] Dilation:[0 0] Groups:0}: output padding [2 0] must be at least 0 and smaller than the stride"},
		{"BatchNorm one value", func() {
			tp.BatchNorm(v(1, 3), nil, nil, nil, nil, autograd.BatchNormOptions{Training: true, Eps: 1e-5})
		},
			"autograd: BatchNorm: input [1 3]: expected more than 1 value per channel when training"},
		{"BatchNorm eval without statistics", func() { tp.BatchNorm(v(4, 3), nil, nil, nil, nil, autograd.BatchNormOptions{Eps: 1e-5}) },
			"autograd: BatchNorm: evaluation needs running statistics"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { require.PanicsWithValue(t, c.msg, c.f) })
	}
}

func TestBackwardMisuse(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	x := tp.Input(must(tensor.FromFloat64(dev, []float64{1, 2}, 2)), true)
	c := tp.Constant(must(tensor.FromFloat64(dev, []float64{1, 2}, 2)))

	t.Run("twice", func(t *testing.T) {
		l := tp.Sum(tp.Mul(x, x))
		require.NoError(t, tp.Backward(l))
		require.ErrorIs(t, tp.Backward(l), autograd.ErrBackwardTwice)
	})
	tp.Reset()
	x = tp.Input(must(tensor.FromFloat64(dev, []float64{1, 2}, 2)), true)
	c = tp.Constant(must(tensor.FromFloat64(dev, []float64{1, 2}, 2)))
	t.Run("no grad needed", func(t *testing.T) {
		require.ErrorIs(t, tp.Backward(tp.Sum(c)), autograd.ErrNoGrad)
	})
	t.Run("not scalar", func(t *testing.T) {
		require.ErrorIs(t, tp.Backward(tp.Scale(x, 2)), autograd.ErrNotScalar)
	})
	t.Run("no-grad mode records nothing", func(t *testing.T) {
		n := tp.Len()
		var y *autograd.Var
		tp.NoGrad(func() { y = tp.Mul(x, x) })
		require.Equal(t, n, tp.Len())
		require.False(t, y.RequiresGrad())
		got, _ := y.Value().Float64s()
		require.Equal(t, []float64{1, 4}, got)
	})
}

func TestCheckNumericsNamesTheOp(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	tp.SetCheckNumerics(true)
	x := tp.Input(must(tensor.FromFloat64(dev, []float64{1, -1}, 2)), true)
	y := tp.Log(x) // log(−1) = NaN
	_ = tp.Sum(y)
	err := tp.Err()
	require.ErrorIs(t, err, autograd.ErrNonFinite)
	require.ErrorContains(t, err, "log forward produced NaN at element 1 of shape [2]")
	require.ErrorIs(t, tp.Backward(tp.Sum(x)), autograd.ErrNonFinite, "Backward reports the first failure")

	tp.Reset()
	z := tp.Input(must(tensor.FromFloat64(dev, []float64{0}, 1)), true)
	require.NoError(t, tp.Err())
	err = tp.Backward(tp.Sum(tp.Apply(device.Sqrt, z))) // d√x/dx = ∞ at 0
	require.ErrorContains(t, err, "sqrt adjoint produced +Inf")
	_ = math.Inf
}

func TestClassIndexOutOfRangeIsAnError(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	logits := tp.Input(must(tensor.FromFloat32(dev, []float32{1, 2, 3, 4}, 2, 2)), true)
	classes := tp.Constant(must(tensor.FromFloat32(dev, []float32{0, 2}, 2)))
	err := tp.Backward(loss.SoftmaxCrossEntropyIndex(tp, logits, classes, loss.Mean))
	require.ErrorContains(t, err, "class index 2 is not an integer in [0, 2)")
	require.ErrorIs(t, err, device.ErrInvalidInput)

	// One bad batch does not end training: the next one runs, and its
	// gradient is PyTorch's, (softmax − onehot)/K.
	tp.Reset()
	logits = tp.Input(must(tensor.FromFloat32(dev, []float32{1, 2, 3, 4}, 2, 2)), true)
	classes = tp.Constant(must(tensor.FromFloat32(dev, []float32{0, 1}, 2)))
	require.NoError(t, tp.Backward(loss.SoftmaxCrossEntropyIndex(tp, logits, classes, loss.Mean)))
	g, err := logits.Grad().Float32s()
	require.NoError(t, err)
	s := 1 / (1 + math.Exp(1)) // softmax of (1, 2) at 1; (3, 4) alike
	require.InDeltaSlice(t, []float32{float32((s - 1) / 2), float32((1 - s) / 2), float32(s / 2), float32((1 - s - 1) / 2)}, g, 1e-6)
}

func TestParameterGradientsAccumulateUntilZeroGrad(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	w := autograd.NewParam("w", must(tensor.FromFloat64(dev, []float64{3}, 1, 1)))
	x := must(tensor.FromFloat64(dev, []float64{2}, 1, 1))
	step := func() {
		defer tp.Reset()
		require.NoError(t, tp.Backward(tp.Sum(tp.Linear(tp.Constant(x), w, nil, device.Identity))))
	}
	step()
	step()
	g, _ := w.Grad().Float64s()
	require.Equal(t, []float64{4}, g, "two backward passes add, as in PyTorch")
	w.ZeroGrad()
	require.Nil(t, w.Grad())
	step()
	g, _ = w.Grad().Float64s()
	require.Equal(t, []float64{2}, g)
}

// TestSteadyStateStepAllocatesNothing runs whole training steps (forward,
// softmax cross-entropy, backward, SGD update) repeatedly on one tape: after
// the first, the caching allocator and the tape's arenas serve everything.
func TestSteadyStateStepAllocatesNothing(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	w1 := autograd.NewParam("w1", must(tensor.Zeros(dev, device.Float32, 16, 8)))
	b1 := autograd.NewParam("b1", must(tensor.Zeros(dev, device.Float32, 16)))
	w2 := autograd.NewParam("w2", must(tensor.Zeros(dev, device.Float32, 4, 16)))
	xt := must(tensor.Zeros(dev, device.Float32, 32, 8))
	yt := must(tensor.Zeros(dev, device.Float32, 32))
	xs, ys := make([]float32, 32*8), make([]float32, 32) // host batches
	scale := autograd.NewParam("scale", must(tensor.Zeros(dev, device.Float32, 4)))
	fromHost, broadcast := false, false
	step := func() {
		x, y := tp.Constant(xt), tp.Constant(yt)
		if fromHost {
			x, y = tp.ConstantFloat32(xs, 32, 8), tp.ConstantFloat32(ys, 32)
		}
		h := tp.Linear(x, w1, b1, device.ReLU)
		out := tp.Linear(h, w2, nil, device.Identity)
		if broadcast {
			out = tp.Mul(out, scale) // [32 × 4] ⊙ [4]: a BroadcastTo node
		}
		l := loss.SoftmaxCrossEntropyIndex(tp, out, y, loss.Mean)
		if err := tp.Backward(l); err != nil {
			panic(err)
		}
		for _, p := range []*autograd.Var{w1, b1, w2} {
			dev.SGD(p.Value().Buffer(), p.Grad().Buffer(), nil, device.SGDConfig{LR: 0.1})
			p.ZeroGrad()
		}
		tp.Reset()
	}
	step()
	require.Zero(t, testing.AllocsPerRun(20, step))
	fromHost = true // batches uploaded into tape temporaries
	step()
	require.Zero(t, testing.AllocsPerRun(20, step))
	broadcast = true
	step()
	require.Zero(t, testing.AllocsPerRun(20, step), "a broadcasting op")
}

func TestConstantFloat32(t *testing.T) {
	dev := newCPU(t)
	for _, dt := range []device.DType{device.Float32, device.Float64} {
		tp := autograd.NewTape(dev, dt)
		x := tp.ConstantFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
		require.Equal(t, []int{2, 3}, x.Shape())
		got := make([]float64, 6)
		require.NoError(t, dev.Download64(got, x.Value().Buffer()))
		require.Equal(t, []float64{1, 2, 3, 4, 5, 6}, got, dt.String())
		require.Equal(t, dt, x.Value().DType())
		require.Equal(t, []int{3}, tp.ConstantFloat32([]float32{7, 8, 9}).Shape(), "1-D by default")
		require.PanicsWithValue(t, "autograd: ConstantFloat32: 3 values do not fill shape [2 2]", func() { tp.ConstantFloat32([]float32{1, 2, 3}, 2, 2) })

		// ConstantFloat64 keeps float64 values on a float64 tape and
		// rounds them on a float32 one.
		third := tp.ConstantFloat64([]float64{1.0 / 3, -2}, 2, 1)
		require.Equal(t, []int{2, 1}, third.Shape())
		got = make([]float64, 2)
		require.NoError(t, dev.Download64(got, third.Value().Buffer()))
		want := []float64{1.0 / 3, -2}
		if dt == device.Float32 {
			want[0] = float64(float32(1.0 / 3))
		}
		require.Equal(t, want, got, dt.String())
		require.PanicsWithValue(t, "autograd: ConstantFloat64: 1 values do not fill shape [2]", func() { tp.ConstantFloat64([]float64{1}, 2) })
		tp.Release()
	}
}

// TestForeignInputs: a Var made on another tape, or on this one before
// Reset, carries a gradient path this Backward cannot replay; using it is
// an error, not a silently missing gradient.
func TestForeignInputs(t *testing.T) {
	dev := newCPU(t)
	tp1, tp2 := autograd.NewTape(dev, device.Float64), autograd.NewTape(dev, device.Float64)
	defer tp1.Release()
	defer tp2.Release()
	w := autograd.NewParam("w", must(tensor.FromFloat64(dev, []float64{1, 2}, 2)))
	sq := tp1.Mul(w, w)
	err := tp2.Backward(tp2.Sum(sq))
	require.ErrorIs(t, err, autograd.ErrForeignVar)
	require.ErrorContains(t, err, "Sum: input 0")
	require.Nil(t, w.Grad(), "no gradient reached w")
	tp2.Reset()
	// A loss checks its inputs before their shapes: a Var of another tape
	// is ErrForeignVar even when the shapes would not fit.
	var l *autograd.Var
	require.NotPanics(t, func() { l = loss.MSE(tp2, sq, tp2.ConstantFloat64([]float64{1}, 1), loss.Mean) })
	require.ErrorIs(t, tp2.Backward(l), autograd.ErrForeignVar)
	require.ErrorContains(t, tp2.Err(), "Loss: input 0")
	tp2.Reset()

	stale := tp1.Mul(w, w)
	tp1.Reset()
	require.ErrorIs(t, tp1.Backward(tp1.Sum(stale)), autograd.ErrForeignVar)
	tp1.Reset()
	require.NoError(t, tp1.Backward(tp1.Sum(tp1.Mul(w, w))), "after Reset the tape works")

	// A view does not launder a foreign Var.
	tp1.Reset()
	tp2.Reset()
	sq = tp1.Mul(w, w)
	require.ErrorIs(t, tp2.Backward(tp2.Sum(tp2.Reshape(sq, 2, 1))), autograd.ErrForeignVar)
	stale = tp1.Mul(w, w)
	tp1.Reset()
	require.ErrorIs(t, tp1.Backward(tp1.Sum(tp1.Reshape(stale, 2, 1))), autograd.ErrForeignVar)
	tp1.Reset()

	// The reviewer's case: a stale Var whose arena slot is the next op's
	// output, through a broadcast (it looked like a valid scalar).
	in := tp1.Input(must(tensor.FromFloat64(dev, []float64{1, 2, 3, 4}, 2, 2)), false)
	stale = tp1.Mul(in, w)
	tp1.Reset()
	in = tp1.Input(must(tensor.FromFloat64(dev, []float64{1, 2, 3, 4}, 2, 2)), false)
	y := tp1.Add(in, stale)
	require.ErrorIs(t, tp1.Backward(tp1.Sum(y)), autograd.ErrForeignVar)
	require.ErrorContains(t, tp1.Err(), "Add: input 1")
	tp1.Reset()
	for name, f := range map[string]func(v *autograd.Var) *autograd.Var{
		"BroadcastTo": func(v *autograd.Var) *autograd.Var { return tp1.BroadcastTo(v, 3, 2) },
		"SumTo":       func(v *autograd.Var) *autograd.Var { return tp1.SumTo(v, 1) },
		"MatMul":      func(v *autograd.Var) *autograd.Var { return tp1.MatMulT(v, w, false, true) },
		"Linear":      func(v *autograd.Var) *autograd.Var { return tp1.Linear(v, w, nil, device.Identity) },
		"LayerNorm":   func(v *autograd.Var) *autograd.Var { return tp1.LayerNorm(v, nil, nil, 1e-5) },
		"Slice":       func(v *autograd.Var) *autograd.Var { return tp1.Slice(v, 1, 0, 1) },
		"Concat":      func(v *autograd.Var) *autograd.Var { return tp1.Concat(1, v, v) },
		"Split":       func(v *autograd.Var) *autograd.Var { return tp1.Split(v, 1, 1, 1)[0] },
		"Loss":        func(v *autograd.Var) *autograd.Var { return loss.MSE(tp1, v, v, loss.Sum) },
	} {
		stale = tp1.Mul(w, w)
		tp1.Reset()
		var err error
		require.NotPanics(t, func() { err = tp1.Backward(tp1.Sum(f(stale))) }, name)
		require.ErrorIs(t, err, autograd.ErrForeignVar, name)
		require.ErrorContains(t, tp1.Err(), ": input 0", name)
		tp1.Reset()
	}

	released := must(tensor.FromFloat64(dev, []float64{1}, 1))
	released.Release()
	require.PanicsWithValue(t, "autograd: Input: the tensor is released (or was never allocated)", func() { tp1.Constant(released) })
}

// failingDevice fails its allocation number failAt (counting from 1) with
// device.ErrOutOfMemory, as a full GPU would.
type failingDevice struct {
	device.Device
	failAt, calls int
}

func (d *failingDevice) Alloc(dt device.DType, n int) (device.Buffer, error) {
	d.calls++
	if d.calls == d.failAt {
		return nil, fmt.Errorf("alloc %d: %w", d.calls, device.ErrOutOfMemory)
	}
	return d.Device.Alloc(dt, n)
}

// TestAllocationFailureAnywhere fails each allocation of a step in turn
// (broadcasts with repeats in front, behind and in the middle, SumTo, the
// tape's cached ones, and every op family, forward, tangent and adjoint):
// the step must never panic, and the tape must report the out-of-memory
// error, as it would for a full GPU.
func TestAllocationFailureAnywhere(t *testing.T) {
	ref := newCPU(t)
	xv := must(tensor.FromFloat64(ref, []float64{1, 2, 3, 4, 5, 6}, 2, 3))
	xt := must(tensor.FromFloat64(ref, []float64{1, 0, 1, 0, 1, 0}, 2, 3))
	bv := must(tensor.FromFloat64(ref, []float64{0.5, -1, 2}, 3))
	mv := must(tensor.FromFloat64(ref, []float64{1, 2}, 2, 1, 1))
	wv := must(tensor.FromFloat64(ref, []float64{0.5, -0.25, 1, 0.75, -1, 0.5}, 2, 3))
	gv := must(tensor.FromFloat64(ref, []float64{1, 2}, 2))
	kv := must(tensor.FromFloat64(ref, []float64{1, -1, 0.5, 2, -0.5, 1, 0.25, -2}, 2, 2, 1, 2))
	step := func(tp *autograd.Tape) error {
		x := tp.Add(tp.Input(xv, true), tp.ConstantFloat64(make([]float64, 6), 2, 3))
		x.SetTangent(xt) // forward mode through every op too (on a failed op's Var: nothing)
		w, g := tp.Input(wv, true), tp.Input(gv, true)
		y := tp.Mul(tp.Add(x, tp.Input(bv, true)), tp.Input(mv, true)) // [2 3] + [3], then ⊙ [2 1 1]: [2 2 3]
		z := tp.LogSoftmax(tp.Reshape(tp.SumTo(y, 2, 1, 3), 2, 3))     // a sum over the middle
		h := tp.Linear(z, w, g, device.Tanh)                           // [2 2]
		h = tp.LayerNorm(tp.Div(h, tp.Add(tp.Exp(h), tp.Scale(h, 0.5))), g, g, 1e-5)
		h = tp.Softmax(tp.Concat(1, h, tp.Slice(tp.MatMul(h, w), 1, 0, 1)))
		parts := tp.Split(h, 1, 1, 2)
		u := tp.Sub(tp.Mean(parts[0]), tp.Sum(tp.Mul(parts[1], parts[1])))
		img := tp.Reshape(x, 1, 2, 1, 3) // one image, two channels, 1×3 pixels
		c := tp.Conv2d(img, tp.Input(kv, true), g, autograd.ConvOptions{Padding: [2]int{0, 1}})
		c = tp.MaxPool2d(c, [2]int{1, 2}, autograd.PoolOptions{Stride: [2]int{1, 1}})
		c = tp.AvgPool2d(c, [2]int{1, 2}, autograd.PoolOptions{Stride: [2]int{1, 1}, Padding: [2]int{0, 1}})
		u = tp.Add(u, tp.Mean(tp.Dropout(tp.Transpose(c), 0.5, 1, 0)))
		u = tp.Add(u, tp.Sum(tp.Embedding(w, tp.ConstantFloat64([]float64{1, 0, 1}, 3))))
		u = tp.Add(u, tp.Sum(tp.MatMulT(img, img, false, true))) // a batch of [1 × 3] products
		l := loss.MSE(tp, h, tp.Input(xt, false), loss.Mean)
		return tp.Backward(tp.Add(tp.Add(u, l), tp.Sum(tp.BroadcastTo(g, 3, 2))))
	}
	tp := autograd.NewTape(ref, device.Float64)
	require.NoError(t, step(tp))
	tp.Release()
	counter := &failingDevice{Device: ref}
	tp = autograd.NewTape(counter, device.Float64)
	require.NoError(t, step(tp))
	tp.Release()
	total := counter.calls
	require.Greater(t, total, 10)
	for failAt := 1; failAt <= total; failAt++ {
		dev := &failingDevice{Device: ref, failAt: failAt}
		tp := autograd.NewTape(dev, device.Float64)
		var err error
		require.NotPanics(t, func() { err = step(tp) }, "allocation %d of %d fails", failAt, total)
		if err == nil {
			err = tp.Err()
		}
		require.ErrorIs(t, err, device.ErrOutOfMemory, "allocation %d of %d fails", failAt, total)
		require.Equal(t, failAt, dev.calls, "after allocation %d failed the tape tried no other", failAt)
		tp.Release()
	}
}
