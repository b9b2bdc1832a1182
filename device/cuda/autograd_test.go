//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/tensor"
)

// TestAutogradOpsMatchCPU records one graph of the ops whose device work is
// composed in autograd rather than a kernel of their own (broadcasts with
// repeats in front, behind and in the middle, SumTo, MatMulT with each
// transpose, batched products, Dropout, whose mask each device draws,
// Conv2d and ConvTranspose2d (plain and grouped, whose products are one
// GemmStrided of interleaved blocks), MaxPool2d, bilinear Interpolate and
// AdaptiveAvgPool2d over uneven windows, AvgPool2d, Transpose,
// Embedding, LeakyReLU and ELU with their parameters, GroupNorm and BatchNorm in
// training and evaluation) with LayerNorm, softmax and a loss, on this
// device and on the CPU from the same inputs, and compares the loss, the
// output, every input's gradient and BatchNorm's running statistics.
func TestAutogradOpsMatchCPU(t *testing.T) {
	d := open(t)
	defer d.Close()
	ref, err := device.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	shapes := map[string][]int{"x": {4, 3, 5}, "bias": {5}, "mask": {4, 1, 5}, "rowScale": {4, 3, 1}, "w": {6, 5}, "v": {5, 4}, "g": {4},
		"img": {2, 3, 6, 5}, "k": {4, 3, 3, 2}, "kb": {4}, "emb": {6, 4},
		"q": {2, 3, 4}, "kk": {2, 5, 4}, "vv": {2, 5, 2},
		"bnx": {3, 2, 4}, "bng": {2}, "bnb": {2}, "bnw": {3, 2, 4}, "ctw": {3, 2, 3, 3}, "ctb": {2}}
	inputs := map[string][]float64{}
	// Sorted, so that every run draws the same values for the same name.
	for _, name := range slices.Sorted(maps.Keys(shapes)) {
		s := shapes[name]
		n := 1
		for _, k := range s {
			n *= k
		}
		v := make([]float64, n)
		for i := range v {
			v[i] = 2*rng.Float64() - 1
		}
		inputs[name] = v
	}
	// Inputs added later come from a generator of their own, so that the
	// others keep the values their tolerances were set on.
	later := rand.New(rand.NewPCG(13, 14))
	for _, name := range []string{"gk", "gtw"} {
		s := map[string][]int{"gk": {6, 1, 3, 3}, "gtw": {3, 1, 2, 2}}[name]
		shapes[name] = s
		v := make([]float64, s[0]*s[1]*s[2]*s[3])
		for i := range v {
			v[i] = 2*later.Float64() - 1
		}
		inputs[name] = v
	}
	target := make([]float64, 4*4)
	for i := range target {
		target[i] = rng.Float64()
	}

	type result struct {
		loss    float64
		out     []float64
		grads   map[string][]float64
		running []float64 // BatchNorm's mean and variance after the update
	}
	run := func(dev device.Device) result {
		tp := autograd.NewTape(dev, device.Float32)
		defer tp.Release()
		in := map[string]*autograd.Var{}
		for name, v := range inputs {
			x, err := tensor.New(dev, device.Float32, shapes[name]...) // this backend is float32-only
			if err == nil {
				err = dev.Upload64(x.Buffer(), v)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer x.Release()
			in[name] = tp.Input(x, true)
		}
		drop, err := nn.NewDropout(0.25, 5) // the same seed draws the same mask on both devices
		if err != nil {
			t.Fatal(err)
		}
		h := tp.Add(in["x"], in["bias"])                                         // in front: [5] over [4 3 5]
		h = tp.Mul(h, in["mask"])                                                // in the middle: [4 1 5] over [4 3 5]
		h = tp.Div(h, tp.Exp(in["rowScale"]))                                    // behind: [4 3 1] over [4 3 5]
		s := tp.Reshape(tp.SumTo(h, 4, 1, 5), 4, 5)                              // a sum over the middle
		z := tp.MatMulT(s, in["w"], false, true)                                 // [4 5] × [6 5]ᵀ
		z = tp.MatMulT(tp.MatMulT(in["w"], z, true, true), in["v"], true, false) // (wᵀ zᵀ)ᵀ v: [4 5] × [5 4]
		// LayerNorm over four features: over two its output is ±g whatever
		// the input, and the gradient behind it would be rounding alone.
		z = drop.Forward(tp, tp.LayerNorm(z, in["g"], nil, 1e-5))
		out := tp.Softmax(z)
		l := loss.MSE(tp, out, tp.ConstantFloat64(target, 4, 4), loss.Mean)
		// A strided, padded convolution and a transpose, into the loss.
		c := tp.Conv2d(in["img"], in["k"], in["kb"], autograd.ConvOptions{Stride: [2]int{2, 1}, Padding: [2]int{1, 1}})
		c = tp.MaxPool2d(c, [2]int{2, 2}, autograd.PoolOptions{Stride: [2]int{1, 1}, Padding: [2]int{1, 0}})
		c = tp.Transpose(tp.AvgPool2d(c, [2]int{2, 2}, autograd.PoolOptions{Stride: [2]int{1, 1}, Padding: [2]int{1, 1}}))
		l = tp.Add(l, tp.Mean(tp.Mul(c, c)))
		// A transposed convolution (its adjoint runs Im2Col, its forward
		// Col2Im) with output padding and a bias.
		ct := tp.ConvTranspose2d(in["img"], in["ctw"], in["ctb"], autograd.ConvTransposeOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 0}, OutputPadding: [2]int{1, 0}})
		l = tp.Add(l, tp.Mean(tp.Mul(ct, ct)))
		// A depthwise convolution (three groups of one channel, two
		// outputs each) into the parametrized activations.
		gc := tp.Conv2d(in["img"], in["gk"], nil, autograd.ConvOptions{Groups: 3, Padding: [2]int{1, 1}})
		l = tp.Add(l, tp.Mean(tp.Mul(tp.LeakyReLU(gc, 0.2), tp.ELU(gc, 1.3))))
		gt := tp.ConvTranspose2d(in["img"], in["gtw"], nil, autograd.ConvTransposeOptions{Stride: [2]int{2, 2}, Groups: 3})
		l = tp.Add(l, tp.Mean(tp.Mul(gt, gt)))
		// The separable resamplings: bilinear upsampling, and adaptive
		// pooling over uneven windows.
		up := tp.Interpolate(in["img"], [2]int{9, 7}, autograd.Bilinear, false)
		ap := tp.AdaptiveAvgPool2d(up, [2]int{4, 3})
		l = tp.Add(l, tp.Mean(tp.Mul(ap, ap)))
		// Rows of a table, one of them twice.
		e := tp.Embedding(in["emb"], tp.ConstantFloat64([]float64{5, 0, 2, 5}, 2, 2))
		l = tp.Add(l, tp.Mean(tp.Mul(e, e)))
		// Attention: batched products, one of them transposed.
		att := tp.MatMul(tp.Softmax(tp.MatMulT(in["q"], in["kk"], false, true)), in["vv"])
		l = tp.Add(l, tp.Mean(tp.Mul(att, att)))
		// BatchNorm in training (the running statistics move) and then in
		// evaluation from them, each weighted so that the gradient is no
		// projection of zero.
		var running [2]*tensor.Tensor
		for i, v := range [][]float64{{0.5, -0.25}, {1, 2}} {
			r, err := tensor.New(dev, device.Float32, 2)
			if err == nil {
				err = dev.Upload64(r.Buffer(), v)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Release()
			running[i] = r
		}
		gn := tp.GroupNorm(in["bnx"], 2, in["bng"], in["bnb"], 1e-5)
		l = tp.Add(l, tp.Mean(tp.Mul(tp.Tanh(gn), in["bnw"])))
		for _, training := range []bool{true, false} {
			bn := tp.BatchNorm(in["bnx"], in["bng"], in["bnb"], running[0], running[1], autograd.BatchNormOptions{Training: training, Momentum: 0.3, Eps: 1e-5})
			l = tp.Add(l, tp.Mean(tp.Mul(tp.Tanh(bn), in["bnw"])))
		}
		if err := tp.Backward(l); err != nil {
			t.Fatalf("%s: %v", dev.Name(), err)
		}
		r := result{grads: map[string][]float64{}}
		for _, v := range running {
			rs, err := v.Float64s()
			if err != nil {
				t.Fatal(err)
			}
			r.running = append(r.running, rs...)
		}
		if r.loss, err = l.Value().Item(); err != nil {
			t.Fatal(err)
		}
		if r.out, err = out.Value().Float64s(); err != nil {
			t.Fatal(err)
		}
		for name, v := range in {
			if r.grads[name], err = v.Grad().Float64s(); err != nil {
				t.Fatalf("%s: gradient of %s: %v", dev.Name(), name, err)
			}
		}
		return r
	}
	got, want := run(d), run(ref)
	close := func(what string, g, w []float64) {
		t.Helper()
		if len(g) != len(w) {
			t.Fatalf("%s: %d values on %s, %d on cpu", what, len(g), d.Name(), len(w))
		}
		scale := 0.0
		for _, x := range w {
			scale = math.Max(scale, math.Abs(x))
		}
		for i := range g {
			if math.Abs(g[i]-w[i]) > 1e-4*math.Max(scale, 1e-3) {
				t.Errorf("%s[%d]: %g on %s, %g on cpu", what, i, g[i], d.Name(), w[i])
				return
			}
		}
	}
	close("loss", []float64{got.loss}, []float64{want.loss})
	close("output", got.out, want.out)
	close("running statistics", got.running, want.running)
	for name := range inputs {
		close("gradient of "+name, got.grads[name], want.grads[name])
	}
}

// TestDropoutStaysOnDevice: once the tape's memory is warm, a Dropout
// layer's forward and backward pass wait for nothing and allocate no
// device memory: the mask is drawn by a dropout_mask launch, never
// uploaded.
func TestDropoutStaysOnDevice(t *testing.T) {
	d := open(t)
	defer d.Close()
	tp := autograd.NewTape(d, device.Float32)
	defer tp.Release()
	x, err := tensor.New(d, device.Float32, 64, 128)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Release()
	d.Fill(x.Buffer(), 1)
	drop, err := nn.NewDropout(0.5, 3)
	if err != nil {
		t.Fatal(err)
	}
	for step := range 3 {
		before := d.Stats()
		xv := tp.Input(x, true)
		if err := tp.Backward(tp.Sum(drop.Forward(tp, xv))); err != nil {
			t.Fatal(err)
		}
		after := d.Stats()
		// The first step allocates (a cache-missing Alloc waits); then
		// nothing may wait.
		if trips := after.RoundTrips - before.RoundTrips; step > 0 && trips != 0 {
			t.Errorf("step %d: %d round trips in a Dropout's forward and backward, want 0", step, trips)
		}
		if allocs := after.DriverAllocs - before.DriverAllocs; step > 0 && allocs != 0 {
			t.Errorf("step %d: %d device allocations once warm, want 0", step, allocs)
		}
		g, err := xv.Grad().Float32s()
		if err != nil {
			t.Fatal(err)
		}
		kept := 0
		for _, v := range g {
			if v != 0 {
				kept++
			}
		}
		if kept < len(g)/3 || kept > 2*len(g)/3 {
			t.Errorf("step %d: %d of %d gradients kept at p = 0.5", step, kept, len(g))
		}
		tp.Reset()
	}
}

// TestBatchNormStaysOnDevice: once warm, a BatchNorm2d layer's training
// step (batch statistics, the running update, backward) and an evaluation
// pass wait for nothing and allocate no device memory: the running
// statistics are updated by kernels, never downloaded, and the split
// kernels' temporaries come from the caching allocator.
func TestBatchNormStaysOnDevice(t *testing.T) {
	d := open(t)
	defer d.Close()
	tp := autograd.NewTape(d, device.Float32)
	defer tp.Release()
	// Two channels of 8·30·30 values: the split kernels, whose partial
	// sums take a temporary from the caching allocator.
	x, err := tensor.New(d, device.Float32, 8, 2, 30, 30)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Release()
	d.Fill(x.Buffer(), 1)
	bn, err := nn.NewBatchNorm2d(d, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer nn.Release(bn)
	for step := range 3 {
		before := d.Stats()
		xv := tp.Input(x, true)
		if err := tp.Backward(tp.Sum(tp.Tanh(bn.Forward(tp, xv)))); err != nil {
			t.Fatal(err)
		}
		nn.SetTraining(bn, false)
		bn.Forward(tp, xv)
		nn.SetTraining(bn, true)
		after := d.Stats()
		if trips := after.RoundTrips - before.RoundTrips; step > 0 && trips != 0 {
			t.Errorf("step %d: %d round trips in a BatchNorm step, want 0", step, trips)
		}
		if allocs := after.DriverAllocs - before.DriverAllocs; step > 0 && allocs != 0 {
			t.Errorf("step %d: %d device allocations once warm, want 0", step, allocs)
		}
		tp.Reset()
	}
	// A constant input: the running mean moves to 1 as 1 − 0.9³.
	mean, err := bn.RunningMean.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	for c, m := range mean {
		if math.Abs(m-(1-math.Pow(0.9, 3))) > 1e-6 {
			t.Errorf("running mean of channel %d: %g after three batches of ones, want %g", c, m, 1-math.Pow(0.9, 3))
		}
	}
	if bn.NumBatchesTracked != 3 {
		t.Errorf("NumBatchesTracked %d, want 3", bn.NumBatchesTracked)
	}
}

// TestRecurrentMatchesCPU: an LSTM and a GRU (two layers, bidirectional,
// batch-first), built from the same seed on this device and on the CPU,
// give the same outputs and the same
// gradients in the input and every parameter (backpropagation through
// the unrolled steps: Slice, Split, Concat, SwapAxes, the gates' ops).
func TestRecurrentMatchesCPU(t *testing.T) {
	d := open(t)
	defer d.Close()
	ref, err := device.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	const l, n, in, hid = 5, 3, 4, 6
	xs := randVec(rand.New(rand.NewPCG(17, 18)), l*n*in)
	for _, kind := range []string{"lstm", "gru"} {
		t.Run(kind, func(t *testing.T) {
			run := func(dev device.Device) (y, gx []float32, grads [][]float32) {
				rng := rand.New(rand.NewPCG(19, 20))
				cfg := nn.RecurrentConfig{Input: in, Hidden: hid, Layers: 2, Bidirectional: true, BatchFirst: true}
				var m nn.Module
				var err error
				if kind == "lstm" {
					m, err = nn.NewLSTMConfig(dev, cfg, rng)
				} else {
					m, err = nn.NewGRUConfig(dev, cfg, rng)
				}
				if err != nil {
					t.Fatal(err)
				}
				tp := autograd.NewTape(dev, device.Float32)
				defer tp.Release()
				xt, err := tensor.FromFloat32(dev, xs, n, l, in)
				if err != nil {
					t.Fatal(err)
				}
				defer xt.Release()
				x := tp.Input(xt, true)
				out := m.Forward(tp, x)
				if err := tp.Backward(tp.Sum(tp.Mul(out, out))); err != nil {
					t.Fatal(err)
				}
				if y, err = out.Value().Float32s(); err != nil {
					t.Fatal(err)
				}
				if gx, err = x.Grad().Float32s(); err != nil {
					t.Fatal(err)
				}
				for _, p := range nn.NamedParams(m) {
					g, err := p.Var.Grad().Float32s()
					if err != nil {
						t.Fatal(err)
					}
					grads = append(grads, g)
				}
				return y, gx, grads
			}
			y, gx, grads := run(d)
			wy, wgx, wgrads := run(ref)
			closeAll := func(what string, got, want []float32) {
				t.Helper()
				for i := range want {
					if diff := math.Abs(float64(got[i] - want[i])); diff > 1e-5*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("%s[%d] = %g, cpu %g", what, i, got[i], want[i])
					}
				}
			}
			closeAll("y", y, wy)
			closeAll("grad x", gx, wgx)
			for i := range wgrads {
				closeAll(fmt.Sprintf("grad of parameter %d", i), grads[i], wgrads[i])
			}
		})
	}
}
