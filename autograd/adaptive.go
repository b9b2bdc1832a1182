package autograd

import (
	"fmt"

	"github.com/adjoint-go/adjoint/tensor"
)

// This file holds the resampling ops that are linear maps acting on rows
// and columns separately, y = P_H x P_Wᵀ per channel of x [N, C, H, W],
// with P_H [OH × H] and P_W [OW × W] built from the sizes (once per tape:
// resampleMatrix):
// adaptive average pooling and interpolation (upsampling). Each runs as
// two products over the whole batch between transposes,
//
//	forward:  T = x P_Wᵀ  ([N·C·H × W] [W × OW]);  y = (Tᵀ P_Hᵀ)ᵀ per channel
//	adjoint:  δ = P_Hᵀ ε P_W per channel (the ops' own adjoints, right to left)
//
// recorded as MatMul, SwapAxes and Reshape nodes, whose adjoints and
// tangents are those ops'.

// resampleKey names a matrix [out × in] of a separable resampling: the
// adaptive windows (adaptive set) or an interpolation's weights.
type resampleKey struct {
	adaptive bool
	out, in  int
	mode     InterpolateMode
	align    bool
	// pad, when not 0, makes the key a padding's source index vector [out]
	// (PadMode pad−1, lo elements before the first; see Pad2d), not a
	// matrix.
	pad uint8
	lo  int
}

// resampleMatrix returns the matrix k as a constant, from the tape's cache
// (Release frees it), built and uploaded on first use: a steady-state step
// neither allocates it nor copies it to the device.
func (tp *Tape) resampleMatrix(k resampleKey) *Var {
	t, ok := tp.resample[k]
	if !ok {
		var p []float64
		shape := []int{k.out, k.in}
		switch {
		case k.pad != 0:
			p, shape = padSources(PadMode(k.pad-1), k.out, k.in, k.lo), []int{k.out}
		case k.adaptive:
			p = adaptiveWindows(k.out, k.in)
		default:
			p = interpolationWeights(k.out, k.in, k.mode, k.align)
		}
		nt, err := tensor.New(tp.dev, tp.dtype, shape...)
		if err == nil {
			if err = tp.dev.Upload64(nt.Buffer(), p); err != nil {
				nt.Release()
			}
		}
		if err != nil {
			tp.fail(fmt.Errorf("autograd: resampling matrix %d×%d: %w", k.out, k.in, err))
			return tp.failedVar()
		}
		if tp.resample == nil {
			tp.resample = map[resampleKey]*tensor.Tensor{}
		}
		tp.resample[k] = nt
		t = nt
	}
	return tp.Constant(t)
}

// separable2d returns P_H x P_Wᵀ per channel of x [N, C, H, W], for the
// matrices ph [OH × H] and pw [OW × W].
func (tp *Tape) separable2d(x *Var, ph, pw resampleKey) *Var {
	xs := x.Shape()
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	oh, ow := ph.out, pw.out
	PW, PH := tp.resampleMatrix(pw), tp.resampleMatrix(ph)
	t := tp.MatMulT(tp.Reshape(x, n*c*h, w), PW, false, true)               // [N·C·H × OW]
	t = tp.Reshape(tp.SwapAxes(tp.Reshape(t, n*c, h, ow), 1, 2), n*c*ow, h) // [N·C·OW × H]
	t = tp.MatMulT(t, PH, false, true)                                      // [N·C·OW × OH]
	return tp.Reshape(tp.SwapAxes(tp.Reshape(t, n*c, ow, oh), 1, 2), n, c, oh, ow)
}

// AdaptiveAvgPool2d returns torch's adaptive_avg_pool2d of x [N, C, H, W]
// to y [N, C, OH, OW] for out = [OH, OW]: output pixel (i, j) averages the
// rows ⌊iH/OH⌋ … ⌈(i+1)H/OH⌉−1 and the columns ⌊jW/OW⌋ … ⌈(j+1)W/OW⌉−1
// of its channel, windows that may differ in size and overlap.
//
// Where OH divides H and OW divides W the windows are equal and disjoint,
// and it is AvgPool2d with window and stride H/OH × W/OW (one op). Else
// it uses that the average over a rectangle is an average of row averages:
// P_H and P_W hold 1/|window| over each window (see the top of this file).
func (tp *Tape) AdaptiveAvgPool2d(x *Var, out [2]int) *Var {
	if tp.skip(&adaptiveAvgPoolOp, x) {
		return tp.failedVar()
	}
	xs := x.Shape()
	if len(xs) != 4 || out[0] < 1 || out[1] < 1 {
		panic(fmt.Sprintf("autograd: AdaptiveAvgPool2d: input %v, output %v: want x [N, C, H, W] and a positive output size", xs, out))
	}
	h, w := xs[2], xs[3]
	if h%out[0] == 0 && w%out[1] == 0 {
		k := [2]int{h / out[0], w / out[1]}
		return tp.AvgPool2d(x, k, PoolOptions{Stride: k})
	}
	return tp.separable2d(x, resampleKey{adaptive: true, out: out[0], in: h}, resampleKey{adaptive: true, out: out[1], in: w})
}

// adaptiveAvgPoolOp and interpolateOp name the composites in tape errors;
// their nodes are those of the ops they are made of.
var (
	adaptiveAvgPoolOp = Op{Name: "AdaptiveAvgPool2d"}
	interpolateOp     = Op{Name: "Interpolate"}
)

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

// InterpolateMode is a resampling rule of Interpolate.
type InterpolateMode uint8

const (
	// Nearest copies, for output index i, input index ⌊i·in/out⌋ (torch's
	// mode="nearest").
	Nearest InterpolateMode = iota
	// Bilinear weighs the two nearest inputs along each axis by their
	// distance to the output's source coordinate (torch's
	// mode="bilinear"): i·(in−1)/(out−1) with AlignCorners, else
	// (i + ½)·in/out − ½ clamped at 0.
	Bilinear
)

func (m InterpolateMode) String() string {
	switch m {
	case Nearest:
		return "nearest"
	case Bilinear:
		return "bilinear"
	}
	return fmt.Sprintf("InterpolateMode(%d)", uint8(m))
}

// Interpolate returns torch's F.interpolate(x, size=out, mode=mode,
// align_corners=alignCorners) of images x [N, C, H, W]: y [N, C, OH, OW],
// upsampling or downsampling each channel, the separable linear map at the
// top of this file, its rows from the mode (alignCorners applies to
// Bilinear only, as in torch). Its adjoint is the map's transpose: each
// output's gradient goes back to the inputs it was made from, with their
// weights (for Nearest, summed over the copies).
func (tp *Tape) Interpolate(x *Var, out [2]int, mode InterpolateMode, alignCorners bool) *Var {
	if tp.skip(&interpolateOp, x) {
		return tp.failedVar()
	}
	xs := x.Shape()
	if len(xs) != 4 || out[0] < 1 || out[1] < 1 || mode > Bilinear || (alignCorners && mode != Bilinear) {
		panic(fmt.Sprintf("autograd: Interpolate: input %v, output %v, mode %v, align corners %v: want x [N, C, H, W], a positive output size, and corners aligned in bilinear mode only",
			xs, out, mode, alignCorners))
	}
	h, w := xs[2], xs[3]
	return tp.separable2d(x, resampleKey{out: out[0], in: h, mode: mode, align: alignCorners},
		resampleKey{out: out[1], in: w, mode: mode, align: alignCorners})
}

// interpolationWeights is the matrix [out × in] of torch's resampling of
// in values to out along one axis.
func interpolationWeights(out, in int, mode InterpolateMode, alignCorners bool) []float64 {
	p := make([]float64, out*in)
	scale := float64(in) / float64(out)
	for i := range out {
		row := p[i*in : (i+1)*in]
		if mode == Nearest {
			row[min(i*in/out, in-1)] = 1 // ⌊i·in/out⌋ in integers: exact
			continue
		}
		var src float64
		if alignCorners {
			if out > 1 {
				src = float64(i) * float64(in-1) / float64(out-1)
			}
		} else {
			src = max(scale*(float64(i)+0.5)-0.5, 0)
		}
		i0 := int(src)
		i1 := min(i0+1, in-1)
		l1 := src - float64(i0)
		row[i0] += 1 - l1
		row[i1] += l1
	}
	return p
}
