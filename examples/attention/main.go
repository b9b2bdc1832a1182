// Command attention trains a one-layer causal transformer to copy the
// first token of a sequence to every position: token and position
// embeddings, a TransformerEncoderLayer under a causal mask (each position
// sees itself and the ones before it), and a Linear read-out per position.
// Only attention can carry position 0's token forward, so the accuracy
// climbs from chance (1/vocab) to 100% as the layer learns to attend to
// position 0.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	_ "github.com/adjoint-go/adjoint/cpu" // registers the "cpu" device
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
)

const (
	vocab, seq, embed, heads, hidden = 16, 8, 32, 4, 64
	batch                            = 32
)

func main() {
	steps := flag.Int("steps", 300, "training steps")
	flag.Parse()
	dev, err := device.Open("auto")
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	tok, err := nn.NewEmbedding(dev, vocab, embed, rng)
	if err != nil {
		log.Fatal(err)
	}
	pos, err := nn.NewEmbedding(dev, seq, embed, rng)
	if err != nil {
		log.Fatal(err)
	}
	layer, err := nn.NewTransformerEncoderLayer(dev, embed, heads, hidden, 0, rng, 1)
	if err != nil {
		log.Fatal(err)
	}
	head, err := nn.NewLinear(dev, embed, vocab, rng)
	if err != nil {
		log.Fatal(err)
	}
	var params []*autograd.Var
	for _, m := range []nn.Parameterized{tok, pos, layer, head} {
		params = append(params, m.Params()...)
	}
	opt, err := optim.NewAdam(params, optim.AdamConfig{LR: 3e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	if err != nil {
		log.Fatal(err)
	}

	causal, err := nn.CausalMask(dev, seq) // −∞ above the diagonal: no peeking ahead
	if err != nil {
		log.Fatal(err)
	}
	positions := make([]float32, seq)
	for i := range positions {
		positions[i] = float32(i)
	}
	tp := autograd.NewTape(dev, device.Float32)
	logits := func(x []float32) *autograd.Var {
		h := tp.Add(tok.Forward(tp, tp.ConstantFloat32(x, batch, seq)), pos.Forward(tp, tp.ConstantFloat32(positions, seq)))
		h = layer.Encode(tp, h, tp.Constant(causal))
		return head.Forward(tp, tp.Reshape(h, batch*seq, embed)) // a prediction per position
	}
	for step := 1; step <= *steps; step++ {
		x, y := sequences(rng)
		out := logits(x)
		l := loss.SoftmaxCrossEntropyIndex(tp, out, tp.ConstantFloat32(y, batch*seq), loss.Mean)
		if err := tp.Backward(l); err != nil {
			log.Fatal(err)
		}
		if step == 1 || step%50 == 0 {
			acc, err := loss.Accuracy(tp, out, tp.ConstantFloat32(y, batch*seq))
			if err != nil {
				log.Fatal(err)
			}
			v, _ := l.Value().Item()
			fmt.Printf("step %3d  loss %.4f  accuracy %6.2f%%\n", step, v, 100*acc)
		}
		if err := opt.Step(); err != nil {
			log.Fatal(err)
		}
		opt.ZeroGrad()
		tp.Reset()
	}
}

// sequences draws a batch of random sequences; every position's target
// is the sequence's first token.
func sequences(rng *rand.Rand) (x, y []float32) {
	for range batch {
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
