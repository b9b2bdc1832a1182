package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/data"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
)

// trainResult is the --json output of train.
type trainResult struct {
	Data         string  `json:"data"`
	Task         string  `json:"task"`
	Device       string  `json:"device"`
	Model        string  `json:"model"`
	Params       int     `json:"params"`
	Optimizer    string  `json:"optimizer"`
	LR           float64 `json:"lr"`
	Batch        int     `json:"batch"`
	Seed         uint64  `json:"seed"`
	Epochs       int     `json:"epochs"`
	StartEpoch   int     `json:"start_epoch"`
	TrainSamples int     `json:"train_samples"`
	TestSamples  int     `json:"test_samples"`
	TrainSeconds float64 `json:"train_seconds"`
	// LoadSeconds is the time a GPU backend took to load (JIT-compile) its
	// kernels before training started; it is not part of TrainSeconds.
	LoadSeconds float64 `json:"load_seconds,omitempty"`
	TrainLoss   float64 `json:"train_loss"`
	TestLoss    float64 `json:"test_loss"`
	// The metrics of the run's task: accuracies for classification, MSE
	// and R² for regression; the others are absent (nil), while a metric
	// that is 0 is printed as 0.
	TrainAccuracy *float64 `json:"train_accuracy,omitempty"`
	TestAccuracy  *float64 `json:"test_accuracy,omitempty"`
	TestMSE       *float64 `json:"test_mse,omitempty"`
	TestR2        *float64 `json:"test_r2,omitempty"`
	Checkpoint    string   `json:"checkpoint,omitempty"`
	Plot          string   `json:"plot,omitempty"`
	// EpochsDone is the epoch count reached: Epochs, or less when the run
	// was interrupted (Ctrl-C), which Interrupted then says.
	EpochsDone  int  `json:"epochs_done"`
	Interrupted bool `json:"interrupted,omitempty"`
}

// resumeLocked are the settings a resumed run must share with its
// checkpoint; the others (epochs, learning rate, …) may change.
var resumeLocked = map[string]string{
	"data": "Data", "label-col": "LabelCol", "task": "Task", "hidden": "Hidden", "act": "Act", "norm": "Norm", "dropout": "Dropout",
	"loss": "Loss", "optim": "Optim", "batch": "Batch", "seed": "Seed", "test-frac": "TestFrac",
}

// resumeFree are the settings a resumed run may change.
var resumeFree = map[string]string{
	"epochs": "Epochs", "lr": "LR", "momentum": "Momentum", "weight-decay": "WD", "schedule": "Schedule", "clip": "Clip",
	"step-size": "StepSize", "gamma": "Gamma", "t-max": "TMax", "warmup": "Warmup", "label-smoothing": "Smooth",
}

func runTrain(args []string, e env) error {
	var c config
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	addTrainFlags(fs, &c)
	devName := fs.String("device", "auto", "device: auto, cpu or cuda[:N]")
	save := fs.String("save", "", "write a checkpoint (safetensors) here when training ends")
	saveEvery := fs.Int("save-every", 0, "also checkpoint every `N` epochs, next to --save with the epoch in the name (m.safetensors: m.e0005.safetensors); 0: only at the end")
	resume := fs.String("resume", "", "continue training from this checkpoint (model, optimizer state and epoch)")
	plotPath := fs.String("plot", "", "write loss and accuracy per epoch to this image (.png, .svg or .pdf)")
	jsonOut := fs.Bool("json", false, "print the final metrics as one JSON object on stdout (progress goes to stderr)")
	quiet := fs.Bool("quiet", false, "print no progress, only the result (the final metrics and the files written)")
	tf32x3 := fs.Bool("tf32x3", false, tf32x3Usage)
	profile := fs.Bool("profile", false, "cuda: time every kernel launch, each waited for (training runs slower), and print where the device time went, kernel by kernel, after training")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	set := setFlags(fs)
	if *plotPath != "" {
		if err := checkPlotFormat(*plotPath); err != nil {
			return usagef("train: --plot: %v", err)
		}
		if err := checkSaveDir(*plotPath); err != nil {
			return fmt.Errorf("train: --plot: %w", err)
		}
	}
	if *save != "" {
		if err := checkSaveDir(*save); err != nil {
			return fmt.Errorf("train: --save: %w", err)
		}
	}
	if *saveEvery < 0 {
		return usagef("train: --save-every %d: want ≥ 0", *saveEvery)
	}
	if *saveEvery > 0 && *save == "" {
		return usagef("train: --save-every needs --save (the checkpoints are named after it)")
	}

	// Learning rate and weight decay default by optimizer; negative values
	// stand for "not given" until resolve.
	if !set["lr"] {
		c.LR = defaultLR
	} else if !(c.LR > 0) {
		return usagef("train: --lr %v: want a positive number", c.LR)
	}
	if !set["weight-decay"] {
		c.WD = defaultWD
	} else if !(c.WD >= 0) {
		return usagef("train: --weight-decay %v: want a finite number ≥ 0", c.WD)
	}

	var ck *checkpoint
	if *resume != "" {
		var err error
		if ck, err = readCheckpoint(*resume); err != nil {
			return fmt.Errorf("train: --resume: %w", err)
		}
		if ck.cfg == nil {
			return fmt.Errorf("train: --resume: checkpoint %s holds no training configuration (not written by adjoint train)", *resume)
		}
		// The stored values must pass the checks of the flags they came
		// from, before the flags given now replace some of them.
		stored := *ck.cfg
		if err := stored.resolve(&data.Dataset{Task: taskOf(ck.task)}); err != nil {
			return fmt.Errorf("train: --resume: checkpoint %s: stored configuration: %s", *resume, strings.TrimPrefix(err.Error(), "train: "))
		}
		given := c
		c = *ck.cfg
		cv, gv := reflect.ValueOf(&c).Elem(), reflect.ValueOf(given)
		for flagName, field := range resumeLocked {
			if set[flagName] && !reflect.DeepEqual(cv.FieldByName(field).Interface(), gv.FieldByName(field).Interface()) {
				return usagef("train: --%s %s differs from checkpoint %s (%s); a resumed run keeps its data, model, optimizer, batch and seed", flagName, showValue(gv.FieldByName(field).Interface()), *resume, showValue(cv.FieldByName(field).Interface()))
			}
		}
		// SGD keeps a momentum buffer only with momentum: its state
		// cannot carry a run across momentum 0 and not 0, though the value
		// may change.
		if set["momentum"] && c.Optim == "sgd" && (c.Momentum == 0) != (given.Momentum == 0) {
			return usagef("train: --momentum %v: checkpoint %s trained SGD with momentum %v; a resumed run may change the momentum but not turn it on or off", given.Momentum, *resume, c.Momentum)
		}
		for flagName, field := range resumeFree {
			if set[flagName] {
				cv.FieldByName(field).Set(gv.FieldByName(field))
			}
		}
		if c.Epochs <= ck.epoch {
			return usagef("train: --resume: checkpoint %s has already trained %d epochs; ask for more with --epochs (the total, e.g. --epochs %d)", *resume, ck.epoch, ck.epoch+10)
		}
	}

	switch c.Task {
	case "", "classification", "regression":
	default:
		return usagef("train: --task %q: want classification or regression", c.Task)
	}
	if set["label-col"] && isBuiltin(c.Data) {
		return usagef("train: --label-col is for CSV files; the built-in %s set knows its labels", c.Data)
	}
	ds, err := loadData(c.Data, c.LabelCol, c.Task)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := c.resolve(ds); err != nil {
		return err
	}
	dev, err := openDevice(*devName)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if *tf32x3 {
		if err := allowTF32x3(dev); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	var prof kernelProfiler
	if *profile {
		var ok bool
		if prof, ok = dev.(kernelProfiler); !ok {
			return fmt.Errorf("train: --profile: device %s has no kernel profiler (a cuda device has)", dev.Name())
		}
		prof.SetProfiling(true)
		defer prof.SetProfiling(false)
	}

	log := e.stdout
	if *jsonOut {
		log = e.stderr
	}
	result := log
	if *quiet {
		log = io.Discard
	}
	res, err := train(&c, ds, dev, ck, trainOptions{
		log: log, result: result, bar: newProgress(e.stderr, e.stderrTerminal && !*quiet),
		save: *save, saveEvery: *saveEvery, plot: *plotPath, stop: e.stop, notice: e.stderr,
	})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if prof != nil {
		// Beside the progress: stdout, or stderr when stdout is the JSON.
		w := e.stdout
		if *jsonOut {
			w = e.stderr
		}
		fmt.Fprintf(w, "kernel profile of %s (every launch waited for):\n%s\n", dev.Name(), prof.ProfileTable())
	}
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	if res.Interrupted {
		how := "; no checkpoint (use --save)"
		if res.Checkpoint != "" {
			how = fmt.Sprintf("; continue with --resume %s", res.Checkpoint)
		}
		return fmt.Errorf("train: %w after epoch %d of %d%s", errInterrupted, res.EpochsDone, res.Epochs, how)
	}
	return nil
}

// isBuiltin reports whether name is a built-in data set rather than a file.
func isBuiltin(name string) bool {
	for _, b := range data.Names() {
		if name == b {
			return true
		}
	}
	return false
}

// loadData loads a built-in set or a CSV file. task may be empty (the
// data set's own task; classification for CSV files).
func loadData(name string, labelCol int, task string) (*data.Dataset, error) {
	if isBuiltin(name) {
		ds, err := data.Builtin(name)
		if err != nil {
			return nil, err
		}
		if task != "" && task != ds.Task.String() {
			return nil, usagef("the built-in %s set is for %s, not %s", name, ds.Task, task)
		}
		return ds, nil
	}
	if !strings.ContainsAny(name, "./\\") {
		if _, err := os.Stat(name); err != nil {
			return nil, usagef("--data %q: not a built-in data set (%s) nor a file", name, strings.Join(data.Names(), ", "))
		}
	}
	ds, err := data.LoadCSV(name, labelCol, taskOf(task))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("--data %s: no such file", name)
		}
		return nil, err
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	if ds.Len() < 2 {
		return nil, fmt.Errorf("--data %s: %d samples; need at least 2 to split into train and test", name, ds.Len())
	}
	return ds, nil
}

func checkSaveDir(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("directory of %s: %w", path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	return nil
}

type trainOptions struct {
	log        io.Writer // progress: the epochs, kernel loading
	result     io.Writer // the final line and the files written, also with --quiet
	bar        *progress
	save, plot string
	saveEvery  int // epochs between intermediate checkpoints; 0 for none
	// stop, when closed, ends training after the epoch in progress (the
	// first Ctrl-C); notice receives the one line that says so.
	stop   <-chan struct{}
	notice io.Writer
}

// stopped reports whether stop has been closed (never, for nil).
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// errInterrupted ends an interrupted run with exit status 130 once its
// results are written.
var errInterrupted = errors.New("interrupted")

// epochCheckpoint names the intermediate checkpoint of an epoch after the
// --save path: run.safetensors, epoch 5 → run.e0005.safetensors.
func epochCheckpoint(save string, epoch int) string {
	ext := filepath.Ext(save)
	return fmt.Sprintf("%s.e%04d%s", strings.TrimSuffix(save, ext), epoch, ext)
}

// prepared is a data set split, standardised and ready for the device.
type prepared struct {
	train, test *data.Dataset // X standardised; regression Y standardised
	testYRaw    []float32     // regression: test targets in data units
	xstd, ystd  *data.Standardizer
}

func prepare(c *config, ds *data.Dataset, ck *checkpoint) (*prepared, error) {
	tr, te, err := data.Split(ds, c.TestFrac, c.Seed)
	if err != nil {
		return nil, err
	}
	p := &prepared{train: tr, test: te}
	p.xstd = data.FitStandardizer(tr.X, tr.Features)
	if ck != nil && ck.xstd != nil {
		p.xstd = ck.xstd
	}
	p.xstd.Apply(tr.X)
	p.xstd.Apply(te.X)
	if ds.Task == data.Regression {
		p.testYRaw = append([]float32(nil), te.Y...)
		p.ystd = data.FitStandardizer(tr.Y, tr.Targets)
		if ck != nil && ck.ystd != nil {
			p.ystd = ck.ystd
		}
		p.ystd.Apply(tr.Y)
		p.ystd.Apply(te.Y)
	}
	return p, nil
}

func newOptimizer(c *config, params []*autograd.Var) (optim.Optimizer, error) {
	switch c.Optim {
	case "sgd":
		return optim.NewSGD(params, optim.SGDConfig{LR: c.LR, Momentum: c.Momentum, WeightDecay: c.WD})
	case "adamw":
		cfg := optim.DefaultAdamW()
		cfg.LR, cfg.WeightDecay = c.LR, c.WD
		return optim.NewAdamW(params, cfg)
	case "rmsprop": // --momentum is SGD's; RMSprop keeps torch's default, none
		cfg := optim.DefaultRMSprop()
		cfg.LR, cfg.WeightDecay = c.LR, c.WD
		return optim.NewRMSprop(params, cfg)
	default:
		cfg := optim.DefaultAdam()
		cfg.LR, cfg.WeightDecay = c.LR, c.WD
		return optim.NewAdam(params, cfg)
	}
}

// warmupStart is the warm-up's first rate over the base rate.
const warmupStart = 0.1

func newSchedule(c *config) optim.Schedule {
	var s optim.Schedule = optim.Constant(c.LR)
	switch c.Schedule {
	case "step":
		s = optim.StepLR{Base: c.LR, StepSize: c.StepSize, Gamma: c.Gamma}
	case "cosine":
		s = optim.CosineAnnealingLR{Base: c.LR, TMax: c.TMax}
	}
	if c.Warmup > 0 {
		warm := optim.LinearLR{Base: c.LR, StartFactor: warmupStart, EndFactor: 1, TotalIters: c.Warmup}
		s = optim.SequentialLR{Schedules: []optim.Schedule{warm, s}, Milestones: []int{c.Warmup}}
	}
	return s
}

// lossFunc returns the training loss of a config.
func lossFunc(name string, smoothing float64) func(tp *autograd.Tape, out, y *autograd.Var) *autograd.Var {
	switch name {
	case "mse":
		return func(tp *autograd.Tape, out, y *autograd.Var) *autograd.Var { return loss.MSE(tp, out, y, loss.Mean) }
	case "mae":
		return func(tp *autograd.Tape, out, y *autograd.Var) *autograd.Var { return loss.MAE(tp, out, y, loss.Mean) }
	case "huber":
		return func(tp *autograd.Tape, out, y *autograd.Var) *autograd.Var {
			return loss.Huber(tp, out, y, 1, loss.Mean)
		}
	}
	return func(tp *autograd.Tape, out, y *autograd.Var) *autograd.Var {
		return loss.SoftmaxCrossEntropyIndexSmoothed(tp, out, y, smoothing, loss.Mean)
	}
}

func countParams(m nn.Module) int {
	n := 0
	for _, p := range m.Params() {
		n += p.Value().Len()
	}
	return n
}

// train runs the epochs from ck's (or 0) to c.Epochs.
// preloader is a device that can load all its kernels up front
// (device/cuda's Device.Preload).
type preloader interface{ Preload() error }

// tf32x3Allower is a device that can run large products on tensor cores
// with 3xTF32 (device/cuda's Device.AllowTF32x3).
type tf32x3Allower interface{ AllowTF32x3(on bool) }

// kernelProfiler is a device that times each kernel it launches
// (device/cuda's Device.SetProfiling and ProfileTable).
type kernelProfiler interface {
	SetProfiling(on bool)
	ProfileTable() string
}

// tf32x3Usage is the --tf32x3 flag's text in train, eval and predict.
const tf32x3Usage = "cuda: let matrix products of at least 2^30 flops run on tensor cores with 3xTF32 (float32 split into TF32 pairs: about FP32's error, other bits) where the card times them faster"

// allowTF32x3 turns 3xTF32 on for dev (--tf32x3), or says why it cannot.
func allowTF32x3(dev device.Device) error {
	a, ok := dev.(tf32x3Allower)
	if !ok {
		return fmt.Errorf("--tf32x3: device %s has no tensor-core products (a cuda device has)", dev.Name())
	}
	a.AllowTF32x3(true)
	return nil
}

func train(c *config, ds *data.Dataset, dev device.Device, ck *checkpoint, o trainOptions) (*trainResult, error) {
	p, err := prepare(c, ds, ck)
	if err != nil {
		return nil, err
	}
	sizes := c.sizes(ds)
	model, err := buildMLP(dev, sizes, c.activation(), c.Norm, c.Dropout, c.Seed)
	if err != nil {
		if errors.Is(err, device.ErrOutOfMemory) && c.Task == "classification" && ds.Classes > ds.Len() {
			// Labels are class indices: a numeric target read as one makes
			// as many classes as its largest value.
			return nil, fmt.Errorf("%w (the labels go up to %d, so the output layer has %d classes for %d samples; for a numeric target use --task regression)", err, ds.Classes-1, ds.Classes, ds.Len())
		}
		return nil, err
	}
	defer nn.Release(model)
	opt, err := newOptimizer(c, model.Params())
	if err != nil {
		return nil, err
	}
	defer opt.Release()
	start := 0
	var hist []epochStats
	if ck != nil {
		if !equalInts(ck.sizes, sizes) {
			return nil, fmt.Errorf("checkpoint %s has layer sizes %s, the data gives %s", ck.path, joinInts(ck.sizes), joinInts(sizes))
		}
		if err := nn.LoadStateDict(ck.file.Tensors, model); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", ck.path, err)
		}
		st, err := ck.optimState(c.Optim, nn.NamedParams(model))
		if err != nil {
			return nil, err
		}
		if err := opt.LoadState(st); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", ck.path, err)
		}
		start, hist = ck.epoch, ck.history
	}
	sched := newSchedule(c)
	classify := c.Task == "classification"
	outW := sizes[len(sizes)-1]
	tr := p.train
	if c.Norm == "batch" && (tr.Len()%c.Batch == 1 || tr.Len() < 2) {
		// torch raises on such a batch too ("Expected more than 1 value
		// per channel when training"); say so before training starts.
		return nil, usagef("--norm batch: the %d training samples leave a last batch of one sample in every epoch, whose variance BatchNorm cannot estimate; choose a --batch that does not divide %d", tr.Len(), tr.Len()-1)
	}
	batcher := data.NewBatcher(tr, c.Batch, true, c.Seed)
	tp := autograd.NewTape(dev, device.Float32)
	defer tp.Release()
	st, err := newStepper(tp, model, opt, c, tr.Features, tr.Targets, outW)
	if err != nil {
		return nil, err
	}
	defer st.release()

	fmt.Fprintf(o.log, "training %v on %s (%d train / %d test samples, %d features) on %s; %s lr %g, batch %d, epochs %d–%d, seed %d\n",
		model, ds.Name, tr.Len(), p.test.Len(), tr.Features, dev.Name(), c.Optim, c.LR, c.Batch, start+1, c.Epochs, c.Seed)
	// A GPU backend's driver JIT-compiles its kernels when it first loads
	// them (seconds, the first time on a machine): do that before the clock
	// starts, so that train_seconds is training, and report it apart.
	var loadSeconds float64
	if pl, ok := dev.(preloader); ok {
		tl := time.Now()
		if err := pl.Preload(); err != nil {
			return nil, err
		}
		loadSeconds = time.Since(tl).Seconds()
		fmt.Fprintf(o.log, "kernels loaded on %s in %.2fs\n", dev.Name(), loadSeconds)
	}
	nb := batcher.NumBatches()
	o.bar.start((c.Epochs - start) * nb)
	t0 := time.Now()
	var last epochStats
	end, asked := c.Epochs, false
	for epoch := start; epoch < end; epoch++ {
		te := time.Now()
		lr := sched.LR(epoch)
		opt.SetLR(lr)
		batcher.SetEpoch(uint64(epoch))
		// The Dropout masks of an epoch, like its batches, depend on
		// (seed, epoch) alone, so that --resume continues exactly.
		reseedDropout(model, c.Seed, epoch)
		var sumLoss float64
		var seen int
		for b := 0; ; b++ {
			xb, yb, k, ok := batcher.Next()
			if !ok {
				break
			}
			if !asked && stopped(o.stop) {
				// Finish this epoch: a checkpoint holds whole epochs, so
				// that --resume continues exactly.
				asked, end = true, epoch+1
				o.bar.clear()
				fmt.Fprintf(o.notice, "adjoint: interrupt: finishing epoch %d/%d, then saving and stopping (Ctrl-C again quits now)\n", epoch+1, c.Epochs)
			}
			lv, err := st.step(xb, yb, k)
			if err != nil {
				return nil, err
			}
			if math.IsNaN(lv) || math.IsInf(lv, 0) {
				return nil, fmt.Errorf("training diverged: loss %v at epoch %d, batch %d; try a smaller --lr", lv, epoch+1, b+1)
			}
			sumLoss += lv * float64(k)
			seen += k
			o.bar.step(epoch+1, c.Epochs, b+1, nb, sumLoss/float64(seen))
		}
		correct, err := st.takeCorrect()
		if err != nil {
			return nil, err
		}
		// Evaluate in evaluation mode (Dropout off), as eval does.
		nn.SetTraining(model, false)
		m, err := evaluate(tp, model, c, p.test, p.testYRaw, p.ystd)
		nn.SetTraining(model, true)
		if err != nil {
			return nil, err
		}
		last = epochStats{Epoch: epoch + 1, LR: lr, TrainLoss: sumLoss / float64(seen), TestLoss: m.loss, Seconds: time.Since(te).Seconds()}
		if classify {
			last.TrainAcc = float64(correct) / float64(seen)
			last.TestAcc = m.acc
		} else {
			last.TestMSE, last.TestR2 = m.mse, m.r2
		}
		hist = append(hist, last)
		o.bar.clear()
		fmt.Fprintln(o.log, epochLine(last, c.Epochs, classify))
		if o.saveEvery > 0 && (epoch+1)%o.saveEvery == 0 {
			// The checkpoint keeps the whole run's configuration, so that
			// --resume continues to the same end, exactly as if uninterrupted.
			path := epochCheckpoint(o.save, epoch+1)
			if err := saveCheckpoint(path, model, c, sizes, epoch+1, opt, p.xstd, p.ystd, hist); err != nil {
				return nil, err
			}
			fmt.Fprintf(o.log, "saved %s\n", path)
		}
		if !asked && stopped(o.stop) { // the interrupt came during evaluation
			asked, end = true, epoch+1
		}
	}
	elapsed := time.Since(t0).Seconds()
	res := &trainResult{
		Data: ds.Name, Task: c.Task, Device: dev.Name(), Model: fmt.Sprint(model), Params: countParams(model),
		Optimizer: c.Optim, LR: c.LR, Batch: c.Batch, Seed: c.Seed, Epochs: c.Epochs, StartEpoch: start,
		TrainSamples: tr.Len(), TestSamples: p.test.Len(), TrainSeconds: elapsed, LoadSeconds: loadSeconds,
		TrainLoss: last.TrainLoss, TestLoss: last.TestLoss, Interrupted: end < c.Epochs, EpochsDone: end,
	}
	if classify {
		res.TrainAccuracy, res.TestAccuracy = &last.TrainAcc, &last.TestAcc
	} else {
		res.TestMSE, res.TestR2 = &last.TestMSE, &last.TestR2
	}
	if classify {
		fmt.Fprintf(o.result, "done: %d epochs in %.2fs on %s; test accuracy %.2f%% (%d samples), test loss %.4f\n",
			end-start, elapsed, dev.Name(), 100*last.TestAcc, p.test.Len(), last.TestLoss)
	} else {
		fmt.Fprintf(o.result, "done: %d epochs in %.2fs on %s; test MSE %.4g, R² %.4f (%d samples)\n",
			end-start, elapsed, dev.Name(), last.TestMSE, last.TestR2, p.test.Len())
	}
	if o.save != "" {
		// The configuration keeps the run's end (c.Epochs), so --resume
		// from an interrupted run finishes it.
		if err := saveCheckpoint(o.save, model, c, sizes, end, opt, p.xstd, p.ystd, hist); err != nil {
			return nil, err
		}
		res.Checkpoint = o.save
		fmt.Fprintf(o.result, "saved %s\n", o.save)
	}
	if o.plot != "" {
		if err := writePlot(o.plot, hist, classify); err != nil {
			return nil, err
		}
		res.Plot = o.plot
		fmt.Fprintf(o.result, "plotted %s\n", o.plot)
	}
	return res, nil
}

func epochLine(s epochStats, epochs int, classify bool) string {
	w := len(fmt.Sprint(epochs))
	if classify {
		return fmt.Sprintf("epoch %*d/%d  train loss %.4f  acc %6.2f%%  test loss %.4f  acc %6.2f%%  (%.2fs)",
			w, s.Epoch, epochs, s.TrainLoss, 100*s.TrainAcc, s.TestLoss, 100*s.TestAcc, s.Seconds)
	}
	return fmt.Sprintf("epoch %*d/%d  train loss %.4f  test loss %.4f  test MSE %.4g  R² %.4f  (%.2fs)",
		w, s.Epoch, epochs, s.TrainLoss, s.TestLoss, s.TestMSE, s.TestR2, s.Seconds)
}

func showValue(v any) string {
	if s, ok := v.([]int); ok {
		if len(s) == 0 {
			return "none"
		}
		return joinInts(s)
	}
	return fmt.Sprint(v)
}

func equalInts(a, b []int) bool { return reflect.DeepEqual(a, b) }

// countCorrect counts the rows of out (rows × w logits) whose argmax is
// the class in y.
func countCorrect(out, y []float32, w int) int {
	n := 0
	for r := range y {
		if argmax(out[r*w:(r+1)*w]) == int(y[r]) {
			n++
		}
	}
	return n
}

// argmax is torch.argmax of v, as Device.ArgMaxMatches computes it: the
// first maximum, a NaN above every number.
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if b := v[best]; x > b || (x != x && b == b) {
			best = i
		}
	}
	return best
}

// stepper runs training steps: one tape, reset after every step, and
// persistent parameters, so that a steady-state step allocates nothing.
// The whole step stays on the device and only its loss value comes back:
// for classification the correct predictions are counted on the device too,
// in a one-element buffer read once per epoch (a float32 count, exact for
// epochs of up to 2²⁴ samples).
type stepper struct {
	tp                      *autograd.Tape
	model                   nn.Module
	opt                     optim.Optimizer
	loss                    func(tp *autograd.Tape, out, y *autograd.Var) *autograd.Var
	classify                bool
	features, targets, outW int
	clip                    float64
	lossHost                [1]float64    // the one value a step brings back
	correct                 device.Buffer // classification: matches so far (float32 count)
}

// newStepper returns a stepper training model on tp's device; targets is
// the width of a target row (1 for class indices).
func newStepper(tp *autograd.Tape, model nn.Module, opt optim.Optimizer, c *config, features, targets, outW int) (*stepper, error) {
	s := &stepper{tp: tp, model: model, opt: opt, loss: lossFunc(c.Loss, c.Smooth), classify: c.Task == "classification",
		features: features, targets: targets, outW: outW, clip: c.Clip}
	if s.classify {
		b, err := tp.Device().Alloc(device.Float32, 1)
		if err != nil {
			return nil, fmt.Errorf("training step: %w", err)
		}
		s.correct = b
		tp.Device().Fill(b, 0)
	}
	return s, nil
}

// release frees the stepper's device buffer.
func (s *stepper) release() {
	if s.correct != nil {
		s.tp.Device().Free(s.correct)
		s.correct = nil
	}
}

// takeCorrect returns the number of correct predictions counted since the
// last call (one download) and restarts the count.
func (s *stepper) takeCorrect() (int, error) {
	if s.correct == nil {
		return 0, nil
	}
	dev := s.tp.Device()
	if err := dev.Download64(s.lossHost[:], s.correct); err != nil {
		return 0, err
	}
	dev.Fill(s.correct, 0)
	return int(s.lossHost[0]), nil
}

// step trains on one batch of k samples and returns the batch's mean loss.
// For classification it adds the batch's correct predictions (made before
// the update) to the device-side count.
func (s *stepper) step(xb, yb []float32, k int) (lossValue float64, err error) {
	tp, dev := s.tp, s.tp.Device()
	defer tp.Reset()
	x := tp.Temp(k, s.features)
	var y = tp.Temp(k)
	if !s.classify {
		y = tp.Temp(k, s.targets)
	}
	if err := tp.Err(); err != nil {
		return 0, err
	}
	if err := dev.Upload32(x.Buffer(), xb); err != nil {
		return 0, err
	}
	if err := dev.Upload32(y.Buffer(), yb); err != nil {
		return 0, err
	}
	out := s.model.Forward(tp, tp.Constant(x))
	l := s.loss(tp, out, tp.Constant(y))
	if s.classify {
		dev.ArgMaxMatches(out.Value().Buffer(), k, s.outW, y.Buffer(), 1, s.correct)
	}
	s.opt.ZeroGrad()
	if err := tp.Backward(l); err != nil {
		return 0, err
	}
	if s.clip > 0 {
		if _, err := optim.ClipGradNorm(s.opt.Params(), s.clip); err != nil {
			return 0, err
		}
	}
	if err := s.opt.Step(); err != nil {
		return 0, err
	}
	// Download into the stepper's own array: Tensor.Item would allocate
	// a fresh one on every step.
	if err := dev.Download64(s.lossHost[:], l.Value().Buffer()); err != nil {
		return 0, err
	}
	return s.lossHost[0], nil
}
