package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/adjoint-go/adjoint/data"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/nn"
)

// config is everything that defines a training run. Its fields are stored
// in the checkpoint's metadata, so that eval, predict and --resume rebuild
// the same model, data split and optimizer.
type config struct {
	Data     string // digits, diabetes or a CSV path
	LabelCol int
	Task     string // classification or regression
	Hidden   []int
	Act      string
	Norm     string // none, layer or batch (a LayerNorm or BatchNorm1d after each hidden Linear)
	// Dropout is the probability of the Dropout after each hidden
	// activation; 0 (no Dropout layers) is left out of the stored JSON, so
	// that a run without it writes the checkpoint it always did.
	Dropout  float64 `json:",omitempty"`
	Loss     string
	Smooth   float64 // ce: label smoothing (torch's label_smoothing); 0: none
	Optim    string
	LR       float64
	Momentum float64
	WD       float64
	Batch    int
	Epochs   int
	Seed     uint64
	TestFrac float64
	Schedule string  // none, step or cosine
	StepSize int     // step: epochs per decay
	Gamma    float64 // step: decay factor
	TMax     int     // cosine: period in epochs (0: Epochs − Warmup)
	Warmup   int     // epochs of linear warm-up before the schedule; 0: none
	Clip     float64
}

// defaults for the flags that depend on other flags.
const (
	defaultLR     = -1 // optimizer's default
	defaultWD     = -1
	defaultLoss   = "" // ce for classification, mse for regression
	defaultTask   = "" // from the data set
	defaultEpochs = 30
)

// addTrainFlags registers the training flags on fs, writing into c.
func addTrainFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.Data, "data", "digits", "data set: digits, diabetes, or a path to a numeric CSV file")
	fs.IntVar(&c.LabelCol, "label-col", -1, "CSV label column (0 is the first; negative counts from the end)")
	fs.StringVar(&c.Task, "task", defaultTask, "classification or regression (default: digits classification, diabetes regression, CSV classification)")
	fs.Func("hidden", "hidden layer widths, comma-separated, or none (default 512)", func(s string) error {
		h, err := parseSizes(s)
		if err != nil {
			return err
		}
		c.Hidden = h
		return nil
	})
	fs.StringVar(&c.Act, "act", "relu", "activation: relu, tanh, sigmoid, gelu, silu, leaky_relu (slope 0.01), elu (α 1), relu6, hardsigmoid or hardswish (torch's defaults)")
	fs.StringVar(&c.Norm, "norm", "none", "normalisation after each hidden linear layer: none, layer (LayerNorm) or batch (BatchNorm1d)")
	fs.Float64Var(&c.Dropout, "dropout", 0, "dropout probability `P` in [0, 1) after each hidden activation (torch.nn.Dropout; off in evaluation); 0: no Dropout layers")
	fs.StringVar(&c.Loss, "loss", defaultLoss, "loss: ce (classification), mse, mae or huber (regression); default ce or mse by task")
	fs.Float64Var(&c.Smooth, "label-smoothing", 0, "ce: label smoothing `S` in [0, 1), torch's CrossEntropyLoss(label_smoothing=S), in training and evaluation losses")
	fs.StringVar(&c.Optim, "optim", "adam", "optimizer: sgd, adam, adamw or rmsprop")
	fs.Float64Var(&c.LR, "lr", 0, "learning rate (default 1e-3 for adam/adamw, 0.05 for sgd, 0.01 for rmsprop)")
	fs.Float64Var(&c.Momentum, "momentum", 0.9, "SGD momentum")
	fs.Float64Var(&c.WD, "weight-decay", 0, "weight decay (default 0, or 0.01 for adamw)")
	fs.IntVar(&c.Batch, "batch", 64, "batch size K (samples per step)")
	fs.IntVar(&c.Epochs, "epochs", defaultEpochs, "total number of epochs (with --resume: including those already trained)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed (split, initialisation, shuffling)")
	fs.Float64Var(&c.TestFrac, "test-frac", 0.2, "fraction of the data held out for testing")
	fs.StringVar(&c.Schedule, "schedule", "none", "learning-rate schedule per epoch: none, step (StepLR) or cosine (CosineAnnealingLR)")
	fs.IntVar(&c.StepSize, "step-size", 10, "step schedule: epochs between decays")
	fs.Float64Var(&c.Gamma, "gamma", 0.1, "step schedule: decay factor")
	fs.IntVar(&c.TMax, "t-max", 0, "cosine schedule: epochs to anneal over (default --epochs of the first run, less --warmup)")
	fs.IntVar(&c.Warmup, "warmup", 0, "epochs of linear warm-up from lr/10 to lr (LinearLR) before the schedule, which then counts its epochs from there (SequentialLR); 0: none")
	fs.Float64Var(&c.Clip, "clip", 0, "clip gradients to this global L2 norm (0: off)")
}

func parseSizes(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return []int{}, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad width %q (want positive integers such as 128,64)", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// resolve fills the defaults that depend on other settings and checks
// every value; its errors are usage errors.
func (c *config) resolve(ds *data.Dataset) error {
	if c.Hidden == nil {
		c.Hidden = []int{512}
	}
	act, err := nn.ParseActivation(c.Act)
	if err != nil || act == device.Identity {
		return usagef("train: --act %q: want relu, tanh, sigmoid, gelu, silu, leaky_relu, elu, relu6, hardsigmoid or hardswish", c.Act)
	}
	c.Act = act.String() // the canonical name, which checkpoints and torch scripts read
	switch c.Norm {
	case "":
		c.Norm = "none" // checkpoints written before --norm existed
	case "none", "layer", "batch":
	default:
		return usagef("train: --norm %q: want none, layer or batch", c.Norm)
	}
	switch c.Task {
	case "":
		c.Task = ds.Task.String()
	case "classification", "regression":
	default:
		return usagef("train: --task %q: want classification or regression", c.Task)
	}
	switch c.Loss {
	case "":
		c.Loss = "ce"
		if c.Task == "regression" {
			c.Loss = "mse"
		}
	case "ce":
		if c.Task != "classification" {
			return usagef("train: --loss ce needs --task classification")
		}
	case "mse", "mae", "huber":
		if c.Task != "regression" {
			return usagef("train: --loss %s needs --task regression (classification uses ce)", c.Loss)
		}
	default:
		return usagef("train: --loss %q: want ce, mse, mae or huber", c.Loss)
	}
	switch {
	case !(c.Smooth >= 0 && c.Smooth < 1):
		return usagef("train: --label-smoothing %v: want a value in [0, 1)", c.Smooth)
	case c.Smooth > 0 && c.Loss != "ce":
		return usagef("train: --label-smoothing needs the ce loss, not %s", c.Loss)
	}
	switch c.Optim {
	case "sgd", "adam", "adamw", "rmsprop":
	default:
		return usagef("train: --optim %q: want sgd, adam, adamw or rmsprop", c.Optim)
	}
	if c.LR == defaultLR {
		switch c.Optim {
		case "sgd":
			c.LR = 0.05
		case "rmsprop":
			c.LR = 0.01 // torch's default
		default:
			c.LR = 1e-3
		}
	}
	if c.WD == defaultWD {
		c.WD = 0
		if c.Optim == "adamw" {
			c.WD = 0.01
		}
	}
	switch {
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return usagef("train: --lr %v: want a positive number", c.LR)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return usagef("train: --dropout %v: want a value in [0, 1)", c.Dropout)
	case c.Dropout > 0 && len(c.Hidden) == 0:
		return usagef("train: --dropout %v with --hidden none: a Dropout follows each hidden activation, and there is none", c.Dropout)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return usagef("train: --momentum %v: want a value in [0, 1)", c.Momentum)
	case !(c.WD >= 0) || math.IsInf(c.WD, 0):
		return usagef("train: --weight-decay %v: want a finite number ≥ 0", c.WD)
	case c.Batch <= 0:
		return usagef("train: --batch %d: want > 0", c.Batch)
	case c.Epochs <= 0:
		return usagef("train: --epochs %d: want > 0", c.Epochs)
	case !(c.TestFrac > 0 && c.TestFrac < 1):
		return usagef("train: --test-frac %v: want a value in (0, 1)", c.TestFrac)
	case !(c.Clip >= 0) || math.IsInf(c.Clip, 0):
		return usagef("train: --clip %v: want a finite number ≥ 0 (0: off)", c.Clip)
	case c.StepSize <= 0:
		return usagef("train: --step-size %d: want > 0", c.StepSize)
	case !(c.Gamma > 0) || math.IsInf(c.Gamma, 0):
		return usagef("train: --gamma %v: want a finite number > 0", c.Gamma)
	case c.TMax < 0:
		return usagef("train: --t-max %d: want ≥ 0", c.TMax)
	case c.Warmup < 0 || c.Warmup >= c.Epochs:
		return usagef("train: --warmup %d: want ≥ 0 and fewer than the %d epochs", c.Warmup, c.Epochs)
	}
	if c.TMax == 0 {
		c.TMax = c.Epochs - c.Warmup
	}
	switch c.Schedule {
	case "none", "step", "cosine":
	default:
		return usagef("train: --schedule %q: want none, step or cosine", c.Schedule)
	}
	return nil
}

// taskOf parses a task name.
func taskOf(name string) data.Task {
	if name == "regression" {
		return data.Regression
	}
	return data.Classification
}

// sizes returns the layer widths of the MLP for ds.
func (c *config) sizes(ds *data.Dataset) []int {
	out := ds.Classes
	if c.Task == "regression" {
		out = ds.Targets
	}
	s := append([]int{ds.Features}, c.Hidden...)
	return append(s, out)
}

func (c *config) activation() device.UnaryOp {
	a, _ := nn.ParseActivation(c.Act)
	return a
}

// Checkpoint metadata keys. Plain strings, so that other tools (the
// PyTorch reference script) read them easily.
const (
	metaFormat   = "format"
	formatValue  = "adjoint-mlp/1"
	metaSizes    = "sizes"
	metaAct      = "act"
	metaNorm     = "norm"
	metaDropout  = "dropout" // absent: 0, no Dropout layers
	metaTask     = "task"
	metaLoss     = "loss"
	metaConfig   = "config" // JSON of config
	metaEpoch    = "epoch"  // epochs completed
	metaOptSteps = "optim_steps"
	metaHistory  = "history"
)

// epochStats is one row of the training history.
type epochStats struct {
	Epoch     int     `json:"epoch"`
	LR        float64 `json:"lr"`
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_accuracy,omitempty"`
	TestLoss  float64 `json:"test_loss"`
	TestAcc   float64 `json:"test_accuracy,omitempty"`
	TestMSE   float64 `json:"test_mse,omitempty"`
	TestR2    float64 `json:"test_r2,omitempty"`
	Seconds   float64 `json:"seconds"`
}

func (c *config) metadata(sizes []int, epoch int, steps []int, hist []epochStats) map[string]string {
	cj, _ := json.Marshal(c)
	sj, _ := json.Marshal(steps)
	hj, _ := json.Marshal(hist)
	m := map[string]string{
		metaFormat:   formatValue,
		metaSizes:    joinInts(sizes),
		metaAct:      c.Act,
		metaNorm:     c.Norm,
		metaTask:     c.Task,
		metaLoss:     c.Loss,
		metaConfig:   string(cj),
		metaEpoch:    strconv.Itoa(epoch),
		metaOptSteps: string(sj),
		metaHistory:  string(hj),
	}
	if c.Dropout > 0 {
		// Only with Dropout layers: a run without them writes the
		// metadata it always did.
		m[metaDropout] = strconv.FormatFloat(c.Dropout, 'g', -1, 64)
	}
	return m
}
