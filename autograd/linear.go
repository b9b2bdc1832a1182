package autograd

import (
	"fmt"
	"slices"

	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// MatMul returns C = A B for A [m × k] and B [k × n].
//
//	forward:  C = A B
//	adjoint:  δ_A = ε Bᵀ,  δ_B = Aᵀ ε
//	tangent:  Ċ = Ȧ B + A Ḃ
func (tp *Tape) MatMul(a, b *Var) *Var { return tp.MatMulT(a, b, false, false) }

// MatMulT returns C = op(A) op(B), where op(X) is Xᵀ when its flag is set
// and X otherwise (torch's a.T @ b, a @ b.T): the GEMM reads the operands
// transposed, and no transpose is ever stored. With op(A) [m × k] and
// op(B) [k × n]:
//
//	forward:  C = op(A) op(B)
//	adjoint:  δ_A = ε op(B)ᵀ, or its transpose op(B) εᵀ when A is transposed
//	          δ_B = op(A)ᵀ ε, or its transpose εᵀ op(A) when B is transposed
//	tangent:  Ċ = op(Ȧ) op(B) + op(A) op(Ḃ)
//
// Operands of more than two dimensions are batches of matrices over their
// last two, torch.bmm's and torch.matmul's: A [b… × m × k] and B [b… × k ×
// n] with the same leading dimensions b… give C [b… × m × n], one strided
// batched GEMM (Device.GemmStrided) per product, with the transposes
// applying to each matrix (q @ k.transpose(-2, -1) is MatMulT(q, k, false,
// true)). A weight shared by a batch is a 2-D product: reshape the batch
// to [b·m × k] first.
func (tp *Tape) MatMulT(a, b *Var, transA, transB bool) *Var {
	if tp.skip(&matMulOp, a, b) {
		return tp.failedVar()
	}
	as, bs := a.Shape(), b.Shape()
	if len(as) < 2 || len(as) != len(bs) || !slices.Equal(as[:len(as)-2], bs[:len(bs)-2]) {
		panic(fmt.Sprintf("autograd: MatMul: shapes %v and %v do not multiply: want two matrices, or two batches of matrices with the same leading dimensions", as, bs))
	}
	A, B := matOf(&a.value, transA), matOf(&b.value, transB)
	if A.opCols() != B.opRows() {
		panic(fmt.Sprintf("autograd: MatMul: shapes %v%s and %v%s do not multiply", as, A.suffix(), bs, B.suffix()))
	}
	var buf [tensor.MaxDims]int
	shape := append(append(buf[:0], as[:len(as)-2]...), A.opRows(), B.opCols())
	node, out := tp.Record(&matMulOp, shape, a, b)
	if tp.Failed() {
		return out
	}
	node.Int[0], node.Int[1] = boolInt(transA), boolInt(transB)
	tp.gemm(A, B, 0, &out.value)
	return tp.Done(node)
}

var matMulOp = Op{Name: "MatMul", Adjoint: matMulAdjoint, Tangent: matMulTangent}

// mat is a row-major matrix as a GEMM operand: op(X) is X, or Xᵀ when t;
// with batch > 1, a batch of such matrices stored one after another.
type mat struct {
	x          *tensor.Tensor
	rows, cols int // as stored
	t          bool
	batch      int // 0 or 1: one matrix
}

// matOf views x, of two or more dimensions, as a batch of matrices over
// its last two.
func matOf(x *tensor.Tensor, t bool) mat {
	shape := x.Shape()
	d := len(shape)
	return mat{x, shape[d-2], shape[d-1], t, product(shape[:d-2])}
}

// flip is the operand Xᵀ of the same storage: op(flip(X)) = op(X)ᵀ.
func (m mat) flip() mat { m.t = !m.t; return m }

func (m mat) opRows() int {
	if m.t {
		return m.cols
	}
	return m.rows
}

func (m mat) opCols() int {
	if m.t {
		return m.rows
	}
	return m.cols
}

func (m mat) suffix() string {
	if m.t {
		return "ᵀ"
	}
	return ""
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// gemm writes c = op(x) op(y) + βc, c row-major with op(x)'s rows and
// op(y)'s columns, for each matrix of a batch (x and y have the same
// batch). An empty inner dimension is an empty sum: c = βc.
func (tp *Tape) gemm(x, y mat, beta float64, c *tensor.Tensor) {
	m, k, n := x.opRows(), x.opCols(), y.opCols()
	if m == 0 || n == 0 || x.batch == 0 {
		return
	}
	if k == 0 {
		if beta == 0 {
			tp.dev.Fill(c.Buffer(), 0)
		}
		return
	}
	if x.batch > 1 {
		tp.dev.GemmStrided(x.t, y.t, x.batch, m, n, k, 1, x.x.Buffer(), x.cols, x.rows*x.cols,
			y.x.Buffer(), y.cols, y.rows*y.cols, beta, c.Buffer(), n, m*n)
		return
	}
	tp.dev.Gemm(x.t, y.t, m, n, k, 1, x.x.Buffer(), x.cols, y.x.Buffer(), y.cols, beta, c.Buffer(), n)
}

func matMulAdjoint(tp *Tape, n *Node, eps *tensor.Tensor) {
	a, b := n.In[0], n.In[1]
	A, B := matOf(&a.value, n.Int[0] == 1), matOf(&b.value, n.Int[1] == 1)
	E := mat{eps, A.opRows(), B.opCols(), false, A.batch}
	if da, beta := tp.GradDest(a); da != nil {
		if A.t {
			tp.gemm(B, E.flip(), beta, da) // (ε op(B)ᵀ)ᵀ = op(B) εᵀ
		} else {
			tp.gemm(E, B.flip(), beta, da)
		}
	}
	if db, beta := tp.GradDest(b); db != nil {
		if B.t {
			tp.gemm(E.flip(), A, beta, db) // (op(A)ᵀ ε)ᵀ = εᵀ op(A)
		} else {
			tp.gemm(A.flip(), E, beta, db)
		}
	}
}

func matMulTangent(tp *Tape, n *Node) *tensor.Tensor {
	a, b := n.In[0], n.In[1]
	A, B := matOf(&a.value, n.Int[0] == 1), matOf(&b.value, n.Int[1] == 1)
	t := tp.Temp(n.Out.Shape()...)
	if !t.Valid() {
		return t
	}
	beta := 0.0
	if a.hasTangent {
		tp.gemm(matOf(&a.tangent, A.t), B, 0, t)
		beta = 1
	}
	if b.hasTangent {
		tp.gemm(A, matOf(&b.tangent, B.t), beta, t)
	}
	return t
}

// Linear returns z = f(x Wᵀ + b) for a batch x [K × I], weights W [O × I]
// (PyTorch's layout), bias b [O] or nil, and an activation f that is
// Identity, ReLU, Sigmoid or Tanh (fused into the product's epilogue, so a
// layer is one node and, on a GPU, two launches).
//
//	forward:  z_k = f(W x_k + b)                       for each of the K rows
//	adjoint:  e = f'(z) ⊙ ε;  δ = e W;  g_W = eᵀ x;  g_b = Σ_k e_k
//	tangent:  ż = f'(z) ⊙ (ẋ Wᵀ + x Ẇᵀ + ḃ)
//
// g_W = eᵀx is one GEMM that sums the K per-sample outer products e_k x_kᵀ.
func (tp *Tape) Linear(x, w, b *Var, act device.UnaryOp) *Var {
	if tp.skip(&linearOp, x, w, b) {
		return tp.failedVar()
	}
	if x.value.Dims() != 2 || w.value.Dims() != 2 || x.value.Dim(1) != w.value.Dim(1) {
		panic(fmt.Sprintf("autograd: Linear: input %v and weight %v: want x [K × I] and W [O × I]", x.Shape(), w.Shape()))
	}
	kk, in, o := x.value.Dim(0), x.value.Dim(1), w.value.Dim(0)
	if b != nil && (b.value.Len() != o || b.value.Dims() != 1) {
		panic(fmt.Sprintf("autograd: Linear: bias %v for weight %v: want [%d]", b.Shape(), w.Shape(), o))
	}
	switch act {
	case device.Identity, device.ReLU, device.Sigmoid, device.Tanh:
	default:
		panic(fmt.Sprintf("autograd: Linear: activation %v cannot be fused; apply it as its own op", act))
	}
	node, out := tp.Record(&linearOp, []int{kk, o}, x, w, b)
	if tp.Failed() {
		return out
	}
	node.Int[0] = int(act)
	z := out.value.Buffer()
	tp.dev.Gemm(false, true, kk, o, in, 1, x.value.Buffer(), in, w.value.Buffer(), in, 0, z, o)
	var bias device.Buffer
	if b != nil {
		bias = b.value.Buffer()
	}
	if bias != nil || act != device.Identity {
		tp.dev.BiasActivation(act, 0, z, kk, o, bias, z)
	}
	return tp.Done(node)
}

var linearOp = Op{Name: "Linear", Adjoint: linearAdjoint, Tangent: linearTangent}

// activationAdjoint returns f'(z) ⊙ ε for a fused activation, computed from
// the output z alone (for ReLU, z > 0 ⇔ x > 0), or ε itself for Identity.
func activationAdjoint(tp *Tape, act device.UnaryOp, z, eps *tensor.Tensor) *tensor.Tensor {
	if act == device.Identity {
		return eps
	}
	e := tp.Temp(z.Shape()...)
	if e.Valid() {
		tp.dev.UnaryAdjoint(act, 0, z.Buffer(), z.Buffer(), eps.Buffer(), e.Buffer())
	}
	return e
}

func linearAdjoint(tp *Tape, n *Node, eps *tensor.Tensor) {
	x, w, b := n.In[0], n.In[1], n.In[2]
	kk, in, o := x.value.Dim(0), x.value.Dim(1), w.value.Dim(0)
	e := activationAdjoint(tp, device.UnaryOp(n.Int[0]), &n.Out.value, eps)
	if !e.Valid() {
		return
	}
	if dx, beta := tp.GradDest(x); dx != nil {
		tp.dev.Gemm(false, false, kk, in, o, 1, e.Buffer(), o, w.value.Buffer(), in, beta, dx.Buffer(), in)
	}
	if gw, beta := tp.GradDest(w); gw != nil {
		tp.dev.Gemm(true, false, o, in, kk, 1, e.Buffer(), o, x.value.Buffer(), in, beta, gw.Buffer(), in)
	}
	if gb, beta := tp.GradDest(b); gb != nil {
		tp.dev.SumRows(e.Buffer(), kk, o, beta, gb.Buffer())
	}
}

func linearTangent(tp *Tape, n *Node) *tensor.Tensor {
	x, w, b := n.In[0], n.In[1], n.In[2]
	kk, in, o := x.value.Dim(0), x.value.Dim(1), w.value.Dim(0)
	t := tp.Temp(kk, o)
	if !t.Valid() {
		return t
	}
	tp.dev.Fill(t.Buffer(), 0)
	if x.hasTangent {
		tp.dev.Gemm(false, true, kk, o, in, 1, x.tangent.Buffer(), in, w.value.Buffer(), in, 1, t.Buffer(), o)
	}
	if w.hasTangent {
		tp.dev.Gemm(false, true, kk, o, in, 1, x.value.Buffer(), in, w.tangent.Buffer(), in, 1, t.Buffer(), o)
	}
	if b != nil && b.hasTangent {
		tp.dev.BiasActivation(device.Identity, 0, t.Buffer(), kk, o, b.tangent.Buffer(), t.Buffer())
	}
	act := device.UnaryOp(n.Int[0])
	if act != device.Identity {
		z := n.Out.value.Buffer()
		tp.dev.UnaryAdjoint(act, 0, z, z, t.Buffer(), t.Buffer())
	}
	return t
}
