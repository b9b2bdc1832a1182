package autograd

import (
	"fmt"

	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// BatchNormOptions are the arguments of torch.nn.functional.batch_norm
// besides the tensors.
type BatchNormOptions struct {
	// Training normalises with the batch's statistics and, where running
	// statistics are given, updates them; otherwise the running
	// statistics normalise.
	Training bool
	// Momentum is the weight of the batch in the running update,
	// running = (1 − m) running + m batch (torch's default is 0.1; for
	// torch's momentum=None, a cumulative average, pass 1/n for the n-th
	// batch).
	Momentum float64
	// Eps is added to the variance (torch's default is 1e-5); it must be
	// positive.
	Eps float64
}

// BatchNorm normalises x [N, C, …] per channel (axis 1) and applies the
// affine map with γ and β ([C] each, nil for 1 and 0), as torch's
// F.batch_norm(x, runningMean, runningVar, γ, β, training, momentum, eps).
// In training the statistics are the channel's over the batch and every
// trailing position (M = N·H·W values for [N, C, H, W]):
//
//	forward:  x̂ = (x − μ_c) / √(σ²_c + ϵ),  y = γ_c x̂ + β_c
//	adjoint:  LayerNorm's over each channel's M values:
//	          δ = r (g − mean(g) − x̂ mean(g ⊙ x̂)),  g = ε γ_c;
//	          g_γ = Σ ε ⊙ x̂,  g_β = Σ ε  (sums over the channel's M values)
//	running:  μ̄ ← (1 − m) μ̄ + m μ,  σ̄² ← (1 − m) σ̄² + m σ² M/(M − 1)
//
// which is LayerNorm of the channel-major [C, M] view, so it is recorded
// as exactly that: a transpose to [C, N, …], LayerNorm without affine, γ
// and β per row, and a transpose back. The running statistics (device
// tensors of the tape's dtype, or nil to keep none) are updated in place
// with the biased σ² made unbiased, as torch does, on the device and
// without a gradient. In evaluation (Training false) the running
// statistics normalise, a per-channel affine map of x:
//
//	forward:  y = (x − μ̄_c) s_c + β_c,  s_c = γ_c / √(σ̄²_c + ϵ)
//	adjoint:  δ = ε s_c;  g_γ = Σ ε ⊙ (x − μ̄_c)/√(σ̄²_c + ϵ),  g_β = Σ ε
//
// Training with fewer than two values per channel panics, as torch
// raises: the variance of one value is not an estimate.
func (tp *Tape) BatchNorm(x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, opt BatchNormOptions) *Var {
	if tp.skip(&layerNormOp, x, gamma, beta) {
		return tp.failedVar()
	}
	shape := x.Shape()
	if len(shape) < 2 {
		panic(fmt.Sprintf("autograd: BatchNorm: input %v: want [N, C, …]", shape))
	}
	n, c, inner := shape[0], shape[1], product(shape[2:])
	for _, p := range []*Var{gamma, beta} {
		if p != nil && (p.value.Dims() != 1 || p.value.Len() != c) {
			panic(fmt.Sprintf("autograd: BatchNorm: input %v and parameter %v: want [%d]", shape, p.Shape(), c))
		}
	}
	if (runningMean == nil) != (runningVar == nil) {
		panic("autograd: BatchNorm: running mean and variance must both be given or both be nil")
	}
	for _, r := range []*tensor.Tensor{runningMean, runningVar} {
		if r != nil && (r.Dims() != 1 || r.Len() != c || r.DType() != tp.dtype) {
			panic(fmt.Sprintf("autograd: BatchNorm: input %v and running statistic %v of %v: want [%d] of %v", shape, r.Shape(), r.DType(), c, tp.dtype))
		}
	}
	if !(opt.Eps > 0) {
		panic(fmt.Sprintf("autograd: BatchNorm: eps %v: want > 0", opt.Eps))
	}
	if !opt.Training && runningMean == nil {
		panic("autograd: BatchNorm: evaluation needs running statistics")
	}
	if opt.Training && n*inner < 2 {
		panic(fmt.Sprintf("autograd: BatchNorm: input %v: expected more than 1 value per channel when training", shape))
	}
	// [N, C, inner]: one trailing axis, so that per-channel vectors
	// [C, 1] broadcast over it.
	x3 := tp.Reshape(x, n, c, inner)
	if !opt.Training {
		return tp.Reshape(tp.batchNormEval(x3, gamma, beta, runningMean, runningVar, opt.Eps), shape...)
	}
	// Channel-major rows [C, N·inner], normalised as LayerNorm normalises.
	rows := tp.Reshape(tp.swapAxis(x3, 0), c, n*inner)
	y, mean, rstd := tp.layerNorm("BatchNorm", rows, nil, nil, opt.Eps)
	if gamma != nil {
		y = tp.Mul(y, tp.Reshape(gamma, c, 1))
	}
	if beta != nil {
		y = tp.Add(y, tp.Reshape(beta, c, 1))
	}
	if runningMean != nil && !tp.Failed() {
		tp.updateRunning(runningMean, runningVar, mean, rstd, n*inner, opt)
	}
	return tp.Reshape(tp.swapAxis(tp.Reshape(y, c, n, inner), 0), shape...)
}

// batchNormEval records y = (x − μ̄) s + β with s = γ/√(σ̄² + ϵ) per channel
// for x [N, C, inner].
func (tp *Tape) batchNormEval(x3, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, eps float64) *Var {
	c := x3.Shape()[1]
	// 1/√(σ̄² + ϵ) on the device: a constant of this step.
	r, ones := tp.Temp(c), tp.Temp(c)
	if tp.Failed() {
		return tp.failedVar()
	}
	dev := tp.dev
	dev.Fill(r.Buffer(), eps)
	dev.Binary(device.Add, runningVar.Buffer(), r.Buffer(), r.Buffer())
	dev.Unary(device.Sqrt, r.Buffer(), r.Buffer())
	dev.Fill(ones.Buffer(), 1)
	dev.Binary(device.Div, ones.Buffer(), r.Buffer(), r.Buffer())
	scale := tp.Constant(r)
	if gamma != nil {
		scale = tp.Mul(gamma, scale)
	}
	y := tp.Mul(tp.Sub(x3, tp.Reshape(tp.Constant(runningMean), c, 1)), tp.Reshape(scale, c, 1))
	if beta != nil {
		y = tp.Add(y, tp.Reshape(beta, c, 1))
	}
	return y
}

// updateRunning folds a batch's per-channel mean and 1/√(σ² + ϵ) of m
// values each into the running statistics:
//
//	μ̄ ← (1 − mom) μ̄ + mom μ,  σ̄² ← (1 − mom) σ̄² + mom (1/r² − ϵ) m/(m − 1)
func (tp *Tape) updateRunning(runningMean, runningVar, mean, rstd *tensor.Tensor, m int, opt BatchNormOptions) {
	c := mean.Len()
	variance, ones := tp.Temp(c), tp.Temp(c)
	if tp.Failed() {
		return
	}
	dev, mom := tp.dev, opt.Momentum
	dev.Scale(1-mom, runningMean.Buffer(), runningMean.Buffer())
	dev.Axpy(mom, mean.Buffer(), runningMean.Buffer())
	dev.Fill(ones.Buffer(), 1)
	dev.Binary(device.Mul, rstd.Buffer(), rstd.Buffer(), variance.Buffer())
	dev.Binary(device.Div, ones.Buffer(), variance.Buffer(), variance.Buffer())
	dev.Axpy(-opt.Eps, ones.Buffer(), variance.Buffer())
	dev.Scale(1-mom, runningVar.Buffer(), runningVar.Buffer())
	dev.Axpy(mom*float64(m)/float64(m-1), variance.Buffer(), runningVar.Buffer())
}
