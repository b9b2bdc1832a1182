package nn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
)

// TestEmbeddingLearns: Sequential(Embedding(10, 4), Flatten, Linear(12, 2))
// learns whether token 7 occurs in a sequence of three, a task the rows of
// the table must learn to encode; the rows no batch names keep their
// values, and a bad token fails the step with device.ErrInvalidInput.
func TestEmbeddingLearns(t *testing.T) {
	dev := cpuDev(t)
	rng := rand.New(rand.NewPCG(3, 4))
	emb := must2(nn.NewEmbedding(dev, 10, 4, rng))
	model := nn.NewSequential(emb, nn.Flatten{}, must2(nn.NewLinear(dev, 12, 2, rng)))
	assert.Equal(t, "Sequential(Embedding(10, 4), Flatten(start_dim=1, end_dim=-1), Linear(12, 2))", model.String())
	var names []string
	for _, p := range nn.NamedParams(model) {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"0.weight", "2.weight", "2.bias"}, names)

	// Sequences of tokens 0…8 (never 9), half of them holding a 7.
	const k = 64
	batch := func() (x, y []float32) {
		for range k {
			seq := []float32{float32(rng.IntN(9)), float32(rng.IntN(9)), float32(rng.IntN(9))}
			has := float32(0)
			for _, v := range seq {
				if v == 7 {
					has = 1
				}
			}
			x, y = append(x, seq...), append(y, has)
		}
		return x, y
	}
	row9 := values(t, emb.Weight)[9*4:]
	opt := must2(optim.NewAdam(model.Params(), optim.AdamConfig{LR: 0.05, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}))
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	for range 300 {
		x, y := batch()
		logits := model.Forward(tp, tp.ConstantFloat32(x, k, 3))
		require.NoError(t, tp.Backward(loss.SoftmaxCrossEntropyIndex(tp, logits, tp.ConstantFloat32(y, k), loss.Mean)))
		require.NoError(t, opt.Step())
		opt.ZeroGrad()
		tp.Reset()
	}
	x, y := batch()
	var acc float64
	var err error
	tp.NoGrad(func() {
		acc, err = loss.Accuracy(tp, model.Forward(tp, tp.ConstantFloat32(x, k, 3)), tp.ConstantFloat32(y, k))
	})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, acc, 0.95, "whether a 7 occurs")
	assert.Equal(t, row9, values(t, emb.Weight)[9*4:], "token 9 never occurs: its row gets no gradient (Adam leaves it)")
	tp.Reset()

	bad := model.Forward(tp, tp.ConstantFloat32([]float32{1, 2, 10}, 1, 3))
	err = tp.Backward(tp.Sum(bad))
	assert.ErrorIs(t, err, device.ErrInvalidInput, "token 10 of a 10-row table")
	assert.ErrorContains(t, err, "index 2: 10 is not an integer in [0, 10)")
	tp.Reset() // the batch is done: the device goes on
	require.NoError(t, tp.Backward(tp.Sum(model.Forward(tp, tp.ConstantFloat32([]float32{1, 2, 3}, 1, 3)))))
}
