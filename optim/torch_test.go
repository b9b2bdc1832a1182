package optim_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/data"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/internal/torchtest"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/optim"
	"github.com/adjoint-go/adjoint/tensor"
)

// torchRun is what scripts/torch/train_compare.py replays: a model's
// initial parameters (torch state_dict names), the batches in order, the
// optimizer as torch names it, and what adjoint computed.
type torchRun struct {
	Name string `json:"name"`
	Loss string `json:"loss,omitempty"` // "bce": BCEWithLogits on one-hot targets; else softmax CE
	// LayerNorm puts torch.nn.LayerNorm(32) between the first Linear and
	// the ReLU (state_dict 0, 1, 3 instead of 0, 2).
	LayerNorm bool `json:"layernorm,omitempty"`
	// BatchNorm puts torch.nn.BatchNorm1d(32) there instead, in training
	// mode; its buffers are in Init and Final under torch's names.
	BatchNorm bool                 `json:"batchnorm,omitempty"`
	Sizes     []int                `json:"sizes"`
	Shapes    map[string][]int     `json:"shapes"`
	Init      map[string][]float64 `json:"init"`
	Optim     map[string]any       `json:"optim"`
	Batches   []torchBatch         `json:"batches"`
	Losses    []float64            `json:"losses"`
	Final     map[string][]float64 `json:"final"`
}

type torchBatch struct {
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

// TestTrainingMatchesTorch trains a 64-32-10 ReLU network on digits with
// each optimizer, in float64, and has PyTorch replay the same steps from
// the same parameters: every step's softmax cross-entropy and the final
// parameters must agree to 1e-9. This checks the whole gradient (tape,
// fused linear layers, loss error vectors) and the optimizers' update rules
// against torch.optim, not just the forward pass. It needs /usr/bin/python3
// with torch (Debian's python3-torch; CI installs it) and skips without.
func TestTrainingMatchesTorch(t *testing.T) {
	script := torchtest.Script(t, "train_compare.py")
	dir := t.TempDir()
	var paths []string
	for _, c := range []struct {
		name  string
		torch map[string]any
		make  func(params []*autograd.Var) (optim.Optimizer, error)
	}{
		{"sgd", map[string]any{"name": "sgd", "lr": 0.1}, func(p []*autograd.Var) (optim.Optimizer, error) {
			return optim.NewSGD(p, optim.SGDConfig{LR: 0.1})
		}},
		{"sgd-nesterov-wd", map[string]any{"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true, "weight_decay": 1e-3},
			func(p []*autograd.Var) (optim.Optimizer, error) {
				return optim.NewSGD(p, optim.SGDConfig{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-3})
			}},
		{"sgd-momentum-dampening", map[string]any{"name": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.3},
			func(p []*autograd.Var) (optim.Optimizer, error) {
				return optim.NewSGD(p, optim.SGDConfig{LR: 0.05, Momentum: 0.9, Dampening: 0.3})
			}},
		{"adam", map[string]any{"name": "adam", "lr": 0.01, "betas": []float64{0.9, 0.999}, "eps": 1e-8},
			func(p []*autograd.Var) (optim.Optimizer, error) {
				cfg := optim.DefaultAdam()
				cfg.LR = 0.01
				return optim.NewAdam(p, cfg)
			}},
		{"adam-l2", map[string]any{"name": "adam", "lr": 0.01, "weight_decay": 0.01},
			func(p []*autograd.Var) (optim.Optimizer, error) {
				cfg := optim.DefaultAdam()
				cfg.LR, cfg.WeightDecay = 0.01, 0.01
				return optim.NewAdam(p, cfg)
			}},
		{"adamw", map[string]any{"name": "adamw", "lr": 0.01, "weight_decay": 0.05, "betas": []float64{0.8, 0.99}, "eps": 1e-6},
			func(p []*autograd.Var) (optim.Optimizer, error) {
				return optim.NewAdamW(p, optim.AdamConfig{LR: 0.01, WeightDecay: 0.05, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6})
			}},
		{"adamw-layernorm", map[string]any{"name": "adamw", "lr": 0.01, "weight_decay": 0.01},
			func(p []*autograd.Var) (optim.Optimizer, error) {
				cfg := optim.DefaultAdamW()
				cfg.LR = 0.01
				return optim.NewAdamW(p, cfg)
			}},
		{"sgd-layernorm", map[string]any{"name": "sgd", "lr": 0.1, "momentum": 0.9},
			func(p []*autograd.Var) (optim.Optimizer, error) {
				return optim.NewSGD(p, optim.SGDConfig{LR: 0.1, Momentum: 0.9})
			}},
		{"sgd-batchnorm", map[string]any{"name": "sgd", "lr": 0.1, "momentum": 0.9},
			func(p []*autograd.Var) (optim.Optimizer, error) {
				return optim.NewSGD(p, optim.SGDConfig{LR: 0.1, Momentum: 0.9})
			}},
		{"rmsprop", map[string]any{"name": "rmsprop", "lr": 0.01},
			func(p []*autograd.Var) (optim.Optimizer, error) { return optim.NewRMSprop(p, optim.DefaultRMSprop()) }},
		{"rmsprop-centered-momentum-wd", map[string]any{"name": "rmsprop", "lr": 0.005, "alpha": 0.9, "eps": 1e-6, "momentum": 0.8, "weight_decay": 0.01, "centered": true},
			func(p []*autograd.Var) (optim.Optimizer, error) {
				return optim.NewRMSprop(p, optim.RMSpropConfig{LR: 0.005, Alpha: 0.9, Eps: 1e-6, Momentum: 0.8, WeightDecay: 0.01, Centered: true})
			}},
		{"adam-bce-with-logits", map[string]any{"name": "adam", "lr": 0.01},
			func(p []*autograd.Var) (optim.Optimizer, error) {
				cfg := optim.DefaultAdam()
				cfg.LR = 0.01
				return optim.NewAdam(p, cfg)
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The -bce- runs train multi-label: BCEWithLogits on one-hot
			// targets; the -layernorm- and -batchnorm- runs normalise the
			// hidden layer.
			norm := ""
			for _, n := range []string{"layernorm", "batchnorm"} {
				if strings.Contains(c.name, n) {
					norm = n
				}
			}
			run := trainForTorch(t, c.name, c.torch, c.make, strings.Contains(c.name, "bce"), norm)
			path := filepath.Join(dir, c.name+".json")
			b, err := json.Marshal(run)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, b, 0o644))
			paths = append(paths, path)
		})
	}
	// One torch process replays every run (importing torch takes seconds).
	out, err := exec.Command(torchtest.Python, append([]string{script}, paths...)...).CombinedOutput()
	t.Log(strings.TrimSpace(string(out)))
	require.NoError(t, err, "train_compare.py: %s", out)
	require.Equal(t, len(paths), strings.Count(string(out), ": ok: "), "every run must be replayed and agree")
}

// trainForTorch runs 20 steps of K = 32 digits rows (in order, pixels/16)
// through Linear(64, 32), ReLU, Linear(32, 10) and softmax cross-entropy
// (mean), all in float64 on the CPU, and records everything torch needs;
// norm "layernorm" or "batchnorm" normalises the hidden layer before the
// ReLU.
func trainForTorch(t *testing.T, name string, torchOptim map[string]any,
	newOpt func([]*autograd.Var) (optim.Optimizer, error), bce bool, norm string) *torchRun {
	t.Helper()
	const k, steps = 32, 20
	dev := cpuDev(t)
	ds, err := data.Digits()
	require.NoError(t, err)
	run := &torchRun{Name: name, Sizes: []int{64, 32, 10}, Shapes: map[string][]int{}, Init: map[string][]float64{},
		Optim: torchOptim, Final: map[string][]float64{}}
	if bce {
		run.Loss = "bce"
	}
	run.LayerNorm, run.BatchNorm = norm == "layernorm", norm == "batchnorm"
	normed := norm != ""

	// torch.nn.Linear's initialisation bounds, from our own generator;
	// the normalisation's γ and β drawn around 1 and 0 so that they matter.
	rng := rand.New(rand.NewPCG(11, 12))
	names := []string{"0.weight", "0.bias", "2.weight", "2.bias"}
	shapes := [][]int{{32, 64}, {32}, {10, 32}, {10}}
	fanIn := []float64{64, 64, 32, 32}
	if normed {
		names = []string{"0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"}
		shapes = [][]int{{32, 64}, {32}, {32}, {32}, {10, 32}, {10}}
		fanIn = []float64{64, 64, 0, 0, 32, 32} // 0: a γ or β
	}
	params := make([]*autograd.Var, len(names))
	for i, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v := make([]float64, n)
		for j := range v {
			switch {
			case fanIn[i] > 0: // Linear: U(±1/√in)
				v[j] = (2*rng.Float64() - 1) / math.Sqrt(fanIn[i])
			case strings.HasSuffix(names[i], "weight"): // γ ∈ [0.5, 1.5)
				v[j] = rng.Float64() + 0.5
			default: // β ∈ [−0.5, 0.5)
				v[j] = rng.Float64() - 0.5
			}
		}
		run.Init[names[i]], run.Shapes[names[i]] = v, shape
		x, err := tensor.FromFloat64(dev, v, shape...)
		require.NoError(t, err)
		params[i] = autograd.NewParam(names[i], x)
	}
	opt, err := newOpt(params)
	require.NoError(t, err)
	// BatchNorm's running statistics start as torch's: mean 0, variance 1.
	var runningMean, runningVar *tensor.Tensor
	if run.BatchNorm {
		runningMean, err = tensor.FromFloat64(dev, make([]float64, 32), 32)
		require.NoError(t, err)
		runningVar, err = tensor.FromFloat64(dev, slices.Repeat([]float64{1}, 32), 32)
		require.NoError(t, err)
		run.Init["1.running_mean"], run.Init["1.running_var"], run.Init["1.num_batches_tracked"] = make([]float64, 32), slices.Repeat([]float64{1}, 32), []float64{0}
		run.Shapes["1.running_mean"], run.Shapes["1.running_var"], run.Shapes["1.num_batches_tracked"] = []int{32}, []int{32}, []int{}
	}

	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	for s := range steps {
		xb, yb := make([]float64, k*64), make([]float64, k)
		for i := range k {
			row := s*k + i
			for j := range 64 {
				xb[i*64+j] = float64(ds.X[row*64+j]) / 16
			}
			yb[i] = float64(ds.Y[row])
		}
		run.Batches = append(run.Batches, torchBatch{X: xb, Y: yb})
		xt, err := tensor.FromFloat64(dev, xb, k, 64)
		require.NoError(t, err)
		var yt *tensor.Tensor
		if bce {
			onehot := make([]float64, k*10)
			for i, c := range yb {
				onehot[i*10+int(c)] = 1
			}
			yt, err = tensor.FromFloat64(dev, onehot, k, 10)
		} else {
			yt, err = tensor.FromFloat64(dev, yb, k)
		}
		require.NoError(t, err)
		var logits *autograd.Var
		switch norm {
		case "layernorm":
			h := tp.Linear(tp.Constant(xt), params[0], params[1], device.Identity)
			h = tp.Apply(device.ReLU, tp.LayerNorm(h, params[2], params[3], 1e-5))
			logits = tp.Linear(h, params[4], params[5], device.Identity)
		case "batchnorm":
			h := tp.Linear(tp.Constant(xt), params[0], params[1], device.Identity)
			h = tp.BatchNorm(h, params[2], params[3], runningMean, runningVar, autograd.BatchNormOptions{Training: true, Momentum: 0.1, Eps: 1e-5})
			logits = tp.Linear(tp.Apply(device.ReLU, h), params[4], params[5], device.Identity)
		default:
			h := tp.Linear(tp.Constant(xt), params[0], params[1], device.ReLU)
			logits = tp.Linear(h, params[2], params[3], device.Identity)
		}
		var l *autograd.Var
		if bce {
			l = loss.BCEWithLogits(tp, logits, tp.Constant(yt), loss.Mean)
		} else {
			l = loss.SoftmaxCrossEntropyIndex(tp, logits, tp.Constant(yt), loss.Mean)
		}
		opt.ZeroGrad()
		require.NoError(t, tp.Backward(l))
		require.NoError(t, opt.Step())
		lv, err := l.Value().Item()
		require.NoError(t, err)
		run.Losses = append(run.Losses, lv)
		tp.Reset()
		xt.Release()
		yt.Release()
	}
	for i, p := range params {
		v, err := p.Value().Float64s()
		require.NoError(t, err)
		run.Final[names[i]] = v
	}
	if run.BatchNorm {
		for name, v := range map[string]*tensor.Tensor{"1.running_mean": runningMean, "1.running_var": runningVar} {
			run.Final[name], err = v.Float64s()
			require.NoError(t, err)
			v.Release()
		}
		run.Final["1.num_batches_tracked"] = []float64{steps}
	}
	require.Less(t, run.Losses[steps-1], run.Losses[0], "training lowers the loss")
	return run
}
