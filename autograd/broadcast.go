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
// Each run of repeated dimensions is one expansion [A, 1, C] → [A, R, C],
// A and C the elements before and after it, recorded as its own node, the
// innermost run first:
//
//	forward:  z[a, r, c] = x[a, c]
//	adjoint:  δ[a, c] = Σ_r ε[a, r, c]
//	tangent:  the expansion of ẋ
//
// A repeat in front (A = 1: a bias [N] over [K, N]) is one copy with a
// source stride of 0 forward and one SumRows backward; one at the back
// (C = 1: a per-sample [K, 1] over [K, N]) a rank-one GEMM with a vector
// of ones forward and one SumCols backward; one in the middle (a mask
// [B, 1, T] over [B, H, T]) min(A, R) strided copies forward and R copies
// and additions backward.
func (tp *Tape) BroadcastTo(x *Var, shape ...int) *Var {
	return tp.broadcastTo("BroadcastTo", x, shape)
}

// broadcastTo is BroadcastTo with the name of the op that asked for it,
// for the messages.
func (tp *Tape) broadcastTo(op string, x *Var, shape []int) *Var {
	if tp.skip(&expandOp, x) {
		return tp.failedVar()
	}
	var plan broadcastPlan
	plan.make(op, x.Shape(), shape)
	if plan.steps == 0 {
		return tp.Reshape(x, shape...) // only dimensions of 1 differ: a view
	}
	var buf [tensor.MaxDims]int
	for k := range plan.steps {
		out := shape
		if k < plan.steps-1 {
			out = plan.shapeAfter(k, shape, &buf)
		}
		x = tp.recordStep(&expandOp, x, plan.step[k], out)
	}
	return x
}

// SumTo returns x summed to shape, the reverse of BroadcastTo (torch's
// Tensor.sum_to_size): x's shape must be a broadcast of shape, and every
// dimension that the broadcast repeats is summed, keeping its length 1
// where shape has it ([K, N] to [N] sums a batch, to [K, 1] each sample).
// Each run of summed dimensions is one node, the outermost first:
//
//	forward:  z[a, c] = Σ_r x[a, r, c]
//	adjoint:  δ[a, r, c] = ε[a, c]
//	tangent:  the sum of ẋ
func (tp *Tape) SumTo(x *Var, shape ...int) *Var {
	if tp.skip(&reduceOp, x) {
		return tp.failedVar()
	}
	var plan broadcastPlan
	plan.make("SumTo", shape, x.Shape())
	if plan.steps == 0 {
		return tp.Reshape(x, shape...)
	}
	var buf [tensor.MaxDims]int
	full := x.Shape()
	for k := plan.steps - 1; k >= 0; k-- {
		out := shape
		if k > 0 {
			out = plan.shapeAfter(k-1, full, &buf)
		}
		x = tp.recordStep(&reduceOp, x, plan.step[k], out)
	}
	return x
}

// expandStep is one expansion [A, 1, C] → [A, R, C]; it repeats the
// dimensions [lo, hi) of the aligned target shape.
type expandStep struct{ a, r, c, lo int }

// broadcastPlan lists the expansions that take a shape to a target shape
// it broadcasts to, innermost first.
type broadcastPlan struct {
	from  [tensor.MaxDims]int // the shape, aligned with the target: 1s in front
	step  [tensor.MaxDims]expandStep
	steps int
}

// make checks that from broadcasts to the target shape to, or panics naming
// op, and plans the expansions.
func (pl *broadcastPlan) make(op string, from, to []int) {
	bad := func(why string) {
		// Copies, so that the shapes do not escape on the path that does not panic.
		panic(fmt.Sprintf("autograd: %s: shape %v does not broadcast to %v: %s", op, slices.Clone(from), slices.Clone(to), why))
	}
	if len(from) > len(to) {
		bad("it has more dimensions")
	}
	n, off := len(to), len(to)-len(from)
	for i := range n {
		f := 1
		if i >= off {
			f = from[i-off]
		}
		switch d := to[i]; {
		case d < 0:
			bad("negative dimension")
		case f != d && f != 1:
			bad(fmt.Sprintf("its dimension %d is %d, not 1 or %d", i-off, f, d))
		}
		pl.from[i] = f
	}
	// Runs of repeated dimensions (x has 1, the target more), from the
	// back; dimensions of 1 in the target repeat nothing and may sit in a
	// run or between two.
	repeated := func(i int) bool { return pl.from[i] == 1 && to[i] != 1 }
	for hi := n; hi > 0; {
		if !repeated(hi - 1) {
			hi--
			continue
		}
		lo := hi - 1
		for lo > 0 && (repeated(lo-1) || to[lo-1] == 1) {
			lo--
		}
		pl.step[pl.steps] = expandStep{a: product(pl.from[:lo]), r: product(to[lo:hi]), c: product(to[hi:]), lo: lo}
		pl.steps++
		hi = lo
	}
}

func product(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}

// shapeAfter writes, in buf, the shape after expansion k towards the
// target shape to: the dimensions before the run from the start, the
// target's from it on.
func (pl *broadcastPlan) shapeAfter(k int, to []int, buf *[tensor.MaxDims]int) []int {
	n, lo := len(to), pl.step[k].lo
	copy(buf[:lo], pl.from[:lo])
	copy(buf[lo:n], to[lo:])
	return buf[:n]
}

// recordStep records one expansion of x to shape (op expandOp) or one sum
// over its repeats (op reduceOp): both are the same step read either way.
func (tp *Tape) recordStep(op *Op, x *Var, st expandStep, shape []int) *Var {
	node, out := tp.Record(op, shape, x)
	if tp.Failed() {
		return out
	}
	node.Int[0], node.Int[1], node.Int[2] = st.a, st.r, st.c
	if op == &expandOp {
		tp.expandInto(&out.value, &x.value, st.a, st.r, st.c)
	} else {
		tp.reduceInto(&out.value, 0, &x.value, st.a, st.r, st.c)
	}
	return tp.Done(node)
}

var (
	expandOp = Op{
		Name: "BroadcastTo",
		Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
			if dx, beta := tp.GradDest(n.In[0]); dx != nil {
				tp.reduceInto(dx, beta, eps, n.Int[0], n.Int[1], n.Int[2])
			}
		},
		Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
			t := tp.Temp(n.Out.Shape()...)
			if t.Valid() {
				tp.expandInto(t, &n.In[0].tangent, n.Int[0], n.Int[1], n.Int[2])
			}
			return t
		},
	}
	reduceOp = Op{
		Name: "SumTo",
		Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
			x := n.In[0]
			if !x.needsGrad {
				return
			}
			if d := tp.Temp(x.Shape()...); d.Valid() {
				tp.expandInto(d, eps, n.Int[0], n.Int[1], n.Int[2])
				tp.Accumulate(x, d)
			}
		},
		Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
			t := tp.Temp(n.Out.Shape()...)
			if t.Valid() {
				tp.reduceInto(t, 0, &n.In[0].tangent, n.Int[0], n.Int[1], n.Int[2])
			}
			return t
		},
	}
)

// expandInto writes dst [A, R, C] = x [A, C] repeated along R. Copies are
// exact bit for bit; the rank-one product x 1ᵀ of a repeat at the back is
// exact but for the sign of a zero (0 + 1·(−0) = +0).
func (tp *Tape) expandInto(dst, x *tensor.Tensor, a, r, c int) {
	if dst.Len() == 0 {
		return
	}
	switch {
	case a == 1: // R copies of x (source stride 0), one call
		tp.dev.Copy2D(dst.Buffer(), 0, c, x.Buffer(), 0, 0, r, c)
	case c == 1: // dst [A × R] = x 1ᵀ: one call where copies would take R
		if ones := tp.Ones(r); ones.Valid() {
			tp.dev.Gemm(false, false, a, r, 1, 1, x.Buffer(), 1, ones.Buffer(), r, 0, dst.Buffer(), r)
		}
	case a <= r: // per a, R copies of row a of x (source stride 0)
		for i := range a {
			tp.dev.Copy2D(dst.Buffer(), i*r*c, c, x.Buffer(), i*c, 0, r, c)
		}
	default: // per r, all of x into its slot
		for j := range r {
			tp.dev.Copy2D(dst.Buffer(), j*c, r*c, x.Buffer(), 0, c, a, c)
		}
	}
}

// reduceInto writes dst [A, C] = β dst + Σ_r x[a, r, c].
func (tp *Tape) reduceInto(dst *tensor.Tensor, beta float64, x *tensor.Tensor, a, r, c int) {
	if dst.Len() == 0 {
		return
	}
	if x.Len() == 0 { // an empty sum
		if beta == 0 {
			tp.dev.Fill(dst.Buffer(), 0)
		}
		return
	}
	switch {
	case c == 1:
		tp.dev.SumCols(x.Buffer(), a, r, 1, beta, dst.Buffer())
	case a == 1:
		tp.dev.SumRows(x.Buffer(), r, c, beta, dst.Buffer())
	default:
		// Each slot r of x ([A × C], stride R·C) added in turn: into dst
		// directly when it is written (β = 0), else through a temporary.
		var t *tensor.Tensor
		for j := range r {
			if j == 0 && beta == 0 {
				tp.dev.Copy2D(dst.Buffer(), 0, c, x.Buffer(), 0, r*c, a, c)
				continue
			}
			if t == nil {
				if t = tp.Temp(a * c); !t.Valid() {
					return
				}
			}
			tp.dev.Copy2D(t.Buffer(), 0, c, x.Buffer(), j*c, r*c, a, c)
			tp.dev.Axpy(1, t.Buffer(), dst.Buffer())
		}
	}
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

// broadcastPair brings a and b to their common shape, recording the
// expansions of each one that needs them.
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
