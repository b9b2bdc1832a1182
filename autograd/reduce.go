package autograd

import (
	"github.com/adjoint-go/adjoint/tensor"
)

// Sum returns the scalar Σᵢ xᵢ over all elements.
//
//	adjoint:  δ = ε 1          (ε is a scalar, broadcast on the device)
//	tangent:  Σᵢ ẋᵢ
func (tp *Tape) Sum(x *Var) *Var { return tp.sumScaled(&sumOp, x, 1) }

// Mean returns the scalar (1/n) Σᵢ xᵢ over all n elements.
//
//	adjoint:  δ = (ε/n) 1
//	tangent:  (1/n) Σᵢ ẋᵢ
func (tp *Tape) Mean(x *Var) *Var {
	return tp.sumScaled(&meanOp, x, 1/float64(max(x.value.Len(), 1)))
}

var (
	sumOp  = Op{Name: "Sum", Adjoint: sumAdjoint, Tangent: sumTangent}
	meanOp = Op{Name: "Mean", Adjoint: sumAdjoint, Tangent: sumTangent}
)

func (tp *Tape) sumScaled(op *Op, x *Var, scale float64) *Var {
	node, out := tp.Record(op, nil, x)
	if tp.Failed() {
		return out
	}
	node.Float = scale
	tp.dev.SumCols(x.value.Buffer(), 1, x.value.Len(), scale, 0, out.value.Buffer())
	return tp.Done(node)
}

// broadcastScalar writes dst = β dst + α s 1 for a one-element device tensor
// s, as the rank-one product 1·s, so the value never visits the host.
func (tp *Tape) broadcastScalar(alpha float64, s *tensor.Tensor, beta float64, dst *tensor.Tensor) {
	n := dst.Len()
	if ones := tp.Ones(n); ones.Valid() { // else the tape holds the allocation's error
		tp.dev.Gemm(false, false, n, 1, 1, alpha, ones.Buffer(), 1, s.Buffer(), 1, beta, dst.Buffer(), 1)
	}
}

func sumAdjoint(tp *Tape, n *Node, eps *tensor.Tensor) {
	dx, beta := tp.GradDest(n.In[0])
	switch {
	case dx == nil:
	case tp.UnitSeed(n.Out) && beta == 0:
		tp.dev.Fill(dx.Buffer(), n.Float) // ε = 1: δ = (scale)·1
	default:
		tp.broadcastScalar(n.Float, eps, beta, dx)
	}
}

func sumTangent(tp *Tape, n *Node) *tensor.Tensor {
	x := n.In[0]
	t := tp.Temp()
	if t.Valid() {
		tp.dev.SumCols(x.tangent.Buffer(), 1, x.value.Len(), n.Float, 0, t.Buffer())
	}
	return t
}
