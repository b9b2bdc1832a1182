package autograd_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/internal/torchtest"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/tensor"
)

// jsonFloat is a float64 that survives JSON when it is not finite: "NaN",
// "+Inf" and "-Inf" travel as strings (encoding/json writes no NaN), and
// scripts/torch/ops_compare.py reads them back with float().
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return []byte(`"` + strconv.FormatFloat(x, 'g', -1, 64) + `"`), nil
	}
	return []byte(strconv.FormatFloat(x, 'g', -1, 64)), nil
}

func jsonFloats(v []float64) []jsonFloat {
	out := make([]jsonFloat, len(v))
	for i, x := range v {
		out[i] = jsonFloat(x)
	}
	return out
}

// torchInput is one named input of a case: its values, and whether the
// case asks for its gradient.
type torchInput struct {
	Shape []int       `json:"shape"`
	Data  []jsonFloat `json:"data"`
	Grad  bool        `json:"grad,omitempty"`
}

// torchCase is what ops_compare.py recomputes with torch: an op on named
// inputs, the seed of Backward (none for a scalar loss), and adjoint's
// output and gradients.
type torchCase struct {
	Name      string                 `json:"name"`
	Op        string                 `json:"op"`
	Param     float64                `json:"param,omitempty"`
	Tol       float64                `json:"tol,omitempty"` // this case's tolerance, when not the run's
	Shape     []int                  `json:"shape,omitempty"`
	Reduction string                 `json:"reduction,omitempty"`
	Inputs    map[string]torchInput  `json:"inputs"`
	Seed      []jsonFloat            `json:"seed,omitempty"`
	Out       []jsonFloat            `json:"out"`
	Grads     map[string][]jsonFloat `json:"grads"`
}

// input is a case's input before evaluation.
type input struct {
	name  string
	shape []int
	data  []float64
	grad  bool
}

// opCase is one row of TestOpsMatchTorch's table: the torch-side op name,
// its parameter and reduction, the inputs, and how adjoint builds the
// output from them on a tape.
type opCase struct {
	name, op  string
	param     float64
	tol       float64 // 0: the run's 1e-12
	shape     []int   // the target of broadcast-to and sum-to
	reduction loss.Reduction
	isLoss    bool
	inputs    []input
	build     func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var
}

// TestOpsMatchTorch evaluates every elementwise function of one and of two
// inputs (also on broadcast operands), BroadcastTo and SumTo, MatMul with
// each transpose, Sum, Mean, softmax, log-softmax, LayerNorm, Linear with
// each activation, and every loss with each reduction on adjoint's tape in
// float64, and has PyTorch recompute the outputs and the gradients
// (torch.nn.functional and its autograd): every number must agree to
// 1e-12 of max(1, |value|). The inputs include the points where the two
// could part: ReLU and |x| at 0, log and √ at 0, a zero denominator, exp
// and the sigmoid beyond float64's range, softmax rows of ±1000 and of
// equal logits, a constant row under LayerNorm, MAE at a zero residual,
// Huber at |r| = δ, and cross-entropies of logits ±800. It needs
// /usr/bin/python3 with torch (Debian's python3-torch; CI installs it) and
// skips without.
func TestOpsMatchTorch(t *testing.T) {
	script := torchtest.Script(t, "ops_compare.py")

	rng := rand.New(rand.NewPCG(3, 4))
	uniform := func(n int, lo, hi float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = lo + (hi-lo)*rng.Float64()
		}
		return v
	}
	var cases []opCase

	// Elementwise functions, each at its own telling points.
	points := map[device.UnaryOp][]float64{
		device.Log:     {0, 1e-300, 0.01, 0.5, 1, 3, 1e300},
		device.Sqrt:    {0, 1e-300, 0.01, 0.5, 1, 3, 1e300},
		device.Exp:     {-800, -40, -1, 0, 0.5, 40, 700, 800},
		device.Sigmoid: {-800, -40, -1, 0, 0.5, 40, 800},
		device.Tanh:    {-800, -20, -1, 0, 0.5, 20, 800},
		device.GELU:    {-800, -40, -6, -3, -1, 0, 0.5, 3, 40, 800},
		device.SiLU:    {-800, -40, -6, -1, 0, 0.5, 3, 40, 800},
		device.ELU:     {-800, -40, -1, -1e-10, 0, 0.5, 40, 800},
		// The clamps at and around their corners; not Hardswish at 3, where
		// torch's kernels differ (1.13's vectorised CPU kernel gives the
		// right derivative 1 there; its CUDA kernel and the scalar CPU code
		// of later versions the left one, 3/2, as ours does).
		device.ReLU6:       {-800, -1, 0, 1e-10, 3, 6 - 1e-10, 6, 6.5, 800},
		device.Hardsigmoid: {-800, -3.5, -3, -2.9, 0, 2.9, 3, 3.5, 800},
		device.Hardswish:   {-800, -3.5, -3, -2.9, 0, 2.9, 3 - 1e-10, 3.5, 800},
	}
	// The functions with a parameter run with torch's default (Apply) and
	// with another (ApplyParam): LeakyReLU's slope, ELU's α.
	otherParam := map[device.UnaryOp]float64{device.LeakyReLU: 0.2, device.ELU: 1.3}
	for _, op := range device.UnaryOps() {
		x, ok := points[op]
		if !ok {
			x = []float64{-2.5, -1, -0.3, 0, 0.2, 0.7, 1.9}
		}
		var tol float64
		if op == device.Hardsigmoid {
			tol = 1e-7 // torch's slope 1/6 is a float32 constant, 0.16666667163…, in float64 too
		}
		cases = append(cases, opCase{name: op.String(), op: op.String(), param: op.DefaultParam(), tol: tol,
			inputs: []input{{"x", []int{len(x)}, x, true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.Apply(op, in["x"])
			}})
		if p, ok := otherParam[op]; ok {
			cases = append(cases, opCase{name: fmt.Sprintf("%v/%g", op, p), op: op.String(), param: p,
				inputs: []input{{"x", []int{len(x)}, x, true}},
				build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
					return tp.ApplyParam(op, p, in["x"])
				}})
		}
	}

	// The binary functions, with a zero denominator for Div (a/0 = ±Inf,
	// and the gradients follow), MatMul, Sum and Mean.
	binA := []float64{1.5, -2, 0.25, 3, -0.5, 0, 2}
	binB := []float64{0.5, 4, -1.25, 0, 2, -3, -0.75}
	for _, op := range []struct {
		name string
		fn   func(tp *autograd.Tape, a, b *autograd.Var) *autograd.Var
	}{{"add", (*autograd.Tape).Add}, {"sub", (*autograd.Tape).Sub}, {"mul", (*autograd.Tape).Mul}, {"div", (*autograd.Tape).Div}} {
		cases = append(cases, opCase{name: op.name, op: op.name,
			inputs: []input{{"a", []int{7}, binA, true}, {"b", []int{7}, binB, true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return op.fn(tp, in["a"], in["b"])
			}})
	}
	// Broadcasting binary ops (a bias row, a per-sample column, an outer
	// product, a per-channel column, a scalar) and BroadcastTo itself: torch
	// broadcasts the same operands, and its gradients sum over the repeats.
	binOps := map[string]func(tp *autograd.Tape, a, b *autograd.Var) *autograd.Var{
		"add": (*autograd.Tape).Add, "sub": (*autograd.Tape).Sub, "mul": (*autograd.Tape).Mul, "div": (*autograd.Tape).Div}
	for i, sh := range []struct {
		op   string
		a, b []int
	}{
		{"add", []int{4, 3}, []int{3}},
		{"sub", []int{4, 1}, []int{4, 3}},
		{"mul", []int{4, 1}, []int{1, 3}},
		{"mul", []int{2, 3, 4}, []int{3, 1}},
		{"div", []int{2, 3}, []int{1}},
		{"div", []int{3}, []int{2, 2, 3}},
		{"sub", []int{2, 1, 4}, []int{2, 3, 4}},       // a repeat between kept dimensions
		{"mul", []int{2, 1, 1, 3}, []int{1, 4, 2, 1}}, // both operands, several runs each
	} {
		na, nb := numel(sh.a), numel(sh.b)
		fn := binOps[sh.op]
		cases = append(cases, opCase{name: fmt.Sprintf("%s/broadcast-%d", sh.op, i), op: sh.op,
			inputs: []input{{"a", sh.a, uniform(na, -2, 2), true}, {"b", sh.b, uniform(nb, 0.5, 2), true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return fn(tp, in["a"], in["b"])
			}})
	}
	for i, sh := range []struct{ from, to []int }{{[]int{1, 3, 1}, []int{2, 3, 4}}, {[]int{3}, []int{2, 4, 3}}, {[]int{2, 1}, []int{2, 5}}, {[]int{1, 2, 1, 3}, []int{2, 2, 3, 3}}} {
		cases = append(cases, opCase{name: fmt.Sprintf("broadcast-to/%d", i), op: "broadcast-to", shape: sh.to,
			inputs: []input{{"x", sh.from, uniform(numel(sh.from), -2, 2), true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.BroadcastTo(in["x"], sh.to...)
			}})
	}
	for i, sh := range []struct{ from, to []int }{{[]int{2, 3, 4}, []int{3, 1}}, {[]int{4, 3}, []int{3}}, {[]int{4, 3}, []int{4, 1}}, {[]int{2, 2, 3, 3}, []int{2, 1, 3}}} {
		cases = append(cases, opCase{name: fmt.Sprintf("sum-to/%d", i), op: "sum-to", shape: sh.to,
			inputs: []input{{"x", sh.from, uniform(numel(sh.from), -2, 2), true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.SumTo(in["x"], sh.to...)
			}})
	}
	for _, tr := range []struct {
		name   string
		ta, tb bool
		sa, sb []int
	}{{"NT", false, true, []int{3, 4}, []int{2, 4}}, {"TN", true, false, []int{4, 3}, []int{4, 2}}, {"TT", true, true, []int{4, 3}, []int{2, 4}}} {
		cases = append(cases, opCase{name: "matmul/" + tr.name, op: "matmul/" + tr.name,
			inputs: []input{{"a", tr.sa, uniform(12, -1, 1), true}, {"b", tr.sb, uniform(8, -1, 1), true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.MatMulT(in["a"], in["b"], tr.ta, tr.tb)
			}})
	}
	cases = append(cases, opCase{name: "matmul", op: "matmul",
		inputs: []input{{"a", []int{3, 4}, uniform(12, -1, 1), true}, {"b", []int{4, 2}, uniform(8, -1, 1), true}},
		build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
			return tp.MatMul(in["a"], in["b"])
		}})
	for _, op := range []struct {
		name string
		fn   func(tp *autograd.Tape, x *autograd.Var) *autograd.Var
	}{{"sum", (*autograd.Tape).Sum}, {"mean", (*autograd.Tape).Mean}} {
		cases = append(cases, opCase{name: op.name, op: op.name,
			inputs: []input{{"x", []int{3, 5}, uniform(15, -2, 2), true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return op.fn(tp, in["x"])
			}})
	}

	// Transpose of a batch of matrices, and Conv2d (torch's conv2d): plain,
	// with strides, padding wider than the kernel's reach, dilation and no
	// bias, and grouped (two groups of three channels into two groups of
	// two; depthwise, as many groups as channels, two outputs each);
	// shape carries stride, padding, dilation and groups.
	cases = append(cases, opCase{name: "transpose", op: "transpose",
		inputs: []input{{"x", []int{2, 3, 4}, uniform(24, -2, 2), true}},
		build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
			return tp.Transpose(in["x"])
		}})
	for i, ax := range [][2]int{{1, 2}, {0, 3}, {-1, 1}} {
		cases = append(cases, opCase{name: fmt.Sprintf("swap-axes/%d", i), op: "swap-axes", shape: ax[:],
			inputs: []input{{"x", []int{2, 3, 4, 5}, uniform(120, -2, 2), true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.SwapAxes(in["x"], ax[0], ax[1])
			}})
	}
	for i, cv := range []struct {
		x, w []int
		bias bool
		opt  autograd.ConvOptions
	}{
		{[]int{2, 3, 6, 5}, []int{4, 3, 3, 3}, true, autograd.ConvOptions{}},
		{[]int{2, 2, 7, 8}, []int{3, 2, 3, 2}, true, autograd.ConvOptions{Stride: [2]int{2, 3}, Padding: [2]int{1, 2}}},
		{[]int{1, 3, 9, 9}, []int{2, 3, 3, 3}, false, autograd.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{3, 1}, Dilation: [2]int{2, 3}}},
		{[]int{2, 6, 6, 5}, []int{4, 3, 3, 2}, true, autograd.ConvOptions{Groups: 2, Padding: [2]int{1, 0}}},
		{[]int{2, 3, 7, 7}, []int{6, 1, 3, 3}, true, autograd.ConvOptions{Groups: 3, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
	} {
		o := cv.opt
		ins := []input{{"x", cv.x, uniform(numel(cv.x), -1, 1), true}, {"w", cv.w, uniform(numel(cv.w), -1, 1), true}}
		if cv.bias {
			ins = append(ins, input{"b", cv.w[:1], uniform(cv.w[0], -1, 1), true})
		}
		one := func(v int) int { return max(v, 1) }
		cases = append(cases, opCase{name: fmt.Sprintf("conv2d/%d", i), op: "conv2d",
			shape:  []int{one(o.Stride[0]), one(o.Stride[1]), o.Padding[0], o.Padding[1], one(o.Dilation[0]), one(o.Dilation[1]), one(o.Groups)},
			inputs: ins,
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.Conv2d(in["x"], in["w"], in["b"], o)
			}})
	}

	// ConvTranspose2d (torch's conv_transpose2d): plain, the doubling of a
	// GAN's generator (stride 2, kernel 4, padding 1), and with output
	// padding, dilation and no bias; shape carries stride, padding, output
	// padding and dilation.
	for i, cv := range []struct {
		x, w []int
		bias bool
		opt  autograd.ConvTransposeOptions
	}{
		{[]int{2, 3, 4, 3}, []int{3, 2, 3, 3}, true, autograd.ConvTransposeOptions{}},
		{[]int{2, 2, 3, 4}, []int{2, 3, 4, 4}, true, autograd.ConvTransposeOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{[]int{1, 3, 3, 3}, []int{3, 2, 3, 2}, false, autograd.ConvTransposeOptions{Stride: [2]int{3, 2}, Padding: [2]int{1, 2}, OutputPadding: [2]int{2, 1}, Dilation: [2]int{2, 3}}},
		{[]int{2, 4, 3, 3}, []int{4, 3, 4, 4}, true, autograd.ConvTransposeOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, Groups: 2}},
	} {
		o := cv.opt
		ins := []input{{"x", cv.x, uniform(numel(cv.x), -1, 1), true}, {"w", cv.w, uniform(numel(cv.w), -1, 1), true}}
		if cv.bias {
			nb := cv.w[1] * max(o.Groups, 1)
			ins = append(ins, input{"b", []int{nb}, uniform(nb, -1, 1), true})
		}
		one := func(v int) int { return max(v, 1) }
		cases = append(cases, opCase{name: fmt.Sprintf("conv-transpose2d/%d", i), op: "conv-transpose2d",
			shape: []int{one(o.Stride[0]), one(o.Stride[1]), o.Padding[0], o.Padding[1], o.OutputPadding[0], o.OutputPadding[1],
				one(o.Dilation[0]), one(o.Dilation[1]), one(o.Groups)},
			inputs: ins,
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.ConvTranspose2d(in["x"], in["w"], in["b"], o)
			}})
	}

	// MaxPool2d (torch's max_pool2d): windows of small integers, so ties
	// decide which pixel gets the gradient, with NaN and −∞ among them;
	// shape carries kernel, stride, padding and dilation.
	for i, mp := range []struct {
		x                   []int
		kernel, stride, pad [2]int
		dilation            [2]int
	}{
		{[]int{2, 2, 6, 6}, [2]int{2, 2}, [2]int{2, 2}, [2]int{}, [2]int{1, 1}},
		{[]int{1, 3, 7, 5}, [2]int{3, 3}, [2]int{2, 1}, [2]int{1, 1}, [2]int{1, 1}},
		{[]int{2, 1, 9, 8}, [2]int{3, 2}, [2]int{1, 2}, [2]int{1, 1}, [2]int{2, 1}},
	} {
		x := make([]float64, numel(mp.x))
		for j := range x {
			x[j] = float64(rng.IntN(4))
		}
		x[3], x[17], x[30] = math.NaN(), math.Inf(-1), math.Inf(-1)
		cases = append(cases, opCase{name: fmt.Sprintf("max-pool2d/%d", i), op: "max-pool2d",
			shape:  []int{mp.kernel[0], mp.kernel[1], mp.stride[0], mp.stride[1], mp.pad[0], mp.pad[1], mp.dilation[0], mp.dilation[1]},
			inputs: []input{{"x", mp.x, x, true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.MaxPool2d(in["x"], mp.kernel, autograd.PoolOptions{Stride: mp.stride, Padding: mp.pad, Dilation: mp.dilation})
			}})
	}

	// AvgPool2d (torch's avg_pool2d, count_include_pad): plain, overlapping
	// and padded, and global (the window is the image).
	for i, ap := range []struct {
		x                   []int
		kernel, stride, pad [2]int
	}{
		{[]int{2, 2, 6, 6}, [2]int{2, 2}, [2]int{2, 2}, [2]int{}},
		{[]int{1, 3, 7, 5}, [2]int{3, 3}, [2]int{2, 1}, [2]int{1, 1}},
		{[]int{2, 3, 4, 5}, [2]int{4, 5}, [2]int{4, 5}, [2]int{}},
	} {
		cases = append(cases, opCase{name: fmt.Sprintf("avg-pool2d/%d", i), op: "avg-pool2d",
			shape:  []int{ap.kernel[0], ap.kernel[1], ap.stride[0], ap.stride[1], ap.pad[0], ap.pad[1]},
			inputs: []input{{"x", ap.x, uniform(numel(ap.x), -2, 2), true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.AvgPool2d(in["x"], ap.kernel, autograd.PoolOptions{Stride: ap.stride, Padding: ap.pad})
			}})
	}

	// Conv1d, MaxPool1d and AvgPool1d (torch's conv1d, max_pool1d and
	// avg_pool1d): plain, and strided, padded, dilated and grouped; shape
	// carries stride, padding, dilation and groups, or kernel, stride,
	// padding (and dilation).
	for i, cv := range []struct {
		x, w []int
		bias bool
		opt  autograd.Conv1dOptions
	}{
		{[]int{2, 3, 9}, []int{4, 3, 3}, true, autograd.Conv1dOptions{}},
		{[]int{2, 4, 12}, []int{6, 2, 3}, false, autograd.Conv1dOptions{Stride: 2, Padding: 3, Dilation: 2, Groups: 2}},
	} {
		o := cv.opt
		ins := []input{{"x", cv.x, uniform(numel(cv.x), -1, 1), true}, {"w", cv.w, uniform(numel(cv.w), -1, 1), true}}
		if cv.bias {
			ins = append(ins, input{"b", cv.w[:1], uniform(cv.w[0], -1, 1), true})
		}
		cases = append(cases, opCase{name: fmt.Sprintf("conv1d/%d", i), op: "conv1d",
			shape:  []int{max(o.Stride, 1), o.Padding, max(o.Dilation, 1), max(o.Groups, 1)},
			inputs: ins,
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.Conv1d(in["x"], in["w"], in["b"], o)
			}})
	}
	cases = append(cases, opCase{name: "conv-transpose1d", op: "conv-transpose1d", shape: []int{2, 1, 1, 2, 2},
		inputs: []input{{"x", []int{2, 4, 5}, uniform(40, -1, 1), true}, {"w", []int{4, 3, 3}, uniform(36, -1, 1), true}, {"b", []int{6}, uniform(6, -1, 1), true}},
		build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
			return tp.ConvTranspose1d(in["x"], in["w"], in["b"], autograd.ConvTranspose1dOptions{Stride: 2, Padding: 1, OutputPadding: 1, Dilation: 2, Groups: 2})
		}})
	// Pad2d (torch's F.pad of a 4-D input, each mode; shape carries the
	// pads (left, right, top, bottom) and the mode's number).
	for i, pc := range []struct {
		pad  [4]int
		mode autograd.PadMode
	}{{[4]int{1, 2, 0, 3}, autograd.PadZeros}, {[4]int{3, 1, 2, 1}, autograd.PadReflect}, {[4]int{2, 5, 1, 0}, autograd.PadReplicate}, {[4]int{4, 2, 3, 1}, autograd.PadCircular}} {
		cases = append(cases, opCase{name: fmt.Sprintf("pad2d/%d-%v", i, pc.mode), op: "pad2d", shape: []int{pc.pad[0], pc.pad[1], pc.pad[2], pc.pad[3], int(pc.mode)},
			inputs: []input{{"x", []int{2, 3, 3, 4}, uniform(72, -2, 2), true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.Pad2d(in["x"], pc.pad, pc.mode)
			}})
	}
	cases = append(cases, opCase{name: "max-pool1d", op: "max-pool1d", shape: []int{3, 2, 1, 2},
		inputs: []input{{"x", []int{2, 3, 11}, uniform(66, -2, 2), true}},
		build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
			return tp.MaxPool1d(in["x"], 3, autograd.Pool1dOptions{Stride: 2, Padding: 1, Dilation: 2})
		}})
	cases = append(cases, opCase{name: "avg-pool1d", op: "avg-pool1d", shape: []int{3, 2, 1},
		inputs: []input{{"x", []int{2, 3, 10}, uniform(60, -2, 2), true}},
		build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
			return tp.AvgPool1d(in["x"], 3, autograd.Pool1dOptions{Stride: 2, Padding: 1})
		}})

	// AdaptiveAvgPool2d (torch's adaptive_avg_pool2d): uneven windows
	// (7 rows to 3, 5 columns to 2), overlapping ones (4 to 3), more
	// outputs than inputs (3 columns to 4), and an output that divides the
	// input (the AvgPool2d path).
	for i, ad := range []struct {
		x   []int
		out [2]int
	}{
		{[]int{2, 3, 7, 5}, [2]int{3, 2}},
		{[]int{1, 2, 4, 4}, [2]int{3, 3}},
		{[]int{1, 1, 5, 3}, [2]int{2, 4}},
		{[]int{2, 2, 6, 4}, [2]int{3, 2}},
	} {
		cases = append(cases, opCase{name: fmt.Sprintf("adaptive-avg-pool2d/%d", i), op: "adaptive-avg-pool2d",
			shape:  ad.out[:],
			inputs: []input{{"x", ad.x, uniform(numel(ad.x), -2, 2), true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.AdaptiveAvgPool2d(in["x"], ad.out)
			}})
	}

	// Interpolate (torch's F.interpolate with a size): nearest doubling
	// and at a ratio that is no integer, bilinear up and down, with and
	// without aligned corners, and to a single pixel; shape carries the
	// size, the mode and align_corners.
	for i, ip := range []struct {
		x     []int
		out   [2]int
		mode  autograd.InterpolateMode
		align bool
	}{
		{[]int{2, 2, 3, 4}, [2]int{6, 8}, autograd.Nearest, false},
		{[]int{1, 2, 5, 3}, [2]int{3, 7}, autograd.Nearest, false},
		{[]int{2, 1, 3, 4}, [2]int{7, 9}, autograd.Bilinear, false},
		{[]int{1, 2, 4, 5}, [2]int{8, 3}, autograd.Bilinear, true},
		{[]int{1, 1, 5, 5}, [2]int{2, 3}, autograd.Bilinear, false},
		{[]int{1, 1, 3, 3}, [2]int{1, 1}, autograd.Bilinear, true},
	} {
		cases = append(cases, opCase{name: fmt.Sprintf("interpolate/%d", i), op: "interpolate",
			shape:  []int{ip.out[0], ip.out[1], int(ip.mode), map[bool]int{false: 0, true: 1}[ip.align]},
			inputs: []input{{"x", ip.x, uniform(numel(ip.x), -2, 2), true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.Interpolate(in["x"], ip.out, ip.mode, ip.align)
			}})
	}

	// Embedding (torch's F.embedding): a [2 × 3] batch of row numbers,
	// repeats among them, one row never named.
	cases = append(cases, opCase{name: "embedding", op: "embedding",
		inputs: []input{{"weight", []int{5, 4}, uniform(20, -1, 1), true}, {"index", []int{2, 3}, []float64{1, 4, 0, 4, 3, 1}, false}},
		build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
			return tp.Embedding(in["weight"], in["index"])
		}})

	// Batched products (torch.matmul over leading dimensions, the
	// transposes per matrix) and scaled dot-product attention built from
	// them: softmax(q kᵀ/√d) v, its gradients in q, k and v.
	for _, tr := range []struct {
		name   string
		ta, tb bool
		sa, sb []int
	}{{"NN", false, false, []int{2, 3, 4, 5}, []int{2, 3, 5, 2}}, {"NT", false, true, []int{3, 4, 5}, []int{3, 2, 5}}, {"TT", true, true, []int{2, 5, 4}, []int{2, 3, 5}}} {
		cases = append(cases, opCase{name: "bmm/" + tr.name, op: "bmm/" + tr.name,
			inputs: []input{{"a", tr.sa, uniform(numel(tr.sa), -1, 1), true}, {"b", tr.sb, uniform(numel(tr.sb), -1, 1), true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.MatMulT(in["a"], in["b"], tr.ta, tr.tb)
			}})
	}
	cases = append(cases, opCase{name: "attention", op: "attention",
		inputs: []input{{"q", []int{2, 2, 5, 4}, uniform(80, -2, 2), true}, {"k", []int{2, 2, 6, 4}, uniform(96, -2, 2), true},
			{"v", []int{2, 2, 6, 3}, uniform(72, -1, 1), true}},
		build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
			scores := tp.Scale(tp.MatMulT(in["q"], in["k"], false, true), 1/math.Sqrt(4))
			return tp.MatMul(tp.Softmax(scores), in["v"])
		}})

	// Softmax and log-softmax, row-wise: ordinary rows, logits of ±1000
	// (naive exponentials overflow), and a row of equal logits.
	logits := append(uniform(10, -3, 3), 1000, -1000, 999, 0, 1, 2, 2, 2, 2, 2)
	for _, op := range []struct {
		name string
		fn   func(tp *autograd.Tape, x *autograd.Var) *autograd.Var
	}{{"softmax", (*autograd.Tape).Softmax}, {"log-softmax", (*autograd.Tape).LogSoftmax}} {
		cases = append(cases, opCase{name: op.name, op: op.name,
			inputs: []input{{"x", []int{4, 5}, logits, true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return op.fn(tp, in["x"])
			}})
	}

	// LayerNorm, its last row constant (zero variance: ε alone keeps it finite).
	lnX := append(uniform(18, -2, 2), 0.7, 0.7, 0.7, 0.7, 0.7, 0.7)
	cases = append(cases, opCase{name: "layer-norm", op: "layer-norm", param: 1e-5,
		inputs: []input{{"x", []int{4, 6}, lnX, true}, {"gamma", []int{6}, uniform(6, 0.5, 1.5), true}, {"beta", []int{6}, uniform(6, -0.5, 0.5), true}},
		build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
			return tp.LayerNorm(in["x"], in["gamma"], in["beta"], 1e-5)
		}})

	// BatchNorm (torch's F.batch_norm): training on [N, C, H, W], on
	// [N, C] with a constant channel (zero variance: ε alone keeps it
	// finite) and without the affine map; evaluation from running
	// statistics, γ and β still learned.
	bnConst := uniform(15, -2, 2)
	for i := 1; i < 15; i += 3 {
		bnConst[i] = 0.3
	}
	for _, bn := range []struct {
		name     string
		x        []int
		data     []float64
		affine   bool
		training bool
	}{
		{"train-2d", []int{3, 4, 2, 3}, uniform(72, -2, 2), true, true},
		{"train-1d", []int{5, 3}, bnConst, true, true},
		{"train-no-affine", []int{4, 2, 3}, uniform(24, -1, 3), false, true},
		{"eval-2d", []int{2, 3, 2, 2}, uniform(24, -2, 2), true, false},
	} {
		c := bn.x[1]
		ins := []input{{"x", bn.x, bn.data, true}}
		if bn.affine {
			ins = append(ins, input{"gamma", []int{c}, uniform(c, 0.5, 1.5), true}, input{"beta", []int{c}, uniform(c, -0.5, 0.5), true})
		}
		op := "batch-norm/train"
		if !bn.training {
			op = "batch-norm/eval"
			ins = append(ins, input{"running_mean", []int{c}, uniform(c, -0.5, 0.5), false}, input{"running_var", []int{c}, uniform(c, 0.2, 2), false})
		}
		cases = append(cases, opCase{name: "batch-norm/" + bn.name, op: op, param: 1e-5, inputs: ins,
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				var rm, rv *tensor.Tensor
				if !bn.training {
					rm, rv = in["running_mean"].Value(), in["running_var"].Value()
				}
				return tp.BatchNorm(in["x"], in["gamma"], in["beta"], rm, rv, autograd.BatchNormOptions{Training: bn.training, Momentum: 0.1, Eps: 1e-5})
			}})
	}

	// GroupNorm (torch's F.group_norm): groups of channels with a constant
	// group, as many groups as channels (InstanceNorm) without γ and β,
	// no trailing dimensions, and groups of one value (normalised to 0).
	gnConst := uniform(72, -2, 2)
	for i := 12; i < 24; i++ {
		gnConst[i] = 0.4 // sample 0's second group
	}
	for _, gn := range []struct {
		name   string
		x      []int
		groups int
		data   []float64
		affine bool
	}{
		{"groups", []int{2, 6, 3, 2}, 3, gnConst, true},
		{"instance", []int{2, 4, 5}, 4, uniform(40, -1, 3), false},
		{"2d", []int{3, 4}, 2, uniform(12, -2, 2), true},
		{"singletons", []int{2, 3}, 3, uniform(6, -2, 2), true},
	} {
		c := gn.x[1]
		ins := []input{{"x", gn.x, gn.data, true}}
		if gn.affine {
			ins = append(ins, input{"gamma", []int{c}, uniform(c, 0.5, 1.5), true}, input{"beta", []int{c}, uniform(c, -0.5, 0.5), true})
		}
		cases = append(cases, opCase{name: "group-norm/" + gn.name, op: "group-norm", param: 1e-5, shape: []int{gn.groups}, inputs: ins,
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.GroupNorm(in["x"], gn.groups, in["gamma"], in["beta"], 1e-5)
			}})
	}

	// Linear with each activation: act(x Wᵀ + b).
	for _, act := range []device.UnaryOp{device.Identity, device.ReLU, device.Sigmoid, device.Tanh} {
		cases = append(cases, opCase{name: "linear/" + act.String(), op: "linear/" + act.String(),
			inputs: []input{{"x", []int{5, 4}, uniform(20, -1, 1), true}, {"w", []int{3, 4}, uniform(12, -1, 1), true}, {"b", []int{3}, uniform(3, -1, 1), true}},
			build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
				return tp.Linear(in["x"], in["w"], in["b"], act)
			}})
	}

	// Losses, with each reduction. pred is [4 × 3]; the regression targets
	// meet pred exactly in one place (MAE's sign(0)), at a distance of
	// exactly 0.5 in two (the seam of Huber with δ = 0.5, both signs) and
	// of exactly 1 in one (δ = 1's seam); these values are exact in binary.
	pred := []float64{0.25, -1.5, 0.75, 2.0, 0.125, -0.375, 1.5, -2.25, 0.0625, 0.875, -0.75, 0.25}
	near := []float64{0.25, -1.0, 0.25, 1.0, 0.3, 1.1, -0.2, -2.0, 1.05, 0.4, 0.3, -3.0}
	probs := []float64{0.2, 0.5, 0.3, 0.1, 0.1, 0.8, 0.6, 0.3, 0.1, 1.0 / 3, 1.0 / 3, 1.0 / 3}
	weights := []float64{0, 1, 0, 0.25, 0.25, 0.5, 0.7, 0.3, 0, 0, 0, 2} // CE's a ≥ 0, a row summing to 2
	binary := []float64{0, 1, 0.5, 1, 0, 0.25, 1, 0, 0.75, 0, 1, 0.5}    // BCE's a ∈ [0, 1]
	bigLogits := []float64{800, -800, 0, 1, 2, 3, -800, 0.5, 800, 40, -40, 0}
	classes := []float64{0, 2, 1, 2}
	smoothed := func(s float64) func(tp *autograd.Tape, p, a *autograd.Var, r loss.Reduction) *autograd.Var {
		return func(tp *autograd.Tape, p, a *autograd.Var, r loss.Reduction) *autograd.Var {
			return loss.SoftmaxCrossEntropyIndexSmoothed(tp, p, a, s, r)
		}
	}
	huber := func(d float64) func(tp *autograd.Tape, p, a *autograd.Var, r loss.Reduction) *autograd.Var {
		return func(tp *autograd.Tape, p, a *autograd.Var, r loss.Reduction) *autograd.Var {
			return loss.Huber(tp, p, a, d, r)
		}
	}
	for _, l := range []struct {
		kind      device.LossKind
		param     float64
		pred      []float64
		target    []float64
		tgtShape  []int
		symmetric bool
		fn        func(tp *autograd.Tape, p, a *autograd.Var, r loss.Reduction) *autograd.Var
	}{
		{device.MSE, 0, pred, near, []int{4, 3}, true, loss.MSE},
		{device.MAE, 0, pred, near, []int{4, 3}, true, loss.MAE},
		{device.Huber, 0.5, pred, near, []int{4, 3}, true, huber(0.5)},
		{device.Huber, 1, pred, near, []int{4, 3}, true, huber(1)},
		{device.CrossEntropy, 0, probs, weights, []int{4, 3}, false, loss.CrossEntropy},
		{device.SoftmaxCrossEntropy, 0, bigLogits, weights, []int{4, 3}, false, loss.SoftmaxCrossEntropy},
		{device.SoftmaxCrossEntropyIndex, 0, bigLogits, classes, []int{4}, false, loss.SoftmaxCrossEntropyIndex},
		{device.SoftmaxCrossEntropyIndex, 0.1, bigLogits, classes, []int{4}, false, smoothed(0.1)}, // param: label smoothing
		{device.BinaryCrossEntropyLogits, 0, bigLogits, binary, []int{4, 3}, false, loss.BCEWithLogits},
	} {
		for _, r := range []loss.Reduction{loss.Mean, loss.SampleMean, loss.Sum} {
			name := fmt.Sprintf("%v/%v", l.kind, r)
			if l.param != 0 {
				name = fmt.Sprintf("%v(%g)/%v", l.kind, l.param, r)
			}
			cases = append(cases, opCase{name: name, op: l.kind.String(), param: l.param, reduction: r, isLoss: true,
				inputs: []input{{"pred", []int{4, 3}, l.pred, true}, {"target", l.tgtShape, l.target, l.symmetric}},
				build: func(tp *autograd.Tape, in map[string]*autograd.Var) *autograd.Var {
					return l.fn(tp, in["pred"], in["target"], r)
				}})
		}
	}

	// Evaluate every case with adjoint, then one torch process checks them all.
	dev := newCPU(t)
	var out []torchCase
	for _, c := range cases {
		out = append(out, evalForTorch(t, dev, rng, c))
	}
	path := filepath.Join(t.TempDir(), "cases.json")
	b, err := json.Marshal(out)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	res, err := exec.Command(torchtest.Python, script, path).CombinedOutput()
	t.Log(strings.TrimSpace(string(res)))
	require.NoError(t, err, "ops_compare.py: %s", res)
	require.Equal(t, len(cases), strings.Count(string(res), ": ok: "), "every case must be recomputed and agree")
}

// numel is the number of elements of a shape.
func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// evalForTorch runs c on a float64 tape and records its output and the
// gradients of the inputs that ask for one. A non-scalar output is seeded
// with random weights u, so that the gradients are uᵀJ.
func evalForTorch(t *testing.T, dev device.Device, rng *rand.Rand, c opCase) torchCase {
	t.Helper()
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	tc := torchCase{Name: c.name, Op: c.op, Param: c.param, Tol: c.tol, Shape: c.shape, Inputs: map[string]torchInput{}, Grads: map[string][]jsonFloat{}}
	if c.isLoss {
		tc.Reduction = c.reduction.String()
	}
	vars := map[string]*autograd.Var{}
	for _, in := range c.inputs {
		x, err := tensor.FromFloat64(dev, in.data, in.shape...)
		require.NoError(t, err, c.name)
		defer x.Release()
		vars[in.name] = tp.Input(x, in.grad)
		tc.Inputs[in.name] = torchInput{Shape: in.shape, Data: jsonFloats(in.data), Grad: in.grad}
	}
	root := c.build(tp, vars)
	require.NoError(t, tp.Err(), c.name)
	if c.isLoss {
		require.NoError(t, tp.Backward(root), c.name)
	} else {
		seed := make([]float64, root.Value().Len())
		for i := range seed {
			seed[i] = 2*rng.Float64() - 1
		}
		s, err := tensor.FromFloat64(dev, seed, root.Shape()...)
		require.NoError(t, err, c.name)
		defer s.Release()
		require.NoError(t, tp.BackwardWith(root, s), c.name)
		tc.Seed = jsonFloats(seed)
	}
	v, err := root.Value().Float64s()
	require.NoError(t, err, c.name)
	tc.Out = jsonFloats(v)
	for _, in := range c.inputs {
		if !in.grad {
			continue
		}
		g, err := vars[in.name].Grad().Float64s()
		require.NoError(t, err, "%s: gradient of %s", c.name, in.name)
		tc.Grads[in.name] = jsonFloats(g)
	}
	return tc
}
