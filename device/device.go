package device

import "fmt"

// DType is the element type of a Buffer.
type DType uint8

const (
	// Float32 is the training type on every device.
	Float32 DType = iota + 1
	// Float64 exists for gradient checking; only the CPU device provides it.
	Float64
)

// Size is the number of bytes of one element.
func (d DType) Size() int {
	switch d {
	case Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Buffer is a flat array of Len elements of one DType in a device's memory.
// Only the device that allocated a buffer may read or write it.
type Buffer interface {
	Len() int
	DType() DType
}

// UnaryOp names an elementwise function y = f(x).
type UnaryOp uint8

// The elementwise functions every device implements, with their derivatives
// (p is the function's parameter, passed with the op; the others ignore it):
//
//	Identity  y = x              f' = 1
//	Neg       y = −x             f' = −1
//	Exp       y = eˣ             f' = y
//	Log       y = ln x           f' = 1/x
//	Sqrt      y = √x             f' = 1/(2y)
//	Square    y = x²             f' = 2x
//	Abs       y = |x|            f' = sign(x) (0 at 0, as PyTorch)
//	ReLU      y = max(x, 0)      f' = [x > 0]
//	Sigmoid   y = 1/(1+e⁻ˣ)      f' = y(1−y)
//	Tanh      y = tanh x         f' = 1−y²
//	GELU      y = x Φ(x)         f' = Φ(x) + x φ(x)   (torch's exact, erf form:
//	                                                 Φ(x) = (1 + erf(x/√2))/2)
//	SiLU      y = x σ(x)         f' = σ(x)(1 + x(1 − σ(x)))   (Swish; σ the sigmoid)
//	LeakyReLU y = x (x > 0), p x  f' = 1 (x > 0), p  (p the negative slope;
//	                                              torch's LeakyReLU: p at 0)
//	ELU       y = x (x > 0), p(eˣ − 1)   f' = 1 (x > 0), p eˣ   (torch's ELU, p = α)
//	ReLU6     y = min(max(x, 0), 6)      f' = [0 < x < 6]   (MobileNetV2's)
//	Hardsigmoid y = ReLU6(x + 3)/6       f' = 1/6 for −3 < x < 3, else 0
//	Hardswish y = x ReLU6(x + 3)/6       f' = 0 (x < −3), x/3 + ½ (−3 ≤ x ≤ 3), 1 (x > 3)
//	                                     (MobileNetV3's; the one-sided values at ±3 of
//	                                     torch's CUDA kernel)
const (
	Identity UnaryOp = iota
	Neg
	Exp
	Log
	Sqrt
	Square
	Abs
	ReLU
	Sigmoid
	Tanh
	GELU
	SiLU
	LeakyReLU
	ELU
	ReLU6
	Hardsigmoid
	Hardswish
	numUnary
)

var unaryNames = [...]string{"identity", "neg", "exp", "log", "sqrt", "square", "abs", "relu", "sigmoid", "tanh", "gelu", "silu", "leaky_relu", "elu",
	"relu6", "hardsigmoid", "hardswish"}

// DisjointBlocks reports whether a GemmStrided batch's m×n blocks of C,
// at offsets z·stride with leading dimension ld, share no element: stacked
// (each block ends before the next begins) or interleaved row by row (the
// blocks side by side within each row, as a [m, batch, n] layout, or a
// grouped convolution's output, has). Backends that run a batch's
// products concurrently check it first.
func DisjointBlocks(batch, m, n, ld, stride int) bool {
	if batch <= 1 || stride >= (m-1)*ld+n {
		return true
	}
	return stride >= n && (batch-1)*stride+n <= ld
}

// DefaultParam is the parameter torch gives op by default: LeakyReLU's
// negative slope 0.01, ELU's α = 1; 0 for the functions without one.
func (op UnaryOp) DefaultParam() float64 {
	switch op {
	case LeakyReLU:
		return 0.01
	case ELU:
		return 1
	}
	return 0
}

// HasParam reports whether op's function takes a parameter.
func (op UnaryOp) HasParam() bool { return op == LeakyReLU || op == ELU }

func (op UnaryOp) String() string {
	if op < numUnary {
		return unaryNames[op]
	}
	return fmt.Sprintf("UnaryOp(%d)", uint8(op))
}

// UnaryOps lists every UnaryOp, for tests and kernels tables.
func UnaryOps() []UnaryOp {
	ops := make([]UnaryOp, numUnary)
	for i := range ops {
		ops[i] = UnaryOp(i)
	}
	return ops
}

// ParseUnary returns the UnaryOp with the given name (as String prints it).
func ParseUnary(name string) (UnaryOp, error) {
	for i, n := range unaryNames {
		if n == name {
			return UnaryOp(i), nil
		}
	}
	return 0, fmt.Errorf("device: unknown elementwise function %q (want one of %v)", name, unaryNames)
}

// BinaryOp names an elementwise function c = a ∘ b of two same-length buffers.
type BinaryOp uint8

const (
	Add BinaryOp = iota // c = a + b
	Sub                 // c = a − b
	Mul                 // c = a ⊙ b
	Div                 // c = a ⊘ b
	numBinary
)

var binaryNames = [...]string{"add", "sub", "mul", "div"}

func (op BinaryOp) String() string {
	if op < numBinary {
		return binaryNames[op]
	}
	return fmt.Sprintf("BinaryOp(%d)", uint8(op))
}

// BinaryOps lists every BinaryOp.
func BinaryOps() []BinaryOp { return []BinaryOp{Add, Sub, Mul, Div} }

// LossKind names a per-sample distortion ρ(a, b) between a target a and a
// prediction b, each a row of a rows×cols matrix. The device writes ρ for each
// row and the error vector ε = ∇_b ρ (the lecture's ε_k, not divided by K).
//
//	MSE        ρ = Σᵢ (aᵢ−bᵢ)²                       ε = −2(a−b)
//	MAE        ρ = Σᵢ |aᵢ−bᵢ|                        ε = −sign(a−b)
//	Huber      ρ = Σᵢ h_δ(aᵢ−bᵢ), h_δ(r) = r²/2 for |r| ≤ δ, δ(|r|−δ/2) beyond
//	                                                ε = −clamp(a−b, −δ, δ)
//	CrossEntropy  (b on the simplex) ρ = −Σᵢ aᵢ log bᵢ   ε = −a ⊘ b
//	SoftmaxCrossEntropy (b are logits, a probabilities)
//	           ρ = −Σᵢ aᵢ log softmax(b)ᵢ            ε = softmax(b)·Σᵢaᵢ − a
//	SoftmaxCrossEntropyIndex (b logits, target is one class index per row)
//	           ρ = −log softmax(b)_c                 ε = softmax(b) − e_c
//	BinaryCrossEntropyLogits (b logits, a probabilities, each element its
//	           own two-class problem; PyTorch's BCEWithLogitsLoss)
//	           ρ = Σᵢ max(bᵢ, 0) − aᵢbᵢ + log(1 + e^−|bᵢ|)   ε = σ(b) − a
type LossKind uint8

const (
	MSE LossKind = iota
	MAE
	Huber
	CrossEntropy
	SoftmaxCrossEntropy
	SoftmaxCrossEntropyIndex
	BinaryCrossEntropyLogits
	numLoss
)

var lossNames = [...]string{"mse", "mae", "huber", "cross-entropy", "softmax-cross-entropy", "softmax-cross-entropy-index", "binary-cross-entropy-logits"}

func (l LossKind) String() string {
	if l < numLoss {
		return lossNames[l]
	}
	return fmt.Sprintf("LossKind(%d)", uint8(l))
}

// LossKinds lists every LossKind.
func LossKinds() []LossKind {
	ks := make([]LossKind, numLoss)
	for i := range ks {
		ks[i] = LossKind(i)
	}
	return ks
}

// SGDConfig holds PyTorch's torch.optim.SGD hyper-parameters. With momentum μ,
// dampening τ, weight decay λ and learning rate η, one step is
//
//	g ← g + λp
//	v ← g (first step) or μv + (1−τ)g
//	d ← g + μv (Nesterov) or v
//	p ← p − ηd
//
// and without momentum simply p ← p − η(g + λp).
type SGDConfig struct {
	LR, Momentum, Dampening, WeightDecay float64
	Nesterov                             bool
	// First is true on the first step, when the momentum buffer is set to g.
	First bool
}

// AdamConfig holds torch.optim.Adam and AdamW hyper-parameters for step t ≥ 1:
//
//	Adam:  g ← g + λp
//	AdamW: p ← p − ηλp
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
//	p ← p − η (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ϵ)
type AdamConfig struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Decoupled                          bool // AdamW
	Step                               int
}

// RMSpropConfig holds torch.optim.RMSprop's hyper-parameters. With
// smoothing α, weight decay λ, momentum μ and learning rate η, one step is
//
//	g ← g + λp
//	v ← αv + (1−α)g²                        (square_avg)
//	centered: ḡ ← αḡ + (1−α)g, d = √(v − ḡ²) + ε;  else d = √v + ε
//	momentum: b ← μb + g/d, p ← p − ηb;            else p ← p − ηg/d
type RMSpropConfig struct {
	LR, Alpha, Eps, WeightDecay, Momentum float64
	// Centered divides by an estimate of the gradient's variance, v − ḡ²,
	// rather than its mean square.
	Centered bool
}

// Device is the one dispatch boundary between the tensor engine and a
// backend. Methods are grouped by family; the matrices are row-major and
// described by rows, cols and a leading dimension (the row stride).
//
// Compute methods do not return errors: like CUDA launches they may run
// asynchronously, and a backend that fails records the first error and
// returns it from the next Sync, Download or Err, and from every one after
// (the device is unusable), except for an error wrapping ErrInvalidInput
// (bad data, such as a class index out of range), which a device that
// implements InputErrClearer forgets when told to.
// Shape and length misuse is a programming error and panics with a message
// naming the method.
type Device interface {
	// Name is "cpu", "cuda:0", ...
	Name() string
	// Err returns the first recorded failure, if any, without
	// synchronizing.
	Err() error

	// Memory.

	// Alloc returns a buffer of n elements; its contents are unspecified.
	Alloc(dt DType, n int) (Buffer, error)
	// Free returns a buffer to the device (or its caching allocator).
	Free(b Buffer)
	// Uploads and downloads convert between the slice's and the buffer's
	// element types; the lengths must match.
	Upload32(dst Buffer, src []float32) error
	Upload64(dst Buffer, src []float64) error
	Download32(dst []float32, src Buffer) error
	Download64(dst []float64, src Buffer) error
	// Sync waits for queued work and returns the first recorded error.
	Sync() error
	// Copy2D copies a rows×cols block: dst[dstOff + i·dstLD + j] = src[srcOff + i·srcLD + j].
	// srcLD may be 0, which repeats one source row in every row of dst.
	Copy2D(dst Buffer, dstOff, dstLD int, src Buffer, srcOff, srcLD, rows, cols int)
	// Fill sets every element of b to v.
	Fill(b Buffer, v float64)

	// Layout: copies that move elements (convolutions are products of
	// these and Gemm).

	// Transpose writes y[b, j, i, :] = x[b, i, j, :] for a batch of
	// row-major rows×cols matrices of blocks of inner contiguous elements,
	// stored one after another: torch's x.transpose(d, d+1).contiguous()
	// for x [batch, rows, cols, inner] (inner = 1: the last two axes). y
	// must not overlap x.
	Transpose(x Buffer, batch, rows, cols, inner int, y Buffer)
	// Im2Col writes the patches that a convolution of geometry g reads
	// from the NCHW images x into cols, a g.Pixels() × g.Patch() matrix:
	// row (n, oh, ow), column (c, kh, kw) holds x[n, c, oh·StrideH − PadH
	// + kh·DilationH, ow·StrideW − PadW + kw·DilationW], or 0 where that
	// pixel is in the padding. It panics when g.Check fails.
	Im2Col(x Buffer, g ConvGeometry, cols Buffer)
	// Col2Im is Im2Col's adjoint: x = β x + the sum, for each pixel of x,
	// of the elements of cols that Im2Col copies from it (each pixel
	// gathers its own, in a fixed order: no atomics, the same sums on
	// every run). x is not read when β is 0.
	Col2Im(cols Buffer, g ConvGeometry, beta float64, x Buffer)

	// MaxPool writes y[n, c, i, j], the maximum of x[n, c] over the window
	// that a convolution of geometry g reads for output pixel (i, j) (g.C
	// is the channel count; pooling is per channel), and argmax, the index
	// h·W + w of that maximum within its H×W plane (exact in float32 up to
	// 2²⁴ pixels a plane). As torch's max_pool2d: the padding never wins,
	// the first maximum in the window's row-major order does, a NaN beats
	// every number (the last NaN wins), and a window of −∞ alone gives −∞
	// at its first pixel inside the image (a dilated window may have
	// none: then −∞ at index −1, which the adjoint skips). y and argmax
	// are N·C·OutH·OutW long. It panics when g.CheckPool fails.
	MaxPool(x Buffer, g ConvGeometry, y, argmax Buffer)
	// MaxPoolAdjoint is MaxPool's adjoint: dx = β dx + the sum, for each
	// pixel, of the ε of the outputs whose argmax it is (each pixel's
	// terms added in one fixed order, no atomics). dx is not read when β
	// is 0.
	MaxPoolAdjoint(eps, argmax Buffer, g ConvGeometry, beta float64, dx Buffer)
	// MaxPoolTangent is MaxPool's tangent, the transpose of its adjoint:
	// y[n, c, i, j] = dx[n, c] at the index argmax[n, c, i, j] (0 where
	// that is −1).
	MaxPoolTangent(dx, argmax Buffer, g ConvGeometry, y Buffer)

	// Embedding tables.

	// Gather copies rows of a rows×cols table: y[i, :] = table[index[i], :]
	// for the n indices (y is n×cols), torch's embedding and index_select.
	// An index that is not an integer in [0, rows) gives a row of zeros
	// and is reported as a bad class index of Loss is: an error wrapping
	// ErrInvalidInput that names the first such i.
	Gather(table Buffer, rows, cols int, index Buffer, n int, y Buffer)
	// ScatterAdd is Gather's adjoint: table = β table + Σᵢ e_index[i] ε[i, :],
	// each row r of the table receiving the rows of eps (n×cols) whose index
	// is r, added in increasing i (no atomics: the same sums on every run
	// and device). Bad indices are skipped. table is not read when β is 0.
	ScatterAdd(eps Buffer, n, cols int, index Buffer, beta float64, table Buffer, rows int)

	// Dense linear algebra.

	// Gemm computes C = α op(A) op(B) + βC with op(A) m×k and op(B) k×n. One
	// call serves the forward product Z = XWᵀ (transB), the adjoint product
	// δ = εW and the parameter gradient g_W = εᵀX summed over K (transA).
	Gemm(transA, transB bool, m, n, k int, alpha float64, a Buffer, lda int, b Buffer, ldb int, beta float64, c Buffer, ldc int)
	// GemmStrided computes batch products C_b = α op(A_b) op(B_b) + β C_b
	// for b < batch, where X_b is the matrix of X that starts at element
	// b·strideX, each described as Gemm's operands are: torch.bmm, and the
	// per-head products of attention. A stride of 0 gives every product
	// the same A (or B); the products' C must not overlap.
	GemmStrided(transA, transB bool, batch, m, n, k int, alpha float64, a Buffer, lda, strideA int, b Buffer, ldb, strideB int, beta float64, c Buffer, ldc, strideC int)
	// Axpy computes y ← αx + y.
	Axpy(alpha float64, x, y Buffer)
	// Scale computes y ← αx; y may be x.
	Scale(alpha float64, x, y Buffer)
	// Dot returns Σ xᵢyᵢ on the host; it synchronizes.
	Dot(x, y Buffer) (float64, error)

	// Elementwise.

	// Unary computes y = f(x), param being f's parameter (see UnaryOp;
	// ignored by functions without one); y may be x.
	Unary(op UnaryOp, param float64, x, y Buffer)
	// UnaryAdjoint computes δ = f'(x) ⊙ ε, given x and y = f(x).
	UnaryAdjoint(op UnaryOp, param float64, x, y, eps, delta Buffer)
	// Binary computes c = a ∘ b; c may be a or b.
	Binary(op BinaryOp, a, b, c Buffer)
	// BiasActivation computes y = f(x + 1bᵀ) for a rows×cols x and a cols-long
	// bias b (nil for none): the fused epilogue of a linear layer. y may be x.
	BiasActivation(op UnaryOp, param float64, x Buffer, rows, cols int, bias Buffer, y Buffer)

	// Random masks.

	// DropoutMask writes mask[i] = 0 with probability p ∈ [0, 1] and
	// 1/(1−p) otherwise, for every element of mask: element i is dropped
	// when word i mod 4 of DropoutBlock(seed, offset, ⌊i/4⌋) is below
	// DropoutThreshold(p). The mask is a function of (p, seed, offset)
	// alone, the same bits on every device; a mask of n elements uses the
	// DropoutBlocks(n) counters from offset on. It panics when p is not in
	// [0, 1].
	DropoutMask(mask Buffer, p float64, seed, offset uint64)

	// Reductions.

	// SumRows computes y = β y + Σᵢ x[i,:] (a cols-long y): the bias gradient Σ_k ε_k.
	SumRows(x Buffer, rows, cols int, beta float64, y Buffer)
	// SumCols computes y = β y + α Σⱼ x[:,j] (a rows-long y): α folds a
	// mean's 1/n into the reduction.
	SumCols(x Buffer, rows, cols int, alpha, beta float64, y Buffer)
	// ArgMaxMatches computes count = β count + #{i : argmax_j x[i,j] = labels[i]}
	// for a rows×cols x, a rows-long labels holding class indices and a
	// one-element count: the number of correct predictions, kept on the
	// device so that a training step brings back only its loss. argmax is
	// torch.argmax's: the first maximum, and a NaN beats every number. A
	// label that is not a class index matches nothing. The count is exact
	// while it stays below 2²⁴ in float32.
	ArgMaxMatches(x Buffer, rows, cols int, labels Buffer, beta float64, count Buffer)

	// Softmax family, over each row of a rows×cols matrix.

	Softmax(x Buffer, rows, cols int, y Buffer)
	LogSoftmax(x Buffer, rows, cols int, y Buffer)
	// SoftmaxAdjoint computes δ = y ⊙ (ε − ⟨ε, y⟩) per row, given y = softmax(x).
	SoftmaxAdjoint(y, eps Buffer, rows, cols int, delta Buffer)
	// LogSoftmaxAdjoint computes δ = ε − exp(y) Σε per row, given y = logsoftmax(x).
	LogSoftmaxAdjoint(y, eps Buffer, rows, cols int, delta Buffer)

	// Layer normalisation, over each row of a rows×cols matrix (PyTorch's
	// LayerNorm over the last dimension).

	// LayerNorm computes, per row, the mean μ and the biased variance σ²,
	// x̂ = (x − μ)·r with r = 1/√(σ² + ϵ), and y = x̂ ⊙ γ + β for cols-long
	// γ and β (nil: 1 and 0). It writes mean and rstd = r (rows long) for
	// the adjoint. y may be x.
	LayerNorm(x Buffer, rows, cols int, gamma, beta Buffer, epsilon float64, y, mean, rstd Buffer)
	// LayerNormAdjoint takes ε = ∂L/∂y and the forward's x, mean and rstd.
	// With g = ε ⊙ γ it writes, when delta is not nil,
	//	δ = r (g − mean(g) − x̂ mean(g ⊙ x̂))   per row
	// and it sets (β = 0) or adds to (β = 1) the parameter gradients
	// gGamma = Σ_rows ε ⊙ x̂ and gBeta = Σ_rows ε when they are not nil.
	LayerNormAdjoint(x, eps Buffer, rows, cols int, gamma, mean, rstd Buffer, delta, gGamma, gBeta Buffer, beta float64)

	// Batch normalisation, per channel of x [n, c, inner] (PyTorch's
	// BatchNorm over axis 1: inner = H·W for NCHW images, 1 for [N, C]),
	// over the M = n·inner values of each channel, which lie inner at a
	// time, c·inner apart:
	//
	//	x: [ n=0: c=0 (inner) | c=1 (inner) | … | n=1: c=0 (inner) | … ]

	// BatchNormStats writes each channel's mean μ and rstd = 1/√(σ² + ϵ),
	// σ² the biased variance of its M values (c long each).
	BatchNormStats(x Buffer, n, c, inner int, epsilon float64, mean, rstd Buffer)
	// BatchNormApply writes y = (x − μ)·r·γ + β per channel from given
	// mean μ and rstd r (the batch's, or running statistics) and γ and β
	// (c long each; nil: 1 and 0). y may be x.
	BatchNormApply(x Buffer, n, c, inner int, mean, rstd, gamma, beta Buffer, y Buffer)
	// BatchNormAdjoint takes ε = ∂L/∂y and the forward's x, mean and rstd.
	// With x̂ = (x − μ)·r and g = ε·γ, means over a channel's M values, it
	// writes, when delta is not nil,
	//	δ = r (g − mean(g) − x̂ mean(g ⊙ x̂))   batchStats: μ and r are the batch's
	//	δ = r g                                otherwise: they are constants
	// and it sets (β = 0) or adds to (β = 1) the parameter gradients
	// gGamma = Σ ε ⊙ x̂ and gBeta = Σ ε per channel when they are not nil.
	BatchNormAdjoint(x, eps Buffer, n, c, inner int, gamma, mean, rstd Buffer, batchStats bool, delta, gGamma, gBeta Buffer, beta float64)

	// Loss writes ρ(target_k, pred_k) for every row k into losses (rows long)
	// and, when eps is not nil, the error vectors scaled by epsScale,
	// epsScale·ε_k = epsScale·∇_b ρ, into eps (rows×cols). param is Huber's
	// δ. For SoftmaxCrossEntropyIndex the target holds one class index per
	// row (rows long). epsScale lets a loss node fold its reduction's factor
	// (1/K for a mean) into the kernel instead of scaling ε afterwards.
	Loss(kind LossKind, param float64, pred, target Buffer, rows, cols int, losses, eps Buffer, epsScale float64)

	// Optimizer updates, one parameter tensor per call.

	// SGD updates p in place from gradient g and momentum buffer v (nil
	// without momentum).
	SGD(p, g, v Buffer, cfg SGDConfig)
	// Adam updates p in place from gradient g and moment buffers m and v.
	Adam(p, g, m, v Buffer, cfg AdamConfig)
	// RMSprop updates p in place from gradient g and mean square v, with
	// the mean gradient gAvg when cfg.Centered and the momentum buffer b
	// when cfg.Momentum > 0 (each nil otherwise).
	RMSprop(p, g, v, gAvg, b Buffer, cfg RMSpropConfig)
}

// InputErrClearer is a Device that can forget a recorded failure of the
// data (an error wrapping ErrInvalidInput) once the batch that caused it is
// done, so that the next batch runs: autograd's Tape.Reset calls it. The
// cpu and cuda devices implement it.
type InputErrClearer interface {
	ClearInputErr()
}
