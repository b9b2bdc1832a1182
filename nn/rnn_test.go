package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/internal/torchtest"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
	"github.com/adjoint-go/adjoint/safetensors"
	"github.com/adjoint-go/adjoint/tensor"
)

// TestRecurrentLayers: torch's parameter names, shapes, initial bound and
// repr, the output shapes of both layouts, and errors.
func TestRecurrentLayers(t *testing.T) {
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(11, 12))
	lstm := must2(nn.NewLSTM(dev, 3, 5, rng))
	gru := must2(nn.NewGRU(dev, 3, 5, rng))
	for _, c := range []struct {
		m     nn.Module
		gates int
		repr  string
	}{{lstm, 4, "LSTM(3, 5)"}, {gru, 3, "GRU(3, 5)"}} {
		var names []string
		var shapes [][]int
		for _, p := range nn.NamedParams(c.m) {
			names, shapes = append(names, p.Name), append(shapes, p.Var.Shape())
			for _, v := range values(t, p.Var) {
				require.LessOrEqual(t, math.Abs(float64(v)), 1/math.Sqrt(5), "U(−1/√H, 1/√H)")
			}
		}
		g := c.gates * 5
		assert.Equal(t, []string{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}, names)
		assert.Equal(t, [][]int{{g, 3}, {g, 5}, {g}, {g}}, shapes)
		assert.Equal(t, c.repr, c.m.(interface{ String() string }).String())
	}
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	x := tp.ConstantFloat32(make([]float32, 7*2*3), 7, 2, 3)
	assert.Equal(t, []int{7, 2, 5}, lstm.Forward(tp, x).Shape())
	gru.BatchFirst = true
	assert.Equal(t, "GRU(3, 5, batch_first=True)", gru.String())
	assert.Equal(t, []int{7, 2, 5}, gru.Forward(tp, x).Shape(), "[N, L, In] in, [N, L, H] out")
	_, h := gru.ForwardState(tp, x, nil)
	assert.Equal(t, []int{1, 7, 5}, h.Shape(), "the last state [Layers·D, N, H]")

	deep := must2(nn.NewLSTMConfig(dev, nn.RecurrentConfig{Input: 3, Hidden: 5, Layers: 2, Bidirectional: true}, rng))
	assert.Equal(t, "LSTM(3, 5, num_layers=2, bidirectional=True)", deep.String())
	var names []string
	for _, p := range nn.NamedParams(deep) {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
		"weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
		"weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
		"weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"}, names)
	assert.Equal(t, []int{20, 10}, deep.Weights[2].WeightIH.Shape(), "layer 1 reads both directions of layer 0")
	y, hd, cd := deep.ForwardState(tp, tp.ConstantFloat32(make([]float32, 7*2*3), 7, 2, 3), nil, nil)
	assert.Equal(t, []int{7, 2, 10}, y.Shape(), "[L, N, D·H]")
	assert.Equal(t, []int{4, 2, 5}, hd.Shape())
	assert.Equal(t, []int{4, 2, 5}, cd.Shape())
	gruDeep := must2(nn.NewGRUConfig(dev, nn.RecurrentConfig{Input: 3, Hidden: 5, Layers: 2, Bidirectional: true, BatchFirst: true}, rng))
	assert.Equal(t, "GRU(3, 5, num_layers=2, batch_first=True, bidirectional=True)", gruDeep.String())

	_, err := nn.NewLSTM(dev, 0, 5, rng)
	assert.Error(t, err)
	_, err = nn.NewGRU(dev, 3, -1, rng)
	assert.Error(t, err)
	assert.Panics(t, func() { lstm.Forward(tp, tp.ConstantFloat32(make([]float32, 8), 2, 2, 2)) }, "input size 2, not 3")
	assert.Panics(t, func() { lstm.ForwardState(tp, x, tp.ConstantFloat32(make([]float32, 10), 2, 5), nil) }, "h0 [N, H], not [1, N, H]")
	assert.Panics(t, func() { lstm.ForwardState(tp, x, tp.ConstantFloat32(make([]float32, 5), 1, 1, 5), nil) }, "h0 of 1 row for 2 sequences")
	_, err = nn.NewGRUConfig(dev, nn.RecurrentConfig{Input: 3, Hidden: 5, Layers: -1}, rng)
	assert.Error(t, err)
}

// TestRecurrentTorch: LSTMs and GRUs (one layer time-major; two layers,
// bidirectional, batch-first), from given initial states, recomputed by
// PyTorch from the checkpoint (scripts/torch/rnn_check.py): the outputs,
// the last states, and the gradients in the input, the initial states
// and every parameter.
func TestRecurrentTorch(t *testing.T) {
	script := torchtest.Script(t, "rnn_check.py")
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(13, 14))
	const l, n, in, hid = 6, 3, 4, 5
	for _, c := range []struct {
		kind   string
		layers int
		bidi   bool
		bf     bool
	}{{"lstm", 1, false, false}, {"gru", 1, false, false}, {"lstm", 2, true, true}, {"gru", 2, true, true}, {"lstm", 3, false, false}} {
		t.Run(fmt.Sprintf("%s/layers%d/bidirectional=%v/batch-first=%v", c.kind, c.layers, c.bidi, c.bf), func(t *testing.T) {
			d := 1
			if c.bidi {
				d = 2
			}
			xShape, yShape, sShape := []int{l, n, in}, []int{l, n, d * hid}, []int{c.layers * d, n, hid}
			if c.bf {
				xShape, yShape = []int{n, l, in}, []int{n, l, d * hid}
			}
			states := c.layers * d * n * hid
			xs, h0s, c0s := floats(rng, l*n*in), floats(rng, states), floats(rng, states)
			wy, wh, wc := floats(rng, l*n*d*hid), floats(rng, states), floats(rng, states)
			tp := autograd.NewTape(dev, device.Float32)
			defer tp.Release()
			input := func(data []float32, shape ...int) *autograd.Var {
				v := must2(tensor.FromFloat32(dev, data, shape...))
				t.Cleanup(v.Release)
				return tp.Input(v, true)
			}
			x, h0, c0 := input(xs, xShape...), input(h0s, sShape...), input(c0s, sShape...)
			cfg := nn.RecurrentConfig{Input: in, Hidden: hid, Layers: c.layers, Bidirectional: c.bidi, BatchFirst: c.bf}
			var m nn.Module
			var y, h, cT *autograd.Var
			if c.kind == "lstm" {
				lstm := must2(nn.NewLSTMConfig(dev, cfg, rng))
				m = lstm
				y, h, cT = lstm.ForwardState(tp, x, h0, c0)
			} else {
				gru := must2(nn.NewGRUConfig(dev, cfg, rng))
				m = gru
				y, h = gru.ForwardState(tp, x, h0)
			}
			require.Equal(t, yShape, y.Shape())
			require.Equal(t, sShape, h.Shape())
			loss := tp.Add(tp.Sum(tp.Mul(y, tp.ConstantFloat32(wy, yShape...))), tp.Sum(tp.Mul(h, tp.ConstantFloat32(wh, sShape...))))
			if cT != nil {
				loss = tp.Add(loss, tp.Sum(tp.Mul(cT, tp.ConstantFloat32(wc, sShape...))))
			}
			require.NoError(t, tp.Backward(loss))
			extras := map[string]safetensors.Tensor{
				"test/x": safetensors.FromFloat32(xShape, xs), "test/h0": safetensors.FromFloat32(sShape, h0s),
				"test/c0": safetensors.FromFloat32(sShape, c0s), "test/wy": safetensors.FromFloat32(yShape, wy),
				"test/wh": safetensors.FromFloat32(sShape, wh), "test/wc": safetensors.FromFloat32(sShape, wc),
				"test/y": safetensors.FromFloat32(yShape, values(t, y)), "test/h": safetensors.FromFloat32(sShape, values(t, h)),
				"test/g/x":  safetensors.FromFloat32(xShape, must2(x.Grad().Float32s())),
				"test/g/h0": safetensors.FromFloat32(sShape, must2(h0.Grad().Float32s())),
			}
			if cT != nil {
				extras["test/c"] = safetensors.FromFloat32(sShape, values(t, cT))
				extras["test/g/c0"] = safetensors.FromFloat32(sShape, must2(c0.Grad().Float32s()))
			}
			for _, p := range nn.NamedParams(m) {
				extras["test/g/"+p.Name] = safetensors.FromFloat32(p.Var.Shape(), must2(p.Var.Grad().Float32s()))
			}
			path := filepath.Join(t.TempDir(), c.kind+".safetensors")
			require.NoError(t, nn.SaveWith(path, m, nil, extras))
			flag := func(b bool) string {
				if b {
					return "1"
				}
				return "0"
			}
			out, err := exec.Command(torchtest.Python, script, path, c.kind, fmt.Sprint(c.layers), flag(c.bidi), flag(c.bf)).CombinedOutput()
			t.Log(strings.TrimSpace(string(out)))
			require.NoError(t, err, "rnn_check.py: %s", out)
		})
	}
}

// TestRecurrentLearns: an LSTM and a GRU must carry the first element of a
// sequence of 6 random signs to the last step, where a Linear head reads
// the class from the final hidden state: memory through backpropagation
// through time. (At 12 steps torch's LSTM, as ours, stays at chance for
// 400 Adam steps at this rate, its forget gate starting at σ(0) = ½;
// the GRU learns both.)
func TestRecurrentLearns(t *testing.T) {
	dev := cpuDev(t)
	const l, n, steps = 6, 32, 400
	for _, kind := range []string{"lstm", "gru"} {
		t.Run(kind, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(15, 16))
			var rnn interface {
				nn.Module
				Params() []*autograd.Var
			}
			var last func(tp *autograd.Tape, x *autograd.Var) *autograd.Var
			if kind == "lstm" {
				m := must2(nn.NewLSTM(dev, 1, 8, rng))
				rnn, last = m, func(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
					_, h, _ := m.ForwardState(tp, x, nil, nil) // [1, N, 8]
					return tp.Reshape(h, n, 8)
				}
			} else {
				m := must2(nn.NewGRU(dev, 1, 8, rng))
				rnn, last = m, func(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
					_, h := m.ForwardState(tp, x, nil)
					return tp.Reshape(h, n, 8)
				}
			}
			head := must2(nn.NewLinear(dev, 8, 2, rng))
			opt := must2(optim.NewAdam(append(rnn.Params(), head.Params()...), optim.AdamConfig{LR: 0.05}))
			tp := autograd.NewTape(dev, device.Float32)
			defer tp.Release()
			batch := func() (xs, ys []float32) {
				xs, ys = make([]float32, l*n), make([]float32, n)
				for i := range xs {
					xs[i] = float32(2*rng.IntN(2) - 1)
				}
				for j := range n {
					ys[j] = (xs[j] + 1) / 2 // step 0 of sequence j: class 0 for −1, 1 for +1
				}
				return xs, ys
			}
			var acc float64
			for step := range steps {
				xs, ys := batch()
				tp.Reset()
				opt.ZeroGrad()
				logits := head.Forward(tp, last(tp, tp.ConstantFloat32(xs, l, n, 1)))
				require.NoError(t, tp.Backward(loss.SoftmaxCrossEntropyIndex(tp, logits, tp.ConstantFloat32(ys, n), loss.Mean)))
				require.NoError(t, opt.Step())
				if step >= steps-20 { // the accuracy of the last 20 batches, before their update
					out := values(t, logits)
					for j := range n {
						if (out[2*j+1] > out[2*j]) == (ys[j] == 1) {
							acc++
						}
					}
				}
			}
			acc /= 20 * n
			t.Logf("%s: accuracy %.3f over the last 20 batches", kind, acc)
			assert.Greater(t, acc, 0.95)
		})
	}
}

// TestRecurrentDropout: torch's dropout between stacked layers acts in
// training mode only (each pass its own masks), and in evaluation mode
// the layer is the one without dropout; the repr names it.
func TestRecurrentDropout(t *testing.T) {
	dev := cpuDev(t)
	cfg := nn.RecurrentConfig{Input: 3, Hidden: 5, Layers: 3, Dropout: 0.5, Seed: 9}
	m := must2(nn.NewLSTMConfig(dev, cfg, rand.New(rand.NewPCG(21, 22))))
	assert.Len(t, m.Dropouts, 2, "after every layer but the last")
	assert.Equal(t, "LSTM(3, 5, num_layers=3, dropout=0.5)", m.String())
	cfg.Dropout = 0
	plain := must2(nn.NewLSTMConfig(dev, cfg, rand.New(rand.NewPCG(21, 22)))) // the same weights
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	xs := floats(rand.New(rand.NewPCG(23, 24)), 4*2*3)
	run := func(m *nn.LSTM) []float32 { return values(t, m.Forward(tp, tp.ConstantFloat32(xs, 4, 2, 3))) }
	want := run(plain)
	first, second := run(m), run(m)
	assert.NotEqual(t, want, first, "training mode drops")
	assert.NotEqual(t, first, second, "each pass draws new masks")
	nn.SetTraining(m, false)
	assert.Equal(t, want, run(m), "evaluation mode: no dropout")
	_, err := nn.NewGRUConfig(dev, nn.RecurrentConfig{Input: 3, Hidden: 5, Dropout: 1.5}, rand.New(rand.NewPCG(1, 1)))
	assert.Error(t, err)
}
