package autograd

import (
	"fmt"

	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// ConvOptions are the stride, zero padding and dilation of Conv2d, as
// (height, width) pairs, and the groups: torch.nn.functional.conv2d's
// stride, padding, dilation and groups. A zero stride, dilation or groups
// means 1, so the zero value is torch's default (stride 1, no padding, no
// dilation, one group).
type ConvOptions struct {
	Stride, Padding, Dilation [2]int
	// Groups splits the input channels C and the output channels O into
	// Groups blocks, output block i seeing input block i alone, through
	// weights [O, C/Groups, KH, KW]; Groups = C is a depthwise convolution.
	Groups int
}

// groups is o.Groups with the default filled in.
func (o ConvOptions) groups() int { return max(o.Groups, 1) }

// geometry returns the convolution of x [N, C, H, W] by w [O, C, KH, KW]
// under o, with the defaults filled in.
func (o ConvOptions) geometry(x, w []int) device.ConvGeometry {
	one := func(v int) int {
		if v == 0 {
			return 1
		}
		return v
	}
	return device.ConvGeometry{
		N: x[0], C: x[1], H: x[2], W: x[3], KH: w[2], KW: w[3],
		StrideH: one(o.Stride[0]), StrideW: one(o.Stride[1]),
		PadH: o.Padding[0], PadW: o.Padding[1],
		DilationH: one(o.Dilation[0]), DilationW: one(o.Dilation[1]),
	}
}

// Conv2d returns the 2-D convolution (torch's cross-correlation) of
// images x [N, C, H, W] by weights w [O, C/G, KH, KW] plus a bias b [O]
// (or nil), G = opt.Groups (1 unless set): y [N, O, OH, OW], NCHW as in
// PyTorch. It is lowered to one product: the patches of x (Im2Col) form
// X̃ [N·OH·OW × C·KH·KW], one row per output pixel, the weights are W̃ = w
// as [O × C·KH·KW] (G = 1), and
//
//	forward:  Z = X̃ W̃ᵀ + 1bᵀ  (pixels × channels),  y = Z per image transposed
//	adjoint:  E = ε per image transposed;  g_W = Eᵀ X̃;  g_b = Σ_pixels E;
//	          δ = Col2Im(E W̃)  (each patch element back to its pixel)
//	tangent:  ẏ = Im2Col(ẋ) W̃ᵀ + X̃ Ẇᵀ + 1ḃᵀ, transposed per image
//
// so a convolution is a Linear layer applied to every patch: the same
// three GEMMs, plus the copies that gather patches and transpose between
// pixel-major and channel-major order. X̃ is kept for the adjoint:
// N·OH·OW·C·KH·KW elements until Reset.
//
// With G groups each product splits into G: X̃'s columns, W̃'s rows and
// Z's columns fall into G consecutive blocks (X̃ᵢ [pixels × (C/G)·KH·KW],
// W̃ᵢ [O/G × (C/G)·KH·KW], Zᵢ [pixels × O/G]), Zᵢ = X̃ᵢ W̃ᵢᵀ, and likewise
// g_Wᵢ = Eᵢᵀ X̃ᵢ and δ's patches Eᵢ W̃ᵢ: each is one Device.GemmStrided
// call over the G blocks, read and written in place.
func (tp *Tape) Conv2d(x, w, b *Var, opt ConvOptions) *Var {
	if tp.skip(&conv2dOp, x, w, b) {
		return tp.failedVar()
	}
	xs, ws := x.Shape(), w.Shape()
	groups := opt.groups()
	if opt.Groups < 0 || len(xs) != 4 || len(ws) != 4 || xs[1] != ws[1]*groups || ws[0]%groups != 0 {
		panic(fmt.Sprintf("autograd: Conv2d: input %v, weight %v and %d groups: want x [N, C, H, W] and w [O, C/groups, KH, KW], O a multiple of groups",
			xs, ws, opt.Groups))
	}
	if b != nil && (b.value.Dims() != 1 || b.value.Len() != ws[0]) {
		panic(fmt.Sprintf("autograd: Conv2d: bias %v for weight %v: want [%d]", b.Shape(), ws, ws[0]))
	}
	g := opt.geometry(xs, ws)
	if err := g.Check(); err != nil {
		panic(fmt.Sprintf("autograd: Conv2d: input %v, weight %v, %+v: %v", xs, ws, opt, err))
	}
	node, out := tp.Record(&conv2dOp, []int{g.N, ws[0], g.OutH(), g.OutW()}, x, w, b)
	if tp.Failed() {
		return out
	}
	cols := tp.Temp(g.Pixels(), g.Patch())
	if !cols.Valid() {
		return out
	}
	node.Save(0, cols)
	node.Int[0], node.Int[1], node.Int[2] = packPair(g.StrideH, g.StrideW), packPair(g.PadH, g.PadW), packPair(g.DilationH, g.DilationW)
	tp.dev.Im2Col(x.value.Buffer(), g, cols.Buffer())
	z := tp.Temp(g.Pixels(), ws[0])
	if !z.Valid() {
		return out
	}
	cg := convGroups{g, groups, ws[0]}
	tp.groupGemm(groups, cg.patches(cols), cg.weights(&w.value).flip(), 0, cg.pixelMajor(z))
	if b != nil {
		tp.dev.BiasActivation(device.Identity, 0, z.Buffer(), g.Pixels(), ws[0], b.value.Buffer(), z.Buffer())
	}
	tp.dev.Transpose(z.Buffer(), g.N, g.OutH()*g.OutW(), ws[0], 1, out.value.Buffer())
	return tp.Done(node)
}

var conv2dOp = Op{Name: "Conv2d", Adjoint: conv2dAdjoint, Tangent: conv2dTangent}

// packPair and unpackPair keep a (height, width) pair in one Node.Int.
func packPair(h, w int) int       { return h<<32 | w }
func unpackPair(p int) (int, int) { return p >> 32, p & (1<<32 - 1) }

// nodeGeometry rebuilds the convolution a Conv2d node ran.
func nodeGeometry(n *Node) device.ConvGeometry {
	var o ConvOptions
	o.Stride[0], o.Stride[1] = unpackPair(n.Int[0])
	o.Padding[0], o.Padding[1] = unpackPair(n.Int[1])
	o.Dilation[0], o.Dilation[1] = unpackPair(n.Int[2])
	return o.geometry(n.In[0].Shape(), n.In[1].Shape())
}

// convGroups describes a Conv2d node's matrices as G blocks each.
type convGroups struct {
	g      device.ConvGeometry
	groups int
	out    int // O
}

// nodeGroups reads a Conv2d node's groups back from its shapes: the input
// channels C over the weight's C/G, as ConvTranspose2d's are.
func nodeGroups(n *Node) convGroups {
	ws := n.In[1].Shape()
	return convGroups{nodeGeometry(n), n.In[0].Shape()[1] / ws[1], ws[0]}
}

// patches is X̃ (or its tangent, or δ's patches) [pixels × C·KH·KW] as G
// column blocks of (C/G)·KH·KW.
func (c convGroups) patches(t *tensor.Tensor) groupMat {
	w := c.g.Patch() / c.groups
	return groupMat{t, c.g.Pixels(), w, c.g.Patch(), w, false}
}

// weights is W̃ (a weight [O, C/G, KH, KW], its tangent or gradient) as G
// row blocks [O/G × (C/G)·KH·KW].
func (c convGroups) weights(t *tensor.Tensor) groupMat {
	rows, cols := c.out/c.groups, c.g.Patch()/c.groups
	return groupMat{t, rows, cols, cols, rows * cols, false}
}

// pixelMajor is Z or E [pixels × O] as G column blocks of O/G.
func (c convGroups) pixelMajor(t *tensor.Tensor) groupMat {
	w := c.out / c.groups
	return groupMat{t, c.g.Pixels(), w, c.out, w, false}
}

// groupMat is one of G equal blocks of a matrix, stored rows×cols with
// leading dimension ld, the blocks stride elements apart (column blocks
// side by side, or row blocks one below the other), read transposed when t.
type groupMat struct {
	x              *tensor.Tensor
	rows, cols, ld int
	stride         int
	t              bool
}

func (m groupMat) flip() groupMat { m.t = !m.t; return m }

// groupGemm computes C_i = op(A_i) op(B_i) + β C_i for each of the groups
// blocks: one Gemm for one group, one GemmStrided for several.
func (tp *Tape) groupGemm(groups int, a, b groupMat, beta float64, c groupMat) {
	m, k, n := a.rows, a.cols, b.cols
	if a.t {
		m, k = k, m
	}
	if b.t {
		n = b.rows
	}
	if m == 0 || n == 0 {
		return
	}
	if groups == 1 {
		tp.dev.Gemm(a.t, b.t, m, n, k, 1, a.x.Buffer(), a.ld, b.x.Buffer(), b.ld, beta, c.x.Buffer(), c.ld)
		return
	}
	tp.dev.GemmStrided(a.t, b.t, groups, m, n, k, 1, a.x.Buffer(), a.ld, a.stride, b.x.Buffer(), b.ld, b.stride,
		beta, c.x.Buffer(), c.ld, c.stride)
}

func conv2dAdjoint(tp *Tape, n *Node, eps *tensor.Tensor) {
	x, w, b := n.In[0], n.In[1], n.In[2]
	cg := nodeGroups(n)
	g, o, groups := cg.g, cg.out, cg.groups
	pix := g.OutH() * g.OutW()
	e := tp.Temp(g.Pixels(), o) // E: ε pixel-major
	if !e.Valid() {
		return
	}
	tp.dev.Transpose(eps.Buffer(), g.N, o, pix, 1, e.Buffer())
	E := cg.pixelMajor(e)
	if gb, beta := tp.GradDest(b); gb != nil {
		tp.dev.SumRows(e.Buffer(), g.Pixels(), o, beta, gb.Buffer())
	}
	if gw, beta := tp.GradDest(w); gw != nil {
		tp.groupGemm(groups, E.flip(), cg.patches(&n.Saved[0]), beta, cg.weights(gw)) // Eᵢᵀ X̃ᵢ
	}
	if dx, beta := tp.GradDest(x); dx != nil {
		dcols := tp.Temp(g.Pixels(), g.Patch())
		if !dcols.Valid() {
			return
		}
		tp.groupGemm(groups, E, cg.weights(&w.value), 0, cg.patches(dcols)) // Eᵢ W̃ᵢ
		tp.dev.Col2Im(dcols.Buffer(), g, beta, dx.Buffer())
	}
}

func conv2dTangent(tp *Tape, n *Node) *tensor.Tensor {
	x, w, b := n.In[0], n.In[1], n.In[2]
	cg := nodeGroups(n)
	g, o, groups := cg.g, cg.out, cg.groups
	z := tp.Temp(g.Pixels(), o)
	out := tp.Temp(n.Out.Shape()...)
	if !z.Valid() || !out.Valid() {
		return out
	}
	tp.dev.Fill(z.Buffer(), 0)
	Z := cg.pixelMajor(z)
	if x.hasTangent {
		dcols := tp.Temp(g.Pixels(), g.Patch())
		if !dcols.Valid() {
			return out
		}
		tp.dev.Im2Col(x.tangent.Buffer(), g, dcols.Buffer())
		tp.groupGemm(groups, cg.patches(dcols), cg.weights(&w.value).flip(), 1, Z)
	}
	if w.hasTangent {
		tp.groupGemm(groups, cg.patches(&n.Saved[0]), cg.weights(&w.tangent).flip(), 1, Z)
	}
	if b != nil && b.hasTangent {
		tp.dev.BiasActivation(device.Identity, 0, z.Buffer(), g.Pixels(), o, b.tangent.Buffer(), z.Buffer())
	}
	tp.dev.Transpose(z.Buffer(), g.N, g.OutH()*g.OutW(), o, 1, out.Buffer())
	return out
}

// ConvTransposeOptions are conv_transpose2d's stride, zero padding,
// output padding and dilation, as (height, width) pairs, and its groups.
// A zero stride, dilation or groups means 1, so the zero value is torch's
// default.
type ConvTransposeOptions struct {
	Stride, Padding, OutputPadding, Dilation [2]int
	// Groups splits the input channels C and the output channels O into
	// Groups blocks, as Conv2d's do, through weights [C, O/Groups, KH, KW].
	Groups int
}

// ConvTranspose2d returns torch's conv_transpose2d of images x [N, C, H,
// W] by weights w [C, O/G, KH, KW] plus a bias b [O] (or nil), G =
// opt.Groups (1 unless set; w [C, O, KH, KW] for one group):
// y [N, O, OH, OW] with OH = (H−1)·stride − 2·padding + dilation·(KH−1) +
// output_padding + 1, and OW alike. It is the adjoint of the convolution
// of geometry g (y's size, w read as [C, O·KH·KW]) with respect to its
// input, so it runs Conv2d's adjoint forward and Conv2d's forward
// backward: with X̃ = x pixel-major [N·H·W × C] and W̃ = w as
// [C × O·KH·KW],
//
//	forward:  y = Col2Im(X̃ W̃) + b per channel
//	adjoint:  E = Im2Col(ε);  δ = (E W̃ᵀ) per image transposed;
//	          g_W = X̃ᵀ E;  g_b = Σ ε per channel
//	tangent:  ẏ = Col2Im(Ẋ̃ W̃ + X̃ Ẇ) + ḃ per channel
//
// A transposed convolution upsamples: stride 2, kernel 4 and padding 1
// double H and W. output_padding only adds rows and columns at the
// bottom and right that the stride would otherwise leave out, and must be
// smaller than the stride (torch also allows it below the dilation).
// With G groups each product splits into G over blocks of channels, as
// Conv2d's do (one GemmStrided each).
func (tp *Tape) ConvTranspose2d(x, w, b *Var, opt ConvTransposeOptions) *Var {
	if tp.skip(&convTranspose2dOp, x, w, b) {
		return tp.failedVar()
	}
	xs, ws := x.Shape(), w.Shape()
	groups := max(opt.Groups, 1)
	if opt.Groups < 0 || len(xs) != 4 || len(ws) != 4 || xs[1] != ws[0] || xs[1]%groups != 0 {
		panic(fmt.Sprintf("autograd: ConvTranspose2d: input %v, weight %v and %d groups: want x [N, C, H, W] and w [C, O/groups, KH, KW], C a multiple of groups",
			xs, ws, opt.Groups))
	}
	if b != nil && (b.value.Dims() != 1 || b.value.Len() != ws[1]*groups) {
		panic(fmt.Sprintf("autograd: ConvTranspose2d: bias %v for weight %v and %d groups: want [%d]", b.Shape(), ws, groups, ws[1]*groups))
	}
	g, err := opt.geometry(xs, ws, groups)
	if err != nil {
		panic(fmt.Sprintf("autograd: ConvTranspose2d: input %v, weight %v, %+v: %v", xs, ws, opt, err))
	}
	node, out := tp.Record(&convTranspose2dOp, []int{g.N, g.C, g.H, g.W}, x, w, b)
	if tp.Failed() {
		return out
	}
	node.Int = [4]int{packPair(g.StrideH, g.StrideW), packPair(g.PadH, g.PadW), packPair(g.DilationH, g.DilationW),
		packPair(opt.OutputPadding[0], opt.OutputPadding[1])}
	xp := tp.pixelMajor(&x.value)
	cols := tp.Temp(g.Pixels(), g.Patch())
	if !xp.Valid() || !cols.Valid() {
		return out
	}
	ct := convTGroups{g, groups, xs[1]}
	tp.groupGemm(groups, ct.pixelMajor(xp), ct.weights(&w.value), 0, ct.patches(cols)) // X̃ᵢ W̃ᵢ
	tp.dev.Col2Im(cols.Buffer(), g, 0, out.value.Buffer())
	if b != nil {
		tp.addChannelBias(&out.value, b.value.Buffer())
	}
	return tp.Done(node)
}

// geometry returns the convolution whose input adjoint is the transposed
// convolution of x [N, C, H, W] by w [C, O/groups, KH, KW] under o: its
// images are the output's [N, O, OH, OW], its output x's size.
func (o ConvTransposeOptions) geometry(x, w []int, groups int) (device.ConvGeometry, error) {
	g := ConvOptions{Stride: o.Stride, Padding: o.Padding, Dilation: o.Dilation}.geometry([]int{x[0], w[1] * groups, 0, 0}, w)
	for i, s := range []int{g.StrideH, g.StrideW} {
		if op := o.OutputPadding[i]; op < 0 || op >= s {
			return g, fmt.Errorf("output padding %v must be at least 0 and smaller than the stride", o.OutputPadding)
		}
	}
	g.H = (x[2]-1)*g.StrideH - 2*g.PadH + g.DilationH*(g.KH-1) + o.OutputPadding[0] + 1
	g.W = (x[3]-1)*g.StrideW - 2*g.PadW + g.DilationW*(g.KW-1) + o.OutputPadding[1] + 1
	if g.H < 1 || g.W < 1 {
		return g, fmt.Errorf("the output would be %d×%d pixels", g.H, g.W)
	}
	if err := g.Check(); err != nil {
		return g, err
	}
	if g.OutH() != x[2] || g.OutW() != x[3] {
		return g, fmt.Errorf("internal: the adjoint convolution maps %d×%d back to %d×%d", g.H, g.W, g.OutH(), g.OutW())
	}
	return g, nil
}

// nodeTransposeGeometry rebuilds the geometry a ConvTranspose2d node ran.
func nodeTransposeGeometry(n *Node) device.ConvGeometry {
	var o ConvTransposeOptions
	o.Stride[0], o.Stride[1] = unpackPair(n.Int[0])
	o.Padding[0], o.Padding[1] = unpackPair(n.Int[1])
	o.Dilation[0], o.Dilation[1] = unpackPair(n.Int[2])
	o.OutputPadding[0], o.OutputPadding[1] = unpackPair(n.Int[3])
	g, _ := o.geometry(n.In[0].Shape(), n.In[1].Shape(), nodeTransposeGroups(n)) // checked when recorded
	return g
}

// nodeTransposeGroups is a ConvTranspose2d node's groups: its output
// channels O over the weight's O/G.
func nodeTransposeGroups(n *Node) int { return n.Out.Shape()[1] / n.In[1].Shape()[1] }

// convTGroups describes a ConvTranspose2d node's matrices as G blocks
// each: g is the convolution it is the input adjoint of (g.C = O).
type convTGroups struct {
	g      device.ConvGeometry
	groups int
	in     int // C, x's channels
}

func nodeTGroups(n *Node) convTGroups {
	return convTGroups{nodeTransposeGeometry(n), nodeTransposeGroups(n), n.In[0].Shape()[1]}
}

// pixelMajor is x (its tangent or δ) pixel-major [pixels × C] as G column
// blocks of C/G.
func (c convTGroups) pixelMajor(t *tensor.Tensor) groupMat {
	w := c.in / c.groups
	return groupMat{t, c.g.Pixels(), w, c.in, w, false}
}

// weights is a weight [C, O/G, KH, KW] (its tangent or gradient) as the
// matrix W̃ [C × (O/G)·KH·KW] in G row blocks of C/G.
func (c convTGroups) weights(t *tensor.Tensor) groupMat {
	rows, cols := c.in/c.groups, c.g.Patch()/c.groups
	return groupMat{t, rows, cols, cols, rows * cols, false}
}

// patches is the adjoint convolution's patch matrix [pixels × O·KH·KW] as
// G column blocks of (O/G)·KH·KW.
func (c convTGroups) patches(t *tensor.Tensor) groupMat {
	w := c.g.Patch() / c.groups
	return groupMat{t, c.g.Pixels(), w, c.g.Patch(), w, false}
}

// pixelMajor returns images x [N, C, H, W] as a temporary [N·H·W × C]:
// one row per pixel, as Im2Col's rows are.
func (tp *Tape) pixelMajor(x *tensor.Tensor) *tensor.Tensor {
	s := x.Shape()
	xp := tp.Temp(s[0]*s[2]*s[3], s[1])
	if xp.Valid() {
		tp.dev.Transpose(x.Buffer(), s[0], s[1], s[2]*s[3], 1, xp.Buffer())
	}
	return xp
}

// addChannelBias adds b[c] to channel c of y [N, C, …] in place: the
// per-channel affine map of Device.BatchNormApply with mean 0 and rstd 1.
func (tp *Tape) addChannelBias(y *tensor.Tensor, b device.Buffer) {
	s := y.Shape()
	zero, one := tp.Temp(s[1]), tp.Temp(s[1])
	if !zero.Valid() || !one.Valid() {
		return
	}
	tp.dev.Fill(zero.Buffer(), 0)
	tp.dev.Fill(one.Buffer(), 1)
	tp.dev.BatchNormApply(y.Buffer(), s[0], s[1], product(s[2:]), zero.Buffer(), one.Buffer(), nil, b, y.Buffer())
}

var convTranspose2dOp = Op{Name: "ConvTranspose2d", Adjoint: convTranspose2dAdjoint, Tangent: convTranspose2dTangent}

func convTranspose2dAdjoint(tp *Tape, n *Node, eps *tensor.Tensor) {
	x, w, b := n.In[0], n.In[1], n.In[2]
	ct := nodeTGroups(n)
	g, c := ct.g, ct.in
	if gb, beta := tp.GradDest(b); gb != nil {
		// Σ over each image's pixels, then over the images.
		perImage := tp.Temp(g.N, g.C)
		if !perImage.Valid() {
			return
		}
		tp.dev.SumCols(eps.Buffer(), g.N*g.C, g.H*g.W, 1, 0, perImage.Buffer())
		tp.dev.SumRows(perImage.Buffer(), g.N, g.C, beta, gb.Buffer())
	}
	gw, betaW := tp.GradDest(w)
	if gw == nil && !x.needsGrad {
		return
	}
	e := tp.Temp(g.Pixels(), g.Patch())
	if !e.Valid() {
		return
	}
	tp.dev.Im2Col(eps.Buffer(), g, e.Buffer())
	E := ct.patches(e)
	if gw != nil {
		xp := tp.pixelMajor(&x.value)
		if !xp.Valid() {
			return
		}
		tp.groupGemm(ct.groups, ct.pixelMajor(xp).flip(), E, betaW, ct.weights(gw)) // X̃ᵢᵀ Eᵢ
	}
	if x.needsGrad {
		dxp, d := tp.Temp(g.Pixels(), c), tp.Temp(x.Shape()...)
		if !dxp.Valid() || !d.Valid() {
			return
		}
		tp.groupGemm(ct.groups, E, ct.weights(&w.value).flip(), 0, ct.pixelMajor(dxp)) // Eᵢ W̃ᵢᵀ
		tp.dev.Transpose(dxp.Buffer(), g.N, g.OutH()*g.OutW(), c, 1, d.Buffer())
		tp.Accumulate(x, d)
	}
}

func convTranspose2dTangent(tp *Tape, n *Node) *tensor.Tensor {
	x, w, b := n.In[0], n.In[1], n.In[2]
	ct := nodeTGroups(n)
	g := ct.g
	out := tp.Temp(n.Out.Shape()...)
	cols := tp.Temp(g.Pixels(), g.Patch())
	if !out.Valid() || !cols.Valid() {
		return out
	}
	tp.dev.Fill(cols.Buffer(), 0)
	if x.hasTangent {
		xp := tp.pixelMajor(&x.tangent)
		if !xp.Valid() {
			return out
		}
		tp.groupGemm(ct.groups, ct.pixelMajor(xp), ct.weights(&w.value), 1, ct.patches(cols))
	}
	if w.hasTangent {
		xp := tp.pixelMajor(&x.value)
		if !xp.Valid() {
			return out
		}
		tp.groupGemm(ct.groups, ct.pixelMajor(xp), ct.weights(&w.tangent), 1, ct.patches(cols))
	}
	tp.dev.Col2Im(cols.Buffer(), g, 0, out.Buffer())
	if b != nil && b.hasTangent {
		tp.addChannelBias(out, b.tangent.Buffer())
	}
	return out
}

// PoolOptions are max_pool2d's stride, zero padding and dilation, as
// (height, width) pairs. A zero stride means the window's size and a zero
// dilation 1, so the zero value is torch's default (non-overlapping
// windows).
type PoolOptions struct {
	Stride, Padding, Dilation [2]int
}

// MaxPool2d returns torch's max_pool2d of x [N, C, H, W] over windows of
// kernel [KH, KW]: y [N, C, OH, OW], each element the maximum of its
// window in its channel (the padding never wins; the first maximum does,
// a NaN beats every number). The index of each maximum is kept for the
// adjoint, which sends ε back to that one pixel:
//
//	forward:  y_o = x_{a(o)},  a(o) = argmax of window o
//	adjoint:  δ_p = Σ_{o : a(o) = p} ε_o   (each pixel gathers its own)
//	tangent:  ẏ_o = ẋ_{a(o)}
//
// It panics when the windows do not fit x or the padding exceeds half a
// window (torch's rule).
func (tp *Tape) MaxPool2d(x *Var, kernel [2]int, opt PoolOptions) *Var {
	if tp.skip(&maxPoolOp, x) {
		return tp.failedVar()
	}
	xs := x.Shape()
	if len(xs) != 4 {
		panic(fmt.Sprintf("autograd: MaxPool2d: input %v: want x [N, C, H, W]", xs))
	}
	g := opt.geometry(xs, kernel)
	if err := g.CheckPool(); err != nil {
		panic(fmt.Sprintf("autograd: MaxPool2d: input %v, kernel %v, %+v: %v", xs, kernel, opt, err))
	}
	shape := []int{g.N, g.C, g.OutH(), g.OutW()}
	node, out := tp.Record(&maxPoolOp, shape, x)
	if tp.Failed() {
		return out
	}
	argmax := tp.Temp(shape...)
	if !argmax.Valid() {
		return out
	}
	node.Save(0, argmax)
	node.Int[0], node.Int[1], node.Int[2] = packPair(g.StrideH, g.StrideW), packPair(g.PadH, g.PadW), packPair(g.DilationH, g.DilationW)
	node.Int[3] = packPair(kernel[0], kernel[1])
	tp.dev.MaxPool(x.value.Buffer(), g, out.value.Buffer(), argmax.Buffer())
	return tp.Done(node)
}

// geometry returns the pooling of x [N, C, H, W] by a window kernel under
// o, with the defaults filled in.
func (o PoolOptions) geometry(x []int, kernel [2]int) device.ConvGeometry {
	def := func(v, d int) int {
		if v == 0 {
			return d
		}
		return v
	}
	return device.ConvGeometry{
		N: x[0], C: x[1], H: x[2], W: x[3], KH: kernel[0], KW: kernel[1],
		StrideH: def(o.Stride[0], kernel[0]), StrideW: def(o.Stride[1], kernel[1]),
		PadH: o.Padding[0], PadW: o.Padding[1],
		DilationH: def(o.Dilation[0], 1), DilationW: def(o.Dilation[1], 1),
	}
}

// poolGeometry rebuilds the pooling a MaxPool2d node ran.
func poolGeometry(n *Node) device.ConvGeometry {
	var o PoolOptions
	var kernel [2]int
	o.Stride[0], o.Stride[1] = unpackPair(n.Int[0])
	o.Padding[0], o.Padding[1] = unpackPair(n.Int[1])
	o.Dilation[0], o.Dilation[1] = unpackPair(n.Int[2])
	kernel[0], kernel[1] = unpackPair(n.Int[3])
	return o.geometry(n.In[0].Shape(), kernel)
}

var maxPoolOp = Op{
	Name: "MaxPool2d",
	Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
		if dx, beta := tp.GradDest(n.In[0]); dx != nil {
			tp.dev.MaxPoolAdjoint(eps.Buffer(), n.Saved[0].Buffer(), poolGeometry(n), beta, dx.Buffer())
		}
	},
	Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
		t := tp.Temp(n.Out.Shape()...)
		if t.Valid() {
			tp.dev.MaxPoolTangent(n.In[0].tangent.Buffer(), n.Saved[0].Buffer(), poolGeometry(n), t.Buffer())
		}
		return t
	},
}

// AvgPool2d returns torch's avg_pool2d of x [N, C, H, W] over windows of
// kernel [KH, KW] with count_include_pad=True (the default): each output
// is its window's sum, padding zeros included, over KH·KW. Each channel
// plane is pooled as a one-channel image, through the convolution's
// patches:
//
//	forward:  X̃ = Im2Col(planes),  y = X̃ 1 / (KH·KW)     (a row sum per output)
//	adjoint:  δ = Col2Im(ε 1ᵀ / (KH·KW))                  (ε spread over its window)
//	tangent:  ẏ = Im2Col(ẋ) 1 / (KH·KW)
//
// With kernel = [H, W] and no padding it is global average pooling (torch's
// AdaptiveAvgPool2d(1)). Stride defaults to the window, as in torch, and
// a dilation other than 1 panics (torch's avg_pool2d has none).
func (tp *Tape) AvgPool2d(x *Var, kernel [2]int, opt PoolOptions) *Var {
	if tp.skip(&avgPoolOp, x) {
		return tp.failedVar()
	}
	xs := x.Shape()
	if len(xs) != 4 {
		panic(fmt.Sprintf("autograd: AvgPool2d: input %v: want x [N, C, H, W]", xs))
	}
	if max(opt.Dilation[0], opt.Dilation[1]) > 1 {
		panic(fmt.Sprintf("autograd: AvgPool2d: dilation %v: torch's avg_pool2d has none", opt.Dilation))
	}
	g := opt.geometry(xs, kernel)
	if err := g.CheckPool(); err != nil {
		panic(fmt.Sprintf("autograd: AvgPool2d: input %v, kernel %v, %+v: %v", xs, kernel, opt, err))
	}
	node, out := tp.Record(&avgPoolOp, []int{g.N, g.C, g.OutH(), g.OutW()}, x)
	if tp.Failed() {
		return out
	}
	node.Int[0], node.Int[1], node.Int[2] = packPair(g.StrideH, g.StrideW), packPair(g.PadH, g.PadW), packPair(g.DilationH, g.DilationW)
	node.Int[3] = packPair(kernel[0], kernel[1])
	tp.avgPoolInto(&x.value, g, &out.value)
	return tp.Done(node)
}

// planes is g with each channel plane as an image of one channel.
func planes(g device.ConvGeometry) device.ConvGeometry {
	g.N, g.C = g.N*g.C, 1
	return g
}

// avgPoolInto writes the window means of x into y.
func (tp *Tape) avgPoolInto(x *tensor.Tensor, g device.ConvGeometry, y *tensor.Tensor) {
	p := planes(g)
	cols := tp.Temp(p.Pixels(), p.Patch())
	if !cols.Valid() {
		return
	}
	tp.dev.Im2Col(x.Buffer(), p, cols.Buffer())
	tp.dev.SumCols(cols.Buffer(), p.Pixels(), p.Patch(), 1/float64(p.Patch()), 0, y.Buffer())
}

var avgPoolOp = Op{
	Name: "AvgPool2d",
	Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
		dx, beta := tp.GradDest(n.In[0])
		if dx == nil {
			return
		}
		p := planes(poolGeometry(n))
		spread, ones := tp.Temp(p.Pixels(), p.Patch()), tp.Ones(p.Patch())
		if !spread.Valid() || !ones.Valid() {
			return
		}
		// ε 1ᵀ/(KH·KW): a rank-one product, every window's share of its ε.
		tp.dev.Gemm(false, false, p.Pixels(), p.Patch(), 1, 1/float64(p.Patch()), eps.Buffer(), 1, ones.Buffer(), p.Patch(), 0, spread.Buffer(), p.Patch())
		tp.dev.Col2Im(spread.Buffer(), p, beta, dx.Buffer())
	},
	Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
		t := tp.Temp(n.Out.Shape()...)
		if t.Valid() {
			tp.avgPoolInto(&n.In[0].tangent, poolGeometry(n), t)
		}
		return t
	},
}
