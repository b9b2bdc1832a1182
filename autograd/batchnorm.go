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
//	forward:  x̂ = (x − μ_c) r_c,  r_c = 1/√(σ²_c + ϵ),  y = γ_c x̂ + β_c
//	adjoint:  δ = r_c (g − mean(g) − x̂ mean(g ⊙ x̂)),  g = ε γ_c;
//	          g_γ = Σ ε ⊙ x̂,  g_β = Σ ε   (means and sums over a channel's M values)
//	tangent:  ẏ = γ_c r_c (ẋ − mean(ẋ) − x̂ mean(ẋ ⊙ x̂)) + γ̇_c x̂ + β̇_c
//	running:  μ̄ ← (1 − m) μ̄ + m μ,  σ̄² ← (1 − m) σ̄² + m σ² M/(M − 1)
//
// which is LayerNorm's rule over each channel's values (a channel's
// Jacobian γ r (I − 11ᵀ/M − x̂x̂ᵀ/M) is symmetric, so the tangent applies
// the adjoint's formula to ẋ). The running statistics (device tensors of
// the tape's dtype, or nil to keep none) are updated in place with the
// biased σ² made unbiased, as torch does, on the device and without a
// gradient. In evaluation (Training false) the running statistics are
// constants:
//
//	forward:  y = (x − μ̄_c) r̄_c γ_c + β_c,  r̄_c = 1/√(σ̄²_c + ϵ)
//	adjoint:  δ = ε γ_c r̄_c;  g_γ = Σ ε ⊙ x̂,  g_β = Σ ε
//	tangent:  ẏ = ẋ γ_c r̄_c + γ̇_c x̂ + β̇_c
//
// Each direction is one device call per step (Device.BatchNormStats and
// BatchNormApply forward, BatchNormAdjoint backward), on x in place: no
// transpose. Training with fewer than two values per channel panics, as
// torch raises: the variance of one value is not an estimate.
func (tp *Tape) BatchNorm(x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, opt BatchNormOptions) *Var {
	if tp.skip(&batchNormOp, x, gamma, beta) {
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
	return tp.normalizeChannels(x, n, c, inner, gamma, beta, opt.Training, func(mean, rstd *tensor.Tensor) {
		dev := tp.dev
		if opt.Training {
			dev.BatchNormStats(x.value.Buffer(), n, c, inner, opt.Eps, mean.Buffer(), rstd.Buffer())
			if runningMean != nil {
				tp.updateRunning(runningMean, runningVar, mean, rstd, n*inner, opt)
			}
			return
		}
		// The running statistics, copied: a later training step on this
		// tape updates them in place before Backward reads these.
		dev.Scale(1, runningMean.Buffer(), mean.Buffer())
		dev.Fill(rstd.Buffer(), opt.Eps)
		dev.Binary(device.Add, runningVar.Buffer(), rstd.Buffer(), rstd.Buffer())
		dev.Unary(device.Sqrt, 0, rstd.Buffer(), rstd.Buffer())
		ones := tp.Temp(c)
		if ones.Valid() {
			dev.Fill(ones.Buffer(), 1)
			dev.Binary(device.Div, ones.Buffer(), rstd.Buffer(), rstd.Buffer())
		}
	})
}

// normalizeChannels records y = (x − μ_c) r_c γ_c + β_c for x viewed as
// [n, c, inner] (y has x's shape), the per-channel μ and r written by
// stats into two c-long temporaries; batchStats says whether they are the
// batch's own (the adjoint then differentiates through them) or
// constants. BatchNorm, GroupNorm and the per-channel affine map are this
// one node.
func (tp *Tape) normalizeChannels(x *Var, n, c, inner int, gamma, beta *Var, batchStats bool, stats func(mean, rstd *tensor.Tensor)) *Var {
	node, out := tp.Record(&batchNormOp, x.Shape(), x, gamma, beta)
	if tp.Failed() {
		return out
	}
	mean, rstd := tp.Temp(c), tp.Temp(c)
	if tp.Failed() {
		return out
	}
	if stats(mean, rstd); tp.Failed() {
		return out
	}
	tp.dev.BatchNormApply(x.value.Buffer(), n, c, inner, mean.Buffer(), rstd.Buffer(), bufferOf(gamma), bufferOf(beta), out.value.Buffer())
	node.Save(0, mean)
	node.Save(1, rstd)
	node.Int = [4]int{n, c, inner, 0}
	if batchStats {
		node.Int[3] = 1
	}
	return tp.Done(node)
}

var batchNormOp = Op{Name: "BatchNorm", Adjoint: batchNormAdjoint, Tangent: batchNormTangent}

func batchNormAdjoint(tp *Tape, nd *Node, eps *tensor.Tensor) {
	x, gamma, beta := nd.In[0], nd.In[1], nd.In[2]
	n, c, inner, batchStats := nd.Int[0], nd.Int[1], nd.Int[2], nd.Int[3] == 1
	mean, rstd := nd.Saved[0].Buffer(), nd.Saved[1].Buffer()
	var delta *tensor.Tensor
	if x.needsGrad {
		if delta = tp.Temp(x.Shape()...); !delta.Valid() {
			return
		}
	}
	gGamma, gBeta, b, apart, betaApart := tp.paramGradDests(gamma, beta)
	if apart != nil {
		tp.dev.BatchNormAdjoint(x.value.Buffer(), eps.Buffer(), n, c, inner, bufferOf(gamma), mean, rstd, batchStats, nil, nil, apart, betaApart)
	}
	var deltaBuf device.Buffer
	if delta != nil {
		deltaBuf = delta.Buffer()
	}
	tp.dev.BatchNormAdjoint(x.value.Buffer(), eps.Buffer(), n, c, inner, bufferOf(gamma), mean, rstd, batchStats, deltaBuf, gGamma, gBeta, b)
	if delta != nil {
		tp.Accumulate(x, delta)
	}
}

func batchNormTangent(tp *Tape, nd *Node) *tensor.Tensor {
	x, gamma, beta := nd.In[0], nd.In[1], nd.In[2]
	n, c, inner, batchStats := nd.Int[0], nd.Int[1], nd.Int[2], nd.Int[3] == 1
	mean, rstd := nd.Saved[0].Buffer(), nd.Saved[1].Buffer()
	t := tp.Temp(x.Shape()...)
	if !t.Valid() {
		return t
	}
	if x.hasTangent {
		tp.dev.BatchNormAdjoint(x.value.Buffer(), x.tangent.Buffer(), n, c, inner, bufferOf(gamma), mean, rstd, batchStats, t.Buffer(), nil, nil, 0)
	} else {
		tp.dev.Fill(t.Buffer(), 0)
	}
	gammaT, betaT := gamma != nil && gamma.hasTangent, beta != nil && beta.hasTangent
	if gammaT || betaT {
		// γ̇ x̂ + β̇: the forward map with the tangents as parameters (γ̇ = 0
		// where γ has none).
		u := tp.Temp(x.Shape()...)
		if !u.Valid() {
			return t
		}
		var dg, db device.Buffer
		if gammaT {
			dg = gamma.tangent.Buffer()
		} else {
			zero := tp.Temp(c)
			if !zero.Valid() {
				return t
			}
			tp.dev.Fill(zero.Buffer(), 0)
			dg = zero.Buffer()
		}
		if betaT {
			db = beta.tangent.Buffer()
		}
		tp.dev.BatchNormApply(x.value.Buffer(), n, c, inner, mean, rstd, dg, db, u.Buffer())
		tp.dev.Axpy(1, u.Buffer(), t.Buffer())
	}
	return t
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

// GroupNorm normalises each sample of x [N, C, …] over groups of C/G
// channels and applies the per-channel affine map with γ and β ([C] each,
// nil for 1 and 0), as torch's F.group_norm(x, G, γ, β, eps). With S the
// (C/G)·H·W values of sample n's group g:
//
//	forward:  x̂ = (x − μ_{n,g}) r_{n,g},  r = 1/√(σ² + ϵ) over S,  y = γ_c x̂ + β_c
//	adjoint:  g = ε γ_c;  δ = r (g − mean_S(g) − x̂ mean_S(g ⊙ x̂));
//	          g_γ = Σ_{n,…} ε ⊙ x̂,  g_β = Σ_{n,…} ε
//
// G = C is torch's InstanceNorm (with γ and β: affine=True), G = 1 a
// LayerNorm over (C, H, W) with per-channel γ and β. It is two nodes on
// BatchNorm's kernels: the normalisation of x viewed as [1, N·G, S], one
// "channel" per (sample, group), and the per-channel affine map (those
// kernels with the constants μ = 0 and r = 1). A group of one value
// normalises to 0, as in torch.
func (tp *Tape) GroupNorm(x *Var, groups int, gamma, beta *Var, eps float64) *Var {
	if tp.skip(&batchNormOp, x, gamma, beta) {
		return tp.failedVar()
	}
	shape := x.Shape()
	if len(shape) < 2 || groups < 1 || shape[1]%groups != 0 {
		panic(fmt.Sprintf("autograd: GroupNorm: input %v in %d groups: want [N, C, …] with C a multiple of the groups", shape, groups))
	}
	n, c := shape[0], shape[1]
	for _, p := range []*Var{gamma, beta} {
		if p != nil && (p.value.Dims() != 1 || p.value.Len() != c) {
			panic(fmt.Sprintf("autograd: GroupNorm: input %v and parameter %v: want [%d]", shape, p.Shape(), c))
		}
	}
	if !(eps > 0) {
		panic(fmt.Sprintf("autograd: GroupNorm: eps %v: want > 0", eps))
	}
	per := c / groups * product(shape[2:])
	xv := tp.Reshape(x, 1, n*groups, per)
	y := tp.normalizeChannels(xv, 1, n*groups, per, nil, nil, true, func(mean, rstd *tensor.Tensor) {
		tp.dev.BatchNormStats(xv.value.Buffer(), 1, n*groups, per, eps, mean.Buffer(), rstd.Buffer())
	})
	y = tp.Reshape(y, shape...)
	if gamma == nil && beta == nil {
		return y
	}
	return tp.normalizeChannels(y, n, c, product(shape[2:]), gamma, beta, false, func(mean, rstd *tensor.Tensor) {
		tp.dev.Fill(mean.Buffer(), 0)
		tp.dev.Fill(rstd.Buffer(), 1)
	})
}
