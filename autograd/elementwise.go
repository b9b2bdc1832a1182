package autograd

import (
	"fmt"

	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// binary records a ∘ b, broadcasting a and b to their common shape first
// when they differ (see BroadcastTo).
func (tp *Tape) binary(op *Op, bop device.BinaryOp, a, b *Var) *Var {
	if tp.skip(op, a, b) {
		return tp.failedVar()
	}
	if !a.value.SameShape(&b.value) {
		a, b = tp.broadcastPair(op.Name, a, b)
	}
	node, out := tp.Record(op, a.Shape(), a, b)
	if tp.Failed() {
		return out
	}
	tp.dev.Binary(bop, a.value.Buffer(), b.value.Buffer(), out.value.Buffer())
	return tp.Done(node)
}

// Add returns a + b. Add, Sub, Mul and Div broadcast as PyTorch's do:
// operands of different shapes are first brought to their common shape by
// BroadcastTo (a bias [N] over [K, N], a per-sample [K, 1] over [K, N], a
// scalar), whose adjoint sums ε back over the repeats. Fan-in of two:
//
//	adjoint:  δ_a = ε,  δ_b = ε
//	tangent:  ȧ + ḃ
func (tp *Tape) Add(a, b *Var) *Var { return tp.binary(&addOp, device.Add, a, b) }

// Sub returns a − b.
//
//	adjoint:  δ_a = ε,  δ_b = −ε
//	tangent:  ȧ − ḃ
func (tp *Tape) Sub(a, b *Var) *Var { return tp.binary(&subOp, device.Sub, a, b) }

// Mul returns the elementwise product a ⊙ b.
//
//	adjoint:  δ_a = ε ⊙ b,  δ_b = ε ⊙ a
//	tangent:  ȧ ⊙ b + a ⊙ ḃ
func (tp *Tape) Mul(a, b *Var) *Var { return tp.binary(&mulOp, device.Mul, a, b) }

// Div returns the elementwise quotient a ⊘ b.
//
//	adjoint:  δ_a = ε ⊘ b,  δ_b = −ε ⊙ a ⊘ b² = −ε ⊙ c ⊘ b
//	tangent:  ȧ ⊘ b − c ⊙ ḃ ⊘ b
func (tp *Tape) Div(a, b *Var) *Var { return tp.binary(&divOp, device.Div, a, b) }

// Dropout returns m ⊙ x for the mask m of device.DropoutMask(p, seed,
// offset): each element of x zeroed with probability p, the others scaled
// by 1/(1−p), as torch.nn.functional.dropout in training. The mask is
// drawn on the device (no host copy; on a GPU nothing waits) and is a
// function of (p, seed, offset) alone, the same on every device. It is a
// constant factor, so the node is Mul's:
//
//	adjoint:  δ = m ⊙ ε
//	tangent:  m ⊙ ẋ
//
// The mask takes device.DropoutBlocks(n) counters from offset for an x of
// n elements: a caller that draws again under the same seed advances
// offset by as much, as nn.Dropout does. It panics when p is not in [0, 1].
func (tp *Tape) Dropout(x *Var, p float64, seed, offset uint64) *Var {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("autograd: Dropout: p = %v, want it in [0, 1]", p))
	}
	if tp.skip(&mulOp, x) {
		return tp.failedVar()
	}
	mask := tp.Temp(x.Shape()...)
	if !mask.Valid() {
		return tp.failedVar()
	}
	tp.dev.DropoutMask(mask.Buffer(), p, seed, offset)
	return tp.Mul(x, tp.Input(mask, false))
}

var (
	addOp = Op{Name: "Add", Adjoint: addSubAdjoint(1), Tangent: addSubTangent(1)}
	subOp = Op{Name: "Sub", Adjoint: addSubAdjoint(-1), Tangent: addSubTangent(-1)}
	mulOp = Op{Name: "Mul", Adjoint: mulAdjoint, Tangent: mulTangent}
	divOp = Op{Name: "Div", Adjoint: divAdjoint, Tangent: divTangent}
)

// addScaled adds s·ε into v's gradient. A first contribution of ε itself
// (s = 1) becomes v's gradient without a copy, shared with the node's
// output and copied on a later addition (Accumulate), so both inputs of
// x + y may adopt the same ε.
func (tp *Tape) addScaled(v *Var, s float64, eps *tensor.Tensor) {
	if s == 1 {
		tp.Accumulate(v, eps) // the adjoint of an identity: ε passes through
		return
	}
	if dst, beta := tp.GradDest(v); dst != nil {
		if beta == 0 {
			tp.dev.Scale(s, eps.Buffer(), dst.Buffer())
		} else {
			tp.dev.Axpy(s, eps.Buffer(), dst.Buffer())
		}
	}
}

func addSubAdjoint(sign float64) func(*Tape, *Node, *tensor.Tensor) {
	return func(tp *Tape, n *Node, eps *tensor.Tensor) {
		tp.addScaled(n.In[0], 1, eps)
		tp.addScaled(n.In[1], sign, eps)
	}
}

func addSubTangent(sign float64) func(*Tape, *Node) *tensor.Tensor {
	return func(tp *Tape, n *Node) *tensor.Tensor {
		t := tp.zeroTemp(n.Out.Shape())
		if !t.Valid() {
			return t
		}
		if a := n.In[0]; a.hasTangent {
			tp.dev.Axpy(1, a.tangent.Buffer(), t.Buffer())
		}
		if b := n.In[1]; b.hasTangent {
			tp.dev.Axpy(sign, b.tangent.Buffer(), t.Buffer())
		}
		return t
	}
}

func (tp *Tape) zeroTemp(shape []int) *tensor.Tensor {
	t := tp.Temp(shape...)
	if t.Valid() {
		tp.dev.Fill(t.Buffer(), 0)
	}
	return t
}

// product returns x ⊙ y (or x ⊘ y) as a temporary.
func (tp *Tape) product(op device.BinaryOp, x, y *tensor.Tensor) *tensor.Tensor {
	t := tp.Temp(x.Shape()...)
	if t.Valid() {
		tp.dev.Binary(op, x.Buffer(), y.Buffer(), t.Buffer())
	}
	return t
}

func mulAdjoint(tp *Tape, n *Node, eps *tensor.Tensor) {
	a, b := n.In[0], n.In[1]
	if a.needsGrad {
		tp.Accumulate(a, tp.product(device.Mul, eps, &b.value))
	}
	if b.needsGrad {
		tp.Accumulate(b, tp.product(device.Mul, eps, &a.value))
	}
}

func mulTangent(tp *Tape, n *Node) *tensor.Tensor {
	a, b := n.In[0], n.In[1]
	t := tp.zeroTemp(n.Out.Shape())
	if a.hasTangent {
		tp.axpy(1, tp.product(device.Mul, &a.tangent, &b.value), t)
	}
	if b.hasTangent {
		tp.axpy(1, tp.product(device.Mul, &a.value, &b.tangent), t)
	}
	return t
}

// axpy adds αx into y, both tape temporaries, unless one could not be
// allocated (the tape then holds the error).
func (tp *Tape) axpy(alpha float64, x, y *tensor.Tensor) {
	if x.Valid() && y.Valid() {
		tp.dev.Axpy(alpha, x.Buffer(), y.Buffer())
	}
}

func divAdjoint(tp *Tape, n *Node, eps *tensor.Tensor) {
	a, b := n.In[0], n.In[1]
	q := tp.product(device.Div, eps, &b.value) // ε ⊘ b
	if !q.Valid() {
		return
	}
	if a.needsGrad {
		tp.Accumulate(a, q)
	}
	if b.needsGrad {
		d := tp.product(device.Mul, q, &n.Out.value) // ε ⊙ c ⊘ b
		if !d.Valid() {
			return
		}
		tp.dev.Scale(-1, d.Buffer(), d.Buffer())
		tp.Accumulate(b, d)
	}
}

func divTangent(tp *Tape, n *Node) *tensor.Tensor {
	a, b := n.In[0], n.In[1]
	t := tp.zeroTemp(n.Out.Shape())
	if a.hasTangent {
		tp.axpy(1, tp.product(device.Div, &a.tangent, &b.value), t)
	}
	if b.hasTangent {
		if cb := tp.product(device.Mul, &n.Out.value, &b.tangent); cb.Valid() {
			tp.axpy(-1, tp.product(device.Div, cb, &b.value), t)
		}
	}
	return t
}

// Scale returns αa.
//
//	adjoint:  δ = αε
//	tangent:  αȧ
func (tp *Tape) Scale(a *Var, alpha float64) *Var {
	node, out := tp.Record(&scaleOp, a.Shape(), a)
	if tp.Failed() {
		return out
	}
	node.Float = alpha
	tp.dev.Scale(alpha, a.value.Buffer(), out.value.Buffer())
	return tp.Done(node)
}

var scaleOp = Op{
	Name: "Scale",
	Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
		tp.addScaled(n.In[0], n.Float, eps)
	},
	Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
		t := tp.Temp(n.Out.Shape()...)
		if t.Valid() {
			tp.dev.Scale(n.Float, n.In[0].tangent.Buffer(), t.Buffer())
		}
		return t
	},
}

// Apply returns f(x) elementwise for any device.UnaryOp, with torch's
// default parameter for the functions that take one (f.DefaultParam:
// LeakyReLU's slope 0.01, ELU's α = 1). The Jacobian is diagonal,
// diag(f'(x)), hence self-adjoint: the adjoint and the tangent are the
// same product.
//
//	adjoint:  δ = f'(x) ⊙ ε
//	tangent:  f'(x) ⊙ ẋ
func (tp *Tape) Apply(f device.UnaryOp, x *Var) *Var {
	return tp.ApplyParam(f, f.DefaultParam(), x)
}

// ApplyParam is Apply with the function's parameter p given (see
// device.UnaryOp; functions without one ignore it).
func (tp *Tape) ApplyParam(f device.UnaryOp, p float64, x *Var) *Var {
	node, out := tp.Record(&unaryOps[f], x.Shape(), x)
	if tp.Failed() {
		return out
	}
	node.Int[0] = int(f)
	node.Float = p
	tp.dev.Unary(f, p, x.value.Buffer(), out.value.Buffer())
	return tp.Done(node)
}

// LeakyReLU returns x where x > 0 and slope·x elsewhere (F.leaky_relu).
func (tp *Tape) LeakyReLU(x *Var, slope float64) *Var {
	return tp.ApplyParam(device.LeakyReLU, slope, x)
}

// ELU returns x where x > 0 and α(eˣ − 1) elsewhere (F.elu).
func (tp *Tape) ELU(x *Var, alpha float64) *Var { return tp.ApplyParam(device.ELU, alpha, x) }

// ReLU returns max(x, 0).
func (tp *Tape) ReLU(x *Var) *Var { return tp.Apply(device.ReLU, x) }

// Sigmoid returns 1/(1+e⁻ˣ).
func (tp *Tape) Sigmoid(x *Var) *Var { return tp.Apply(device.Sigmoid, x) }

// Tanh returns tanh x.
func (tp *Tape) Tanh(x *Var) *Var { return tp.Apply(device.Tanh, x) }

// Exp returns eˣ.
func (tp *Tape) Exp(x *Var) *Var { return tp.Apply(device.Exp, x) }

// Log returns ln x.
func (tp *Tape) Log(x *Var) *Var { return tp.Apply(device.Log, x) }

// unaryOps holds one Op per device.UnaryOp so that node names say which.
var unaryOps = func() []Op {
	ops := make([]Op, len(device.UnaryOps()))
	for i, f := range device.UnaryOps() {
		ops[i] = Op{Name: f.String(), Adjoint: unaryAdjoint, Tangent: unaryTangent}
	}
	return ops
}()

func unaryDiag(tp *Tape, n *Node, v *tensor.Tensor) *tensor.Tensor {
	t := tp.Temp(n.Out.Shape()...)
	if t.Valid() {
		tp.dev.UnaryAdjoint(device.UnaryOp(n.Int[0]), n.Float, n.In[0].value.Buffer(), n.Out.value.Buffer(), v.Buffer(), t.Buffer())
	}
	return t
}

func unaryAdjoint(tp *Tape, n *Node, eps *tensor.Tensor) {
	tp.Accumulate(n.In[0], unaryDiag(tp, n, eps))
}

func unaryTangent(tp *Tape, n *Node) *tensor.Tensor {
	return unaryDiag(tp, n, &n.In[0].tangent)
}
