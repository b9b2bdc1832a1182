package autograd

import (
	"fmt"

	"github.com/adjoint-go/adjoint/tensor"
)

// Reshape returns x with a new shape of the same length (one dimension may
// be −1). It copies nothing: the output is a view of x.
//
//	adjoint:  δ = reshape(ε, shape of x)
//	tangent:  reshape(ẋ)
func (tp *Tape) Reshape(x *Var, shape ...int) *Var {
	if tp.skip(&reshapeOp, x) {
		return tp.failedVar()
	}
	var view tensor.Tensor
	x.value.ReshapeInto(&view, shape...) // panics with both shapes on mismatch
	node, _ := tp.recordView(&reshapeOp, &view, x)
	return tp.Done(node)
}

var reshapeOp = Op{
	Name: "Reshape",
	Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
		x := n.In[0]
		v := tp.tempArena.next()
		eps.ReshapeInto(v, x.Shape()...)
		tp.Accumulate(x, v)
	},
	Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
		v := tp.tempArena.next()
		n.In[0].tangent.ReshapeInto(v, n.Out.Shape()...)
		return v
	},
}

// Transpose returns x with its last two dimensions swapped, stored
// (torch's x.transpose(-2, -1).contiguous(), or x.mT): a matrix [m × n]
// becomes [n × m], a batch [b … × m × n] becomes [b … × n × m]. Where a
// transpose only feeds a product, MatMulT reads it transposed instead.
//
//	forward:  y[…, j, i] = x[…, i, j]
//	adjoint:  δ = ε transposed back
//	tangent:  ẋ transposed
func (tp *Tape) Transpose(x *Var) *Var {
	if tp.skip(&transposeOp, x) {
		return tp.failedVar()
	}
	d := len(x.Shape())
	if d < 2 {
		panic(fmt.Sprintf("autograd: Transpose: shape %v has fewer than two dimensions", x.Shape()))
	}
	return tp.swapAxis(x, d-2)
}

// SwapAxes returns x with axes a and b exchanged, stored: torch's
// x.transpose(a, b).contiguous(), such as the [B, T, H, d] → [B, H, T, d]
// of multi-head attention (SwapAxes(x, 1, 2)). Negative axes count from
// the end. Axes next to each other are one node, one Device.Transpose of
// blocks; others are a sequence of such swaps.
//
//	forward:  y = x with axes a and b exchanged
//	adjoint:  δ = ε with them exchanged back
//	tangent:  ẋ with them exchanged
func (tp *Tape) SwapAxes(x *Var, a, b int) *Var {
	if tp.skip(&transposeOp, x) {
		return tp.failedVar()
	}
	shape := x.Shape()
	a, b = normAxis("SwapAxes", shape, a), normAxis("SwapAxes", shape, b)
	if a > b {
		a, b = b, a
	}
	// Move axis a right to b, then the old axis b (now at b−1) left to a.
	for i := a; i < b; i++ {
		x = tp.swapAxis(x, i)
	}
	for i := b - 2; i >= a; i-- {
		x = tp.swapAxis(x, i)
	}
	return x
}

// swapAxis records the exchange of axes i and i+1 of x.
func (tp *Tape) swapAxis(x *Var, i int) *Var {
	var buf [tensor.MaxDims]int
	shape := append(buf[:0], x.Shape()...) // x.Shape() is x's own array
	shape[i], shape[i+1] = shape[i+1], shape[i]
	node, out := tp.Record(&transposeOp, shape, x)
	if tp.Failed() {
		return out
	}
	node.Int[0] = i
	tp.swapInto(x.Shape(), i, &x.value, &out.value)
	return tp.Done(node)
}

// swapInto writes x, of the given shape, with axes i and i+1 exchanged
// into y: a batch of [shape[i] × shape[i+1]] matrices of blocks.
func (tp *Tape) swapInto(shape []int, i int, x, y *tensor.Tensor) {
	tp.dev.Transpose(x.Buffer(), product(shape[:i]), shape[i], shape[i+1], product(shape[i+2:]), y.Buffer())
}

var transposeOp = Op{
	Name: "Transpose",
	Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
		x := n.In[0]
		if !x.needsGrad {
			return
		}
		d := tp.Temp(x.Shape()...)
		if d.Valid() {
			tp.swapInto(n.Out.Shape(), n.Int[0], eps, d)
			tp.Accumulate(x, d)
		}
	},
	Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
		t := tp.Temp(n.Out.Shape()...)
		if t.Valid() {
			tp.swapInto(n.In[0].Shape(), n.Int[0], &n.In[0].tangent, t)
		}
		return t
	},
}

// recordView records an op whose output is a view, not a new allocation.
func (tp *Tape) recordView(op *Op, view *tensor.Tensor, inputs ...*Var) (*Node, *Var) {
	n := tp.nodeArena.next()
	n.Op = op
	n.In = append(n.in[:0], inputs...)
	out := tp.varArena.next()
	n.Out = out
	out.value = *view
	for _, in := range inputs {
		out.needsGrad = out.needsGrad || in.needsGrad
	}
	if tp.noGrad > 0 {
		out.needsGrad = false
	}
	return n, out
}

// axisBlocks views a tensor as outer × (len(axis)·inner) for an axis: a
// slab along the axis is then a column block that Copy2D addresses.
func axisBlocks(shape []int, axis int) (outer, inner int) {
	outer, inner = 1, 1
	for i, d := range shape {
		switch {
		case i < axis:
			outer *= d
		case i > axis:
			inner *= d
		}
	}
	return outer, inner
}

func normAxis(op string, shape []int, axis int) int {
	if axis < 0 {
		axis += len(shape)
	}
	if axis < 0 || axis >= len(shape) {
		panic(fmt.Sprintf("autograd: %s: axis out of range for shape %v", op, shape))
	}
	return axis
}

// Concat joins xs along axis (−1 for the last). Fan-in of len(xs):
//
//	forward:  z = [x₀ | x₁ | …]
//	adjoint:  δᵢ = the block of ε that xᵢ filled
//	tangent:  [ẋ₀ | ẋ₁ | …]  (zeros where an input has no tangent)
func (tp *Tape) Concat(axis int, xs ...*Var) *Var {
	if tp.skip(&concatOp, xs...) {
		return tp.failedVar()
	}
	if len(xs) == 0 {
		panic("autograd: Concat of nothing")
	}
	first := xs[0].Shape()
	axis = normAxis("Concat", first, axis)
	shape := append([]int(nil), first...)
	total := 0
	for _, x := range xs {
		s := x.Shape()
		ok := len(s) == len(first)
		for i := range s {
			if ok && i != axis && s[i] != first[i] {
				ok = false
			}
		}
		if !ok {
			panic(fmt.Sprintf("autograd: Concat along axis %d: shapes %v and %v", axis, first, s))
		}
		total += s[axis]
	}
	shape[axis] = total
	node, out := tp.Record(&concatOp, shape, xs...)
	if tp.Failed() {
		return out
	}
	node.Int[0] = axis
	concatInto(tp, &out.value, axis, xs, func(x *Var) *tensor.Tensor { return &x.value })
	return tp.Done(node)
}

// concatInto copies each part into its block of dst.
func concatInto(tp *Tape, dst *tensor.Tensor, axis int, xs []*Var, part func(*Var) *tensor.Tensor) {
	outer, inner := axisBlocks(dst.Shape(), axis)
	ld := dst.Dim(axis) * inner
	off := 0
	for _, x := range xs {
		w := x.value.Dim(axis) * inner
		if p := part(x); p != nil {
			tp.dev.Copy2D(dst.Buffer(), off, ld, p.Buffer(), 0, w, outer, w)
		}
		off += w
	}
}

var concatOp = Op{
	Name: "Concat",
	Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
		axis := n.Int[0]
		outer, inner := axisBlocks(eps.Shape(), axis)
		ld := eps.Dim(axis) * inner
		off := 0
		for _, x := range n.In {
			w := x.value.Dim(axis) * inner
			if x.needsGrad {
				d := tp.Temp(x.Shape()...)
				if d.Valid() {
					tp.dev.Copy2D(d.Buffer(), 0, w, eps.Buffer(), off, ld, outer, w)
					tp.Accumulate(x, d)
				}
			}
			off += w
		}
	},
	Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
		t := tp.zeroTemp(n.Out.Shape())
		if t.Valid() {
			concatInto(tp, t, n.Int[0], n.In, func(x *Var) *tensor.Tensor {
				if x.hasTangent {
					return &x.tangent
				}
				return nil
			})
		}
		return t
	},
}

// Slice returns the elements lo ≤ i < hi of x along axis (−1 for the last).
//
//	adjoint:  δ = ε placed in the slab lo…hi of a zero tensor shaped like x
//	tangent:  ẋ[lo:hi] along axis
func (tp *Tape) Slice(x *Var, axis, lo, hi int) *Var {
	if tp.skip(&sliceOp, x) {
		return tp.failedVar()
	}
	s := x.Shape()
	axis = normAxis("Slice", s, axis)
	if lo < 0 || hi > s[axis] || lo > hi {
		panic(fmt.Sprintf("autograd: Slice [%d:%d] along axis %d of shape %v", lo, hi, axis, s))
	}
	shape := append([]int(nil), s...)
	shape[axis] = hi - lo
	node, out := tp.Record(&sliceOp, shape, x)
	if tp.Failed() {
		return out
	}
	node.Int[0], node.Int[1] = axis, lo
	sliceCopy(tp, &out.value, &x.value, axis, lo)
	return tp.Done(node)
}

// sliceCopy copies the slab of src starting at lo along axis into dst.
func sliceCopy(tp *Tape, dst, src *tensor.Tensor, axis, lo int) {
	outer, inner := axisBlocks(src.Shape(), axis)
	w := dst.Dim(axis) * inner
	tp.dev.Copy2D(dst.Buffer(), 0, w, src.Buffer(), lo*inner, src.Dim(axis)*inner, outer, w)
}

var sliceOp = Op{
	Name: "Slice",
	Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
		x := n.In[0]
		d := tp.zeroTemp(x.Shape())
		if !d.Valid() {
			return
		}
		axis, lo := n.Int[0], n.Int[1]
		outer, inner := axisBlocks(x.Shape(), axis)
		w := eps.Dim(axis) * inner
		tp.dev.Copy2D(d.Buffer(), lo*inner, x.value.Dim(axis)*inner, eps.Buffer(), 0, w, outer, w)
		tp.Accumulate(x, d)
	},
	Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
		t := tp.Temp(n.Out.Shape()...)
		if t.Valid() {
			sliceCopy(tp, t, &n.In[0].tangent, n.Int[0], n.Int[1])
		}
		return t
	},
}

// Split cuts x along axis into consecutive parts of the given sizes, which
// must add up to the axis length. Each part is a Slice; their adjoints add
// into x's gradient (fan-out).
func (tp *Tape) Split(x *Var, axis int, sizes ...int) []*Var {
	if tp.skip(&sliceOp, x) {
		out := make([]*Var, len(sizes))
		for i := range out {
			out[i] = tp.failedVar()
		}
		return out
	}
	s := x.Shape()
	ax := normAxis("Split", s, axis)
	total := 0
	for _, n := range sizes {
		total += n
	}
	if total != s[ax] {
		panic(fmt.Sprintf("autograd: Split of axis %d (length %d) of shape %v into sizes %v", ax, s[ax], s, sizes))
	}
	parts := make([]*Var, len(sizes))
	lo := 0
	for i, n := range sizes {
		parts[i] = tp.Slice(x, ax, lo, lo+n)
		lo += n
	}
	return parts
}
