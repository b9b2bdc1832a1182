package autograd

import "fmt"

// PadMode is how Pad2d fills the border: torch's F.pad modes.
type PadMode uint8

const (
	// PadZeros is F.pad's "constant" mode with value 0.
	PadZeros PadMode = iota
	// PadReflect mirrors the image about its edge pixel, which is not
	// repeated: [a b c] padded by 2 is [c b a b c b a] ("reflect").
	PadReflect
	// PadReplicate repeats the edge pixel: [a a a b c c c] ("replicate").
	PadReplicate
	// PadCircular wraps around: [b c a b c a b] ("circular").
	PadCircular
)

var padModeNames = [...]string{"zeros", "reflect", "replicate", "circular"}

func (m PadMode) String() string {
	if int(m) < len(padModeNames) {
		return padModeNames[m]
	}
	return fmt.Sprintf("PadMode(%d)", uint8(m))
}

// Pad2d returns x [N, C, H, W] padded by pad = [left, right, top, bottom]
// pixels (torch's F.pad(x, (left, right, top, bottom), mode)): y [N, C,
// H+top+bottom, W+left+right]. Zeros are joined on with Concat; the other
// modes copy source pixels, one axis at a time, by gathering the rows of a
// transposed view through an index vector built once per tape (Embedding,
// whose adjoint adds each output's ε back into its source):
//
//	x [R × W] ──Transpose──▶ [W × R] ──rows idx──▶ [OW × R] ──Transpose──▶ [R × OW]
//
// Reflect needs each pad below its axis's size, circular at most that size,
// as in torch.
func (tp *Tape) Pad2d(x *Var, pad [4]int, mode PadMode) *Var {
	if tp.skip(&pad2dOp, x) {
		return tp.failedVar()
	}
	xs := x.Shape()
	if len(xs) != 4 || int(mode) >= len(padModeNames) {
		panic(fmt.Sprintf("autograd: Pad2d: input %v, mode %v: want x [N, C, H, W] and a PadMode", xs, mode))
	}
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	for i, p := range pad {
		size := w
		if i >= 2 {
			size = h
		}
		if p < 0 || mode == PadReflect && p >= size || mode == PadCircular && p > size || mode != PadZeros && size == 0 {
			panic(fmt.Sprintf("autograd: Pad2d: pad %v of input %v in mode %v: want pads ≥ 0, below the size for reflect, at most it for circular", pad, xs, mode))
		}
	}
	oh, ow := h+pad[2]+pad[3], w+pad[0]+pad[1]
	y := tp.Reshape(tp.padRows(tp.Reshape(x, n*c*h, w), pad[0], pad[1], mode), n*c, h, ow)
	if pad[2] == 0 && pad[3] == 0 {
		return tp.Reshape(y, n, c, oh, ow)
	}
	y = tp.Reshape(tp.SwapAxes(y, 1, 2), n*c*ow, h) // H last
	y = tp.padRows(y, pad[2], pad[3], mode)
	return tp.Reshape(tp.SwapAxes(tp.Reshape(y, n*c, ow, oh), 1, 2), n, c, oh, ow)
}

// padRows pads each row of x [R × A] by lo elements before and hi after.
func (tp *Tape) padRows(x *Var, lo, hi int, mode PadMode) *Var {
	if lo == 0 && hi == 0 || tp.Failed() {
		return x
	}
	r, a := x.Shape()[0], x.Shape()[1]
	if mode == PadZeros {
		parts := make([]*Var, 0, 3)
		for _, width := range []int{lo, -1, hi} {
			switch {
			case width < 0:
				parts = append(parts, x)
			case width > 0:
				z := tp.Temp(r, width)
				if !z.Valid() {
					return x // the tape has failed
				}
				tp.dev.Fill(z.Buffer(), 0)
				parts = append(parts, tp.Constant(z))
			}
		}
		return tp.Concat(1, parts...)
	}
	idx := tp.resampleMatrix(resampleKey{pad: uint8(mode) + 1, out: a + lo + hi, in: a, lo: lo})
	return tp.Transpose(tp.Embedding(tp.Transpose(x), idx))
}

// padSources returns, for each of the out = lo + in + hi positions of a
// padded axis, the index of the input element it copies.
func padSources(mode PadMode, out, in, lo int) []float64 {
	src := make([]float64, out)
	for o := range src {
		i := o - lo
		switch mode {
		case PadReflect:
			if i < 0 {
				i = -i
			}
			if i >= in {
				i = 2*(in-1) - i
			}
		case PadReplicate:
			i = min(max(i, 0), in-1)
		case PadCircular:
			i = ((i % in) + in) % in
		}
		src[o] = float64(i)
	}
	return src
}

// pad2dOp names the composite in tape errors; its nodes are those of the
// views, transposes, gathers and joins it is made of.
var pad2dOp = Op{Name: "Pad2d"}
