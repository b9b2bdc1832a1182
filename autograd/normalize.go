package autograd

import (
	"fmt"

	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// LayerNorm normalises x over its last dimension (N features per row) and
// applies the affine map with γ and β ([N] each, nil for 1 and 0), as
// PyTorch's LayerNorm(N, eps): with μ and σ² the row's mean and biased
// variance and r = 1/√(σ² + ϵ),
//
//	forward:  x̂ = (x − μ) r,  y = x̂ ⊙ γ + β
//	adjoint:  g = ε ⊙ γ;  δ = r (g − mean(g) − x̂ mean(g ⊙ x̂));
//	          g_γ = Σ_k ε_k ⊙ x̂_k,  g_β = Σ_k ε_k
//	tangent:  ẏ = γ ⊙ r (ẋ − mean(ẋ) − x̂ mean(ẋ ⊙ x̂)) + x̂ ⊙ γ̇ + β̇
//
// The Jacobian of x ↦ x̂ is r (I − 11ᵀ/N − x̂x̂ᵀ/N), symmetric, so the
// tangent's middle factor is the adjoint's formula applied to ẋ.
func (tp *Tape) LayerNorm(x, gamma, beta *Var, eps float64) *Var {
	if tp.skip(&layerNormOp, x, gamma, beta) {
		return tp.failedVar()
	}
	cols := x.value.Cols()
	for _, p := range []*Var{gamma, beta} {
		if p != nil && (p.value.Dims() != 1 || p.value.Len() != cols) {
			panic(fmt.Sprintf("autograd: LayerNorm: input %v and parameter %v: want [%d]", x.Shape(), p.Shape(), cols))
		}
	}
	if !(eps > 0) {
		panic(fmt.Sprintf("autograd: LayerNorm: eps %v: want > 0", eps))
	}
	node, out := tp.Record(&layerNormOp, x.Shape(), x, gamma, beta)
	if tp.Failed() {
		return out
	}
	rows := x.value.Rows()
	mean, rstd := tp.Temp(rows), tp.Temp(rows)
	if tp.Failed() {
		return out
	}
	node.Save(0, mean)
	node.Save(1, rstd)
	node.Float = eps
	tp.dev.LayerNorm(x.value.Buffer(), rows, cols, bufferOf(gamma), bufferOf(beta), eps, out.value.Buffer(), mean.Buffer(), rstd.Buffer())
	return tp.Done(node)
}

// bufferOf is v's value buffer, nil for a nil v.
func bufferOf(v *Var) device.Buffer {
	if v == nil {
		return nil
	}
	return v.value.Buffer()
}

var layerNormOp = Op{Name: "LayerNorm", Adjoint: layerNormAdjoint, Tangent: layerNormTangent}

func layerNormAdjoint(tp *Tape, n *Node, eps *tensor.Tensor) {
	x, gamma, beta := n.In[0], n.In[1], n.In[2]
	rows, cols := x.value.Rows(), x.value.Cols()
	mean, rstd := n.Saved[0].Buffer(), n.Saved[1].Buffer()
	var delta *tensor.Tensor
	if x.needsGrad {
		if delta = tp.Temp(x.Shape()...); !delta.Valid() {
			return
		}
	}
	gGamma, gBeta, b, apart, betaApart := tp.paramGradDests(gamma, beta)
	if apart != nil {
		tp.dev.LayerNormAdjoint(x.value.Buffer(), eps.Buffer(), rows, cols, bufferOf(gamma), mean, rstd, nil, nil, apart, betaApart)
	}
	var deltaBuf device.Buffer
	if delta != nil {
		deltaBuf = delta.Buffer()
	}
	tp.dev.LayerNormAdjoint(x.value.Buffer(), eps.Buffer(), rows, cols, bufferOf(gamma), mean, rstd, deltaBuf, gGamma, gBeta, b)
	if delta != nil {
		tp.Accumulate(x, delta)
	}
}

// paramGradDests plans the kernel calls of a normalisation's adjoint,
// which write δ and the gradients of γ and β with one β (0: set, 1: add)
// per call: it returns the gradient buffers (nil where none is wanted)
// and the β of the main call and, when γ's and β's gradients need
// different βs, β's gradient apart (nil otherwise) with its own β, for a
// call of its own first.
func (tp *Tape) paramGradDests(gamma, beta *Var) (gGamma, gBeta device.Buffer, b float64, apart device.Buffer, betaApart float64) {
	gg, betaG := tp.GradDest(gamma)
	gb, betaB := tp.GradDest(beta)
	if gg != nil {
		gGamma = gg.Buffer()
	}
	if gb != nil {
		gBeta = gb.Buffer()
	}
	switch {
	case gGamma == nil:
		return nil, gBeta, betaB, nil, 0
	case gBeta != nil && betaG != betaB:
		return gGamma, nil, betaG, gBeta, betaB
	}
	return gGamma, gBeta, betaG, nil, 0
}

func layerNormTangent(tp *Tape, n *Node) *tensor.Tensor {
	x, gamma, beta := n.In[0], n.In[1], n.In[2]
	rows, cols := x.value.Rows(), x.value.Cols()
	t := tp.Temp(x.Shape()...)
	if !t.Valid() {
		return t
	}
	mean, rstd := n.Saved[0].Buffer(), n.Saved[1].Buffer()
	if x.hasTangent {
		// u = r (ẋ − mean(ẋ) − x̂ mean(ẋ ⊙ x̂)), then scaled by γ per column.
		u := t
		if gamma != nil {
			if u = tp.Temp(x.Shape()...); !u.Valid() {
				return t
			}
		}
		tp.dev.LayerNormAdjoint(x.value.Buffer(), x.tangent.Buffer(), rows, cols, nil, mean, rstd, u.Buffer(), nil, nil, 0)
		if gamma != nil {
			tp.scaleColumns(u, gamma.value.Buffer(), 0, t)
		}
	} else {
		tp.dev.Fill(t.Buffer(), 0)
	}
	if gamma != nil && gamma.hasTangent {
		// x̂ ⊙ γ̇: x̂ is the forward pass without the affine map.
		xhat, m2, r2 := tp.Temp(x.Shape()...), tp.Temp(rows), tp.Temp(rows)
		if tp.Failed() {
			return t
		}
		tp.dev.LayerNorm(x.value.Buffer(), rows, cols, nil, nil, n.Float, xhat.Buffer(), m2.Buffer(), r2.Buffer())
		tp.scaleColumns(xhat, gamma.tangent.Buffer(), 1, t)
	}
	if beta != nil && beta.hasTangent {
		tp.dev.BiasActivation(device.Identity, 0, t.Buffer(), rows, cols, beta.tangent.Buffer(), t.Buffer())
	}
	return t
}

// scaleColumns computes out = β out + in · diag(v) for a rows×cols in and a
// cols-long v, as one GEMM with the diagonal matrix (built by a strided
// copy into a zeroed cols×cols temporary); in and out must not overlap. It
// serves tangent rules, where clarity matters more than the cols² memory.
func (tp *Tape) scaleColumns(in *tensor.Tensor, v device.Buffer, beta float64, out *tensor.Tensor) {
	rows, cols := in.Rows(), in.Cols()
	diag := tp.Temp(cols, cols)
	if !diag.Valid() {
		return
	}
	tp.dev.Fill(diag.Buffer(), 0)
	tp.dev.Copy2D(diag.Buffer(), 0, cols+1, v, 0, 1, cols, 1)
	tp.dev.Gemm(false, false, rows, cols, cols, 1, in.Buffer(), cols, diag.Buffer(), cols, beta, out.Buffer(), cols)
}
