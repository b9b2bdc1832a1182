package autograd_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/autograd/gradcheck"
	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// newCPU returns a CPU device whose buffers start as NaN (cpu.WithPoison),
// so that a test fails where code reads a buffer before writing it.
func newCPU(t testing.TB) *cpu.CPU {
	dev, err := cpu.New(cpu.WithPoison())
	require.NoError(t, err)
	return dev
}

func positive(x float64) float64 { return 0.5 + math.Abs(x) }

// awayFromZero keeps inputs off the kinks of ReLU and Abs.
func awayFromZero(x float64) float64 {
	if x >= 0 {
		return x + 0.1
	}
	return x - 0.1
}

type V = autograd.Var

// opTable is the one table of ops that every adjoint check runs over.
func opTable() []gradcheck.Case {
	unary := func(f device.UnaryOp, dom func(float64) float64) gradcheck.Case {
		return gradcheck.Case{Name: f.String(), Shapes: [][]int{{3, 5}}, Input: dom,
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Apply(f, in[0]) }}
	}
	cases := []gradcheck.Case{
		{Name: "MatMul", Shapes: [][]int{{4, 3}, {3, 5}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.MatMul(in[0], in[1]) }},
		{Name: "MatMulT/NT", Shapes: [][]int{{4, 3}, {5, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.MatMulT(in[0], in[1], false, true) }},
		{Name: "MatMulT/TN", Shapes: [][]int{{3, 4}, {3, 5}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.MatMulT(in[0], in[1], true, false) }},
		{Name: "MatMulT/TT", Shapes: [][]int{{3, 4}, {5, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.MatMulT(in[0], in[1], true, true) }},
		{Name: "MatMulT/gram", Shapes: [][]int{{4, 3}}, // X Xᵀ: one input on both sides
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.MatMulT(in[0], in[0], false, true) }},
		{Name: "MatMul/batched", Shapes: [][]int{{2, 3, 4, 3}, {2, 3, 3, 5}}, // batch [2 3] of products
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.MatMul(in[0], in[1]) }},
		{Name: "MatMulT/batched-NT", Shapes: [][]int{{3, 4, 2}, {3, 5, 2}}, // q @ k.transpose(-2, -1)
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.MatMulT(in[0], in[1], false, true) }},
		{Name: "MatMulT/batched-TT", Shapes: [][]int{{2, 3, 4}, {2, 5, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.MatMulT(in[0], in[1], true, true) }},
		{Name: "attention", Shapes: [][]int{{2, 4, 3}, {2, 5, 3}, {2, 5, 2}}, // softmax(q kᵀ/√d) v
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.MatMul(tp.Softmax(tp.Scale(tp.MatMulT(in[0], in[1], false, true), 1/math.Sqrt(3))), in[2])
			}},
		{Name: "Linear", Shapes: [][]int{{4, 3}, {5, 3}, {5}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Linear(in[0], in[1], in[2], device.Identity) }},
		{Name: "Linear/nobias", Shapes: [][]int{{4, 3}, {5, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Linear(in[0], in[1], nil, device.Identity) }},
		{Name: "Dropout", Shapes: [][]int{{6, 7}}, // a fixed (seed, offset): a fixed mask
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Dropout(in[0], 0.4, 11, 1<<32-2) }},
		{Name: "SwapAxes/adjacent", Shapes: [][]int{{2, 3, 4, 2}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.SwapAxes(in[0], 1, 2) }},
		{Name: "SwapAxes/apart", Shapes: [][]int{{2, 3, 4, 2}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.SwapAxes(in[0], 3, 0) }},
		{Name: "Transpose", Shapes: [][]int{{2, 3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Transpose(in[0]) }},
		{Name: "Conv2d", Shapes: [][]int{{2, 3, 5, 4}, {4, 3, 3, 2}, {4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Conv2d(in[0], in[1], in[2], autograd.ConvOptions{}) }},
		{Name: "Conv2d/strided-padded-dilated", Shapes: [][]int{{2, 2, 7, 6}, {3, 2, 3, 2}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.Conv2d(in[0], in[1], nil, autograd.ConvOptions{Stride: [2]int{2, 1}, Padding: [2]int{1, 2}, Dilation: [2]int{1, 2}})
			}},
		{Name: "Conv2d/groups", Shapes: [][]int{{2, 4, 5, 4}, {6, 2, 3, 2}, {6}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.Conv2d(in[0], in[1], in[2], autograd.ConvOptions{Groups: 2, Padding: [2]int{1, 1}})
			}},
		{Name: "Conv2d/depthwise", Shapes: [][]int{{2, 3, 6, 5}, {3, 1, 3, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.Conv2d(in[0], in[1], nil, autograd.ConvOptions{Groups: 3, Stride: [2]int{2, 1}, Padding: [2]int{1, 1}})
			}},
		{Name: "Conv1d", Shapes: [][]int{{2, 3, 9}, {4, 3, 3}, {4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Conv1d(in[0], in[1], in[2], autograd.Conv1dOptions{}) }},
		{Name: "Conv1d/strided-padded-dilated-grouped", Shapes: [][]int{{2, 4, 11}, {6, 2, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.Conv1d(in[0], in[1], nil, autograd.Conv1dOptions{Stride: 2, Padding: 2, Dilation: 2, Groups: 2})
			}},
		{Name: "ConvTranspose1d/strided-padded-grouped", Shapes: [][]int{{2, 4, 5}, {4, 3, 3}, {6}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.ConvTranspose1d(in[0], in[1], in[2], autograd.ConvTranspose1dOptions{Stride: 2, Padding: 1, OutputPadding: 1, Groups: 2})
			}},
		{Name: "Pad2d/zeros", Shapes: [][]int{{2, 2, 3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Pad2d(in[0], [4]int{1, 2, 0, 3}, autograd.PadZeros) }},
		{Name: "Pad2d/reflect", Shapes: [][]int{{2, 2, 3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Pad2d(in[0], [4]int{3, 1, 2, 1}, autograd.PadReflect) }},
		{Name: "Pad2d/replicate", Shapes: [][]int{{1, 2, 3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Pad2d(in[0], [4]int{2, 5, 1, 0}, autograd.PadReplicate) }},
		{Name: "Pad2d/circular", Shapes: [][]int{{1, 3, 3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Pad2d(in[0], [4]int{4, 2, 3, 1}, autograd.PadCircular) }},
		{Name: "MaxPool1d/overlapping-padded", Shapes: [][]int{{2, 3, 9}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.MaxPool1d(in[0], 3, autograd.Pool1dOptions{Stride: 2, Padding: 1})
			}},
		{Name: "AvgPool1d", Shapes: [][]int{{2, 3, 8}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.AvgPool1d(in[0], 2, autograd.Pool1dOptions{}) }},
		{Name: "AdaptiveAvgPool2d/uneven", Shapes: [][]int{{2, 3, 7, 5}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.AdaptiveAvgPool2d(in[0], [2]int{3, 4}) }},
		{Name: "Interpolate/bilinear", Shapes: [][]int{{2, 2, 3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.Interpolate(in[0], [2]int{5, 7}, autograd.Bilinear, false)
			}},
		{Name: "Interpolate/nearest", Shapes: [][]int{{1, 2, 4, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.Interpolate(in[0], [2]int{3, 7}, autograd.Nearest, false)
			}},
		{Name: "AvgPool2d", Shapes: [][]int{{2, 3, 6, 5}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.AvgPool2d(in[0], [2]int{2, 2}, autograd.PoolOptions{}) }},
		{Name: "AvgPool2d/overlapping-padded", Shapes: [][]int{{1, 2, 7, 6}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.AvgPool2d(in[0], [2]int{3, 2}, autograd.PoolOptions{Stride: [2]int{2, 1}, Padding: [2]int{1, 1}})
			}},
		{Name: "MaxPool2d", Shapes: [][]int{{2, 3, 6, 5}}, // distinct values: no ties for differences to break
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.MaxPool2d(in[0], [2]int{2, 2}, autograd.PoolOptions{}) }},
		{Name: "MaxPool2d/overlapping-padded", Shapes: [][]int{{1, 2, 7, 6}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.MaxPool2d(in[0], [2]int{3, 3}, autograd.PoolOptions{Stride: [2]int{2, 1}, Padding: [2]int{1, 1}})
			}},
		{Name: "Embedding", Shapes: [][]int{{5, 3}}, // rows 1 and 4 twice, row 2 never
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.Embedding(in[0], tp.ConstantFloat64([]float64{1, 4, 0, 4, 3, 1}, 2, 3))
			}},
		{Name: "Add", Shapes: [][]int{{2, 3}, {2, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Add(in[0], in[1]) }},
		{Name: "Sub", Shapes: [][]int{{2, 3}, {2, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Sub(in[0], in[1]) }},
		{Name: "Mul", Shapes: [][]int{{2, 3}, {2, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Mul(in[0], in[1]) }},
		{Name: "Div", Shapes: [][]int{{2, 3}, {2, 3}}, Input: positive,
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Div(in[0], in[1]) }},
		{Name: "Add/bias-row", Shapes: [][]int{{4, 3}, {3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Add(in[0], in[1]) }},
		{Name: "Sub/per-sample", Shapes: [][]int{{4, 1}, {4, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Sub(in[0], in[1]) }},
		{Name: "Mul/outer", Shapes: [][]int{{4, 1}, {1, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Mul(in[0], in[1]) }},
		{Name: "Div/scalar", Shapes: [][]int{{2, 3}, {1}}, Input: positive,
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Div(in[0], in[1]) }},
		{Name: "Mul/channel", Shapes: [][]int{{2, 3, 4}, {3, 1}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Mul(in[0], in[1]) }},
		{Name: "BroadcastTo/both-sides", Shapes: [][]int{{1, 3, 1}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.BroadcastTo(in[0], 2, 3, 4) }},
		{Name: "BroadcastTo/leading", Shapes: [][]int{{3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.BroadcastTo(in[0], 2, 4, 3) }},
		{Name: "BroadcastTo/ones-only", Shapes: [][]int{{3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.BroadcastTo(in[0], 1, 1, 3, 4) }},
		{Name: "SumTo/both-sides", Shapes: [][]int{{2, 3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.SumTo(in[0], 3, 1) }},
		{Name: "SumTo/batch", Shapes: [][]int{{4, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.SumTo(in[0], 3) }},
		{Name: "SumTo/per-sample", Shapes: [][]int{{4, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.SumTo(in[0], 4, 1) }},
		{Name: "Sub/middle-repeat", Shapes: [][]int{{2, 1, 4}, {2, 3, 4}}, // per a, R copies
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Sub(in[0], in[1]) }},
		{Name: "Mul/middle-repeat-wide", Shapes: [][]int{{5, 2, 3}, {5, 1, 3}}, // per r, one copy of all of x
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Mul(in[0], in[1]) }},
		{Name: "BroadcastTo/alternating", Shapes: [][]int{{1, 2, 1, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.BroadcastTo(in[0], 2, 2, 3, 3) }},
		{Name: "SumTo/middle", Shapes: [][]int{{2, 3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.SumTo(in[0], 2, 1, 4) }},
		{Name: "SumTo/alternating", Shapes: [][]int{{2, 2, 3, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.SumTo(in[0], 2, 1, 3) }},
		{Name: "Mul/broadcast-fanout", Shapes: [][]int{{4, 3}, {3}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.Add(tp.Mul(in[0], in[1]), in[1]) // b broadcast twice: two sums into one gradient
			}},
		{Name: "Mul/fanout", Shapes: [][]int{{2, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Mul(in[0], in[0]) }},
		{Name: "Scale", Shapes: [][]int{{7}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Scale(in[0], -2.5) }},
		{Name: "Softmax", Shapes: [][]int{{3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Softmax(in[0]) }},
		{Name: "LayerNorm", Shapes: [][]int{{4, 5}, {5}, {5}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.LayerNorm(in[0], in[1], in[2], 1e-5) }},
		{Name: "LayerNorm/noaffine", Shapes: [][]int{{3, 6}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.LayerNorm(in[0], nil, nil, 0.1) }},
		{Name: "LayerNorm/gamma-only-fanout", Shapes: [][]int{{4, 5}, {5}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.Mul(tp.LayerNorm(in[0], in[1], nil, 1e-5), in[0]) // x reaches the output twice
			}},
		{Name: "ConvTranspose2d", Shapes: [][]int{{2, 3, 3, 2}, {3, 2, 3, 3}, {2}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.ConvTranspose2d(in[0], in[1], in[2], autograd.ConvTransposeOptions{Stride: [2]int{2, 1}, Padding: [2]int{1, 0}, OutputPadding: [2]int{1, 0}})
			}},
		{Name: "ConvTranspose2d/dilated-nobias", Shapes: [][]int{{1, 2, 3, 3}, {2, 3, 2, 2}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.ConvTranspose2d(in[0], in[1], nil, autograd.ConvTransposeOptions{Stride: [2]int{2, 2}, Dilation: [2]int{2, 1}, Padding: [2]int{1, 1}})
			}},
		{Name: "ConvTranspose2d/groups", Shapes: [][]int{{2, 4, 3, 2}, {4, 3, 2, 3}, {6}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.ConvTranspose2d(in[0], in[1], in[2], autograd.ConvTransposeOptions{Stride: [2]int{2, 1}, Groups: 2})
			}},
		{Name: "BatchNorm/train", Shapes: [][]int{{3, 2, 2, 3}, {2}, {2}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				// Running statistics are updated in place and leave the output alone.
				rm, rv := tp.ConstantFloat64([]float64{0, 1}, 2), tp.ConstantFloat64([]float64{1, 2}, 2)
				return tp.BatchNorm(in[0], in[1], in[2], rm.Value(), rv.Value(), autograd.BatchNormOptions{Training: true, Momentum: 0.1, Eps: 1e-5})
			}},
		{Name: "BatchNorm/train-1d-noaffine", Shapes: [][]int{{5, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.BatchNorm(in[0], nil, nil, nil, nil, autograd.BatchNormOptions{Training: true, Eps: 0.1})
			}},
		{Name: "BatchNorm/beta-only-fanout", Shapes: [][]int{{4, 2, 3}, {2}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.Mul(tp.BatchNorm(in[0], nil, in[1], nil, nil, autograd.BatchNormOptions{Training: true, Eps: 1e-5}), in[0])
			}},
		{Name: "BatchNorm/gamma-reused", Shapes: [][]int{{5, 2}, {2}, {2}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				// γ's gradient exists (from Mul) when BatchNorm's adjoint adds
				// to it while β's is new: two βs, two kernel calls.
				bn := tp.BatchNorm(in[0], in[1], in[2], nil, nil, autograd.BatchNormOptions{Training: true, Eps: 1e-5})
				return tp.Mul(bn, in[1])
			}},
		{Name: "GroupNorm", Shapes: [][]int{{2, 4, 3}, {4}, {4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.GroupNorm(in[0], 2, in[1], in[2], 1e-5) }},
		{Name: "GroupNorm/instance-beta-only", Shapes: [][]int{{3, 2, 2, 2}, {2}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.GroupNorm(in[0], 2, nil, in[1], 0.1) }},
		{Name: "BatchNorm/eval", Shapes: [][]int{{2, 3, 4}, {3}, {3}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				rm, rv := tp.ConstantFloat64([]float64{0.5, -1, 0}, 3), tp.ConstantFloat64([]float64{0.25, 2, 1}, 3)
				return tp.BatchNorm(in[0], in[1], in[2], rm.Value(), rv.Value(), autograd.BatchNormOptions{Momentum: 0.1, Eps: 1e-5})
			}},
		{Name: "LogSoftmax", Shapes: [][]int{{3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.LogSoftmax(in[0]) }},
		{Name: "Sum", Shapes: [][]int{{3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Sum(in[0]) }},
		{Name: "Mean", Shapes: [][]int{{3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Mean(in[0]) }},
		{Name: "Reshape", Shapes: [][]int{{3, 4}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Reshape(in[0], 2, -1) }},
		{Name: "Concat/cols", Shapes: [][]int{{3, 2}, {3, 4}, {3, 1}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Concat(-1, in[0], in[1], in[2]) }},
		{Name: "Concat/rows", Shapes: [][]int{{2, 3}, {1, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Concat(0, in[0], in[1]) }},
		{Name: "Concat/middle", Shapes: [][]int{{2, 1, 3}, {2, 2, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Concat(1, in[0], in[1]) }},
		{Name: "Slice", Shapes: [][]int{{3, 5}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Slice(in[0], 1, 1, 4) }},
		{Name: "Split/recombine", Shapes: [][]int{{4, 5}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				p := tp.Split(in[0], -1, 2, 3)
				return tp.Mul(tp.Slice(p[1], 1, 0, 2), p[0]) // two parts of one input meet again
			}},
		{Name: "MLP", Shapes: [][]int{{4, 3}, {6, 3}, {6}, {2, 6}, {2}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				h := tp.Linear(in[0], in[1], in[2], device.Tanh)
				return tp.Linear(h, in[3], in[4], device.Sigmoid)
			}},
		{Name: "Linear/relu", Shapes: [][]int{{4, 3}, {5, 3}, {5}}, Input: awayFromZero,
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Linear(in[0], in[1], in[2], device.ReLU) }},
		{Name: "Residual/identity", Shapes: [][]int{{4, 3}, {3, 3}, {3}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				// x + (x Wᵀ + b): Add passes one ε to both inputs, and the
				// Linear adjoint then reads ε while adding into x's gradient.
				return tp.Add(in[0], tp.Linear(in[0], in[1], in[2], device.Identity))
			}},
		{Name: "Add/same", Shapes: [][]int{{2, 3}},
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.Add(in[0], in[0]) }},
		{Name: "Residual", Shapes: [][]int{{4, 3}, {3, 3}, {3}},
			Build: func(tp *autograd.Tape, in []*V) *V {
				return tp.Add(in[0], tp.Linear(in[0], in[1], in[2], device.Tanh)) // x + f(x): fan-out and fan-in
			}},
	}
	for _, f := range device.UnaryOps() {
		dom := awayFromZero
		if f == device.Log || f == device.Sqrt {
			dom = positive
		}
		cases = append(cases, unary(f, dom))
	}
	// The functions with a parameter, off torch's default.
	cases = append(cases,
		gradcheck.Case{Name: "leaky_relu/0.2", Shapes: [][]int{{3, 5}}, Input: awayFromZero,
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.LeakyReLU(in[0], 0.2) }},
		gradcheck.Case{Name: "elu/1.3", Shapes: [][]int{{3, 5}}, Input: awayFromZero,
			Build: func(tp *autograd.Tape, in []*V) *V { return tp.ELU(in[0], 1.3) }})
	return cases
}

func TestAdjointIdentity(t *testing.T) {
	dev := newCPU(t)
	for _, c := range opTable() {
		t.Run(c.Name, func(t *testing.T) {
			for seed := uint64(1); seed <= 3; seed++ {
				r, err := gradcheck.Check(dev, c, seed)
				require.NoError(t, err)
				tol := 1e-6 * r.Scale
				require.InDelta(t, r.Central, r.Reverse, tol, "⟨Jv,u⟩ by differences vs ⟨v,Jᵀu⟩ by Backward (seed %d)", seed)
				require.InDelta(t, r.Forward, r.Reverse, 1e-9*r.Scale, "tangent rule vs Backward (seed %d)", seed)
				require.Less(t, r.TangentGap, 1e-6*max(1, r.Scale), "tangent J v vs differences (seed %d)", seed)
			}
		})
	}
}

// TestHandDerived checks gradients derived by hand for small cases.
func TestHandDerived(t *testing.T) {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	mk := func(v []float64, shape ...int) *tensor.Tensor {
		x, err := tensor.FromFloat64(dev, v, shape...)
		require.NoError(t, err)
		return x
	}

	t.Run("linear", func(t *testing.T) {
		// z = w·x + b for one sample x = (1, 2), w = (3, 4), b = 5: z = 16.
		// L = z² ⇒ ∂L/∂z = 2z = 32, so g_w = 32·x = (32, 64), g_b = 32,
		// δ_x = 32·w = (96, 128).
		defer tp.Reset()
		x := tp.Input(mk([]float64{1, 2}, 1, 2), true)
		w := autograd.NewParam("w", mk([]float64{3, 4}, 1, 2))
		b := autograd.NewParam("b", mk([]float64{5}, 1))
		z := tp.Linear(x, w, b, device.Identity)
		l := tp.Sum(tp.Mul(z, z))
		require.NoError(t, tp.Backward(l))
		val, _ := l.Value().Item()
		require.Equal(t, 256.0, val)
		gw, _ := w.Grad().Float64s()
		gb, _ := b.Grad().Float64s()
		gx, _ := x.Grad().Float64s()
		require.Equal(t, []float64{32, 64}, gw)
		require.Equal(t, []float64{32}, gb)
		require.Equal(t, []float64{96, 128}, gx)
	})

	t.Run("sigmoid", func(t *testing.T) {
		// σ(0) = 1/2 and σ'(0) = σ(0)(1 − σ(0)) = 1/4.
		defer tp.Reset()
		x := tp.Input(mk([]float64{0}, 1), true)
		require.NoError(t, tp.Backward(tp.Sum(tp.Sigmoid(x))))
		g, _ := x.Grad().Float64s()
		require.Equal(t, []float64{0.25}, g)
	})

	t.Run("softmax two classes", func(t *testing.T) {
		// softmax(a, b)₀ = σ(a − b); at a = b its derivative in a is 1/4
		// and in b is −1/4.
		defer tp.Reset()
		x := tp.Input(mk([]float64{0.7, 0.7}, 1, 2), true)
		s := tp.Softmax(x)
		require.NoError(t, tp.Backward(tp.Sum(tp.Slice(s, 1, 0, 1))))
		g, _ := x.Grad().Float64s()
		require.InDeltaSlice(t, []float64{0.25, -0.25}, g, 1e-15)
	})

	t.Run("fan-out adds", func(t *testing.T) {
		// y = x + 3x ⇒ dy/dx = 4 through two paths that meet at x.
		defer tp.Reset()
		x := tp.Input(mk([]float64{2}, 1), true)
		require.NoError(t, tp.Backward(tp.Sum(tp.Add(x, tp.Scale(x, 3)))))
		g, _ := x.Grad().Float64s()
		require.Equal(t, []float64{4}, g)
	})
}
