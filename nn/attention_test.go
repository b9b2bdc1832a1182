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
	"github.com/adjoint-go/adjoint/nn"
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
	mask := make([]float32, tl*tl) // causal: position i sees 0…i
	for i := range tl {
		for j := i + 1; j < tl; j++ {
			mask[i*tl+j] = float32(math.Inf(-1))
		}
	}
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	xt := must2(tensor.FromFloat32(dev, xs, b, tl, e))
	defer xt.Release()
	x := tp.Input(xt, true)
	y := m.Attend(tp, x, x, x, tp.ConstantFloat32(mask, tl, tl))
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
