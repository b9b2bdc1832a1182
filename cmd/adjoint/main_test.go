package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/data"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/internal/torchtest"
	"github.com/adjoint-go/adjoint/safetensors"
)

// adjoint runs the command in-process and returns its exit status, stdout
// and stderr.
func adjoint(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, env{stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

func adjointOK(t testing.TB, args ...string) string {
	t.Helper()
	code, out, errs := adjoint(t, args...)
	require.Equal(t, 0, code, "adjoint %s: %s", strings.Join(args, " "), errs)
	return out
}

// val is *p, failing the test when the metric p is absent (nil).
func val(t testing.TB, p *float64) float64 {
	t.Helper()
	require.NotNil(t, p, "metric absent from the JSON output")
	return *p
}

func trainJSON(t testing.TB, args ...string) trainResult {
	t.Helper()
	out := adjointOK(t, append([]string{"train", "--json"}, args...)...)
	var r trainResult
	require.NoError(t, json.Unmarshal([]byte(out), &r), "stdout must be one JSON object: %q", out)
	return r
}

// TestTrainDefault is the README's first command: defaults must reach 97%
// test accuracy on digits quickly.
func TestTrainDefault(t *testing.T) {
	r := trainJSON(t)
	assert.Equal(t, "digits", r.Data)
	assert.Equal(t, "cpu", r.Device)
	assert.Equal(t, 30, r.Epochs)
	assert.GreaterOrEqual(t, val(t, r.TestAccuracy), 0.97)
	assert.Less(t, r.TrainSeconds, 30.0)
	assert.Equal(t, 359, r.TestSamples)
	t.Logf("default train: test accuracy %.2f%% in %.2fs", 100*val(t, r.TestAccuracy), r.TrainSeconds)

	// Deterministic for a seed.
	r2 := trainJSON(t, "--epochs", "3")
	r3 := trainJSON(t, "--epochs", "3")
	assert.Equal(t, r2.TestLoss, r3.TestLoss)
	r4 := trainJSON(t, "--epochs", "3", "--seed", "2")
	assert.NotEqual(t, r2.TestLoss, r4.TestLoss)
}

func TestTrainHumanOutput(t *testing.T) {
	out := adjointOK(t, "train", "--epochs", "2", "--hidden", "32")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	assert.Contains(t, lines[0], "training Sequential(Linear(64, 32), relu, Linear(32, 10)) on digits")
	assert.Regexp(t, `^epoch 1/2  train loss \d\.\d{4}  acc +\d+\.\d\d%  test loss \d\.\d{4}  acc +\d+\.\d\d%`, lines[1])
	assert.Regexp(t, `^done: 2 epochs in [\d.]+s on cpu; test accuracy [\d.]+% \(359 samples\)`, lines[3])

	// On a terminal, a progress bar goes to stderr.
	var o, e bytes.Buffer
	require.Equal(t, 0, run([]string{"train", "--epochs", "1"}, env{stdout: &o, stderr: &e, stderrTerminal: true}))
	assert.Contains(t, e.String(), "ETA")
	assert.Contains(t, e.String(), "\r\033[K")
}

// TestTrainQuiet: --quiet drops the progress but keeps the result: the
// final line and the files written.
func TestTrainQuiet(t *testing.T) {
	ck := filepath.Join(t.TempDir(), "q.st")
	out := adjointOK(t, "train", "--epochs", "2", "--hidden", "16", "--quiet", "--save", ck)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	assert.Regexp(t, `^done: 2 epochs in [\d.]+s on cpu; test accuracy`, lines[0])
	assert.Equal(t, "saved "+ck, lines[1])
}

// TestMetricsJSON: the JSON outputs hold their task's metrics, a metric of
// 0 included, and leave the other task's out.
func TestMetricsJSON(t *testing.T) {
	zero := 0.0
	b, err := json.Marshal(trainResult{TrainAccuracy: &zero, TestAccuracy: &zero})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"test_accuracy":0,`)
	assert.Contains(t, string(b), `"train_accuracy":0,`)
	assert.NotContains(t, string(b), "test_r2")
	b, err = json.Marshal(evalResult{MSE: &zero, R2: &zero})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"r2":0`)
	assert.NotContains(t, string(b), "accuracy")

	out := adjointOK(t, "train", "--json", "--data", "diabetes", "--epochs", "1", "--hidden", "8")
	assert.Contains(t, out, `"test_r2":`)
	assert.NotContains(t, out, "accuracy")
}

// TestConfigFromMetadata: a checkpoint whose stored configuration leaves
// the task out (another tool's, or an edited one) still predicts classes,
// the metadata's task filling the gap.
func TestConfigFromMetadata(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "m.st")
	adjointOK(t, "train", "--epochs", "1", "--hidden", "8", "--save", ck)
	f, err := safetensors.LoadFile(ck)
	require.NoError(t, err)
	f.Metadata["config"] = "{}"
	bare := filepath.Join(dir, "bare.st")
	require.NoError(t, safetensors.SaveFile(bare, f))
	in := writeFile(t, filepath.Join(dir, "in.csv"), strings.Repeat("1,", 63)+"1\n")
	assert.Equal(t, adjointOK(t, "predict", "--model", ck, "--input", in), adjointOK(t, "predict", "--model", bare, "--input", in))
	assert.Regexp(t, `^\d\n$`, adjointOK(t, "predict", "--model", bare, "--input", in))
}

// TestWarmup: --warmup 3 before a cosine schedule gives the epochs the
// rates of torch's SequentialLR([LinearLR(start_factor=0.1,
// total_iters=3), CosineAnnealingLR(T_max=epochs−3)], milestones=[3]), as
// the checkpoint's history records them.
func TestWarmup(t *testing.T) {
	ck := filepath.Join(t.TempDir(), "w.st")
	trainJSON(t, "--hidden", "32", "--lr", "0.01", "--epochs", "8", "--warmup", "3", "--schedule", "cosine", "--save", ck)
	c, err := readCheckpoint(ck)
	require.NoError(t, err)
	require.Len(t, c.history, 8)
	want := []float64{0.001, 0.004, 0.007}
	for k := range 5 {
		want = append(want, 0.01*(1+math.Cos(math.Pi*float64(k)/5))/2)
	}
	for i, h := range c.history {
		assert.InDelta(t, want[i], h.LR, 1e-12, "epoch %d", i+1)
	}
}

func TestTrainOptions(t *testing.T) {
	tests := [][]string{
		{"--optim", "sgd", "--momentum", "0.9"},
		{"--optim", "adamw", "--schedule", "cosine", "--clip", "1"},
		{"--optim", "rmsprop", "--lr", "0.001"},
		{"--act", "tanh", "--hidden", "64,32", "--schedule", "step", "--batch", "32"},
		{"--act", "sigmoid", "--hidden", "none", "--lr", "0.01"},
		{"--label-smoothing", "0.1"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := trainJSON(t, append(args, "--epochs", "8")...)
			assert.Greater(t, val(t, r.TestAccuracy), 0.85)
		})
	}
}

func TestTrainRegression(t *testing.T) {
	dir := t.TempDir()
	for _, l := range []string{"mse", "mae", "huber"} {
		r := trainJSON(t, "--data", "diabetes", "--loss", l, "--epochs", "20", "--save", filepath.Join(dir, l+".st"))
		assert.Equal(t, "regression", r.Task)
		assert.Greater(t, val(t, r.TestMSE), 0.0)
		assert.Greater(t, val(t, r.TestR2), 0.2, "loss %s", l)
		assert.Nil(t, r.TestAccuracy, "a regression run has no accuracy")
	}
	out := adjointOK(t, "eval", "--model", filepath.Join(dir, "mse.st"), "--json")
	var e evalResult
	require.NoError(t, json.Unmarshal([]byte(out), &e))
	assert.Equal(t, "test", e.Split)
	assert.Equal(t, 88, e.Samples)
	assert.Greater(t, val(t, e.R2), 0.2)
}

func writeFile(t testing.TB, path, content string) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

// TestCSV trains on a user's CSV file (label in the first column) and
// predicts from a features-only CSV.
func TestCSV(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("label,a,b\n")
	for i := range 200 {
		a, c := float32(i%20)/10-1, float32(i%7)/3-1
		label := 0
		if a+c > 0 {
			label = 1
		}
		b.WriteString(strings.Join([]string{itoa(label), ftoa(a), ftoa(c)}, ",") + "\n")
	}
	csvPath := writeFile(t, filepath.Join(dir, "train.csv"), b.String())
	ck := filepath.Join(dir, "m.st")
	r := trainJSON(t, "--data", csvPath, "--label-col", "0", "--epochs", "40", "--hidden", "16", "--lr", "0.01", "--save", ck)
	assert.Greater(t, val(t, r.TestAccuracy), 0.9)
	in := writeFile(t, filepath.Join(dir, "in.csv"), "a,b\n0.9,0.9\n-0.9,-0.9\n")
	assert.Equal(t, "1\n0\n", adjointOK(t, "predict", "--model", ck, "--input", in))
	raw := adjointOK(t, "predict", "--model", ck, "--input", in, "--raw")
	assert.Len(t, strings.Split(strings.TrimSpace(raw), "\n"), 2)
	assert.Len(t, strings.Split(strings.Split(raw, "\n")[0], ","), 2, "two logits per row")
	// Rows that still carry their label (even a non-numeric one) predict
	// the same once --label-col names it, from the front or the back.
	labelled := writeFile(t, filepath.Join(dir, "labelled.csv"), "label,a,b\n1,0.9,0.9\nno,-0.9,-0.9\n")
	assert.Equal(t, "1\n0\n", adjointOK(t, "predict", "--model", ck, "--input", labelled, "--label-col", "0"))
	last := writeFile(t, filepath.Join(dir, "last.csv"), "0.9,0.9,1\n-0.9,-0.9,0\n")
	assert.Equal(t, raw, adjointOK(t, "predict", "--model", ck, "--input", last, "--label-col", "-1", "--raw"))
	out := adjointOK(t, "eval", "--model", ck)
	assert.Contains(t, out, "accuracy")
}

func itoa(i int) string { return string(rune('0' + i)) }
func ftoa(f float32) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func loadParams(t testing.TB, path string) map[string][]float32 {
	t.Helper()
	f, err := safetensors.LoadFile(path)
	require.NoError(t, err)
	out := map[string][]float32{}
	for name, ten := range f.Tensors {
		if ten.DType == "I64" { // BatchNorm's num_batches_tracked
			n, err := ten.Int64()
			require.NoError(t, err)
			out[name] = []float32{float32(n[0])}
			continue
		}
		v, err := ten.Float32()
		require.NoError(t, err)
		out[name] = v
	}
	return out
}

// TestResumeExact: 10 epochs == 5 epochs, save, resume to 10, for every
// optimizer (their state is in the checkpoint).
func TestResumeExact(t *testing.T) {
	for _, opt := range [][]string{{"--optim", "adam"}, {"--optim", "sgd", "--momentum", "0.9"}, {"--optim", "adamw", "--schedule", "step", "--step-size", "3"}, {"--optim", "adam", "--schedule", "cosine", "--t-max", "10"}, {"--optim", "adam", "--warmup", "3", "--schedule", "cosine", "--t-max", "7"}, {"--optim", "sgd", "--norm", "layer"}, {"--optim", "adam", "--norm", "batch"}, {"--optim", "rmsprop", "--lr", "0.001"}} {
		t.Run(strings.Join(opt, " "), func(t *testing.T) {
			dir := t.TempDir()
			full, half := filepath.Join(dir, "full.st"), filepath.Join(dir, "half.st")
			common := append([]string{"--hidden", "64", "--seed", "7"}, opt...)
			a := trainJSON(t, append(common, "--epochs", "10", "--save", full)...)
			trainJSON(t, append(common, "--epochs", "5", "--save", half)...)
			b := trainJSON(t, "--resume", half, "--epochs", "10", "--save", half)
			assert.Equal(t, 5, b.StartEpoch)
			assert.InDelta(t, a.TrainLoss, b.TrainLoss, 1e-6)
			assert.InDelta(t, a.TestLoss, b.TestLoss, 1e-6)
			assert.Equal(t, val(t, a.TestAccuracy), val(t, b.TestAccuracy))
			pa, pb := loadParams(t, full), loadParams(t, half)
			require.Equal(t, len(pa), len(pb))
			for name, va := range pa {
				assert.InDeltaSlice(t, va, pb[name], 1e-6, name)
			}
			ck, err := readCheckpoint(half)
			require.NoError(t, err)
			assert.Len(t, ck.history, 10)
			assert.Equal(t, 10, ck.epoch)
		})
	}
}

// TestSaveEvery: --save-every writes epoch-stamped checkpoints during the
// run, and resuming from one finishes exactly as the uninterrupted run did.
func TestSaveEvery(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "run.safetensors")
	code, out, stderr := adjoint(t, "train", "--hidden", "32", "--epochs", "4", "--seed", "3", "--save-every", "2", "--save", final)
	require.Equal(t, 0, code, stderr)
	mid, last := filepath.Join(dir, "run.e0002.safetensors"), filepath.Join(dir, "run.e0004.safetensors")
	assert.Contains(t, out, "saved "+mid+"\n")
	assert.Contains(t, out, "saved "+last+"\n")
	assert.NoFileExists(t, filepath.Join(dir, "run.e0001.safetensors"))
	ck, err := readCheckpoint(mid)
	require.NoError(t, err)
	assert.Equal(t, 2, ck.epoch)
	assert.Len(t, ck.history, 2)
	assert.Equal(t, 4, ck.cfg.Epochs, "the checkpoint keeps the run's end")

	// Resume the epoch-2 checkpoint without --epochs: it runs epochs 3–4
	// and ends with the uninterrupted run's parameters.
	resumed := filepath.Join(dir, "resumed.safetensors")
	r := trainJSON(t, "--resume", mid, "--save", resumed)
	assert.Equal(t, 2, r.StartEpoch)
	pa, pb := loadParams(t, final), loadParams(t, resumed)
	require.Equal(t, len(pa), len(pb))
	for name, va := range pa {
		assert.Equal(t, va, pb[name], name)
	}
	pl := loadParams(t, last)
	for name, va := range pa {
		assert.Equal(t, va, pl[name], "epoch-4 checkpoint %s", name)
	}

	code, _, stderr = adjoint(t, "train", "--save-every", "2")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--save-every needs --save")
	code, _, stderr = adjoint(t, "train", "--save-every", "-1", "--save", final)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "want ≥ 0")
}

// TestInterrupt: an interrupt (the first Ctrl-C) lets the epoch in
// progress finish, saves, reports how to continue and exits with 130; the
// resumed run then ends exactly where the uninterrupted one does.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	ck, full := filepath.Join(dir, "run.safetensors"), filepath.Join(dir, "full.safetensors")
	args := []string{"train", "--hidden", "32", "--epochs", "4", "--seed", "9", "--json"}
	stop := make(chan struct{})
	close(stop) // interrupted from the first batch on
	var out, errb bytes.Buffer
	code := run(append(args, "--save", ck), env{stdout: &out, stderr: &errb, stop: stop})
	require.Equal(t, 130, code, errb.String())
	assert.Contains(t, errb.String(), "interrupt: finishing epoch 1/4")
	assert.Contains(t, errb.String(), "interrupted after epoch 1 of 4; continue with --resume "+ck)
	var r trainResult
	require.NoError(t, json.Unmarshal(out.Bytes(), &r), out.String())
	assert.True(t, r.Interrupted)
	assert.Equal(t, 1, r.EpochsDone)
	c, err := readCheckpoint(ck)
	require.NoError(t, err)
	assert.Equal(t, 1, c.epoch)

	resumed := trainJSON(t, "--resume", ck, "--save", ck)
	assert.Equal(t, 1, resumed.StartEpoch)
	assert.Equal(t, 4, resumed.EpochsDone)
	assert.False(t, resumed.Interrupted)
	trainJSON(t, append(args[1:len(args)-1], "--save", full)...)
	pa, pb := loadParams(t, full), loadParams(t, ck)
	for name, va := range pa {
		assert.Equal(t, va, pb[name], name)
	}

	// Without --save the message says so.
	errb.Reset()
	code = run(args, env{stdout: io.Discard, stderr: &errb, stop: stop})
	assert.Equal(t, 130, code)
	assert.Contains(t, errb.String(), "no checkpoint (use --save)")
}

func TestPlot(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{"png", "svg"} {
		p := filepath.Join(dir, "curve."+ext)
		r := trainJSON(t, "--epochs", "3", "--plot", p)
		assert.Equal(t, p, r.Plot)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		if ext == "png" {
			assert.Equal(t, "\x89PNG", string(b[:4]))
		} else {
			assert.Contains(t, string(b), "<svg")
		}
	}
	p := filepath.Join(dir, "d.png")
	trainJSON(t, "--data", "diabetes", "--epochs", "3", "--plot", p)
	assert.FileExists(t, p)
}

// TestBadInput: every bad input gives one line on stderr, "adjoint: …",
// status 2 for a bad command line and 1 otherwise, and no stack trace.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.st")
	adjointOK(t, "train", "--epochs", "1", "--hidden", "8", "--save", small)
	dia := filepath.Join(dir, "dia.st")
	adjointOK(t, "train", "--data", "diabetes", "--epochs", "1", "--hidden", "8", "--save", dia)
	sgd := filepath.Join(dir, "sgd.st") // SGD without momentum: no momentum buffers
	adjointOK(t, "train", "--epochs", "1", "--hidden", "8", "--optim", "sgd", "--momentum", "0", "--save", sgd)
	ragged := writeFile(t, filepath.Join(dir, "ragged.csv"), "1,2,3\n4,5\n")
	words := writeFile(t, filepath.Join(dir, "words.csv"), "1,2,3\n4,five,6\n")
	empty := writeFile(t, filepath.Join(dir, "empty.csv"), "")
	corrupt := writeFile(t, filepath.Join(dir, "corrupt.st"), "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":")
	notModel := filepath.Join(dir, "plain.st")
	require.NoError(t, safetensors.SaveFile(notModel, &safetensors.File{Tensors: map[string]safetensors.Tensor{"x": safetensors.FromFloat32([]int{1}, []float32{1})}}))
	// A checkpoint whose metadata promises 64-8-10 but holds 64-9-10 weights.
	f, err := safetensors.LoadFile(small)
	require.NoError(t, err)
	f.Metadata["sizes"] = "64,9,10"
	wrongShape := filepath.Join(dir, "shape.st")
	require.NoError(t, safetensors.SaveFile(wrongShape, f))
	// Sizes no machine could build: refused before anything is allocated.
	f.Metadata["sizes"] = "64,99999999999,10"
	hugeSizes := filepath.Join(dir, "huge.st")
	require.NoError(t, safetensors.SaveFile(hugeSizes, f))
	// The right sizes and parameter count, a weight of the wrong shape.
	f.Metadata["sizes"] = "64,8,10"
	w := f.Tensors["0.weight"]
	w.Shape = []int{64, 8}
	f.Tensors["0.weight"] = w
	swapped := filepath.Join(dir, "swapped.st")
	require.NoError(t, safetensors.SaveFile(swapped, f))
	// Training configurations that contradict the model's metadata, or hold
	// values train would refuse.
	withConfig := func(name string, edit func(c map[string]any)) string {
		f, err := safetensors.LoadFile(small)
		require.NoError(t, err)
		var c map[string]any
		require.NoError(t, json.Unmarshal([]byte(f.Metadata["config"]), &c))
		edit(c)
		b, err := json.Marshal(c)
		require.NoError(t, err)
		f.Metadata["config"] = string(b)
		path := filepath.Join(dir, name)
		require.NoError(t, safetensors.SaveFile(path, f))
		return path
	}
	cfgHuber := withConfig("huber.st", func(c map[string]any) { c["Loss"] = "huber" })
	cfgHidden := withConfig("hidden.st", func(c map[string]any) { c["Hidden"] = []int{9} })
	cfgTestFrac := withConfig("testfrac.st", func(c map[string]any) { c["TestFrac"] = 0 })
	cfgDropout := withConfig("cfgdropout.st", func(c map[string]any) { c["Dropout"] = 0.5 })
	// A dropout probability torch allows and adjoint train does not.
	f, err = safetensors.LoadFile(small)
	require.NoError(t, err)
	f.Metadata["dropout"] = "1"
	dropAll := filepath.Join(dir, "dropall.st")
	require.NoError(t, safetensors.SaveFile(dropAll, f))
	in3 := writeFile(t, filepath.Join(dir, "in3.csv"), "1,2,3\n")
	in65 := writeFile(t, filepath.Join(dir, "in65.csv"), strings.Repeat("1,", 64)+"1\n")
	inBad := writeFile(t, filepath.Join(dir, "inbad.csv"), strings.Repeat("1,", 63)+"x\n")
	inNaN := writeFile(t, filepath.Join(dir, "innan.csv"), strings.Repeat("NaN,", 63)+"NaN\n")
	inHuge := writeFile(t, filepath.Join(dir, "inhuge.csv"), strings.Repeat("1,", 63)+"1e39\n")
	// Integer targets read as class indices: 16777216 classes.
	bigLabel := writeFile(t, filepath.Join(dir, "biglabel.csv"), "1,2,0\n3,4,1\n5,6,16777215\n7,8,1\n")

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "usage: adjoint"},
		{"unknown command", []string{"fly"}, 2, `unknown command "fly"`},
		{"unknown flag", []string{"train", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{"stray argument", []string{"train", "digits"}, 2, `unexpected argument "digits"`},
		{"bad number", []string{"train", "--epochs", "many"}, 2, `invalid value "many" for flag -epochs`},
		{"unknown act", []string{"train", "--act", "swish"}, 2, `--act "swish": want relu, tanh, sigmoid, gelu, silu, leaky_relu, elu, relu6, hardsigmoid or hardswish`},
		{"unknown norm", []string{"train", "--norm", "group"}, 2, `--norm "group": want none, layer or batch`},
		{"batch norm of one sample", []string{"train", "--norm", "batch", "--batch", "3"}, 2, "--norm batch: the 1438 training samples leave a last batch of one sample"},
		{"unknown optim", []string{"train", "--optim", "lbfgs"}, 2, `--optim "lbfgs"`},
		{"unknown loss", []string{"train", "--loss", "hinge"}, 2, `--loss "hinge"`},
		{"loss for task", []string{"train", "--loss", "mse"}, 2, "--loss mse needs --task regression"},
		{"ce on regression", []string{"train", "--data", "diabetes", "--loss", "ce"}, 2, "--loss ce needs --task classification"},
		{"unknown task", []string{"train", "--task", "ranking"}, 2, `--task "ranking"`},
		{"task of builtin", []string{"train", "--task", "regression"}, 2, "the built-in digits set is for classification, not regression"},
		{"bad hidden", []string{"train", "--hidden", "12,x"}, 2, `bad width "x"`},
		{"bad lr", []string{"train", "--lr", "-1"}, 2, "--lr -1"},
		{"bad batch", []string{"train", "--batch", "0"}, 2, "--batch 0"},
		{"bad schedule", []string{"train", "--schedule", "warm"}, 2, `--schedule "warm"`},
		{"warmup past the run", []string{"train", "--epochs", "4", "--warmup", "4"}, 2, "--warmup 4: want ≥ 0 and fewer than the 4 epochs"},
		{"smoothing of one", []string{"train", "--label-smoothing", "1"}, 2, "--label-smoothing 1: want a value in [0, 1)"},
		{"smoothing a regression", []string{"train", "--data", "diabetes", "--label-smoothing", "0.1"}, 2, "--label-smoothing needs the ce loss, not mse"},
		{"bad step size", []string{"train", "--schedule", "step", "--step-size", "0"}, 2, "--step-size 0"},
		{"bad weight decay", []string{"train", "--weight-decay", "-0.5"}, 2, "--weight-decay -0.5"},
		{"infinite weight decay", []string{"train", "--weight-decay", "Inf"}, 2, "--weight-decay +Inf"},
		{"NaN momentum", []string{"train", "--optim", "sgd", "--momentum", "NaN"}, 2, "--momentum NaN: want a value in [0, 1)"},
		{"NaN clip", []string{"train", "--clip", "NaN"}, 2, "--clip NaN: want a finite number ≥ 0"},
		{"dropout 1", []string{"train", "--dropout", "1"}, 2, "--dropout 1: want a value in [0, 1)"},
		{"negative dropout", []string{"train", "--dropout", "-0.1"}, 2, "--dropout -0.1: want a value in [0, 1)"},
		{"NaN dropout", []string{"train", "--dropout", "NaN"}, 2, "--dropout NaN: want a value in [0, 1)"},
		{"infinite dropout", []string{"train", "--dropout", "Inf"}, 2, "--dropout +Inf: want a value in [0, 1)"},
		{"dropout without a hidden layer", []string{"train", "--hidden", "none", "--dropout", "0.5"}, 2, "--dropout 0.5 with --hidden none: a Dropout follows each hidden activation, and there is none"},
		{"resume turning momentum on", []string{"train", "--resume", sgd, "--momentum", "0.9", "--epochs", "3"}, 2,
			"--momentum 0.9: checkpoint " + sgd + " trained SGD with momentum 0; a resumed run may change the momentum but not turn it on or off"},
		{"resume other dropout", []string{"train", "--resume", small, "--dropout", "0.5", "--epochs", "3"}, 2, "--dropout 0.5 differs from checkpoint " + small + " (0)"},
		{"eval metadata dropout", []string{"eval", "--model", dropAll}, 1, `metadata dropout "1": want a number in [0, 1)`},
		{"eval config dropout", []string{"eval", "--model", cfgDropout}, 1, "metadata config: dropout 0.5, but the metadata says 0"},
		{"infinite gamma", []string{"train", "--schedule", "step", "--gamma", "Inf"}, 2, "--gamma +Inf: want a finite number > 0"},
		{"label-col of a builtin", []string{"train", "--label-col", "3"}, 2, "--label-col is for CSV files; the built-in digits set knows its labels"},
		{"eval label-col of a builtin", []string{"eval", "--model", small, "--label-col", "3"}, 2, "eval: --label-col is for CSV files"},
		{"plot dir missing", []string{"train", "--epochs", "1000", "--plot", filepath.Join(dir, "no", "c.png")}, 1, "--plot: directory of"},
		{"labels as classes", []string{"train", "--data", bigLabel}, 1, "the labels go up to 16777215, so the output layer has 16777216 classes for 4 samples; for a numeric target use --task regression"},
		{"predict NaN", []string{"predict", "--model", small, "--input", inNaN}, 1, `column 1: "NaN" is not a finite float32`},
		{"predict beyond float32", []string{"predict", "--model", small, "--input", inHuge}, 1, `column 64: "1e39" is not a finite float32`},
		{"bad plot format", []string{"train", "--plot", "x.bmp"}, 2, `unknown image format "bmp"`},
		{"unknown data name", []string{"train", "--data", "mnist"}, 2, `--data "mnist": not a built-in data set`},
		{"missing csv", []string{"train", "--data", filepath.Join(dir, "absent.csv")}, 1, "absent.csv: no such file"},
		{"ragged csv", []string{"train", "--data", ragged}, 1, "ragged.csv"},
		{"non-numeric csv", []string{"train", "--data", words}, 1, "words.csv"},
		{"empty csv", []string{"train", "--data", empty}, 1, "empty.csv"},
		{"cuda in a CPU build", []string{"train", "--device", "cuda"}, 1, "built without CUDA"},
		{"--profile on the cpu", []string{"train", "--device", "cpu", "--profile"}, 1, "has no kernel profiler"},
		{"tf32x3 on the cpu", []string{"train", "--device", "cpu", "--tf32x3"}, 1, "--tf32x3: device cpu has no tensor-core products"},
		{"unknown device", []string{"train", "--device", "tpu"}, 2, `device "tpu": bad device name`},
		{"bad device index", []string{"eval", "--model", small, "--device", "cpu:x"}, 2, `device "cpu:x": bad device name: the index must be a number`},
		{"save dir missing", []string{"train", "--save", filepath.Join(dir, "no", "x.st")}, 1, "--save"},
		{"resume missing", []string{"train", "--resume", filepath.Join(dir, "absent.st")}, 1, "no such file"},
		{"resume corrupt", []string{"train", "--resume", corrupt}, 1, "corrupt.st"},
		{"resume other shape", []string{"train", "--resume", small, "--hidden", "16", "--epochs", "3"}, 2, "--hidden 16 differs from checkpoint"},
		{"resume done", []string{"train", "--resume", small}, 2, "already trained 1 epochs"},
		{"eval no model", []string{"eval"}, 2, "--model is required"},
		{"eval corrupt", []string{"eval", "--model", corrupt}, 1, "corrupt.st"},
		{"eval not a model", []string{"eval", "--model", notModel}, 1, "not an adjoint model"},
		{"eval wrong shape", []string{"eval", "--model", wrongShape}, 1, "metadata sizes 64,9,10 (norm none) make 685 parameters, the file's weights hold 610"},
		{"eval huge sizes", []string{"eval", "--model", hugeSizes}, 1, "metadata sizes 64,99999999999,10 (norm none) make 7499999999935 parameters"},
		{"eval config loss", []string{"eval", "--model", cfgHuber}, 1, `metadata config: loss "huber", but the metadata says "ce"`},
		{"predict config hidden", []string{"predict", "--model", cfgHidden, "--input", in3}, 1, "metadata config: hidden 9, but the metadata sizes are 64,8,10"},
		{"resume config value", []string{"train", "--resume", cfgTestFrac, "--epochs", "3"}, 1, "testfrac.st: stored configuration: --test-frac 0: want a value in (0, 1)"},
		{"predict swapped shapes", []string{"predict", "--model", swapped, "--input", in3}, 1, "size mismatch for 0.weight: checkpoint has shape [64 8], model has [8 64]"},
		{"eval other data", []string{"eval", "--model", dia, "--data", "digits"}, 2, "the built-in digits set is for classification, not regression"},
		{"eval features", []string{"eval", "--model", small, "--data", ragged, "--split", "all"}, 1, "ragged.csv"},
		{"eval bad split", []string{"eval", "--model", small, "--split", "train"}, 2, `--split "train"`},
		{"eval tf32x3 on the cpu", []string{"eval", "--model", small, "--device", "cpu", "--tf32x3"}, 1, "eval: --tf32x3: device cpu has no tensor-core products"},
		{"predict tf32x3 on the cpu", []string{"predict", "--model", small, "--input", in3, "--device", "cpu", "--tf32x3"}, 1, "predict: --tf32x3: device cpu has no tensor-core products"},
		{"predict no input", []string{"predict", "--model", small}, 2, "--input is required"},
		{"predict missing input", []string{"predict", "--model", small, "--input", filepath.Join(dir, "none.csv")}, 1, "none.csv: no such file"},
		{"predict columns", []string{"predict", "--model", small, "--input", in3}, 1, "line 1 has 3 values, the model takes 64 features"},
		{"predict label column", []string{"predict", "--model", small, "--input", in65}, 1, "(a label column? name it with --label-col)"},
		{"predict label-col not a number", []string{"predict", "--model", small, "--input", in65, "--label-col", "x"}, 2, `--label-col "x": want a column number`},
		{"predict label-col without label", []string{"predict", "--model", small, "--input", in3, "--label-col", "0"}, 1, "line 1 has 3 values, want 64 features and a label"},
		{"predict label-col out of range", []string{"predict", "--model", small, "--input", in65, "--label-col", "70"}, 1, "--label-col 70: rows of"},
		{"predict non-numeric", []string{"predict", "--model", small, "--input", inBad}, 1, `column 64: "x" is not a number`},
		{"bench unknown benchmark", []string{"bench", "--only", "nope"}, 2, "nope"},
		{"bench unknown flag", []string{"bench", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{"bench stray argument", []string{"bench", "extra"}, 2, "unexpected arguments"},
		{"bench bad max-size", []string{"bench", "--max-size", "-5"}, 2, "--max-size -5"},
	}
	if runtime.GOOS == "linux" { // where the cpu device knows the machine's memory
		tests = append(tests, struct {
			name string
			args []string
			code int
			want string
		}{"hidden beyond memory", []string{"train", "--hidden", "1000000000000"}, 1, "GiB of memory: out of device memory"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := adjoint(t, tc.args...)
			assert.Equal(t, tc.code, code, "stderr: %s", errs)
			assert.Contains(t, errs, tc.want)
			assert.NotContains(t, errs, "goroutine")
			assert.NotContains(t, errs, "panic")
			if tc.args != nil {
				assert.Equal(t, 1, strings.Count(errs, "\n"), "one line: %q", errs)
				assert.True(t, strings.HasPrefix(errs, "adjoint: "), errs)
			}
			if tc.code != 0 {
				assert.Empty(t, out)
			}
		})
	}
}

// TestSaveFailureKeepsCheckpoint: a save that fails after training leaves
// the previous checkpoint byte for byte.
func TestSaveFailureKeepsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	// A 250-byte name is valid, but the temporary file name built from it
	// is longer than the 255-byte limit of a path component, so the save
	// fails at its first step, even for root.
	long := filepath.Join(dir, strings.Repeat("c", 246)+".st")
	old := writeFile(t, long, "previous checkpoint")
	code, _, errs := adjoint(t, "train", "--epochs", "1", "--save", old)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "saving checkpoint")
	b, err := os.ReadFile(old)
	require.NoError(t, err)
	assert.Equal(t, "previous checkpoint", string(b))

	if os.Geteuid() == 0 {
		t.Log("running as root: skipping the read-only directory case")
		return
	}
	ro := filepath.Join(dir, "ro")
	require.NoError(t, os.Mkdir(ro, 0o755))
	ck := filepath.Join(ro, "m.st")
	adjointOK(t, "train", "--epochs", "1", "--save", ck)
	before, err := os.ReadFile(ck)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(ro, 0o555))
	t.Cleanup(func() { os.Chmod(ro, 0o755) })
	code, _, _ = adjoint(t, "train", "--epochs", "2", "--save", ck)
	assert.Equal(t, 1, code)
	after, err := os.ReadFile(ck)
	require.NoError(t, err)
	assert.Equal(t, before, after)
}

func TestHelp(t *testing.T) {
	code, out, _ := adjoint(t, "help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "train")
	code, _, errs := adjoint(t, "train", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, errs, "-hidden")
	assert.Contains(t, errs, "-dropout P")
}

// TestNoCUDAImport: without -tags cuda the command must not link device/cuda.
func TestNoCUDAImport(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.NotContains(t, string(out), "adjoint/device/cuda")
	assert.NotContains(t, string(out), "gorgonia.org/cu")
}

// TestTorchRoundTrip runs scripts/torch/checkpoint_roundtrip.py: an adjoint
// checkpoint loads into torch.nn.Sequential with the same outputs, and a
// torch-made checkpoint gives adjoint torch's outputs.
func TestTorchRoundTrip(t *testing.T) {
	script := torchtest.Script(t, "checkpoint_roundtrip.py")
	for _, tc := range []struct {
		name string
		args []string
		x    string
	}{
		{"digits", []string{"--hidden", "32,16", "--act", "tanh"}, digitsRows(t, 25)},
		{"digits-layernorm", []string{"--hidden", "32,16", "--norm", "layer"}, digitsRows(t, 25)},
		{"digits-batchnorm", []string{"--hidden", "32,16", "--norm", "batch", "--dropout", "0.2"}, digitsRows(t, 25)},
		{"digits-dropout", []string{"--hidden", "32,16", "--dropout", "0.3"}, digitsRows(t, 25)},
		{"digits-gelu", []string{"--hidden", "32,16", "--act", "gelu"}, digitsRows(t, 25)},
		{"digits-silu", []string{"--hidden", "32,16", "--act", "silu"}, digitsRows(t, 25)},
		{"digits-leaky_relu", []string{"--hidden", "32,16", "--act", "LeakyReLU"}, digitsRows(t, 25)},
		{"digits-elu", []string{"--hidden", "32,16", "--act", "elu"}, digitsRows(t, 25)},
		{"digits-hardswish", []string{"--hidden", "32,16", "--act", "hardswish"}, digitsRows(t, 25)},
		{"digits-relu6", []string{"--hidden", "32,16", "--act", "relu6"}, digitsRows(t, 25)},
		{"digits-layernorm-dropout", []string{"--hidden", "32", "--norm", "layer", "--act", "tanh", "--dropout", "0.5"}, digitsRows(t, 25)},
		{"diabetes-dropout", []string{"--data", "diabetes", "--hidden", "16,8", "--dropout", "0.2"}, "59,2,32.1,101,157,93.2,38,4,4.8598,87\n48,1,21.6,87,183,103.2,70,3,3.8918,69\n"},
		{"diabetes", []string{"--data", "diabetes", "--hidden", "16", "--act", "sigmoid"}, "59,2,32.1,101,157,93.2,38,4,4.8598,87\n48,1,21.6,87,183,103.2,70,3,3.8918,69\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ck := filepath.Join(dir, "adjoint.safetensors")
			adjointOK(t, append([]string{"train", "--epochs", "3", "--save", ck}, tc.args...)...)
			x := writeFile(t, filepath.Join(dir, "x.csv"), tc.x)
			ours := writeFile(t, filepath.Join(dir, "adjoint_out.csv"), adjointOK(t, "predict", "--model", ck, "--input", x, "--raw"))
			tck, tout := filepath.Join(dir, "torch.safetensors"), filepath.Join(dir, "torch_out.csv")
			cmd := exec.Command(torchtest.Python, script, "--checkpoint", ck, "--inputs", x, "--adjoint-outputs", ours,
				"--write-checkpoint", tck, "--write-outputs", tout)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))
			t.Log(strings.TrimSpace(string(out)))

			got := parseRows(t, adjointOK(t, "predict", "--model", tck, "--input", x, "--raw"))
			b, err := os.ReadFile(tout)
			require.NoError(t, err)
			want := parseRows(t, string(b))
			require.Equal(t, len(want), len(got))
			for i := range want {
				assert.InDeltaSlice(t, want[i], got[i], 1e-4*max(1, maxAbs(want[i])), "row %d", i)
			}
		})
	}
}

func digitsRows(t testing.TB, n int) string {
	var b strings.Builder
	for i := range n {
		row := make([]string, 64)
		for j := range row {
			row[j] = itoa((i*7 + j*3) % 10)
		}
		b.WriteString(strings.Join(row, ",") + "\n")
	}
	return b.String()
}

func parseRows(t testing.TB, s string) [][]float64 {
	t.Helper()
	var rows [][]float64
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var row []float64
		require.NoError(t, json.Unmarshal([]byte("["+line+"]"), &row), line)
		rows = append(rows, row)
	}
	return rows
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x, -x)
	}
	return m
}

// newTestStepper builds a digits stepper (64-64-10, Adam, with a Dropout
// of probability dropout when it is > 0) on dev.
func newTestStepper(t *testing.T, dev device.Device, dropout float64) (*stepper, *data.Dataset) {
	t.Helper()
	c := config{Data: "digits", Hidden: []int{64}, Act: "relu", Optim: "adam", LR: -1, WD: -1, Batch: 64, Epochs: 1, Seed: 1, TestFrac: 0.2, Schedule: "none", StepSize: 1, Gamma: 0.1}
	ds, err := loadData("digits", -1, "")
	require.NoError(t, err)
	require.NoError(t, c.resolve(ds))
	model, err := buildMLP(dev, c.sizes(ds), c.activation(), "none", dropout, 1)
	require.NoError(t, err)
	opt, err := newOptimizer(&c, model.Params())
	require.NoError(t, err)
	tp := autograd.NewTape(dev, device.Float32)
	t.Cleanup(tp.Release)
	st, err := newStepper(tp, model, opt, &c, ds.Features, 1, ds.Classes)
	require.NoError(t, err)
	t.Cleanup(st.release)
	return st, ds
}

// TestStepAllocations: a steady-state training step reuses the tape, the
// parameters and the optimizer state.
func TestStepAllocations(t *testing.T) {
	dev, err := device.Open("cpu")
	require.NoError(t, err)
	for _, dropout := range []float64{0, 0.3} { // a Dropout reuses its mask buffer
		st, ds := newTestStepper(t, dev, dropout)
		xb, yb := ds.X[:64*64], ds.Y[:64]
		for range 3 {
			_, err := st.step(xb, yb, 64)
			require.NoError(t, err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := st.step(xb, yb, 64); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs, "allocations per training step, dropout %v", dropout)
	}
}

// downloadCounter is a Device that counts what crosses back to the host.
type downloadCounter struct {
	device.Device
	calls, elems int
}

func (d *downloadCounter) Download32(dst []float32, src device.Buffer) error {
	d.calls++
	d.elems += len(dst)
	return d.Device.Download32(dst, src)
}

func (d *downloadCounter) Download64(dst []float64, src device.Buffer) error {
	d.calls++
	d.elems += len(dst)
	return d.Device.Download64(dst, src)
}

func (d *downloadCounter) Dot(x, y device.Buffer) (float64, error) {
	d.calls++
	d.elems++
	return d.Device.Dot(x, y)
}

// TestStepDownloadsOnlyTheLoss: a training step brings back one number, its
// loss (DESIGN.md: the step stays on the device); the count of correct
// predictions stays on the device until the epoch ends, and then matches a
// count made on the host from the logits.
func TestStepDownloadsOnlyTheLoss(t *testing.T) {
	cpuDev, err := device.Open("cpu")
	require.NoError(t, err)
	dev := &downloadCounter{Device: cpuDev}
	st, ds := newTestStepper(t, dev, 0)
	const steps, k = 5, 64
	for i := range steps {
		_, err := st.step(ds.X[i*k*ds.Features:(i+1)*k*ds.Features], ds.Y[i*k:(i+1)*k], k)
		require.NoError(t, err)
	}
	assert.Equal(t, steps, dev.calls, "downloads in %d steps", steps)
	assert.Equal(t, steps, dev.elems, "elements downloaded in %d steps", steps)

	// The device count equals the host's count on the logits each step saw
	// before its update: replay the steps on a second, identical stepper
	// and count on the host.
	ref, _ := newTestStepper(t, cpuDev, 0)
	want := 0
	for i := range steps {
		x, y := ds.X[i*k*ds.Features:(i+1)*k*ds.Features], ds.Y[i*k:(i+1)*k]
		out, _, err := forward(ref.tp, ref.model, &config{Task: "classification", Loss: "cross-entropy"}, x, nil, ds.Features, ds.Classes)
		require.NoError(t, err)
		want += countCorrect(out, y, ds.Classes)
		_, err = ref.step(x, y, k)
		require.NoError(t, err)
	}
	got, err := st.takeCorrect()
	require.NoError(t, err)
	assert.Equal(t, want, got, "correct predictions counted on the device")
	assert.Greater(t, got, 0)
	again, err := st.takeCorrect()
	require.NoError(t, err)
	assert.Zero(t, again, "takeCorrect restarts the count")
}
