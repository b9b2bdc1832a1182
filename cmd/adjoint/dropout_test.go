package main

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/safetensors"
)

// TestTrainDropout: --dropout P puts a Dropout(p=P) after each hidden
// activation, and still learns digits.
func TestTrainDropout(t *testing.T) {
	tests := []struct {
		args  []string
		model string
		min   float64
	}{
		{[]string{"--hidden", "128", "--dropout", "0.3", "--epochs", "10"},
			"Sequential(Linear(64, 128), relu, Dropout(p=0.3), Linear(128, 10))", 0.9},
		{[]string{"--hidden", "64,32", "--norm", "layer", "--dropout", "0.2", "--epochs", "10"},
			"Sequential(Linear(64, 64), LayerNorm(64, eps=1e-05), relu, Dropout(p=0.2), Linear(64, 32), LayerNorm(32, eps=1e-05), relu, Dropout(p=0.2), Linear(32, 10))", 0.9},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := trainJSON(t, tc.args...)
			assert.Equal(t, tc.model, r.Model)
			assert.Greater(t, val(t, r.TestAccuracy), tc.min)
			t.Logf("%s: test accuracy %.2f%%", tc.model, 100*val(t, r.TestAccuracy))
		})
	}

	// The banner prints the model; the masks come from the seed.
	out := adjointOK(t, "train", "--epochs", "1", "--hidden", "32", "--dropout", "0.25")
	assert.Contains(t, out, "training Sequential(Linear(64, 32), relu, Dropout(p=0.25), Linear(32, 10)) on digits")
	a := trainJSON(t, "--epochs", "2", "--hidden", "32", "--dropout", "0.25")
	b := trainJSON(t, "--epochs", "2", "--hidden", "32", "--dropout", "0.25")
	c := trainJSON(t, "--epochs", "2", "--hidden", "32")
	assert.Equal(t, a.TrainLoss, b.TrainLoss, "deterministic for a seed")
	assert.Equal(t, a.TestLoss, b.TestLoss, "deterministic for a seed")
	assert.NotEqual(t, a.TrainLoss, c.TrainLoss, "the Dropout layers change training")
}

// TestDropoutCheckpoint: a checkpoint with Dropout keeps torch.nn.Sequential's
// names (a Dropout takes an index and has no parameters) and says "dropout"
// in its metadata and configuration; one without Dropout has neither.
func TestDropoutCheckpoint(t *testing.T) {
	tests := []struct {
		args     []string
		names    []string
		metadata string // the "dropout" key; "" when absent
	}{
		{[]string{"--hidden", "128", "--dropout", "0.3"}, []string{"0.bias", "0.weight", "3.bias", "3.weight"}, "0.3"},
		{[]string{"--hidden", "128"}, []string{"0.bias", "0.weight", "2.bias", "2.weight"}, ""},
		{[]string{"--hidden", "128", "--dropout", "0"}, []string{"0.bias", "0.weight", "2.bias", "2.weight"}, ""},
		{[]string{"--hidden", "32,16", "--dropout", "0.5"}, []string{"0.bias", "0.weight", "3.bias", "3.weight", "6.bias", "6.weight"}, "0.5"},
		{[]string{"--hidden", "32,16", "--norm", "layer", "--dropout", "0.1"},
			[]string{"0.bias", "0.weight", "1.bias", "1.weight", "4.bias", "4.weight", "5.bias", "5.weight", "8.bias", "8.weight"}, "0.1"},
		{[]string{"--hidden", "none"}, []string{"0.bias", "0.weight"}, ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ck := filepath.Join(t.TempDir(), "m.st")
			adjointOK(t, append([]string{"train", "--epochs", "1", "--quiet", "--save", ck}, tc.args...)...)
			f, err := safetensors.LoadFile(ck)
			require.NoError(t, err)
			var names []string
			for name := range f.Tensors {
				if !strings.Contains(name, "/") {
					names = append(names, name)
				}
			}
			sort.Strings(names)
			assert.Equal(t, tc.names, names)
			p, ok := f.Metadata["dropout"]
			assert.Equal(t, tc.metadata != "", ok, "metadata dropout key")
			assert.Equal(t, tc.metadata, p)
			var cfg map[string]any
			require.NoError(t, json.Unmarshal([]byte(f.Metadata["config"]), &cfg))
			if tc.metadata == "" {
				assert.NotContains(t, cfg, "Dropout", "a run without Dropout writes the configuration it always did")
			} else {
				assert.Equal(t, tc.metadata, showValue(cfg["Dropout"]))
			}
			want := 0.0
			if ok {
				want, err = strconv.ParseFloat(p, 64)
				require.NoError(t, err)
			}
			c, err := readCheckpoint(ck)
			require.NoError(t, err)
			assert.Equal(t, want, c.dropout)
			assert.Equal(t, want, c.cfg.Dropout)
			m, err := c.model(cpuDevice(t))
			require.NoError(t, err)
			defer nn.Release(m)
			wantLayers := 0 // one Dropout per hidden layer, with dropout
			if want > 0 {
				wantLayers = len(c.sizes) - 2
			}
			assert.Len(t, dropouts(m), wantLayers)
			for _, d := range dropouts(m) {
				assert.False(t, d.Training(), "a model read from a checkpoint is in evaluation mode")
			}
		})
	}
}

// TestResumeExactDropout: with Dropout, 4 epochs straight == 2 epochs,
// save, --resume to 4, bit for bit: every epoch's masks come from (seed,
// epoch), as its batches do. Resuming keeps the checkpoint's dropout and
// refuses another.
func TestResumeExactDropout(t *testing.T) {
	for _, tc := range []struct {
		dropout string
		opt     []string
	}{
		{"0.3", []string{"--optim", "adam", "--hidden", "64"}},
		{"0.5", []string{"--optim", "sgd", "--hidden", "64,32", "--norm", "layer"}},
		{"0.2", []string{"--optim", "adamw", "--hidden", "32,32", "--schedule", "cosine", "--t-max", "4"}},
	} {
		t.Run(strings.Join(tc.opt, " ")+" --dropout "+tc.dropout, func(t *testing.T) {
			dir := t.TempDir()
			full, resumed := filepath.Join(dir, "full.st"), filepath.Join(dir, "resumed.st")
			common := append([]string{"--seed", "7", "--dropout", tc.dropout}, tc.opt...)
			a := trainJSON(t, append(common, "--epochs", "4", "--save-every", "2", "--save", full)...)
			mid := epochCheckpoint(full, 2)
			// A separate 2-epoch run, resumed to 4 with --epochs, and the
			// straight run's epoch-2 checkpoint resumed without it.
			half := filepath.Join(dir, "half.st")
			trainJSON(t, append(common, "--epochs", "2", "--save", half)...)
			b := trainJSON(t, "--resume", half, "--epochs", "4", "--save", half)
			c := trainJSON(t, "--resume", mid, "--save", resumed)
			for _, r := range []trainResult{b, c} {
				assert.Equal(t, 2, r.StartEpoch)
				assert.Equal(t, a.Model, r.Model)
				assert.Equal(t, a.TrainLoss, r.TrainLoss)
				assert.Equal(t, a.TestLoss, r.TestLoss)
				assert.Equal(t, val(t, a.TestAccuracy), val(t, r.TestAccuracy))
			}
			pa := loadParams(t, full)
			for _, path := range []string{half, resumed} {
				pb := loadParams(t, path)
				require.Equal(t, len(pa), len(pb))
				for name, va := range pa { // parameters, optimizer state, standardisation
					assert.Equal(t, va, pb[name], "%s: %s", path, name)
				}
			}

			code, out, errs := adjoint(t, "train", "--resume", half, "--epochs", "6", "--dropout", "0.1")
			assert.Equal(t, 2, code, errs)
			assert.Empty(t, out)
			assert.Contains(t, errs, "--dropout 0.1 differs from checkpoint "+half)
			code, _, errs = adjoint(t, "train", "--resume", half, "--epochs", "6", "--dropout", "0")
			assert.Equal(t, 2, code, errs)
			assert.Contains(t, errs, "--dropout 0 differs from checkpoint "+half)
			// The same value is accepted (and leaving it out keeps it, above).
			r := trainJSON(t, "--resume", half, "--epochs", "5", "--dropout", tc.dropout)
			assert.Equal(t, a.Model, r.Model)
			assert.Contains(t, r.Model, "Dropout(p="+tc.dropout+")")
		})
	}
}

func cpuDevice(t testing.TB) device.Device {
	t.Helper()
	dev, err := device.Open("cpu")
	require.NoError(t, err)
	return dev
}

// TestEvalPredictDropout: eval and predict run a Dropout checkpoint in
// evaluation mode: the same output every time, the training run's final
// test metrics, and the outputs of the same weights without Dropout layers.
func TestEvalPredictDropout(t *testing.T) {
	for _, args := range [][]string{
		{"--hidden", "64,32", "--dropout", "0.5"},
		{"--hidden", "32", "--norm", "layer", "--dropout", "0.3"},
		{"--data", "diabetes", "--hidden", "16", "--dropout", "0.2"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			ck := filepath.Join(dir, "m.st")
			tr := trainJSON(t, append([]string{"--epochs", "3", "--save", ck}, args...)...)
			eval := func(path string) evalResult {
				out := adjointOK(t, "eval", "--model", path, "--json")
				var r evalResult
				require.NoError(t, json.Unmarshal([]byte(out), &r), out)
				return r
			}
			e1, e2 := eval(ck), eval(ck)
			assert.Equal(t, e1, e2, "eval is deterministic")
			assert.Equal(t, tr.TestLoss, e1.Loss, "eval gives the training run's final test loss")
			assert.Equal(t, tr.TestSamples, e1.Samples)
			if tr.Task == "classification" {
				assert.Equal(t, val(t, tr.TestAccuracy), val(t, e1.Accuracy))
			} else {
				assert.Equal(t, val(t, tr.TestMSE), val(t, e1.MSE))
				assert.Equal(t, val(t, tr.TestR2), val(t, e1.R2))
			}

			var rows string
			if tr.Task == "classification" {
				rows = digitsRows(t, 20)
			} else {
				rows = "59,2,32.1,101,157,93.2,38,4,4.8598,87\n48,1,21.6,87,183,103.2,70,3,3.8918,69\n"
			}
			in := writeFile(t, filepath.Join(dir, "in.csv"), rows)
			p1 := adjointOK(t, "predict", "--model", ck, "--input", in, "--raw")
			assert.Equal(t, p1, adjointOK(t, "predict", "--model", ck, "--input", in, "--raw"), "predict is deterministic")

			// The same weights renamed to a model without Dropout (each
			// Dropout dropped, the later indices shifted down) predict the
			// same: in evaluation mode a Dropout is the identity.
			plain := filepath.Join(dir, "plain.st")
			f, err := safetensors.LoadFile(ck)
			require.NoError(t, err)
			c, err := readCheckpoint(ck)
			require.NoError(t, err)
			m, err := c.model(cpuDevice(t))
			require.NoError(t, err)
			defer nn.Release(m)
			renamed := map[string]safetensors.Tensor{}
			shift := 0
			for i, l := range m.Layers {
				if _, ok := l.(*nn.Dropout); ok {
					shift++
					continue
				}
				for name, ten := range f.Tensors {
					if rest, ok := strings.CutPrefix(name, strconv.Itoa(i)+"."); ok && !strings.Contains(name, "/") {
						renamed[strconv.Itoa(i-shift)+"."+rest] = ten
					}
				}
			}
			for name, ten := range f.Tensors {
				if strings.Contains(name, "/") {
					renamed[name] = ten
				}
			}
			assert.Equal(t, len(c.sizes)-2, shift, "one Dropout per hidden layer")
			f.Tensors = renamed
			delete(f.Metadata, "dropout")
			var cfg map[string]any
			require.NoError(t, json.Unmarshal([]byte(f.Metadata["config"]), &cfg))
			delete(cfg, "Dropout")
			b, err := json.Marshal(cfg)
			require.NoError(t, err)
			f.Metadata["config"] = string(b)
			require.NoError(t, safetensors.SaveFile(plain, f))
			assert.Equal(t, p1, adjointOK(t, "predict", "--model", plain, "--input", in, "--raw"))
			assert.Equal(t, e1.Loss, eval(plain).Loss)
		})
	}
}

// TestDropoutSeed: each epoch and layer of a run draws its masks from a
// stream of its own.
func TestDropoutSeed(t *testing.T) {
	seen := map[uint64]string{}
	for _, seed := range []uint64{0, 1, 7} {
		for epoch := range 50 {
			for layer := range 4 {
				s := dropoutSeed(seed, epoch, layer)
				key := strings.Join([]string{strconv.FormatUint(seed, 10), strconv.Itoa(epoch), strconv.Itoa(layer)}, "/")
				prev, dup := seen[s]
				assert.False(t, dup, "seed/epoch/layer %s and %s share %#x", key, prev, s)
				seen[s] = key
				assert.Equal(t, s, dropoutSeed(seed, epoch, layer))
			}
		}
	}
}
