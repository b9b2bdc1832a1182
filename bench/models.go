package bench

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/optim"
	"github.com/adjoint-go/adjoint/tensor"
)

// Runner runs one repetition of a configuration on a device. Step returns
// only when the work is complete (it synchronises the device).
type Runner struct {
	Config Config
	step   func() error
	close  func()
	net    *network // training steps and the gradient/forward pair
	chain  *chain   // the order-of-computation chain
}

// Step runs one repetition.
func (r *Runner) Step() error { return r.step() }

// Close frees the runner's device memory.
func (r *Runner) Close() {
	if r.close != nil {
		r.close()
	}
}

// LearningRate is the plain SGD step size of every training-step benchmark.
const LearningRate = 0.05

// NewRunner prepares configuration c on dev with element type dt (Float32
// for timing; Float64 on the CPU for checks). Data and parameters are
// random with a fixed seed.
func NewRunner(dev device.Device, dt device.DType, c Config) (*Runner, error) {
	rng := rand.New(rand.NewPCG(1, uint64(len(c.Name))))
	switch c.Kind {
	case KindGemm:
		return newGemmRunner(dev, dt, c, rng)
	case KindMLP, KindKSweep, KindResidual, KindConv:
		n, err := newNetwork(dev, dt, c, rng)
		if err != nil {
			return nil, err
		}
		return &Runner{Config: c, step: n.trainStep, close: n.release, net: n}, nil
	case KindOrder:
		switch c.Order {
		case OrderFwd, OrderGrad:
			n, err := newNetwork(dev, dt, c, rng)
			if err != nil {
				return nil, err
			}
			step := n.forwardOnly
			if c.Order == OrderGrad {
				step = n.gradient
			}
			return &Runner{Config: c, step: step, close: n.release, net: n}, nil
		case OrderRTL, OrderLTR:
			ch, err := newChain(dev, dt, c, rng)
			if err != nil {
				return nil, err
			}
			step := ch.rightToLeft
			if c.Order == OrderLTR {
				step = ch.leftToRight
			}
			return &Runner{Config: c, step: step, close: ch.release, chain: ch}, nil
		}
		return nil, fmt.Errorf("bench: %s: unknown order %q", c.Name, c.Order)
	}
	return nil, fmt.Errorf("bench: %s: unknown kind %q", c.Name, c.Kind)
}

// tensors allocates and frees tensors for one runner.
type tensors struct {
	dev  device.Device
	dt   device.DType
	all  []*tensor.Tensor
	err  error
	rng  *rand.Rand
	host []float64
}

// alloc returns a tensor filled by fill(i) (or left uninitialised for a nil
// fill). Errors are kept and returned by done.
func (ts *tensors) alloc(fill func(i int) float64, shape ...int) *tensor.Tensor {
	t, err := tensor.New(ts.dev, ts.dt, shape...)
	if err != nil {
		if ts.err == nil {
			ts.err = err
		}
		return &tensor.Tensor{}
	}
	ts.all = append(ts.all, t)
	if fill != nil {
		ts.host = ts.host[:0]
		for i := range t.Len() {
			ts.host = append(ts.host, fill(i))
		}
		if err := ts.dev.Upload64(t.Buffer(), ts.host); err != nil && ts.err == nil {
			ts.err = err
		}
	}
	return t
}

func (ts *tensors) uniform(bound float64, shape ...int) *tensor.Tensor {
	return ts.alloc(func(int) float64 { return bound * (2*ts.rng.Float64() - 1) }, shape...)
}

func (ts *tensors) normal(shape ...int) *tensor.Tensor {
	return ts.alloc(func(int) float64 { return ts.rng.NormFloat64() }, shape...)
}

// forget hands t's ownership to someone else (a parameter Var, which
// releases its value itself).
func (ts *tensors) forget(t *tensor.Tensor) {
	for i, u := range ts.all {
		if u == t {
			ts.all = append(ts.all[:i], ts.all[i+1:]...)
			return
		}
	}
}

func (ts *tensors) release() {
	for _, t := range ts.all {
		t.Release()
	}
	ts.all = nil
}

func newGemmRunner(dev device.Device, dt device.DType, c Config, rng *rand.Rand) (*Runner, error) {
	ts := &tensors{dev: dev, dt: dt, rng: rng}
	lda, ldb := c.K, c.N
	ar, br := c.M, c.K
	if c.TransA {
		ar, lda = c.K, c.M
	}
	if c.TransB {
		br, ldb = c.N, c.K
	}
	a := ts.normal(ar, lda)
	b := ts.normal(br, ldb)
	cc := ts.alloc(func(int) float64 { return 0 }, c.M, c.N)
	if ts.err != nil {
		ts.release()
		return nil, fmt.Errorf("bench: %s: %w", c.Name, ts.err)
	}
	step := func() error {
		dev.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, 1, a.Buffer(), lda, b.Buffer(), ldb, 0, cc.Buffer(), c.N)
		return dev.Sync()
	}
	return &Runner{Config: c, step: step, close: ts.release}, nil
}

// network is an MLP, a residual network or a convolutional network built
// directly on the tape, with PyTorch's default initialisation (U(±1/√fan_in)
// for weights and biases).
type network struct {
	cfg      Config
	dev      device.Device
	tp       *autograd.Tape
	ts       *tensors
	cws, cbs []*autograd.Var // the convolutions' weights [Out, In, 3, 3] and biases
	ws, bs   []*autograd.Var
	params   []*autograd.Var
	opt      *optim.SGD     // plain SGD, as the PyTorch peer's torch.optim.SGD
	x, y     *tensor.Tensor // a batch: K × in inputs and K class indices
	last     *autograd.Var  // the loss of the latest step, valid until the next
}

func newNetwork(dev device.Device, dt device.DType, c Config, rng *rand.Rand) (*network, error) {
	ts := &tensors{dev: dev, dt: dt, rng: rng}
	n := &network{cfg: c, dev: dev, tp: autograd.NewTape(dev, dt), ts: ts}
	convs, _ := c.ConvLayers()
	for i, l := range convs {
		bound := 1 / math.Sqrt(float64(l.In*9))
		wt, bt := ts.uniform(bound, l.Out, l.In, 3, 3), ts.uniform(bound, l.Out)
		ts.forget(wt)
		ts.forget(bt)
		w, b := autograd.NewParam(fmt.Sprintf("conv%d.w", i), wt), autograd.NewParam(fmt.Sprintf("conv%d.b", i), bt)
		n.cws, n.cbs = append(n.cws, w), append(n.cbs, b)
		n.params = append(n.params, w, b)
	}
	for i, l := range c.Linears() {
		bound := 1 / math.Sqrt(float64(l[0]))
		wt, bt := ts.uniform(bound, l[1], l[0]), ts.uniform(bound, l[1])
		ts.forget(wt)
		ts.forget(bt)
		w, b := autograd.NewParam(fmt.Sprintf("w%d", i), wt), autograd.NewParam(fmt.Sprintf("b%d", i), bt)
		n.ws, n.bs = append(n.ws, w), append(n.bs, b)
		n.params = append(n.params, w, b)
	}
	var err error
	if n.opt, err = optim.NewSGD(n.params, optim.SGDConfig{LR: LearningRate}); err != nil {
		n.release()
		return nil, fmt.Errorf("bench: %s: %w", c.Name, err)
	}
	ls := c.Linears()
	in, classes := ls[0][0], ls[len(ls)-1][1]
	if c.Kind == KindConv {
		n.x = ts.normal(append([]int{c.Batch}, c.Image...)...)
	} else {
		n.x = ts.normal(c.Batch, in)
	}
	n.y = ts.alloc(func(int) float64 { return float64(rng.IntN(classes)) }, c.Batch)
	if ts.err != nil {
		n.release()
		return nil, fmt.Errorf("bench: %s: %w", c.Name, ts.err)
	}
	return n, nil
}

func (n *network) release() {
	n.tp.Release()
	for _, p := range n.params {
		p.Release() // its value and gradient
	}
	n.ts.release()
}

// logits records the forward pass of x.
func (n *network) logits(x *autograd.Var) *autograd.Var {
	tp, last := n.tp, len(n.ws)-1
	if n.cfg.Kind == KindConv {
		// h ← relu(conv(h)) per layer, 3×3 with padding 1; then flatten
		// and classify.
		convs, _ := n.cfg.ConvLayers()
		h := x
		for i, l := range convs {
			opt := autograd.ConvOptions{Stride: [2]int{l.Stride, l.Stride}, Padding: [2]int{1, 1}}
			h = tp.ReLU(tp.Conv2d(h, n.cws[i], n.cbs[i], opt))
		}
		return tp.Linear(tp.Reshape(h, n.cfg.Batch, -1), n.ws[0], n.bs[0], device.Identity)
	}
	if n.cfg.Kind != KindResidual {
		h := x
		for i := range n.ws {
			act := device.ReLU
			if i == last {
				act = device.Identity
			}
			h = tp.Linear(h, n.ws[i], n.bs[i], act)
		}
		return h
	}
	// h ← relu(x W₀ᵀ + b₀); per block h ← relu(h + relu(h W₁ᵀ + b₁) W₂ᵀ + b₂);
	// logits = h Wᵀ + b. The fan-out of h makes the graph a DAG.
	h := tp.Linear(x, n.ws[0], n.bs[0], device.ReLU)
	for blk := range n.cfg.Blocks {
		i := 1 + 2*blk
		u := tp.Linear(h, n.ws[i], n.bs[i], device.ReLU)
		v := tp.Linear(u, n.ws[i+1], n.bs[i+1], device.Identity)
		h = tp.ReLU(tp.Add(h, v))
	}
	return tp.Linear(h, n.ws[last], n.bs[last], device.Identity)
}

// loss records softmax cross-entropy with class indices, mean over K.
func (n *network) loss() *autograd.Var {
	x, y := n.tp.Constant(n.x), n.tp.Constant(n.y)
	return loss.SoftmaxCrossEntropyIndex(n.tp, n.logits(x), y, loss.Mean)
}

// gradient runs the forward pass on a fresh tape and the backward pass,
// and waits for the device.
func (n *network) gradient() error {
	if err := n.record(); err != nil {
		return err
	}
	return n.dev.Sync()
}

// record queues the forward and backward passes on a fresh tape.
func (n *network) record() error {
	n.tp.Reset()
	for _, p := range n.params {
		p.ZeroGrad()
	}
	n.last = n.loss()
	if err := n.tp.Backward(n.last); err != nil {
		return fmt.Errorf("bench: %s: %w", n.cfg.Name, err)
	}
	return nil
}

// trainStep is one training step: forward, loss, backward, and a plain SGD
// update of every parameter by package optim (on a GPU one launch for all
// of them, as PyTorch's foreach SGD), then one wait for the device (as
// PyTorch's step: nothing in the middle waits).
func (n *network) trainStep() error {
	if err := n.record(); err != nil {
		return err
	}
	if err := n.opt.Step(); err != nil {
		return fmt.Errorf("bench: %s: %w", n.cfg.Name, err)
	}
	return n.dev.Sync()
}

// forwardOnly evaluates the loss without recording (inference).
func (n *network) forwardOnly() error {
	n.tp.Reset()
	n.tp.NoGrad(func() { n.last = n.loss() })
	if err := n.tp.Err(); err != nil {
		return fmt.Errorf("bench: %s: %w", n.cfg.Name, err)
	}
	return n.dev.Sync()
}

// Loss is the loss value of the latest step (before its update).
func (n *network) Loss() (float64, error) {
	if n.last == nil {
		return 0, fmt.Errorf("bench: %s: no step has run", n.cfg.Name)
	}
	return n.last.Value().Item()
}

// chain is the lecture's chain of M dense layers z_{m+1} = tanh(W_m z_m + b_m)
// with the distortion ρ = ‖t − z_M‖² per sample, for comparing the two
// orders of evaluating ∂ρ/∂z₀ = (A_{M−1}⋯A₁A₀)ᵀ ε with A_m = diag(f′_m) W_m.
type chain struct {
	cfg       Config
	dev       device.Device
	tp        *autograd.Tape
	ts        *tensors
	ws, bs    []*tensor.Tensor
	x, target *tensor.Tensor // K × N
	// Left to right: per-sample vectors and N × N matrices.
	zs               []*tensor.Tensor
	d, ones, eps, g  *tensor.Tensor
	tgt, losses      *tensor.Tensor
	a, j, tmp        *tensor.Tensor
	ltrGrad, rtlGrad *tensor.Tensor // K × N input gradients
}

func newChain(dev device.Device, dt device.DType, c Config, rng *rand.Rand) (*chain, error) {
	ts := &tensors{dev: dev, dt: dt, rng: rng}
	ch := &chain{cfg: c, dev: dev, tp: autograd.NewTape(dev, dt), ts: ts}
	n := c.Width
	bound := 1 / math.Sqrt(float64(n))
	for range c.Layers {
		ch.ws = append(ch.ws, ts.uniform(bound, n, n))
		ch.bs = append(ch.bs, ts.uniform(bound, n))
	}
	ch.x = ts.normal(c.Batch, n)
	ch.target = ts.alloc(func(int) float64 { return 0.5 * (2*rng.Float64() - 1) }, c.Batch, n)
	if c.Order == OrderLTR {
		for range c.Layers + 1 {
			ch.zs = append(ch.zs, ts.alloc(nil, 1, n))
		}
		one := func(int) float64 { return 1 }
		ch.d, ch.ones, ch.eps, ch.g, ch.tgt = ts.alloc(nil, n), ts.alloc(one, n), ts.alloc(nil, n), ts.alloc(nil, n), ts.alloc(nil, n)
		ch.losses = ts.alloc(nil, 1)
		ch.a, ch.j, ch.tmp = ts.alloc(nil, n, n), ts.alloc(nil, n, n), ts.alloc(nil, n, n)
		ch.ltrGrad = ts.alloc(func(int) float64 { return 0 }, c.Batch, n)
	}
	if ts.err != nil {
		ch.release()
		return nil, fmt.Errorf("bench: %s: %w", c.Name, ts.err)
	}
	return ch, nil
}

func (ch *chain) release() {
	ch.tp.Release()
	ch.ts.release()
}

// rightToLeft is back propagation over the K samples at once: the tape
// records the forward pass and replays it in reverse, δ_m = (f′ ⊙ ε) W per
// layer — vector–matrix products, O(K·N²) per layer. The weights are
// constants, so only the input gradient is computed.
func (ch *chain) rightToLeft() error {
	tp := ch.tp
	tp.Reset()
	x := tp.Input(ch.x, true)
	z := x
	for m := range ch.ws {
		z = tp.Linear(z, tp.Constant(ch.ws[m]), tp.Constant(ch.bs[m]), device.Tanh)
	}
	l := loss.MSE(tp, z, tp.Constant(ch.target), loss.Sum)
	if err := tp.Backward(l); err != nil {
		return fmt.Errorf("bench: %s: %w", ch.cfg.Name, err)
	}
	ch.rtlGrad = x.Grad()
	return ch.dev.Sync()
}

// leftToRight forms, per sample, the dense Jacobian product
// J = A_{M−1}⋯A₁A₀ in the order the forward pass visits the layers
// (forward propagation of the gradient: J ← A_m J, a matrix–matrix product,
// O(N³) per layer), then the gradient Jᵀε. It runs Samples() samples.
func (ch *chain) leftToRight() error {
	dev, n := ch.dev, ch.cfg.Width
	buf := func(t *tensor.Tensor) device.Buffer { return t.Buffer() }
	for k := range ch.cfg.Samples() {
		dev.Copy2D(buf(ch.zs[0]), 0, n, buf(ch.x), k*n, n, 1, n)
		for m := range ch.ws {
			z, w := buf(ch.zs[m+1]), buf(ch.ws[m])
			// z_{m+1} = tanh(W_m z_m + b_m), as the row vector z_m W_mᵀ.
			dev.Gemm(false, true, 1, n, n, 1, buf(ch.zs[m]), n, w, n, 0, z, n)
			dev.BiasActivation(device.Tanh, 0, z, 1, n, buf(ch.bs[m]), z)
			// A_m = diag(f′_m) W_m: the outer product f′ 1ᵀ times W elementwise.
			dev.UnaryAdjoint(device.Tanh, 0, z, z, buf(ch.ones), buf(ch.d))
			dst := ch.a
			if m == 0 {
				dst = ch.j
			}
			dev.Gemm(false, false, n, n, 1, 1, buf(ch.d), 1, buf(ch.ones), n, 0, buf(dst), n)
			dev.Binary(device.Mul, buf(dst), w, buf(dst))
			if m > 0 {
				dev.Gemm(false, false, n, n, n, 1, buf(ch.a), n, buf(ch.j), n, 0, buf(ch.tmp), n)
				ch.j, ch.tmp = ch.tmp, ch.j
			}
		}
		// ε = ∇ρ at z_M, then the gradient as the row vector εᵀJ.
		dev.Copy2D(buf(ch.tgt), 0, n, buf(ch.target), k*n, n, 1, n)
		dev.Loss(device.MSE, 0, buf(ch.zs[len(ch.ws)]), buf(ch.tgt), 1, n, buf(ch.losses), buf(ch.eps), 1)
		dev.Gemm(false, false, 1, n, n, 1, buf(ch.eps), n, buf(ch.j), n, 0, buf(ch.g), n)
		dev.Copy2D(buf(ch.ltrGrad), k*n, n, buf(ch.g), 0, n, 1, n)
	}
	return dev.Sync()
}
