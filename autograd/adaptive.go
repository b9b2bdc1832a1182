package autograd

import "fmt"

// AdaptiveAvgPool2d returns torch's adaptive_avg_pool2d of x [N, C, H, W]
// to y [N, C, OH, OW] for out = [OH, OW]: output pixel (i, j) averages the
// rows ⌊iH/OH⌋ … ⌈(i+1)H/OH⌉−1 and the columns ⌊jW/OW⌋ … ⌈(j+1)W/OW⌉−1
// of its channel, windows that may differ in size and overlap.
//
// Where OH divides H and OW divides W the windows are equal and disjoint,
// and it is AvgPool2d with window and stride H/OH × W/OW (one op). Else
// it uses that the average over a rectangle is an average of row averages:
// with P_H [OH × H] and P_W [OW × W] holding 1/|window| over each window,
// y = P_H x P_Wᵀ per channel, two products over the whole batch, each
// between a transpose:
//
//	forward:  T = x P_Wᵀ  ([N·C·H × W] [W × OW]);  y = (Tᵀ P_Hᵀ)ᵀ per channel
//	adjoint:  δ = P_Hᵀ ε P_W per channel (the ops' own adjoints, right to left)
//
// recorded as MatMul, SwapAxes and Reshape nodes, whose adjoints and
// tangents are those ops'.
func (tp *Tape) AdaptiveAvgPool2d(x *Var, out [2]int) *Var {
	if tp.skip(&adaptiveAvgPoolOp, x) {
		return tp.failedVar()
	}
	xs := x.Shape()
	if len(xs) != 4 || out[0] < 1 || out[1] < 1 {
		panic(fmt.Sprintf("autograd: AdaptiveAvgPool2d: input %v, output %v: want x [N, C, H, W] and a positive output size", xs, out))
	}
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	if h%out[0] == 0 && w%out[1] == 0 {
		k := [2]int{h / out[0], w / out[1]}
		return tp.AvgPool2d(x, k, PoolOptions{Stride: k})
	}
	pw := tp.ConstantFloat64(adaptiveWindows(out[1], w), out[1], w)
	ph := tp.ConstantFloat64(adaptiveWindows(out[0], h), out[0], h)
	t := tp.MatMulT(tp.Reshape(x, n*c*h, w), pw, false, true)                       // [N·C·H × OW]
	t = tp.Reshape(tp.SwapAxes(tp.Reshape(t, n*c, h, out[1]), 1, 2), n*c*out[1], h) // [N·C·OW × H]
	t = tp.MatMulT(t, ph, false, true)                                              // [N·C·OW × OH]
	return tp.Reshape(tp.SwapAxes(tp.Reshape(t, n*c, out[1], out[0]), 1, 2), n, c, out[0], out[1])
}

// adaptiveAvgPoolOp names the composite in tape errors; its nodes are
// those of the ops it is made of.
var adaptiveAvgPoolOp = Op{Name: "AdaptiveAvgPool2d"}

// adaptiveWindows is the matrix [out × in] whose row i averages torch's
// adaptive window i of in values: 1/(end−start) over start = ⌊i·in/out⌋ …
// end = ⌈(i+1)·in/out⌉ (exclusive).
func adaptiveWindows(out, in int) []float64 {
	p := make([]float64, out*in)
	for i := range out {
		start, end := i*in/out, ((i+1)*in+out-1)/out
		for j := start; j < end; j++ {
			p[i*in+j] = 1 / float64(end-start)
		}
	}
	return p
}
