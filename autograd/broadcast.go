package autograd

import (
	"fmt"
	"slices"

	"github.com/adjoint-go/adjoint/tensor"
)

// BroadcastTo returns x repeated to shape by NumPy's and PyTorch's rules
// (torch.broadcast_to, as a new tensor rather than a strided view): shapes
// are aligned at their last dimension, x may have fewer dimensions, and
// each of x's dimensions equals the target's or is 1, which repeats it.
//
// Every broadcast the binary ops and users need in practice repeats x in a
// block of leading dimensions, a block of trailing ones, or both: a bias
// [N] or [1, N] over [K, N], a per-sample [K, 1] over [K, N], a scalar, a
// per-position [T, N] over [B, T, N], a per-channel [C, 1] over [B, C, L].
// With x's kept dimensions (those equal to the target's) forming one
// block of S elements between P repeats before and Q after, the target is
// viewed as [P, S, Q], and
//
//	forward:  z[p, s, q] = x[s]                 (rank-one products 1ₚ xᵀ, x 1_Qᵀ)
//	adjoint:  δ[s] = Σ_p Σ_q ε[p, s, q]          (SumRows over p, SumCols over q)
//	tangent:  the broadcast of ẋ
//
// A repeat between two kept dimensions ([K, 1, M] to [K, N, M]) panics
// with a message, as do shapes that do not broadcast.
func (tp *Tape) BroadcastTo(x *Var, shape ...int) *Var {
	return tp.broadcastTo("BroadcastTo", x, shape)
}

// broadcastTo is BroadcastTo with the name of the op that asked for it,
// for the panic messages.
func (tp *Tape) broadcastTo(op string, x *Var, shape []int) *Var {
	p, s, q := broadcastPlan(op, x.Shape(), shape)
	if p == 1 && q == 1 {
		return tp.Reshape(x, shape...) // only dimensions of 1 differ: a view
	}
	node, out := tp.Record(&broadcastOp, shape, x)
	if tp.Failed() {
		return out
	}
	node.Int[0], node.Int[1], node.Int[2] = p, s, q
	tp.broadcastInto(&out.value, &x.value, p, s, q)
	return tp.Done(node)
}

var broadcastOp = Op{
	Name: "BroadcastTo",
	Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
		dx, beta := tp.GradDest(n.In[0])
		if dx == nil {
			return
		}
		tp.sumInto(dx, beta, eps, n.Int[0], n.Int[1], n.Int[2])
	},
	Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
		t := tp.Temp(n.Out.Shape()...)
		if t.Valid() {
			tp.broadcastInto(t, &n.In[0].tangent, n.Int[0], n.Int[1], n.Int[2])
		}
		return t
	},
}

// SumTo returns x summed to shape, the reverse of BroadcastTo (torch's
// Tensor.sum_to_size): x must be the broadcast of a tensor of that shape,
// and every dimension that the broadcast would repeat is summed, keeping
// its length 1 where shape has it. Sums over leading dimensions (a batch:
// [K, N] to [N] or [1, N]) and over trailing ones (per sample: [K, N] to
// [K, 1]) and both at once are supported, as BroadcastTo's repeats are.
//
//	forward:  z[s] = Σ_p Σ_q x[p, s, q]
//	adjoint:  δ[p, s, q] = ε[s]         (BroadcastTo's forward)
//	tangent:  the sum of ẋ
func (tp *Tape) SumTo(x *Var, shape ...int) *Var {
	p, s, q := broadcastPlan("SumTo", shape, x.Shape())
	if p == 1 && q == 1 {
		return tp.Reshape(x, shape...)
	}
	node, out := tp.Record(&sumToOp, shape, x)
	if tp.Failed() {
		return out
	}
	node.Int[0], node.Int[1], node.Int[2] = p, s, q
	tp.sumInto(&out.value, 0, &x.value, p, s, q)
	return tp.Done(node)
}

var sumToOp = Op{
	Name: "SumTo",
	Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
		x := n.In[0]
		if !x.needsGrad {
			return
		}
		d := tp.Temp(x.Shape()...)
		if d.Valid() {
			tp.broadcastInto(d, eps, n.Int[0], n.Int[1], n.Int[2])
			tp.Accumulate(x, d)
		}
	},
	Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
		t := tp.Temp(n.Out.Shape()...)
		if t.Valid() {
			tp.sumInto(t, 0, &n.In[0].tangent, n.Int[0], n.Int[1], n.Int[2])
		}
		return t
	},
}

// sumInto writes dst [S] = β dst + Σ_p Σ_q x[p, s, q] for x viewed as
// [P, S, Q].
func (tp *Tape) sumInto(dst *tensor.Tensor, beta float64, x *tensor.Tensor, p, s, q int) {
	switch {
	case q == 1:
		tp.dev.SumRows(x.Buffer(), p, s, beta, dst.Buffer())
	case p == 1:
		tp.dev.SumCols(x.Buffer(), s, q, 1, beta, dst.Buffer())
	default:
		u := tp.Temp(s * q)
		if !u.Valid() {
			return
		}
		tp.dev.SumRows(x.Buffer(), p, s*q, 0, u.Buffer())
		tp.dev.SumCols(u.Buffer(), s, q, 1, beta, dst.Buffer())
	}
}

// broadcastInto writes dst [P, S, Q] = x[s] for every p and q, as rank-one
// Gemm products with the tape's ones, which every device has and which
// are exact (1·x + 0).
func (tp *Tape) broadcastInto(dst, x *tensor.Tensor, p, s, q int) {
	ones := tp.Ones(max(p, q)).Buffer()
	switch {
	case q == 1: // dst [P × S] = 1ₚ xᵀ
		tp.dev.Gemm(false, false, p, s, 1, 1, ones, 1, x.Buffer(), s, 0, dst.Buffer(), s)
	case p == 1: // dst [S × Q] = x 1_Qᵀ
		tp.dev.Gemm(false, false, s, q, 1, 1, x.Buffer(), 1, ones, q, 0, dst.Buffer(), q)
	default: // the [S × Q] block first, then P copies of it
		u := tp.Temp(s * q)
		if !u.Valid() {
			return
		}
		tp.dev.Gemm(false, false, s, q, 1, 1, x.Buffer(), 1, ones, q, 0, u.Buffer(), q)
		tp.dev.Gemm(false, false, p, s*q, 1, 1, ones, 1, u.Buffer(), s*q, 0, dst.Buffer(), s*q)
	}
}

// broadcastPlan checks that from broadcasts to shape and returns the
// target's view [P, S, Q]: P elements of repeats before the dimensions x
// keeps, S kept, Q repeats after. Dimensions of 1 in the target belong to
// either side.
func broadcastPlan(op string, from, shape []int) (p, s, q int) {
	bad := func(why string) {
		// Copies, so that the shapes do not escape on the path that does not panic.
		panic(fmt.Sprintf("autograd: %s: shape %v does not broadcast to %v: %s", op, slices.Clone(from), slices.Clone(shape), why))
	}
	if len(from) > len(shape) {
		bad("it has more dimensions")
	}
	off := len(shape) - len(from)
	first, last := -1, -1 // the first and last dimension x keeps (> 1)
	for i, d := range shape {
		if d < 0 {
			bad("negative dimension")
		}
		f := 1
		if i >= off {
			f = from[i-off]
		}
		switch {
		case f == d:
			if d != 1 {
				if first < 0 {
					first = i
				}
				last = i
			}
		case f != 1:
			bad(fmt.Sprintf("dimension %d is %d, not 1 or %d", i-off, f, d))
		}
	}
	p, s, q = 1, 1, 1
	for i, d := range shape {
		f := 1
		if i >= off {
			f = from[i-off]
		}
		switch {
		case first < 0 || i < first:
			p *= d
		case i > last:
			q *= d
		case f != d:
			bad(fmt.Sprintf("it repeats dimension %d, which lies between two it keeps; only repeats before and after the kept dimensions are supported", i))
		default:
			s *= d
		}
	}
	return p, s, q
}

// broadcastShapes returns the shape that a and b broadcast to by NumPy's
// rules, in buf (a tensor has at most MaxDims dimensions; the caller's
// array keeps a training step free of allocations), or panics naming op.
func broadcastShapes(op string, a, b []int, buf *[tensor.MaxDims]int) []int {
	n := max(len(a), len(b))
	out := buf[:n]
	for i := range n {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			panic(fmt.Sprintf("autograd: %s: shapes %v and %v do not broadcast (dimension %d of the result: %d against %d)", op, slices.Clone(a), slices.Clone(b), i, da, db))
		}
	}
	return out
}

// broadcastPair brings a and b to their common shape, recording a
// BroadcastTo for each one that needs it.
func (tp *Tape) broadcastPair(op string, a, b *Var) (*Var, *Var) {
	var buf [tensor.MaxDims]int
	shape := broadcastShapes(op, a.Shape(), b.Shape(), &buf)
	if !slices.Equal(a.Shape(), shape) {
		a = tp.broadcastTo(op, a, shape)
	}
	if !slices.Equal(b.Shape(), shape) {
		b = tp.broadcastTo(op, b, shape)
	}
	return a, b
}
