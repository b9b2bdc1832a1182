package bench

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is a family of benchmark configurations; --only selects kinds.
type Kind string

// The kinds, in the order the command runs them.
const (
	KindGemm     Kind = "gemm"     // one matrix product C = op(A) op(B)
	KindMLP      Kind = "mlp"      // one training step of a multi-layer perceptron
	KindKSweep   Kind = "ksweep"   // the medium MLP's step over the batch size K
	KindOrder    Kind = "order"    // the lecture's order of computation, and gradient/forward cost
	KindResidual Kind = "residual" // one training step of a residual (DAG) network
	KindConv     Kind = "conv"     // one training step of a convolutional network
)

// Kinds lists every kind in run order.
func Kinds() []Kind { return []Kind{KindGemm, KindMLP, KindKSweep, KindOrder, KindResidual, KindConv} }

// The variants of an order-of-computation configuration.
const (
	OrderRTL  = "rtl"  // right to left: back propagation, vector–matrix products
	OrderLTR  = "ltr"  // left to right: dense Jacobian products, matrix–matrix
	OrderFwd  = "fwd"  // the forward pass alone (loss value, no tape)
	OrderGrad = "grad" // forward pass recorded plus backward pass (the gradient)
)

// Config is one benchmark configuration. The same value drives the
// command, the go test benchmarks and the PyTorch/numpy peers (it is passed
// to peers.py as JSON), so every field that matters is exported.
type Config struct {
	// Name is unique in the table: kind/variant/size, e.g. "gemm/NT/256".
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Devices restricts the configuration to the named device families
	// ("cuda"); empty means every device.
	Devices []string `json:"devices,omitempty"`

	// GEMM: C [M × N] = op(A) op(B) with op(A) M × K, op(B) K × N.
	TransA bool `json:"trans_a,omitempty"`
	TransB bool `json:"trans_b,omitempty"`
	M      int  `json:"m,omitempty"`
	N      int  `json:"n,omitempty"`
	K      int  `json:"k,omitempty"`

	// Networks: layer widths in → … → out. For a residual network Sizes is
	// {in, width, out} and the body is Blocks residual blocks of two width ×
	// width layers. Batch is K, the samples per step (per launch).
	Sizes  []int `json:"sizes,omitempty"`
	Blocks int   `json:"blocks,omitempty"`
	Batch  int   `json:"batch,omitempty"`

	// Convolutional networks: images Image = {C, H, W}, then one 3×3
	// convolution with padding 1 per entry of Channels (its output
	// channels; stride 1 for the first, 2 for the others), each followed
	// by ReLU, then Flatten and a Linear layer to Classes (see ConvLayers).
	Image    []int `json:"image,omitempty"`
	Channels []int `json:"channels,omitempty"`
	Classes  int   `json:"classes,omitempty"`

	// Order of computation: a chain of Layers dense Width × Width tanh
	// layers and Batch samples; Order is one of OrderRTL, OrderLTR (with
	// Sizes unset) or OrderFwd, OrderGrad (on the MLP given by Sizes).
	Order  string `json:"order,omitempty"`
	Layers int    `json:"layers,omitempty"`
	Width  int    `json:"width,omitempty"`
}

// ConvLayer is one convolution of a KindConv network: In → Out channels
// over In×H×W images, a 3×3 kernel with padding 1 and the given stride.
type ConvLayer struct{ In, Out, H, W, Stride int }

// OutH and OutW are the layer's output size: ⌊(H − 1)/stride⌋ + 1.
func (l ConvLayer) OutH() int { return (l.H-1)/l.Stride + 1 }
func (l ConvLayer) OutW() int { return (l.W-1)/l.Stride + 1 }

// ConvLayers lists the convolutions of a KindConv configuration, and
// Flat is the size of the last one's flattened output, the classifier's
// input.
func (c Config) ConvLayers() (layers []ConvLayer, flat int) {
	if c.Kind != KindConv {
		return nil, 0
	}
	in, h, w := c.Image[0], c.Image[1], c.Image[2]
	for i, out := range c.Channels {
		l := ConvLayer{In: in, Out: out, H: h, W: w, Stride: 2}
		if i == 0 {
			l.Stride = 1
		}
		layers = append(layers, l)
		in, h, w = out, l.OutH(), l.OutW()
	}
	return layers, in * h * w
}

// OnDevice reports whether c runs on a device of the given family ("cpu",
// "cuda"; an index suffix such as "cuda:1" is ignored).
func (c Config) OnDevice(dev string) bool {
	if len(c.Devices) == 0 {
		return true
	}
	fam, _, _ := strings.Cut(dev, ":")
	return slices.Contains(c.Devices, fam)
}

// MaxDim is the largest matrix dimension c works with: a GEMM's m, n or
// k, a layer width, the batch K. `adjoint bench --max-size` compares it.
func (c Config) MaxDim() int {
	_, flat := c.ConvLayers()
	return max(c.M, c.N, c.K, c.Width, c.Batch, flat, slices.Max(append([]int{0}, c.Sizes...)))
}

// SubName is the name without its kind prefix, as go test sub-benchmarks
// show it ("NT/256").
func (c Config) SubName() string {
	_, rest, ok := strings.Cut(c.Name, "/")
	if !ok {
		return c.Name
	}
	return rest
}

// Samples is the number of samples one repetition processes (0 for GEMM):
// the batch K of a training step, or for left-to-right Jacobian products
// the samples actually run (see LTRSamples).
func (c Config) Samples() int {
	switch {
	case c.Kind == KindGemm:
		return 0
	case c.Order == OrderLTR:
		return LTRSamples(c.Width, c.Batch)
	}
	return c.Batch
}

// LTRSamples is how many of the K samples a left-to-right repetition
// computes: all of them while the dense products are cheap, fewer as N³
// grows (each sample costs the same, and times are reported per sample).
func LTRSamples(n, k int) int {
	s := (1 << 27) / max(n*n*n, 1)
	return max(1, min(k, s))
}

// Linears lists the (in, out) sizes of every dense layer of a network
// configuration (MLP, residual, or the order chain).
func (c Config) Linears() [][2]int {
	var ls [][2]int
	switch {
	case c.Kind == KindResidual:
		in, w, out := c.Sizes[0], c.Sizes[1], c.Sizes[2]
		ls = append(ls, [2]int{in, w})
		for range 2 * c.Blocks {
			ls = append(ls, [2]int{w, w})
		}
		ls = append(ls, [2]int{w, out})
	case len(c.Sizes) > 1:
		for i := 0; i+1 < len(c.Sizes); i++ {
			ls = append(ls, [2]int{c.Sizes[i], c.Sizes[i+1]})
		}
	case c.Layers > 0:
		for range c.Layers {
			ls = append(ls, [2]int{c.Width, c.Width})
		}
	case c.Kind == KindConv:
		_, flat := c.ConvLayers()
		ls = append(ls, [2]int{flat, c.Classes})
	}
	return ls
}

// Flops is the floating-point operation count of one repetition, the
// numerator of GFLOP/s (0 where none is defined):
//
//	GEMM                      2·M·N·K
//	training step (MLP, DAG)  6·K·Σ in·out   (forward 2, backward 4: δ and g_W)
//	convolutional step        6·K·(Σ_conv OH·OW·Out·In·9 + flat·classes)
//	gradient (fwd + bwd)      6·K·Σ in·out
//	forward pass              2·K·Σ in·out
//	right to left, per chain  K·(2 + 2)·M·N²  (forward, then δ = εW per layer)
//	left to right, per chain  S·(4·M·N² + 2·(M−1)·N³)  for the S samples run
//
// Bias, activation, loss and update work is O(K·Σ out) and left out, as
// PyTorch's profilers and the usual MLP estimates do.
func (c Config) Flops() float64 {
	var macs float64 // Σ in·out
	for _, l := range c.Linears() {
		macs += float64(l[0]) * float64(l[1])
	}
	convs, _ := c.ConvLayers()
	for _, l := range convs { // each output pixel is a Linear(In·9 → Out)
		macs += float64(l.OutH()*l.OutW()) * float64(l.Out) * float64(l.In*9)
	}
	k := float64(c.Batch)
	switch c.Kind {
	case KindGemm:
		return 2 * float64(c.M) * float64(c.N) * float64(c.K)
	case KindMLP, KindKSweep, KindResidual, KindConv:
		return 6 * k * macs
	case KindOrder:
		n, m := float64(c.Width), float64(c.Layers)
		switch c.Order {
		case OrderFwd:
			return 2 * k * macs
		case OrderGrad:
			return 6 * k * macs
		case OrderRTL:
			return k * 4 * m * n * n
		case OrderLTR:
			s := float64(c.Samples())
			return s * (4*m*n*n + 2*(m-1)*n*n*n)
		}
	}
	return 0
}

// sizesName writes 784-512-512-10.
func sizesName(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "-")
}

func gemmName(ta, tb bool) string {
	n := [2]string{"N", "N"}
	if ta {
		n[0] = "T"
	}
	if tb {
		n[1] = "T"
	}
	return n[0] + n[1]
}

// The networks of the table.
var (
	mlpSmall  = []int{64, 128, 10}
	mlpMedium = []int{784, 512, 512, 10}
	mlpWide   = []int{2048, 2048, 2048, 10}
	mlpWide4k = []int{4096, 4096, 4096, 10}
	// residual: 784 → 512, three blocks h ← relu(h + W₂ relu(W₁ h)), → 10.
	resNet = []int{784, 512, 10}
)

const (
	orderLayers  = 4   // M, the layers of the order-of-computation chain
	orderSamples = 256 // K, its samples
)

// Table returns the benchmark configurations: the full table, or with quick
// the modest subset that `adjoint bench --quick` runs (under 2 minutes on a
// 2-core machine, peers included).
func Table(quick bool) []Config {
	var t []Config
	add := func(c Config) { t = append(t, c) }
	trans := [][2]bool{{false, false}, {false, true}, {true, false}}

	// GEMM: square sizes, then the three products of a medium MLP layer
	// (784 → 512, K = 256): forward Z = XWᵀ (NT), adjoint δ = εW (NN),
	// parameter gradient g_W = εᵀX (TN).
	squares := []int{64, 128, 256, 512, 1024, 2048}
	gpuSquares := []int{4096, 8192}
	if quick {
		squares = []int{64, 256, 1024}
		gpuSquares = []int{4096}
	}
	for _, tr := range trans {
		for _, n := range squares {
			add(Config{Name: fmt.Sprintf("gemm/%s/%d", gemmName(tr[0], tr[1]), n), Kind: KindGemm, TransA: tr[0], TransB: tr[1], M: n, N: n, K: n})
		}
		for _, n := range gpuSquares {
			add(Config{Name: fmt.Sprintf("gemm/%s/%d", gemmName(tr[0], tr[1]), n), Kind: KindGemm, Devices: []string{"cuda"}, TransA: tr[0], TransB: tr[1], M: n, N: n, K: n})
		}
	}
	for _, g := range []struct {
		what    string
		ta, tb  bool
		m, n, k int
	}{
		{"fwd", false, true, 256, 512, 784},
		{"adj", false, false, 256, 784, 512},
		{"grad", true, false, 512, 784, 256},
	} {
		add(Config{Name: fmt.Sprintf("gemm/%s/%dx%dx%d-mlp-%s", gemmName(g.ta, g.tb), g.m, g.n, g.k, g.what), Kind: KindGemm, TransA: g.ta, TransB: g.tb, M: g.m, N: g.n, K: g.k})
	}

	// Training steps.
	mlp := func(label string, sizes []int, k int, devs ...string) {
		add(Config{Name: fmt.Sprintf("mlp/%s/%s/K%d", label, sizesName(sizes), k), Kind: KindMLP, Devices: devs, Sizes: sizes, Batch: k})
	}
	mlp("small", mlpSmall, 64)
	mlp("medium", mlpMedium, 256)
	mlp("wide", mlpWide, 512)
	mlp("wide", mlpWide4k, 4096, "cuda")

	// What batching K samples per launch buys.
	ks := []int{1, 4, 16, 64, 256, 1024}
	if quick {
		ks = []int{1, 4, 16, 64, 256}
	}
	for _, k := range ks {
		add(Config{Name: fmt.Sprintf("ksweep/medium/K%d", k), Kind: KindKSweep, Sizes: mlpMedium, Batch: k})
	}

	// Order of computation over N, then the cheap-gradient pair.
	// The full run reaches N = 2048, where both orders are compute-bound on
	// a CPU, so that the tail fit compares with the operation counts.
	ns := []int{32, 64, 128, 256, 512, 1024, 2048}
	if quick {
		ns = []int{32, 128, 256, 512, 1024}
	}
	for _, ord := range []string{OrderRTL, OrderLTR} {
		for _, n := range ns {
			add(Config{Name: fmt.Sprintf("order/%s/N%d", ord, n), Kind: KindOrder, Order: ord, Layers: orderLayers, Width: n, Batch: orderSamples})
		}
	}
	for _, ord := range []string{OrderFwd, OrderGrad} {
		add(Config{Name: fmt.Sprintf("order/%s/medium/K256", ord), Kind: KindOrder, Order: ord, Sizes: mlpMedium, Batch: 256})
	}

	// A residual (DAG) network: gradients meet and add at every fan-out.
	add(Config{Name: fmt.Sprintf("residual/%d-%dx%d-%d/K256", resNet[0], resNet[1], 3, resNet[2]), Kind: KindResidual, Sizes: resNet, Blocks: 3, Batch: 256})

	// Convolutional networks: the digits network of examples/cnn, and
	// CIFAR-sized images.
	conv := func(label string, image, channels []int, k int, devs ...string) {
		add(Config{Name: fmt.Sprintf("conv/%s/%s-%s/K%d", label, convImageName(image), sizesName(channels), k), Kind: KindConv,
			Devices: devs, Image: image, Channels: channels, Classes: 10, Batch: k})
	}
	conv("digits", []int{1, 8, 8}, []int{32, 32}, 64)
	conv("cifar", []int{3, 32, 32}, []int{32, 64}, 128)
	if !quick {
		conv("cifar", []int{3, 32, 32}, []int{64, 128, 256}, 256, "cuda")
	}
	return t
}

// convImageName writes 3x32x32.
func convImageName(image []int) string {
	return strings.ReplaceAll(sizesName(image), "-", "x")
}

// ParseOnly parses the --only list ("gemm,mlp"): the selected kinds, or all
// kinds for an empty string. Unknown or repeated names are errors.
func ParseOnly(s string) ([]Kind, error) {
	if strings.TrimSpace(s) == "" {
		return Kinds(), nil
	}
	var ks []Kind
	for _, part := range strings.Split(s, ",") {
		k := Kind(strings.ToLower(strings.TrimSpace(part)))
		if !slices.Contains(Kinds(), k) {
			return nil, usagef("bench: --only: unknown benchmark %q (want a comma-separated list of %s)", part, kindList())
		}
		if slices.Contains(ks, k) {
			return nil, usagef("bench: --only: %q given twice", part)
		}
		ks = append(ks, k)
	}
	return ks, nil
}

func kindList() string {
	var s []string
	for _, k := range Kinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// Select returns the configurations of the given kinds, in table order.
func Select(table []Config, kinds []Kind) []Config {
	var out []Config
	for _, c := range table {
		if slices.Contains(kinds, c.Kind) {
			out = append(out, c)
		}
	}
	return out
}
