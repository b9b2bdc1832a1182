package bench

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/cpu"
	"github.com/adjoint-go/adjoint/device"
)

func newCPU(t testing.TB) *cpu.CPU {
	t.Helper()
	c, err := cpu.New()
	require.NoError(t, err)
	return c
}

// ---- go test -bench, driven by the same table as the command ----

// benchDevices is the CPU, plus CUDA when this build and machine have it.
func benchDevices(b *testing.B) map[string]device.Device {
	devs := map[string]device.Device{"cpu": newCPU(b)}
	if d, err := device.Open("cuda"); err == nil {
		devs["cuda"] = d
	}
	return devs
}

// benchKinds runs every configuration of the given kinds as a
// sub-benchmark device/name (the quick table with -short), reporting
// GFLOP/s and time per sample where they are defined.
func benchKinds(b *testing.B, kinds ...Kind) {
	devs := benchDevices(b)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range devs {
			if !yield(n) {
				return
			}
		}
	}) {
		dev := devs[name]
		for _, c := range Select(Table(testing.Short()), kinds) {
			if !c.OnDevice(name) {
				continue
			}
			b.Run(name+"/"+c.SubName(), func(b *testing.B) {
				r, err := NewRunner(dev, device.Float32, c)
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				if err := r.Step(); err != nil { // warm-up: allocator, packing buffers
					b.Fatal(err)
				}
				for b.Loop() {
					if err := r.Step(); err != nil {
						b.Fatal(err)
					}
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				if f := c.Flops(); f > 0 {
					b.ReportMetric(f/sec/1e9, "GFLOP/s")
				}
				if s := c.Samples(); s > 0 {
					b.ReportMetric(sec/float64(s)*1e9, "ns/sample")
				}
			})
		}
	}
}

func BenchmarkGemm(b *testing.B)     { benchKinds(b, KindGemm) }
func BenchmarkMLPStep(b *testing.B)  { benchKinds(b, KindMLP) }
func BenchmarkKSweep(b *testing.B)   { benchKinds(b, KindKSweep) }
func BenchmarkOrder(b *testing.B)    { benchKinds(b, KindOrder) }
func BenchmarkResidual(b *testing.B) { benchKinds(b, KindResidual) }
func BenchmarkConvStep(b *testing.B) { benchKinds(b, KindConv) }

// ---- unit tests; none asserts a time ----

func TestFitLogLogRecoversPowerLaws(t *testing.T) {
	xs := []float64{32, 64, 128, 256, 512, 1024}
	for _, want := range []float64{2, 3, 2.5, -1} {
		ys := make([]float64, len(xs))
		for i, x := range xs {
			ys[i] = 3e-9 * math.Pow(x, want)
		}
		s, a, err := FitLogLog(xs, ys)
		require.NoError(t, err)
		require.InDelta(t, want, s, 1e-12)
		require.InDelta(t, 3e-9, math.Exp(a), 1e-18)

		// Multiplicative noise of ±10% moves the slope by little.
		for i := range ys {
			ys[i] *= 1 + 0.1*math.Sin(float64(7*i+1))
		}
		s, _, err = FitLogLog(xs, ys)
		require.NoError(t, err)
		require.InDelta(t, want, s, 0.1)
	}
}

func TestFitLogLogRejectsBadInput(t *testing.T) {
	for _, c := range []struct{ xs, ys []float64 }{
		{[]float64{1, 2}, []float64{1}},
		{[]float64{1}, []float64{1}},
		{[]float64{1, 2}, []float64{1, 0}},
		{[]float64{-1, 2}, []float64{1, 1}},
		{[]float64{2, 2, 2}, []float64{1, 2, 3}},
		{[]float64{1, 2}, []float64{1, math.NaN()}},
	} {
		_, _, err := FitLogLog(c.xs, c.ys)
		require.Error(t, err, "%v %v", c.xs, c.ys)
	}
}

func TestSummarizeQuartiles(t *testing.T) {
	s := Summarize([]float64{5, 1, 4, 2, 3})
	require.Equal(t, Stats{Reps: 5, Median: 3, Q1: 2, Q3: 4, Min: 1, Max: 5}, s)
	require.InDelta(t, 100*2.0/3, s.Spread(), 1e-12)
	s = Summarize([]float64{1, 2, 3, 4})
	require.InDelta(t, 2.5, s.Median, 1e-15)
	require.InDelta(t, 1.75, s.Q1, 1e-15)
	require.InDelta(t, 3.25, s.Q3, 1e-15)
	require.Equal(t, Stats{}, Summarize(nil))
}

func TestMeasureCountsRuns(t *testing.T) {
	calls := 0
	times, err := Measure(Timing{Warmup: 2, MinReps: 3, MaxReps: 3, MinTime: 10}, func() error { calls++; return nil })
	require.NoError(t, err)
	require.Len(t, times, 3) // MaxReps caps MinTime
	require.Equal(t, 5, calls)
	boom := errors.New("boom")
	_, err = Measure(Timing{MinReps: 1}, func() error { return boom })
	require.ErrorIs(t, err, boom)
}

func TestFlopCounts(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want float64
	}{
		{Config{Kind: KindGemm, M: 2, N: 3, K: 4}, 2 * 2 * 3 * 4},
		{Config{Kind: KindGemm, TransA: true, M: 256, N: 512, K: 784}, 2 * 256 * 512 * 784},
		// 6·K·Σ in·out
		{Config{Kind: KindMLP, Sizes: []int{64, 128, 10}, Batch: 64}, 6 * 64 * (64*128 + 128*10)},
		{Config{Kind: KindKSweep, Sizes: []int{784, 512, 512, 10}, Batch: 1}, 6 * (784*512 + 512*512 + 512*10)},
		{Config{Kind: KindResidual, Sizes: []int{784, 512, 10}, Blocks: 3, Batch: 256}, 6 * 256 * (784*512 + 6*512*512 + 512*10)},
		// 1×8×8 → 32 channels (8×8) → 32 channels (stride 2: 4×4) → 10.
		{Config{Kind: KindConv, Image: []int{1, 8, 8}, Channels: []int{32, 32}, Classes: 10, Batch: 64}, 6 * 64 * (64*32*9 + 16*32*32*9 + 512*10)},
		{Config{Kind: KindOrder, Order: OrderFwd, Sizes: []int{4, 3, 2}, Batch: 5}, 2 * 5 * (4*3 + 3*2)},
		{Config{Kind: KindOrder, Order: OrderGrad, Sizes: []int{4, 3, 2}, Batch: 5}, 6 * 5 * (4*3 + 3*2)},
		// Right to left: K·4·M·N²; left to right: S·(4·M·N² + 2·(M−1)·N³).
		{Config{Kind: KindOrder, Order: OrderRTL, Layers: 4, Width: 10, Batch: 8}, 8 * 4 * 4 * 100},
		{Config{Kind: KindOrder, Order: OrderLTR, Layers: 4, Width: 10, Batch: 8}, 8 * (4*4*100 + 2*3*1000)},
		{Config{Kind: KindOrder, Order: OrderLTR, Layers: 4, Width: 1024, Batch: 256}, 1 * (4*4*1024*1024 + 2*3*1024*1024*1024)},
	} {
		require.Equal(t, c.want, c.cfg.Flops(), "%+v", c.cfg)
	}
	require.Equal(t, 256, LTRSamples(32, 256))
	require.Equal(t, 64, LTRSamples(128, 256))
	require.Equal(t, 1, LTRSamples(1024, 256))
	require.Equal(t, 5, LTRSamples(8, 5))
}

func TestTableIsConsistent(t *testing.T) {
	full, quick := Table(false), Table(true)
	names := map[string]bool{}
	for _, c := range full {
		require.False(t, names[c.Name], "duplicate %s", c.Name)
		names[c.Name] = true
		require.True(t, strings.HasPrefix(c.Name, string(c.Kind)+"/"), c.Name)
		require.Greater(t, c.Flops(), 0.0, c.Name)
	}
	for _, c := range quick {
		require.True(t, names[c.Name], "quick config %s is not in the full table", c.Name)
	}
	// The required shapes are there.
	for _, want := range []string{"gemm/NN/1024", "gemm/TN/1024", "gemm/NT/1024", "mlp/small/64-128-10/K64",
		"mlp/medium/784-512-512-10/K256", "mlp/wide/2048-2048-2048-10/K512", "ksweep/medium/K1", "ksweep/medium/K256",
		"order/rtl/N32", "order/ltr/N1024", "order/fwd/medium/K256", "order/grad/medium/K256",
		"conv/digits/1x8x8-32-32/K64", "conv/cifar/3x32x32-32-64/K128"} {
		require.True(t, slices.ContainsFunc(quick, func(c Config) bool { return c.Name == want }), want)
	}
	require.True(t, names["gemm/NN/2048"] && names["order/ltr/N1024"] && names["mlp/wide/4096-4096-4096-10/K4096"])
	for _, c := range full {
		if c.Name == "mlp/wide/4096-4096-4096-10/K4096" || strings.HasSuffix(c.Name, "/4096") || strings.HasSuffix(c.Name, "/8192") {
			require.False(t, c.OnDevice("cpu"), c.Name)
			require.True(t, c.OnDevice("cuda:0"), c.Name)
		}
	}
}

func TestParseOnly(t *testing.T) {
	all, err := ParseOnly("")
	require.NoError(t, err)
	require.Equal(t, Kinds(), all)
	ks, err := ParseOnly("gemm, MLP ,order")
	require.NoError(t, err)
	require.Equal(t, []Kind{KindGemm, KindMLP, KindOrder}, ks)
	for _, bad := range []string{"gemm,foo", "gemm,gemm", ",", "mlps"} {
		_, err := ParseOnly(bad)
		require.Error(t, err, bad)
	}
	sel := Select(Table(true), []Kind{KindKSweep, KindResidual})
	require.NotEmpty(t, sel)
	for _, c := range sel {
		require.Contains(t, []Kind{KindKSweep, KindResidual}, c.Kind)
	}
}

// Every training-step configuration (CPU rows of the full table) runs,
// yields a finite loss, and plain SGD on one fixed batch lowers it.
func TestTrainingStepsLearn(t *testing.T) {
	dev := newCPU(t)
	for _, c := range Select(Table(false), []Kind{KindMLP, KindKSweep, KindResidual, KindConv}) {
		if !c.OnDevice("cpu") {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			if testing.Short() && c.Flops() > 5e9 {
				t.Skip("large step skipped with -short")
			}
			r, err := NewRunner(dev, device.Float32, c)
			require.NoError(t, err)
			defer r.Close()
			var losses []float64
			for range 4 {
				require.NoError(t, r.Step())
				l, err := r.net.Loss()
				require.NoError(t, err)
				require.False(t, math.IsNaN(l) || math.IsInf(l, 0), "loss %v", l)
				losses = append(losses, l)
			}
			require.InDelta(t, math.Log(10), losses[0], 1.5, "initial loss near log(classes)")
			require.Less(t, losses[3], losses[0], "losses %v", losses)
		})
	}
}

// Every quick configuration builds and runs one repetition.
func TestQuickConfigsRun(t *testing.T) {
	dev := newCPU(t)
	for _, c := range Table(true) {
		if !c.OnDevice("cpu") || c.Kind == KindMLP || c.Kind == KindKSweep || c.Kind == KindResidual || c.Kind == KindConv {
			continue // the training steps are TestTrainingStepsLearn's
		}
		r, err := NewRunner(dev, device.Float32, c)
		require.NoError(t, err, c.Name)
		require.NoError(t, r.Step(), c.Name)
		r.Close()
	}
}

// Back propagation (right to left, on the tape) and the dense Jacobian
// products (left to right) compute the same input gradient, in float64.
func TestOrdersAgree(t *testing.T) {
	dev := newCPU(t)
	for _, n := range []int{1, 7, 16} {
		cfg := Config{Name: "order/test", Kind: KindOrder, Layers: 4, Width: n, Batch: 5}
		rtlCfg, ltrCfg := cfg, cfg
		rtlCfg.Order, ltrCfg.Order = OrderRTL, OrderLTR
		rtl, err := NewRunner(dev, device.Float64, rtlCfg)
		require.NoError(t, err)
		ltr, err := NewRunner(dev, device.Float64, ltrCfg)
		require.NoError(t, err)
		require.NoError(t, rtl.Step())
		require.NoError(t, ltr.Step())
		require.Equal(t, 5, ltrCfg.Samples())
		got, err := ltr.chain.ltrGrad.Float64s()
		require.NoError(t, err)
		want, err := rtl.chain.rtlGrad.Float64s()
		require.NoError(t, err)
		require.Len(t, got, 5*n)
		norm := 0.0
		for _, v := range want {
			norm = max(norm, math.Abs(v))
		}
		require.Greater(t, norm, 1e-3, "a gradient of zeros would prove nothing")
		for i := range want {
			require.InDelta(t, want[i], got[i], 1e-12*max(1, norm), "N=%d element %d", n, i)
		}
		rtl.Close()
		ltr.Close()
	}
}

// startPeers starts the peers or skips the test with the reason.
func startPeers(t *testing.T) *Peers {
	t.Helper()
	p, err := StartPeers(DefaultPython(), "cpu", 1, "OMP_WAIT_POLICY=PASSIVE")
	if errors.Is(err, ErrNoTorch) {
		t.Skipf("PyTorch peers unavailable here: %v", err)
	}
	require.NoError(t, err)
	return p
}

// The peers script answers every kind of configuration with JSON times.
func TestPeersJSON(t *testing.T) {
	p := startPeers(t)
	defer func() { require.NoError(t, p.Close()) }()
	require.NotEmpty(t, p.Info.Torch)
	require.Equal(t, 1, p.Info.Threads)
	tm := Timing{Warmup: 1, MinReps: 2, MaxReps: 2}
	for _, c := range tinyTable(false) {
		if !c.OnDevice("cpu") {
			continue
		}
		res, err := p.Run("cpu", c, tm)
		require.NoError(t, err, c.Name)
		var impls []string
		for _, r := range res {
			impls = append(impls, r.Impl)
			require.Len(t, r.Times, 2, c.Name)
			for _, s := range r.Times {
				require.Greater(t, s, 0.0)
			}
		}
		require.Contains(t, impls, "torch", c.Name)
		if c.Kind == KindGemm && p.Info.Numpy != "" {
			require.Contains(t, impls, "numpy")
		}
	}
	// A bad request is an error reply, and the script keeps serving.
	_, err := p.Run("cpu", Config{Name: "bad", Kind: "nope"}, tm)
	require.ErrorContains(t, err, "unknown configuration kind")
	_, err = p.Run("cpu", tinyTable(false)[0], tm)
	require.NoError(t, err)
}

func TestPeersMissingInterpreter(t *testing.T) {
	_, err := StartPeers(filepath.Join(t.TempDir(), "no-python"), "cpu", 1)
	require.ErrorIs(t, err, ErrNoTorch)
}

// tinyTable has one small configuration of every kind.
func tinyTable(bool) []Config {
	var t []Config
	t = append(t,
		Config{Name: "gemm/NN/16", Kind: KindGemm, M: 16, N: 16, K: 16},
		Config{Name: "gemm/TN/8x12x5", Kind: KindGemm, TransA: true, M: 8, N: 12, K: 5},
		Config{Name: "gemm/NT/8x12x5", Kind: KindGemm, TransB: true, M: 8, N: 12, K: 5},
		Config{Name: "mlp/tiny/12-16-4/K8", Kind: KindMLP, Sizes: []int{12, 16, 4}, Batch: 8},
		Config{Name: "gemm/NN/99999", Kind: KindGemm, Devices: []string{"cuda"}, M: 99999, N: 99999, K: 99999},
		Config{Name: "ksweep/tiny/K2", Kind: KindKSweep, Sizes: []int{12, 16, 4}, Batch: 2},
		Config{Name: "residual/12-8x2-4/K8", Kind: KindResidual, Sizes: []int{12, 8, 4}, Blocks: 2, Batch: 8},
		Config{Name: "order/fwd/tiny", Kind: KindOrder, Order: OrderFwd, Sizes: []int{12, 16, 4}, Batch: 8},
		Config{Name: "order/grad/tiny", Kind: KindOrder, Order: OrderGrad, Sizes: []int{12, 16, 4}, Batch: 8},
	)
	for _, o := range []string{OrderRTL, OrderLTR} {
		for _, n := range []int{4, 8, 16, 32} {
			t = append(t, Config{Name: fmt.Sprintf("order/%s/N%d", o, n), Kind: KindOrder, Order: o, Layers: 3, Width: n, Batch: 4})
		}
	}
	return t
}

// Main end to end on the tiny table: table on stdout, every output file.
func TestMainTiny(t *testing.T) {
	oldTable, oldTiming := tableFor, timingFor
	tableFor = tinyTable
	timingFor = func(bool) Timing { return Timing{Warmup: 1, MinReps: 2, MaxReps: 2} }
	defer func() { tableFor, timingFor = oldTable, oldTiming }()

	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	var stdout, stderr bytes.Buffer
	args := []string{"--quick", "--device", "all", "--csv", path("b.csv"), "--json", path("b.json"),
		"--plot", path("b.png"), "--markdown", path("b.md"), "--threads", "1"}
	p, err := StartPeers(DefaultPython(), "cpu", 1)
	if err != nil {
		t.Logf("running without peers: %v", err)
		args = append(args, "--no-peers")
	} else {
		p.Close()
	}
	require.NoError(t, Main(args, &stdout, &stderr), stderr.String())
	out := stdout.String()
	for _, want := range []string{"gemm/NN/16", "mlp/tiny/12-16-4/K8", "residual/12-8x2-4/K8", "fitted log–log slopes", "gradient/forward =", "cuda: no GPU rows"} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "99999", "a cuda-only configuration ran on the cpu")
	require.Contains(t, stderr.String(), "bench [")

	var rep Report
	b, err := os.ReadFile(path("b.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	require.NotEmpty(t, rep.Rows)
	require.Equal(t, []string{"cpu"}, rep.Meta.Devices)
	require.Len(t, rep.Order, 1)
	require.Equal(t, []int{4, 8, 16, 32}, rep.Order[0].N)

	f, err := os.Open(path("b.csv"))
	require.NoError(t, err)
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	require.Equal(t, csvHeader, recs[0])
	require.Len(t, recs, len(rep.Rows)+1)

	md, err := os.ReadFile(path("b.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "adjoint bench --quick")
	require.Contains(t, string(md), strings.Split(out, "\n")[0], "the table as printed")
	require.Contains(t, string(md), "](b-order.png)")

	for _, p := range []string{"b.png", "b-order.png"} {
		st, err := os.Stat(path(p))
		require.NoError(t, err)
		require.Greater(t, st.Size(), int64(1000))
	}
}

func TestCommandLineQuotes(t *testing.T) {
	require.Equal(t, "adjoint bench --quick --note 'no GPU here' --only gemm 'it'\\''s'", commandLine([]string{"--quick", "--note", "no GPU here", "--only", "gemm", "it's"}))
}

func TestMainRejectsBadFlags(t *testing.T) {
	var out bytes.Buffer
	for _, args := range [][]string{
		{"--only", "gemm,nope"},
		{"--device", "tpu"},
		{"--threads", "0"},
		{"extra"},
		{"--no-such-flag"},
	} {
		require.Error(t, Main(args, &out, &out), "%v", args)
	}
	if _, err := device.Open("cuda"); err != nil {
		err := Main([]string{"--device", "cuda", "--no-peers"}, &out, &out)
		require.ErrorIs(t, err, device.ErrUnavailable)
	}
	// 3xTF32 is a cuda setting: a run without a cuda device refuses it
	// rather than printing FP32 rows as if they were 3xTF32 ones.
	require.ErrorContains(t, Main([]string{"--device", "cpu", "--tf32x3", "--no-peers", "--only", "gemm", "--max-size", "64"}, &out, &out),
		"--tf32x3 needs a cuda device")
	require.NoError(t, Main([]string{"-h"}, &out, &out))
	require.Contains(t, out.String(), "usage: adjoint bench")
}

// --max-size keeps exactly the configurations whose dimensions all fit.
func TestMaxSize(t *testing.T) {
	require.Equal(t, 16, Config{Kind: KindGemm, M: 16, N: 16, K: 16}.MaxDim())
	require.Equal(t, 784, Config{Kind: KindMLP, Sizes: []int{784, 512, 10}, Batch: 256}.MaxDim())
	require.Equal(t, 4096, Config{Kind: KindMLP, Sizes: []int{64, 128, 10}, Batch: 4096}.MaxDim())
	require.Equal(t, 32, Config{Kind: KindOrder, Layers: 3, Width: 32, Batch: 4}.MaxDim())

	oldTable, oldTiming := tableFor, timingFor
	tableFor = tinyTable
	timingFor = func(bool) Timing { return Timing{Warmup: 1, MinReps: 1, MaxReps: 1} }
	defer func() { tableFor, timingFor = oldTable, oldTiming }()
	var stdout, stderr bytes.Buffer
	path := filepath.Join(t.TempDir(), "b.json")
	require.NoError(t, Main([]string{"--device", "cpu", "--no-peers", "--only", "gemm,mlp", "--max-size", "12", "--json", path}, &stdout, &stderr), stderr.String())
	var rep Report
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	var names []string
	for _, r := range rep.Rows {
		names = append(names, r.Config.Name)
	}
	require.ElementsMatch(t, []string{"gemm/TN/8x12x5", "gemm/NT/8x12x5"}, names, "16-wide configurations must be skipped")

	require.ErrorContains(t, Main([]string{"--device", "cpu", "--no-peers", "--max-size", "1"}, &stdout, &stderr), "leaves no configuration")
	require.Error(t, Main([]string{"--max-size", "-1"}, &stdout, &stderr))
}
