package autograd

import "fmt"

// One-dimensional convolutions (and transposed) and pooling, over
// sequences x [N, C, L]
// (audio, time series, a text's embeddings transposed to channels first):
// each is the 2-D op on a view of x as one-row images [N, C, 1, L],
// which copies nothing,
//
//	x [N, C, L]  ──view──▶  [N, C, 1, L]  ──2-D op──▶  [N, O, 1, OL]  ──view──▶  [N, O, OL]
//
// so the adjoints and tangents are the 2-D ops', and their products,
// kernels and launches too.

// Conv1dOptions are the stride, zero padding, dilation and groups of
// Conv1d: torch.nn.functional.conv1d's. A zero stride, dilation or groups
// means 1, so the zero value is torch's default.
type Conv1dOptions struct {
	Stride, Padding, Dilation int
	// Groups splits the channels as ConvOptions.Groups does; Groups = C
	// is a depthwise convolution.
	Groups int
}

// conv2d returns o as the options of the 2-D convolution of one-row
// images: stride, padding and dilation along the width alone.
func (o Conv1dOptions) conv2d() ConvOptions {
	return ConvOptions{Stride: [2]int{1, o.Stride}, Padding: [2]int{0, o.Padding}, Dilation: [2]int{1, o.Dilation}, Groups: o.Groups}
}

// Conv1d returns the 1-D convolution (torch's cross-correlation) of
// sequences x [N, C, L] by weights w [O, C/G, K] plus a bias b [O] (or
// nil), G = opt.Groups: y [N, O, OL], OL = ⌊(L + 2P − D(K−1) − 1)/S⌋ + 1
// for stride S, padding P and dilation D, as torch's conv1d:
//
//	y = Conv2d(x as [N, C, 1, L], w as [O, C/G, 1, K]) as [N, O, OL]
//	adjoint, tangent: Conv2d's, through the views
func (tp *Tape) Conv1d(x, w, b *Var, opt Conv1dOptions) *Var {
	if tp.skip(&conv1dOp, x, w, b) {
		return tp.failedVar()
	}
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 3 || len(ws) != 3 || opt.Stride < 0 || opt.Padding < 0 || opt.Dilation < 0 {
		panic(fmt.Sprintf("autograd: Conv1d: input %v, weight %v, %+v: want x [N, C, L], w [O, C/groups, K] and no negative option", xs, ws, opt))
	}
	y := tp.Conv2d(tp.Reshape(x, xs[0], xs[1], 1, xs[2]), tp.Reshape(w, ws[0], ws[1], 1, ws[2]), b, opt.conv2d())
	return tp.rows(y)
}

// ConvTranspose1dOptions are the stride, padding, output padding,
// dilation and groups of ConvTranspose1d: torch.nn.functional.
// conv_transpose1d's. A zero stride, dilation or groups means 1.
type ConvTranspose1dOptions struct {
	Stride, Padding, OutputPadding, Dilation int
	// Groups splits the channels as ConvTransposeOptions.Groups does.
	Groups int
}

// ConvTranspose1d returns torch's conv_transpose1d of sequences x [N, C,
// L] by weights w [C, O/G, K] plus a bias b [O] (or nil): y [N, O, OL],
// OL = (L−1)·S − 2P + D·(K−1) + output_padding + 1, ConvTranspose2d on
// one-row images (see the top of this file):
//
//	y = ConvTranspose2d(x as [N, C, 1, L], w as [C, O/G, 1, K]) as [N, O, OL]
func (tp *Tape) ConvTranspose1d(x, w, b *Var, opt ConvTranspose1dOptions) *Var {
	if tp.skip(&convTranspose1dOp, x, w, b) {
		return tp.failedVar()
	}
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 3 || len(ws) != 3 {
		panic(fmt.Sprintf("autograd: ConvTranspose1d: input %v, weight %v: want x [N, C, L] and w [C, O/groups, K]", xs, ws))
	}
	o := ConvTransposeOptions{Stride: [2]int{1, opt.Stride}, Padding: [2]int{0, opt.Padding},
		OutputPadding: [2]int{0, opt.OutputPadding}, Dilation: [2]int{1, opt.Dilation}, Groups: opt.Groups}
	return tp.rows(tp.ConvTranspose2d(tp.Reshape(x, xs[0], xs[1], 1, xs[2]), tp.Reshape(w, ws[0], ws[1], 1, ws[2]), b, o))
}

// MaxPool1d returns torch's max_pool1d of x [N, C, L] over windows of
// kernel K with the width of opt (Stride: K when 0; Padding; Dilation: 1
// when 0): y [N, C, OL], each element the maximum of its window (see
// MaxPool2d: the padding never wins, the first maximum does, a NaN beats
// every number; the adjoint sends ε to that one element).
func (tp *Tape) MaxPool1d(x *Var, kernel int, opt Pool1dOptions) *Var {
	if tp.skip(&maxPool1dOp, x) {
		return tp.failedVar()
	}
	return tp.rows(tp.MaxPool2d(tp.imageRows("MaxPool1d", x), [2]int{1, kernel}, opt.pool2d()))
}

// AvgPool1d returns torch's avg_pool1d of x [N, C, L] over windows of
// kernel K (count_include_pad: the zero padding counts in each mean).
func (tp *Tape) AvgPool1d(x *Var, kernel int, opt Pool1dOptions) *Var {
	if tp.skip(&avgPool1dOp, x) {
		return tp.failedVar()
	}
	return tp.rows(tp.AvgPool2d(tp.imageRows("AvgPool1d", x), [2]int{1, kernel}, opt.pool2d()))
}

// Pool1dOptions are the stride, padding and dilation of MaxPool1d and
// AvgPool1d (AvgPool1d has no dilation: it must be 0 or 1). A zero stride
// is the window, torch's default.
type Pool1dOptions struct {
	Stride, Padding, Dilation int
}

// pool2d returns o as the options of a 2-D pooling of one-row images.
func (o Pool1dOptions) pool2d() PoolOptions {
	return PoolOptions{Stride: [2]int{1, o.Stride}, Padding: [2]int{0, o.Padding}, Dilation: [2]int{1, o.Dilation}}
}

// imageRows views x [N, C, L] as one-row images [N, C, 1, L].
func (tp *Tape) imageRows(op string, x *Var) *Var {
	xs := x.Shape()
	if len(xs) != 3 {
		panic(fmt.Sprintf("autograd: %s: input %v: want x [N, C, L]", op, xs))
	}
	return tp.Reshape(x, xs[0], xs[1], 1, xs[2])
}

// rows views one-row images y [N, C, 1, L] as sequences [N, C, L].
func (tp *Tape) rows(y *Var) *Var {
	if tp.Failed() {
		return y
	}
	ys := y.Shape()
	return tp.Reshape(y, ys[0], ys[1], ys[3])
}

// conv1dOp, convTranspose1dOp, maxPool1dOp and avgPool1dOp name the
// composites in tape errors; their nodes are the views' and the 2-D ops'.
var (
	conv1dOp          = Op{Name: "Conv1d"}
	convTranspose1dOp = Op{Name: "ConvTranspose1d"}
	maxPool1dOp       = Op{Name: "MaxPool1d"}
	avgPool1dOp       = Op{Name: "AvgPool1d"}
)
