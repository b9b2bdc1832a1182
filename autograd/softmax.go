package autograd

import (
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// Softmax returns softmax over the last axis: s = exp(x − lse(x)) per row.
// Its Jacobian diag(s) − s sᵀ is symmetric, so adjoint and tangent coincide.
//
//	adjoint:  δ = s ⊙ (ε − ⟨ε, s⟩)
//	tangent:  s ⊙ (ẋ − ⟨ẋ, s⟩)
func (tp *Tape) Softmax(x *Var) *Var {
	node, out := tp.Record(&softmaxOp, x.Shape(), x)
	if tp.Failed() {
		return out
	}
	tp.dev.Softmax(x.value.Buffer(), x.value.Rows(), x.value.Cols(), out.value.Buffer())
	return tp.Done(node)
}

var softmaxOp = Op{
	Name: "Softmax",
	Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
		tp.Accumulate(n.In[0], softmaxVJP(tp, n, eps))
	},
	Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
		return softmaxVJP(tp, n, &n.In[0].tangent)
	},
}

func softmaxVJP(tp *Tape, n *Node, v *tensor.Tensor) *tensor.Tensor {
	y := &n.Out.value
	t := tp.Temp(y.Shape()...)
	if t.Valid() {
		tp.dev.SoftmaxAdjoint(y.Buffer(), v.Buffer(), y.Rows(), y.Cols(), t.Buffer())
	}
	return t
}

// LogSoftmax returns ℓ = x − lse(x) over the last axis, the stable form of
// log(softmax(x)). With s = exp(ℓ), its Jacobian is I − 1sᵀ per row.
//
//	adjoint:  δ = ε − s Σε
//	tangent:  ẋ − ⟨s, ẋ⟩ 1
func (tp *Tape) LogSoftmax(x *Var) *Var {
	node, out := tp.Record(&logSoftmaxOp, x.Shape(), x)
	if tp.Failed() {
		return out
	}
	tp.dev.LogSoftmax(x.value.Buffer(), x.value.Rows(), x.value.Cols(), out.value.Buffer())
	return tp.Done(node)
}

var logSoftmaxOp = Op{Name: "LogSoftmax", Adjoint: logSoftmaxAdjoint, Tangent: logSoftmaxTangent}

func logSoftmaxAdjoint(tp *Tape, n *Node, eps *tensor.Tensor) {
	y := &n.Out.value
	t := tp.Temp(y.Shape()...)
	if t.Valid() {
		tp.dev.LogSoftmaxAdjoint(y.Buffer(), eps.Buffer(), y.Rows(), y.Cols(), t.Buffer())
	}
	tp.Accumulate(n.In[0], t)
}

func logSoftmaxTangent(tp *Tape, n *Node) *tensor.Tensor {
	y, dx := &n.Out.value, &n.In[0].tangent
	rows, cols := y.Rows(), y.Cols()
	s := tp.Temp(rows, cols)
	r := tp.Temp(rows)
	t := tp.Temp(rows, cols)
	ones := tp.Ones(cols)
	if !s.Valid() || !r.Valid() || !t.Valid() || !ones.Valid() {
		return tp.tempArena.next() // invalid: the tape holds the allocation's error
	}
	d := tp.dev
	d.Unary(device.Exp, 0, y.Buffer(), s.Buffer())
	d.Binary(device.Mul, s.Buffer(), dx.Buffer(), s.Buffer())
	d.SumCols(s.Buffer(), rows, cols, 1, 0, r.Buffer()) // rᵢ = ⟨sᵢ, ẋᵢ⟩
	t.CopyFrom(dx)
	// t −= r 1ᵀ: a rank-one update broadcasts r across the columns.
	d.Gemm(false, false, rows, cols, 1, -1, r.Buffer(), 1, ones.Buffer(), cols, 1, t.Buffer(), cols)
	return t
}
