package nn_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/adjoint-go/adjoint/autograd"
	_ "github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
	"github.com/adjoint-go/adjoint/tensor"
)

// An MLP has PyTorch's nn.Sequential parameter names and shapes.
func ExampleMLP() {
	dev, _ := device.Open("cpu")
	model, _ := nn.MLP(dev, []int{64, 128, 10}, device.ReLU, 1)
	fmt.Println(model)
	for _, p := range nn.NamedParams(model) {
		fmt.Println(p.Name, p.Var.Shape())
	}
	// Output:
	// Sequential(Linear(64, 128), relu, Linear(128, 10))
	// 0.weight [128 64]
	// 0.bias [128]
	// 2.weight [10 128]
	// 2.bias [10]
}

// A residual block is x + body(x); inside a Sequential it takes an index.
func ExampleResidual() {
	dev, _ := device.Open("cpu")
	body, _ := nn.MLP(dev, []int{8, 8, 8}, device.Tanh, 1)
	model := nn.NewSequential(&nn.Residual{Body: body}, nn.ReLU())
	for _, p := range nn.NamedParams(model) {
		fmt.Println(p.Name, p.Var.Shape())
	}
	// Output:
	// 0.body.0.weight [8 8]
	// 0.body.0.bias [8]
	// 0.body.2.weight [8 8]
	// 0.body.2.bias [8]
}

// One training step: forward, loss, backward, on a tape that is reset
// afterwards while the parameters persist.
func ExampleSequential_Forward() {
	dev, _ := device.Open("cpu")
	model, _ := nn.MLP(dev, []int{2, 4, 3}, device.ReLU, 1)
	tp := autograd.NewTape(dev, device.Float32)
	x, _ := tensor.FromFloat32(dev, []float32{0.5, -1, 1, 2}, 2, 2)
	y, _ := tensor.FromFloat32(dev, []float32{0, 2}, 2) // class indices
	logits := model.Forward(tp, tp.Constant(x))
	l := loss.SoftmaxCrossEntropyIndex(tp, logits, tp.Constant(y), loss.Mean)
	fmt.Println("nodes:", tp.Len()) // two fused Linear layers and the loss
	if err := tp.Backward(l); err != nil {
		fmt.Println(err)
	}
	fmt.Println("gradient of 0.weight:", model.Params()[0].Grad().Shape())
	tp.Reset()
	// Output:
	// nodes: 3
	// gradient of 0.weight: [4 2]
}

// LeakyReLU and ELU take their parameter (torch's defaults are 0.01 and
// 1, which an MLP built from the name alone uses).
func ExampleLeakyReLU() {
	dev, _ := device.Open("cpu")
	tp := autograd.NewTape(dev, device.Float32)
	x, _ := tensor.FromFloat32(dev, []float32{-2, -0.5, 0, 3}, 4)
	for _, act := range []*nn.Activation{nn.LeakyReLU(0.2), nn.ELU(1)} {
		y, _ := act.Forward(tp, tp.Constant(x)).Value().Float32s()
		fmt.Printf("%v: %.4f\n", act, y)
	}
	mlp, _ := nn.MLP(dev, []int{4, 8, 2}, device.LeakyReLU, 1)
	fmt.Println(mlp)
	// Output:
	// leaky_relu(0.2): [-0.4000 -0.1000 0.0000 3.0000]
	// elu(1): [-0.8647 -0.3935 0.0000 3.0000]
	// Sequential(Linear(4, 8), leaky_relu(0.01), Linear(8, 2))
}

// LayerNorm between layers, named as torch.nn.Sequential names it.
func ExampleLayerNorm() {
	dev, _ := device.Open("cpu")
	rng := rand.New(rand.NewPCG(1, 2))
	l1, _ := nn.NewLinear(dev, 4, 8, rng)
	norm, _ := nn.NewLayerNorm(dev, 8, 1e-5, true)
	l2, _ := nn.NewLinear(dev, 8, 2, rng)
	model := nn.NewSequential(l1, norm, nn.ReLU(), l2)
	fmt.Println(model)
	for _, p := range nn.NamedParams(model) {
		fmt.Println(p.Name, p.Var.Shape())
	}
	// Output:
	// Sequential(Linear(4, 8), LayerNorm(8, eps=1e-05), relu, Linear(8, 2))
	// 0.weight [8 4]
	// 0.bias [8]
	// 1.weight [8]
	// 1.bias [8]
	// 3.weight [2 8]
	// 3.bias [2]
}

// twoTower scores a (user, item) pair as user(u) + item(i): a model with
// two inputs. Its Forward takes both, so it is not an nn.Module, but with
// Params and NamedParams it is an nn.Parameterized, which is all that the
// optimizers and nn's checkpoint functions need.
type twoTower struct {
	user, item *nn.Linear
}

func newTwoTower(dev device.Device, seed uint64) (*twoTower, error) {
	rng := rand.New(rand.NewPCG(seed, 0))
	user, err := nn.NewLinear(dev, 3, 1, rng)
	if err != nil {
		return nil, err
	}
	item, err := nn.NewLinear(dev, 2, 1, rng)
	if err != nil {
		nn.Release(user)
		return nil, err
	}
	return &twoTower{user: user, item: item}, nil
}

func (m *twoTower) Forward(tp *autograd.Tape, u, i *autograd.Var) *autograd.Var {
	return tp.Add(m.user.Forward(tp, u), m.item.Forward(tp, i))
}

func (m *twoTower) Params() []*autograd.Var {
	return append(m.user.Params(), m.item.Params()...)
}

// NamedParams names the towers' parameters user.weight, user.bias,
// item.weight and item.bias, as a torch module holding self.user and
// self.item would.
func (m *twoTower) NamedParams() []nn.NamedParam {
	var ps []nn.NamedParam
	for _, tower := range []struct {
		name string
		l    *nn.Linear
	}{{"user", m.user}, {"item", m.item}} {
		for _, p := range tower.l.NamedParams() {
			ps = append(ps, nn.NamedParam{Name: tower.name + "." + p.Name, Var: p.Var})
		}
	}
	return ps
}

// A model with two inputs is trained with SGD and saved and loaded with
// nn.Save and nn.Load, which take any Parameterized.
func ExampleParameterized() {
	dev, _ := device.Open("cpu")
	model, err := newTwoTower(dev, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nn.Release(model)
	opt, err := optim.NewSGD(model.Params(), optim.SGDConfig{LR: 0.1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer opt.Release()

	// Four (user, item) pairs and their scores.
	users := []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0}
	items := []float32{1, 0, 0, 1, 1, 1, 0, 0}
	scores := []float32{1, 0, 2, 0.5}
	tp := autograd.NewTape(dev, device.Float32)
	var losses []float64
	for range 10 {
		pred := model.Forward(tp, tp.ConstantFloat32(users, 4, 3), tp.ConstantFloat32(items, 4, 2))
		l := loss.MSE(tp, pred, tp.ConstantFloat32(scores, 4, 1), loss.Mean)
		if err := tp.Backward(l); err != nil {
			fmt.Println(err)
			return
		}
		v, _ := l.Value().Item()
		losses = append(losses, v)
		if err := opt.Step(); err != nil {
			fmt.Println(err)
			return
		}
		opt.ZeroGrad()
		tp.Reset()
	}
	fmt.Println("loss went down:", losses[len(losses)-1] < losses[0])

	dir, err := os.MkdirTemp("", "two-tower")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")
	if err := nn.Save(path, model, map[string]string{"model": "two-tower"}); err != nil {
		fmt.Println(err)
		return
	}
	restored, err := newTwoTower(dev, 2) // other initial values
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nn.Release(restored)
	f, err := nn.Load(path, restored)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("metadata:", f.Metadata["model"])
	same := true
	for i, p := range nn.NamedParams(restored) {
		want, _ := model.Params()[i].Value().Float32s()
		got, _ := p.Var.Value().Float32s()
		same = same && slices.Equal(want, got)
		fmt.Println(p.Name, p.Var.Shape())
	}
	fmt.Println("restored the trained values:", same)
	// Output:
	// loss went down: true
	// metadata: two-tower
	// user.weight [1 3]
	// user.bias [1]
	// item.weight [1 2]
	// item.bias [1]
	// restored the trained values: true
}

// Dropout in a model: active while training, the identity after
// nn.SetTraining(model, false), as torch's model.eval().
func ExampleDropout() {
	dev, _ := device.Open("cpu")
	drop, _ := nn.NewDropout(0.5, 7)
	model := nn.NewSequential(drop)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	x := tp.ConstantFloat32([]float32{1, 1, 1, 1, 1, 1, 1, 1}, 2, 4)

	train, _ := model.Forward(tp, x).Value().Float32s()
	fmt.Println("training:  ", train) // zeros, and the rest scaled by 1/(1−p) = 2
	nn.SetTraining(model, false)
	eval, _ := model.Forward(tp, x).Value().Float32s()
	fmt.Println("evaluation:", eval)
	// Output:
	// training:   [2 2 0 0 0 2 0 2]
	// evaluation: [1 1 1 1 1 1 1 1]
}

// A convolutional network on 8×8 images in NCHW, torch's layout: its
// state_dict names and shapes, and the shape after each stage.
func ExampleConv2d() {
	dev, _ := device.Open("cpu")
	rng := rand.New(rand.NewPCG(1, 2))
	conv, _ := nn.NewConv2d(dev, 1, 8, [2]int{3, 3}, autograd.ConvOptions{Padding: [2]int{1, 1}}, rng)
	fc, _ := nn.NewLinear(dev, 8*4*4, 10, rng)
	model := nn.NewSequential(conv, nn.ReLU(), &nn.MaxPool2d{Kernel: [2]int{2, 2}}, nn.Flatten{}, fc)
	for _, p := range nn.NamedParams(model) {
		fmt.Println(p.Name, p.Var.Shape())
	}
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	x := tp.ConstantFloat32(make([]float32, 2*64), 2, 1, 8, 8) // two images
	h := x
	for _, layer := range model.Layers {
		h = layer.Forward(tp, h)
		fmt.Println(layer, h.Shape())
	}
	// Output:
	// 0.weight [8 1 3 3]
	// 0.bias [8]
	// 4.weight [10 128]
	// 4.bias [10]
	// Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)) [2 8 8 8]
	// relu [2 8 8 8]
	// MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1)) [2 8 4 4]
	// Flatten(start_dim=1, end_dim=-1) [2 128]
	// Linear(128, 10) [2 10]
}

// A temporal CNN over sequences [N, C, L]: two input channels of 16 steps.
func ExampleConv1d() {
	dev, _ := device.Open("cpu")
	rng := rand.New(rand.NewPCG(1, 2))
	conv, _ := nn.NewConv1d(dev, 2, 8, 5, autograd.Conv1dOptions{Padding: 2}, rng)
	fc, _ := nn.NewLinear(dev, 8*8, 3, rng)
	model := nn.NewSequential(conv, nn.ReLU(), &nn.MaxPool1d{Kernel: 2}, nn.Flatten{}, fc)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	h := tp.ConstantFloat32(make([]float32, 4*2*16), 4, 2, 16) // four sequences
	for _, layer := range model.Layers {
		h = layer.Forward(tp, h)
		fmt.Println(layer, h.Shape())
	}
	// Output:
	// Conv1d(2, 8, kernel_size=(5,), stride=(1,), padding=(2,)) [4 8 16]
	// relu [4 8 16]
	// MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False) [4 8 8]
	// Flatten(start_dim=1, end_dim=-1) [4 64]
	// Linear(64, 3) [4 3]
}

// An LSTM over a batch of sequences, torch's layout [L, N, In]: every
// step's hidden state, and the last hidden and cell states [Layers·D, N,
// H], for a classifier head or the next batch.
func ExampleLSTM() {
	dev, _ := device.Open("cpu")
	rng := rand.New(rand.NewPCG(1, 2))
	lstm, _ := nn.NewLSTM(dev, 3, 8, rng)
	fmt.Println(lstm)
	for _, p := range nn.NamedParams(lstm) {
		fmt.Println(p.Name, p.Var.Shape())
	}
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	x := tp.ConstantFloat32(make([]float32, 10*4*3), 10, 4, 3) // 10 steps of 4 sequences
	y, h, c := lstm.ForwardState(tp, x, nil, nil)
	fmt.Println(y.Shape(), h.Shape(), c.Shape())
	// Output:
	// LSTM(3, 8)
	// weight_ih_l0 [32 3]
	// weight_hh_l0 [32 8]
	// bias_ih_l0 [32]
	// bias_hh_l0 [32]
	// [10 4 8] [1 4 8] [1 4 8]
}

// Rows of an embedding table, selected by token numbers of any shape.
func ExampleEmbedding() {
	dev, _ := device.Open("cpu")
	emb, _ := nn.NewEmbedding(dev, 100, 4, rand.New(rand.NewPCG(1, 2)))
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	tokens := tp.ConstantFloat32([]float32{5, 7, 7, 99, 0, 5}, 2, 3) // two sequences of three tokens
	y := emb.Forward(tp, tokens)
	fmt.Println(emb, y.Shape())
	rows, _ := y.Value().Float32s()
	table, _ := emb.Weight.Value().Float32s()
	fmt.Println(slices.Equal(rows[4:8], table[7*4:8*4]), slices.Equal(rows[4:8], rows[8:12]))
	// Output:
	// Embedding(100, 4) [2 3 4]
	// true true
}

// Causal self-attention over a batch of sequences, with torch's names.
func ExampleMultiheadAttention() {
	dev, _ := device.Open("cpu")
	att, _ := nn.NewMultiheadAttention(dev, 8, 2, rand.New(rand.NewPCG(1, 2)))
	for _, p := range nn.NamedParams(att) {
		fmt.Println(p.Name, p.Var.Shape())
	}
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	x := tp.ConstantFloat32(make([]float32, 3*5*8), 3, 5, 8) // [B, T, E]
	causal, _ := nn.CausalMask(dev, 5)                       // made once, a constant on every step's tape
	defer causal.Release()
	y := att.Attend(tp, x, x, x, tp.Constant(causal))
	fmt.Println(att, y.Shape())
	small, _ := nn.CausalMask(dev, 3)
	defer small.Release()
	mask, _ := small.Float32s()
	fmt.Println(mask)
	// Output:
	// in_proj_weight [24 8]
	// in_proj_bias [24]
	// out_proj.weight [8 8]
	// out_proj.bias [8]
	// MultiheadAttention(embed_dim=8, num_heads=2) [3 5 8]
	// [0 -Inf -Inf 0 0 -Inf 0 0 0]
}

// BatchNorm2d in training normalises each channel over the batch and moves
// its running statistics; in evaluation the running statistics normalise.
func ExampleBatchNorm() {
	dev, _ := device.Open("cpu")
	bn, _ := nn.NewBatchNorm2d(dev, 2)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	// Two 1×2 images of two channels: channel 0 holds 1, 2, 3, 4 and
	// channel 1 holds 10 four times.
	x := tp.ConstantFloat32([]float32{1, 2, 10, 10, 3, 4, 10, 10}, 2, 2, 1, 2)
	y, _ := bn.Forward(tp, x).Value().Float32s()
	fmt.Printf("train: %.3f\n", y)
	mean, _ := bn.RunningMean.Float32s()
	variance, _ := bn.RunningVar.Float32s()
	fmt.Printf("running mean %.3f, variance %.4f, batches %d\n", mean, variance, bn.NumBatchesTracked)
	nn.SetTraining(bn, false)
	y, _ = bn.Forward(tp, x).Value().Float32s()
	fmt.Printf("eval: %.3f\n", y[:4])
	for _, b := range nn.NamedBuffers(bn) {
		fmt.Print(b.Name, " ")
	}
	fmt.Println()
	// Output:
	// train: [-1.342 -0.447 0.000 0.000 0.447 1.342 0.000 0.000]
	// running mean [0.250 1.000], variance [1.0667 0.9000], batches 1
	// eval: [0.726 1.694 9.487 9.487]
	// running_mean running_var num_batches_tracked
}
