package nn_test

import (
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
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

// TestMultiheadAttentionTorch: self-attention under a causal mask, its
// gradient in the input, and cross-attention, computed by
// nn.MultiheadAttention and by torch.nn.MultiheadAttention(batch_first=True)
// loaded from our checkpoint with strict=True
// (scripts/torch/attention_check.py), agree to 1e-5.
func TestMultiheadAttentionTorch(t *testing.T) {
	script := torchtest.Script(t, "attention_check.py")
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(9, 10))
	const b, tl, s, e, heads = 2, 5, 3, 8, 2
	m := must2(nn.NewMultiheadAttention(dev, e, heads, rng))
	var names []string
	for _, p := range nn.NamedParams(m) {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"}, names)
	assert.Equal(t, make([]float32, 3*e), values(t, m.InProjBias), "torch zeroes the biases")
	bound := math.Sqrt(6.0 / (e + 3*e))
	for _, v := range values(t, m.InProjWeight) {
		require.LessOrEqual(t, math.Abs(float64(v)), bound, "Xavier-uniform over [3E, E]")
	}
	// Give the biases values, so that the check sees them.
	require.NoError(t, dev.Upload32(m.InProjBias.Value().Buffer(), floats(rng, 3*e)))
	require.NoError(t, dev.Upload32(m.OutProj.Bias.Value().Buffer(), floats(rng, e)))

	xs, ws, qs, kvs := floats(rng, b*tl*e), floats(rng, b*tl*e), floats(rng, b*tl*e), floats(rng, b*s*e)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	xt := must2(tensor.FromFloat32(dev, xs, b, tl, e))
	defer xt.Release()
	x := tp.Input(xt, true)
	causalT := must2(nn.CausalMask(dev, tl)) // position i sees 0…i
	defer causalT.Release()
	causal := tp.Constant(causalT)
	mask := values(t, causal)
	y := m.Attend(tp, x, x, x, causal)
	require.Equal(t, []int{b, tl, e}, y.Shape())
	require.NoError(t, tp.Backward(tp.Sum(tp.Mul(y, tp.ConstantFloat32(ws, b, tl, e)))))
	selfY, selfGX := values(t, y), must2(x.Grad().Float32s())
	tp.Reset()
	cross := m.Attend(tp, tp.ConstantFloat32(qs, b, tl, e), tp.ConstantFloat32(kvs, b, s, e), tp.ConstantFloat32(kvs, b, s, e), nil)
	require.Equal(t, []int{b, tl, e}, cross.Shape())
	crossY := values(t, cross)

	path := filepath.Join(t.TempDir(), "mha.safetensors")
	require.NoError(t, nn.SaveWith(path, m, nil, map[string]safetensors.Tensor{
		"self/x": safetensors.FromFloat32([]int{b, tl, e}, xs), "self/w": safetensors.FromFloat32([]int{b, tl, e}, ws),
		"self/mask": safetensors.FromFloat32([]int{tl, tl}, mask),
		"self/y":    safetensors.FromFloat32([]int{b, tl, e}, selfY), "self/gx": safetensors.FromFloat32([]int{b, tl, e}, selfGX),
		"cross/q": safetensors.FromFloat32([]int{b, tl, e}, qs), "cross/kv": safetensors.FromFloat32([]int{b, s, e}, kvs),
		"cross/y": safetensors.FromFloat32([]int{b, tl, e}, crossY),
	}))
	out, err := exec.Command(torchtest.Python, script, path, strconv.Itoa(heads)).CombinedOutput()
	t.Log(strings.TrimSpace(string(out)))
	require.NoError(t, err, "attention_check.py: %s", out)
}

// TestMultiheadAttentionErrors: sizes that are no attention.
func TestMultiheadAttentionErrors(t *testing.T) {
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(1, 1))
	_, err := nn.NewMultiheadAttention(dev, 10, 3, rng)
	assert.ErrorContains(t, err, "positive multiple of the heads")
	m := must2(nn.NewMultiheadAttention(dev, 4, 2, rng))
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	assert.PanicsWithValue(t, "nn: MultiheadAttention(4, 2): query [2 3], key [2 3], value [2 3]: want [B, T, 4] and two [B, S, 4]",
		func() { m.Forward(tp, tp.ConstantFloat32(make([]float32, 6), 2, 3)) })
}

func floats(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(2*rng.Float64() - 1)
	}
	return v
}

// TestAttentionLearnsToCopy trains token and position embeddings, one
// causal self-attention layer with a residual connection and a Linear
// read-out to answer, at every position of a sequence, the sequence's
// first token: only attention can carry it there, and the causal mask
// lets every position see position 0. The whole stack (Embedding,
// broadcast Add, SwapAxes, batched products, the masked softmax, Split,
// ScatterAdd) trains end to end.
func TestAttentionLearnsToCopy(t *testing.T) {
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(11, 12))
	const vocab, seq, embed, k = 8, 6, 16, 32
	tok := must2(nn.NewEmbedding(dev, vocab, embed, rng))
	pos := must2(nn.NewEmbedding(dev, seq, embed, rng))
	att := must2(nn.NewMultiheadAttention(dev, embed, 2, rng))
	head := must2(nn.NewLinear(dev, embed, vocab, rng))
	var params []*autograd.Var
	for _, m := range []nn.Parameterized{tok, pos, att, head} {
		params = append(params, m.Params()...)
	}
	opt := must2(optim.NewAdam(params, optim.AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}))
	causal := must2(nn.CausalMask(dev, seq))
	defer causal.Release()
	positions := make([]float32, seq)
	for i := range positions {
		positions[i] = float32(i)
	}
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	batch := func() (x, y []float32) {
		for range k {
			first := float32(rng.IntN(vocab))
			for i := range seq {
				v := first
				if i > 0 {
					v = float32(rng.IntN(vocab))
				}
				x, y = append(x, v), append(y, first)
			}
		}
		return x, y
	}
	logits := func(x []float32) *autograd.Var {
		h := tp.Add(tok.Forward(tp, tp.ConstantFloat32(x, k, seq)), pos.Forward(tp, tp.ConstantFloat32(positions, seq))) // [k seq E] + [seq E]
		h = tp.Add(h, att.Attend(tp, h, h, h, tp.Constant(causal)))
		return head.Forward(tp, tp.Reshape(h, k*seq, embed))
	}
	for range 150 {
		x, y := batch()
		l := loss.SoftmaxCrossEntropyIndex(tp, logits(x), tp.ConstantFloat32(y, k*seq), loss.Mean)
		require.NoError(t, tp.Backward(l))
		require.NoError(t, opt.Step())
		opt.ZeroGrad()
		tp.Reset()
	}
	x, y := batch()
	var acc float64
	var err error
	tp.NoGrad(func() { acc, err = loss.Accuracy(tp, logits(x), tp.ConstantFloat32(y, k*seq)) })
	require.NoError(t, err)
	t.Logf("copy-the-first-token accuracy after 150 steps: %.3f", acc)
	assert.Greater(t, acc, 0.95)
}

// TestTransformerEncoderLayerTorch: torch.nn.TransformerEncoderLayer
// (batch_first, post-norm, ReLU and GELU) loads our layer's checkpoint with
// strict=True and, in evaluation mode, computes its outputs under a causal
// mask and their gradient in the input to 1e-5
// (scripts/torch/encoder_check.py); in training mode the dropout changes
// the output.
func TestTransformerEncoderLayerTorch(t *testing.T) {
	script := torchtest.Script(t, "encoder_check.py")
	for _, act := range []device.UnaryOp{device.ReLU, device.GELU} {
		t.Run(act.String(), func(t *testing.T) { checkEncoderLayer(t, script, act) })
	}
}

func checkEncoderLayer(t *testing.T, script string, act device.UnaryOp) {
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(13, 14))
	const b, tl, e, heads, hidden = 2, 4, 8, 2, 16
	layer := must2(nn.NewTransformerEncoderLayer(dev, e, heads, hidden, 0.1, rng, 7))
	layer.Activation = act
	var names []string
	for _, p := range nn.NamedParams(layer) {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
		"linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"}, names)
	require.NoError(t, dev.Upload32(layer.Norm1.Weight.Value().Buffer(), floats(rng, e))) // not 1: the check sees γ
	xs, ws := floats(rng, b*tl*e), floats(rng, b*tl*e)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	causal := must2(nn.CausalMask(dev, tl))
	defer causal.Release()
	mask := values(t, tp.Constant(causal))
	want := []float32{0, float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1))}
	assert.Equal(t, want, mask[:tl], "row 0 sees position 0 alone")
	run := func() (y, gx []float32) {
		defer tp.Reset()
		xt := must2(tensor.FromFloat32(dev, xs, b, tl, e))
		defer xt.Release()
		x := tp.Input(xt, true)
		out := layer.Encode(tp, x, tp.ConstantFloat32(mask, tl, tl))
		require.Equal(t, []int{b, tl, e}, out.Shape())
		require.NoError(t, tp.Backward(tp.Sum(tp.Mul(out, tp.ConstantFloat32(ws, b, tl, e)))))
		return values(t, out), must2(x.Grad().Float32s())
	}
	trainY, _ := run()
	nn.SetTraining(layer, false)
	y, gx := run()
	assert.NotEqual(t, y, trainY, "dropout acts in training mode")
	path := filepath.Join(t.TempDir(), "encoder.safetensors")
	require.NoError(t, nn.SaveWith(path, layer, nil, map[string]safetensors.Tensor{
		"test/x": safetensors.FromFloat32([]int{b, tl, e}, xs), "test/w": safetensors.FromFloat32([]int{b, tl, e}, ws),
		"test/mask": safetensors.FromFloat32([]int{tl, tl}, mask),
		"test/y":    safetensors.FromFloat32([]int{b, tl, e}, y), "test/gx": safetensors.FromFloat32([]int{b, tl, e}, gx),
	}))
	out, err := exec.Command(torchtest.Python, script, path, strconv.Itoa(heads), act.String()).CombinedOutput()
	t.Log(strings.TrimSpace(string(out)))
	require.NoError(t, err, "encoder_check.py: %s", out)
}

// TestTransformerDecoderLayerTorch: torch's parameter names, and PyTorch
// recomputing the layer in eval mode from the checkpoint, under a causal
// target mask, with the gradients in the target and in the memory
// (scripts/torch/decoder_layer_check.py); in training mode the dropout
// changes the output.
func TestTransformerDecoderLayerTorch(t *testing.T) {
	script := torchtest.Script(t, "decoder_layer_check.py")
	for _, act := range []device.UnaryOp{device.ReLU, device.GELU} {
		t.Run(act.String(), func(t *testing.T) {
			dev := cpuDev(t)
			rng := rand.New(rand.NewPCG(15, 16))
			const b, tl, sl, e, heads, hidden = 2, 4, 5, 8, 2, 16
			layer := must2(nn.NewTransformerDecoderLayer(dev, e, heads, hidden, 0.1, rng, 7))
			layer.Activation = act
			var names []string
			for _, p := range nn.NamedParams(layer) {
				names = append(names, p.Name)
			}
			assert.Equal(t, []string{"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
				"multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias", "multihead_attn.out_proj.weight", "multihead_attn.out_proj.bias",
				"linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
				"norm3.weight", "norm3.bias"}, names)
			for _, n := range []*nn.LayerNorm{layer.Norm1, layer.Norm2, layer.Norm3} { // not 1: the check sees γ
				require.NoError(t, dev.Upload32(n.Weight.Value().Buffer(), floats(rng, e)))
			}
			xs, ms, ws := floats(rng, b*tl*e), floats(rng, b*sl*e), floats(rng, b*tl*e)
			tp := autograd.NewTape(dev, device.Float32)
			defer tp.Release()
			causal := must2(nn.CausalMask(dev, tl))
			defer causal.Release()
			mask := values(t, tp.Constant(causal))
			run := func() (y, gx, gm []float32) {
				defer tp.Reset()
				xt, mt := must2(tensor.FromFloat32(dev, xs, b, tl, e)), must2(tensor.FromFloat32(dev, ms, b, sl, e))
				defer xt.Release()
				defer mt.Release()
				x, m := tp.Input(xt, true), tp.Input(mt, true)
				out := layer.Decode(tp, x, m, tp.ConstantFloat32(mask, tl, tl), nil)
				require.Equal(t, []int{b, tl, e}, out.Shape())
				require.NoError(t, tp.Backward(tp.Sum(tp.Mul(out, tp.ConstantFloat32(ws, b, tl, e)))))
				return values(t, out), must2(x.Grad().Float32s()), must2(m.Grad().Float32s())
			}
			trainY, _, _ := run()
			nn.SetTraining(layer, false)
			y, gx, gm := run()
			assert.NotEqual(t, y, trainY, "dropout acts in training mode")
			path := filepath.Join(t.TempDir(), "decoder.safetensors")
			require.NoError(t, nn.SaveWith(path, layer, nil, map[string]safetensors.Tensor{
				"test/x": safetensors.FromFloat32([]int{b, tl, e}, xs), "test/m": safetensors.FromFloat32([]int{b, sl, e}, ms),
				"test/w": safetensors.FromFloat32([]int{b, tl, e}, ws), "test/mask": safetensors.FromFloat32([]int{tl, tl}, mask),
				"test/y": safetensors.FromFloat32([]int{b, tl, e}, y), "test/gx": safetensors.FromFloat32([]int{b, tl, e}, gx),
				"test/gm": safetensors.FromFloat32([]int{b, sl, e}, gm),
			}))
			out, err := exec.Command(torchtest.Python, script, path, strconv.Itoa(heads), act.String()).CombinedOutput()
			t.Log(strings.TrimSpace(string(out)))
			require.NoError(t, err, "decoder_layer_check.py: %s", out)
		})
	}
}
