// Command rnn reads each embedded 8×8 digit as a sequence of 8 rows of 8
// pixels, top to bottom, with a recurrent layer (an LSTM, or a GRU with
// -gru), and classifies it from the last step's hidden state:
//
//	rows [K, 8, 8] (BatchFirst) → LSTM(8, 64) → h_8 [K, 64] → Linear(64, 10)
//
// The gradient reaches the first rows only through the recurrence, which
// the tape unrolls and replays: backpropagation through time. With -save
// the layers' state_dicts (torch's names: rnn.weight_ih_l0, …, fc.weight,
// fc.bias) go to a safetensors file that torch.nn.LSTM and torch.nn.Linear
// load as they are.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	_ "github.com/adjoint-go/adjoint/cpu" // registers the "cpu" device
	"github.com/adjoint-go/adjoint/data"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
)

const rows, cols, hidden = 8, 8, 64

// model is a recurrent layer read at its last step, and a classifier.
type model struct {
	last func(tp *autograd.Tape, x *autograd.Var) *autograd.Var // the last hidden state [K, hidden]
	rnn  nn.Module
	fc   *nn.Linear
}

func (m *model) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return m.fc.Forward(tp, m.last(tp, x))
}

func (m *model) Params() []*autograd.Var {
	return append(m.rnn.(nn.Parameterized).Params(), m.fc.Params()...)
}

func (m *model) NamedParams() []nn.NamedParam {
	var ps []nn.NamedParam
	for _, p := range nn.NamedParams(m.rnn) {
		ps = append(ps, nn.NamedParam{Name: "rnn." + p.Name, Var: p.Var})
	}
	for _, p := range nn.NamedParams(m.fc) {
		ps = append(ps, nn.NamedParam{Name: "fc." + p.Name, Var: p.Var})
	}
	return ps
}

func main() {
	epochs := flag.Int("epochs", 20, "passes over the training set")
	gru := flag.Bool("gru", false, "a GRU instead of an LSTM")
	save := flag.String("save", "", "write the trained model's state_dict here (safetensors)")
	flag.Parse()

	dev, err := device.Open("auto") // CUDA when built with -tags cuda on a GPU host, else the CPU
	if err != nil {
		log.Fatal(err)
	}
	digits, err := data.Digits()
	if err != nil {
		log.Fatal(err)
	}
	train, test, err := data.Split(digits, 0.2, 42)
	if err != nil {
		log.Fatal(err)
	}
	std := data.FitStandardizer(train.X, train.Features)
	std.Apply(train.X)
	std.Apply(test.X)

	m, err := build(dev, rand.New(rand.NewPCG(1, 0)), *gru)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.rnn, m.fc)
	opt, err := optim.NewAdam(m.Params(), optim.AdamConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	if err != nil {
		log.Fatal(err)
	}

	tp := autograd.NewTape(dev, device.Float32)
	batches := data.NewBatcher(train, 64, true, 1)
	for epoch := 1; epoch <= *epochs; epoch++ {
		var sum float64
		var n int
		for x, y, k, ok := batches.Next(); ok; x, y, k, ok = batches.Next() {
			seqs := tp.ConstantFloat32(x, k, rows, cols) // a digit's 64 pixels are 8 rows of 8
			l := loss.SoftmaxCrossEntropyIndex(tp, m.Forward(tp, seqs), tp.ConstantFloat32(y, k), loss.Mean)
			if err := tp.Backward(l); err != nil {
				log.Fatal(err)
			}
			v, _ := l.Value().Item()
			sum, n = sum+v*float64(k), n+k
			if err := opt.Step(); err != nil {
				log.Fatal(err)
			}
			opt.ZeroGrad()
			tp.Reset()
		}
		batches.Reset()
		if epoch == 1 || epoch%5 == 0 {
			fmt.Printf("epoch %2d  train loss %.4f\n", epoch, sum/float64(n))
		}
	}

	var acc float64
	tp.NoGrad(func() {
		logits := m.Forward(tp, tp.ConstantFloat32(test.X, test.Len(), rows, cols))
		acc, err = loss.Accuracy(tp, logits, tp.ConstantFloat32(test.Y, test.Len()))
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("test accuracy %.2f%% after %d epochs on %s\n", 100*acc, *epochs, dev.Name())
	if *save != "" {
		if err := nn.Save(*save, m, nil); err != nil {
			log.Fatal(err)
		}
	}
}

// build returns the recurrent layer (batch-first: [K, 8 rows, 8 pixels])
// and the classifier, their parameters drawn from rng.
func build(dev device.Device, rng *rand.Rand, gru bool) (*model, error) {
	m := &model{}
	if gru {
		r, err := nn.NewGRU(dev, cols, hidden, rng)
		if err != nil {
			return nil, err
		}
		r.BatchFirst = true
		m.rnn = r
		m.last = func(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
			_, h := r.ForwardState(tp, x, nil) // [1, K, hidden]
			return tp.Reshape(h, x.Shape()[0], hidden)
		}
	} else {
		r, err := nn.NewLSTM(dev, cols, hidden, rng)
		if err != nil {
			return nil, err
		}
		r.BatchFirst = true
		m.rnn = r
		m.last = func(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
			_, h, _ := r.ForwardState(tp, x, nil, nil) // [1, K, hidden]
			return tp.Reshape(h, x.Shape()[0], hidden)
		}
	}
	fc, err := nn.NewLinear(dev, hidden, 10, rng)
	if err != nil {
		return nil, err
	}
	m.fc = fc
	return m, nil
}
