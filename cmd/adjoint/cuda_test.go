//go:build cuda || cudaemu

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrainCUDAMatchesCPU runs `adjoint train` on the cuda device (a GPU,
// or with -tags cudaemu the CPU emulation of the same kernels) and on the
// cpu device, and requires the same metrics: the whole command path,
// evaluation included, on the CUDA backend.
func TestTrainCUDAMatchesCPU(t *testing.T) {
	// The Dropout masks are drawn from the run's seed by the same
	// generator on both devices.
	for _, extra := range [][]string{{"--norm", "none"}, {"--norm", "layer"}, {"--norm", "batch"}, {"--dropout", "0.3"}} {
		t.Run(strings.Join(extra, " "), func(t *testing.T) {
			args := append([]string{"--epochs", "2", "--hidden", "32", "--batch", "128", "--seed", "5"}, extra...)
			g := trainJSON(t, append([]string{"--device", "cuda"}, args...)...)
			c := trainJSON(t, append([]string{"--device", "cpu"}, args...)...)
			assert.Contains(t, g.Device, "cuda")
			assert.Greater(t, g.LoadSeconds, 0.0, "the cuda device preloads its kernels before the clock starts")
			assert.Zero(t, c.LoadSeconds, "the cpu device has nothing to load")
			assert.InDelta(t, c.TrainLoss, g.TrainLoss, 1e-4)
			assert.InDelta(t, c.TestLoss, g.TestLoss, 1e-4)
			assert.InDelta(t, val(t, c.TestAccuracy), val(t, g.TestAccuracy), 0.01)
			assert.Greater(t, val(t, g.TestAccuracy), 0.2, "better than chance after two epochs")
		})
	}
	// --tf32x3 is accepted by a cuda device; these products stay below its
	// threshold, so the metrics are those of FP32.
	args := []string{"--epochs", "1", "--hidden", "32", "--seed", "5"}
	g := trainJSON(t, append([]string{"--device", "cuda", "--tf32x3"}, args...)...)
	c := trainJSON(t, append([]string{"--device", "cpu"}, args...)...)
	assert.InDelta(t, c.TestLoss, g.TestLoss, 1e-4)
}

// TestTrainProfile: --profile prints the kernel table after training (on
// stderr beside --json, whose stdout stays one JSON object), naming the
// SGEMM kernels and the optimizer's. (The cpu device's refusal is in
// TestBadInput's table.)
func TestTrainProfile(t *testing.T) {
	code, stdout, stderr := adjoint(t, "train", "--device", "cuda", "--epochs", "1", "--hidden", "32", "--seed", "5", "--profile", "--json")
	require.Equal(t, 0, code, stderr)
	var r trainResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &r), "stdout must be one JSON object: %q", stdout)
	assert.Contains(t, stderr, "kernel profile of cuda")
	for _, want := range []string{"per_launch_us", "sgemm_", "adam", "all"} {
		assert.Contains(t, stderr, want)
	}
}

// TestEvalPredictCUDAMatchesCPU evaluates one checkpoint with `adjoint
// eval` and `adjoint predict` on the cuda device, with --tf32x3 (accepted;
// these products stay below its threshold), and on the cpu device: the
// metrics and the raw outputs must agree.
func TestEvalPredictCUDAMatchesCPU(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "m.st")
	adjointOK(t, "train", "--device", "cpu", "--epochs", "1", "--hidden", "32", "--seed", "5", "--quiet", "--save", ck)
	eval := func(dev ...string) evalResult {
		out := adjointOK(t, append([]string{"eval", "--model", ck, "--json"}, dev...)...)
		var r evalResult
		require.NoError(t, json.Unmarshal([]byte(out), &r), "stdout must be one JSON object: %q", out)
		return r
	}
	g, c := eval("--device", "cuda", "--tf32x3"), eval("--device", "cpu")
	assert.Contains(t, g.Device, "cuda")
	assert.Equal(t, c.Samples, g.Samples)
	assert.InDelta(t, c.Loss, g.Loss, 1e-4)
	assert.InDelta(t, val(t, c.Accuracy), val(t, g.Accuracy), 0.01)

	var rows strings.Builder
	for r := range 3 {
		for j := range 64 {
			if j > 0 {
				rows.WriteByte(',')
			}
			fmt.Fprint(&rows, (r*7+j*3)%17)
		}
		rows.WriteByte('\n')
	}
	in := filepath.Join(dir, "rows.csv")
	require.NoError(t, os.WriteFile(in, []byte(rows.String()), 0o644))
	predict := func(dev ...string) []float64 {
		out := adjointOK(t, append([]string{"predict", "--model", ck, "--input", in, "--raw"}, dev...)...)
		var v []float64
		for _, f := range strings.FieldsFunc(out, func(r rune) bool { return r == ',' || r == '\n' }) {
			x, err := strconv.ParseFloat(f, 64)
			require.NoError(t, err, "predict --raw: %q", out)
			v = append(v, x)
		}
		return v
	}
	pg, pc := predict("--device", "cuda", "--tf32x3"), predict("--device", "cpu")
	require.Len(t, pc, 3*10)
	assert.InDeltaSlice(t, pc, pg, 1e-4)
}
