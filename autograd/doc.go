// Package autograd records computations on a Tape and differentiates them
// by adjoint differentiation (back propagation) and by forward tangents.
//
// A network is a DAG of nodes x = f_s(z₁, z₂, θ). Each op family lives in
// one file with its forward function, its adjoint
//
//	[δ₁, δ₂, g] ← G(ε, z₁, z₂, θ)
//
// and its tangent rule side by side, the formulas in the doc comments.
// Backward seeds ε at the loss and walks the tape right to left:
//
//	forward:   y ──f₀──▶ z₁ ──f₁──▶ z₂ ──f₂──▶ x̂ ──ρ──▶ L
//	backward:  δ ◀──A₀ᵀ── ε₁ ◀──A₁ᵀ── ε₂ ◀──A₂ᵀ── ε₃ ◀──── ∇_b ρ
//	                 │            │            │
//	                B₀ᵀ          B₁ᵀ          B₂ᵀ
//	                 ▼            ▼            ▼
//	                g₀           g₁           g₂
//
// Every product Aᵀε and Bᵀε is computed as a (batched) vector–matrix
// product on the device; the Jacobians are never formed. A batch of K
// samples is one [K × N] tensor, so one GEMM per layer serves all K samples,
// and g_W = εᵀX sums the K per-sample outer products inside that GEMM.
// Gradients add where a value fans out. An adjoint that passes ε on
// unchanged (Add, Scale by 1, Reshape) hands its input the same tensor
// without a copy; a later fan-out contribution to that input is added into
// a new tensor (copy on write), so that after Backward Grad is ∂L/∂v for
// every Var, intermediates included, and a chain copies nothing.
//
// Broadcasting. Add, Sub, Mul and Div take operands of different shapes
// by PyTorch's rules (a bias [N] over [K × N], a per-sample [K × 1], a
// scalar, a mask [B × 1 × T] over [B × H × T]) through BroadcastTo, an op
// of its own: each run of repeated dimensions is a rank-one GEMM with a
// vector of ones (in front or behind) or strided copies (in the middle),
// and its adjoint sums ε over the repeats, so the broadcast operand's
// gradient has its own shape, as in PyTorch. SumTo, its reverse, sums over
// any broadcast's repeats (a batch [K × N] to [N], per sample to [K × 1]).
//
// Convolutions. Conv2d lowers a convolution to the products of Linear:
// Im2Col copies each output pixel's patch into a row of X̃ [N·OH·OW ×
// C·KH·KW], the weights [O, C, KH, KW] are W̃ [O × C·KH·KW] as stored, and
// one GEMM X̃ W̃ᵀ computes every pixel of every image; a batched Transpose
// turns its pixel-major rows into NCHW. The adjoint is the same three
// GEMMs as Linear's, with Col2Im (a gather per pixel, no atomics) carrying
// the patches' gradients back to the pixels:
//
//	x [N,C,H,W] ─Im2Col─▶ X̃ ─(·W̃ᵀ + b)─▶ Z [N·OH·OW × O] ─Transpose─▶ y [N,O,OH,OW]
//	δ ◀─Col2Im─ E W̃ ◀──── E = ε transposed ◀──────────────────────── ε
//	g_W = Eᵀ X̃,  g_b = Σ_pixels E
//
// With G groups the three matrices split into G blocks side by side, and
// each product is one batched GEMM over the blocks, in place:
//
//	X̃ = [X̃₀ │ X̃₁ │ …]   W̃ = [W̃₀ ; W̃₁ ; …]   Z = [X̃₀W̃₀ᵀ │ X̃₁W̃₁ᵀ │ …]
//
// Conv1d, ConvTranspose1d, MaxPool1d and AvgPool1d run the 2-D ops on
// sequences [N, C, L] viewed as one-row images [N, C, 1, L] (a view copies
// nothing), so they need no adjoint of their own.
//
// Padding. Pad2d joins zeros on with Concat, or copies border pixels
// (reflect, replicate, circular) by gathering the rows of a transposed
// view through an index vector cached on the tape, so its adjoint is
// Embedding's: each output's ε added back into its source pixel.
//
// Resampling. AdaptiveAvgPool2d (uneven windows) and Interpolate are
// linear maps that act on rows and columns separately, y = P_H x P_Wᵀ per
// channel; they run as two products over the batch between transposes,
// with P_H and P_W built once per tape.
//
// Memory. Op outputs, error vectors and tangents are tape temporaries: Reset
// returns them to the device's cache, so a training loop that reuses one tape
// allocates nothing in steady state. Parameters (NewParam) live across tapes,
// and their gradients accumulate until ZeroGrad, as in PyTorch.
//
// Errors. Shape misuse panics at once with the op and the shapes. Failures
// that depend on data or the device (allocation, NaN/Inf with
// SetCheckNumerics) are recorded on the tape; later ops do nothing (they
// check no shapes either: a failed op's Var has none) and Backward returns
// the error, until Reset. A class index out of range is
// found by the device's loss kernel: the sample's loss is NaN and its ε 0,
// and the device returns an error wrapping device.ErrInvalidInput (from
// Backward on the CPU, from the next synchronising call on a GPU) until
// Reset tells it the batch is done; the device and the parameters stay
// usable, so a bad batch can be skipped.
package autograd
