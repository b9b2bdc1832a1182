package bench

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// synthReport is a report as a run on dev would write it, with made-up
// times: GEMM and MLP rows with PyTorch times, and on the CPU the order
// rows (so that the order summary and its fits exist). card, when set, is
// the GPU's name as the device and the peer report it.
func synthReport(dev, card, command string) *Report {
	st := func(med float64) Stats {
		return Stats{Reps: 10, Median: med, Q1: 0.9 * med, Q3: 1.1 * med, Min: 0.8 * med, Max: 1.3 * med}
	}
	pst := func(med float64) *Stats { s := st(med); return &s }
	cfgs := []Config{
		{Name: "gemm/NN/64", Kind: KindGemm, M: 64, N: 64, K: 64},
		{Name: "mlp/small/64-128-10/K64", Kind: KindMLP, Sizes: []int{64, 128, 10}, Batch: 64},
	}
	if card == "" {
		for _, o := range []string{OrderRTL, OrderLTR} {
			for _, n := range []int{16, 32, 64, 128} {
				cfgs = append(cfgs, Config{Name: fmt.Sprintf("order/%s/N%d", o, n), Kind: KindOrder, Order: o, Layers: 4, Width: n, Batch: 8})
			}
		}
	}
	var rows []Row
	for i, c := range cfgs {
		med := 1e-4 * float64(i+1)
		if c.Kind == KindOrder {
			p := 2.0
			if c.Order == OrderLTR {
				p = 3
			}
			med = 1e-9 * math.Pow(float64(c.Width), p) * float64(c.Batch)
		}
		r := Row{Config: c, Device: dev, Ours: st(med), Flops: c.Flops(), Samples: c.Samples()}
		if c.Kind != KindOrder {
			r.Torch = pst(1.25 * med)
		}
		rows = append(rows, r)
	}
	peer := PeerInfo{OK: true, Torch: "2.5.0", Numpy: "2.1.0", Python: "3.12.3", Threads: 2, Env: []string{"OMP_WAIT_POLICY=PASSIVE"}}
	m := Meta{
		Date: "2026-11-27 00:40 UTC", Command: command, GoVersion: "go1.26.8", OSArch: "linux/amd64",
		CPUModel: "Test CPU " + dev, Cores: 2, GOMAXPROCS: 2, Threads: 2, Timing: QuickTiming,
		Devices: []string{dev}, Peers: map[string]PeerInfo{dev: peer}, Seconds: 12, LoadStart: "0.1 0.2 0.3", LoadEnd: "0.4 0.5 0.6",
	}
	if card != "" {
		peer.CUDA, peer.Card = true, card
		m.Peers[dev] = peer
		m.GPUs = map[string]string{dev: card}
		m.Quick = true
	} else {
		m.CPUKernel = "avx2"
		m.DeviceNotes = map[string]string{"cuda": "no GPU rows: built without CUDA"}
		m.Note = "no GPU here"
	}
	return &Report{Meta: m, Rows: rows, Order: orderSummaries(rows)}
}

// saveReport writes rep with WriteJSON into dir/name and returns the path.
func saveReport(t *testing.T, dir, name string, rep *Report) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, writeFile(path, func(w io.Writer) error { return WriteJSON(w, rep) }))
	return path
}

func TestReportJSONRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		rep  *Report
	}{
		{"cpu", synthReport("cpu", "", "adjoint bench --json cpu.json")},
		{"cuda", synthReport("cuda", "NVIDIA H100 80GB HBM3", "adjoint bench --device cuda --quick --json h100.json")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := saveReport(t, dir, tc.name+".json", tc.rep)
			got, err := ReadReports(path)
			require.NoError(t, err)
			require.Len(t, got, 1)
			// Equal compares the unexported fits too: the loader rebuilds them.
			require.Equal(t, tc.rep, got[0])
		})
	}
}

func TestFromMergesReports(t *testing.T) {
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	cpuRep := synthReport("cpu", "", "adjoint bench --json bench/reports/cpu.json --note 'no GPU here'")
	gpuRep := synthReport("cuda", "NVIDIA H100 80GB HBM3", "adjoint bench --device cuda --only gemm,mlp --quick --json bench.json")
	cpuPath := saveReport(t, dir, "cpu.json", cpuRep)
	gpuPath := saveReport(t, dir, "h100.json", gpuRep)

	args := []string{"--from", cpuPath + "," + gpuPath, "--markdown", path("B.md"), "--plot", path("chart.png"),
		"--csv", path("all.csv"), "--json", path("all.json")}
	var stdout, stderr bytes.Buffer
	require.NoError(t, Main(args, &stdout, &stderr), stderr.String())

	b, err := os.ReadFile(path("B.md"))
	require.NoError(t, err)
	md := string(b)
	for _, want := range []string{
		"- Command: `" + commandLine(args) + "`",
		"## Run 1: cpu, from `" + filepath.ToSlash(cpuPath) + "`",
		"## Run 2: cuda (NVIDIA H100 80GB HBM3), from `" + filepath.ToSlash(gpuPath) + "`",
		"- Measured by: `" + cpuRep.Meta.Command + "`",
		"- Measured by: `" + gpuRep.Meta.Command + "`",
		"- Machine: Test CPU cpu,", "- Machine: Test CPU cuda,",
		"- GPU on cuda: NVIDIA H100 80GB HBM3",
		"- Note: no GPU here",
		"- Timing (--quick):",
		"](chart.png)", "](chart-order.png)",
		"fitted log–log slopes",
	} {
		assert.Contains(t, md, want)
	}
	for _, row := range []string{`gemm/NN/64\s+cpu\s`, `gemm/NN/64\s+cuda\s`, `mlp/small/64-128-10/K64\s+cpu\s`, `mlp/small/64-128-10/K64\s+cuda\s`} {
		assert.Regexp(t, regexp.MustCompile(row), md)
		assert.Regexp(t, regexp.MustCompile(row), stdout.String())
	}
	assert.Contains(t, md, strings.Split(stdout.String(), "\n")[0], "the table as printed")
	assert.Less(t, strings.Index(md, "## Run 2"), strings.Index(md, "## Results"), "the run sections come before the results")

	for _, p := range []string{"chart.png", "chart-order.png"} {
		st, err := os.Stat(path(p))
		require.NoError(t, err)
		require.Greater(t, st.Size(), int64(1000))
	}
	csvText, err := os.ReadFile(path("all.csv"))
	require.NoError(t, err)
	assert.Equal(t, 1+len(cpuRep.Rows)+len(gpuRep.Rows), strings.Count(string(csvText), "\n"))

	// --json with several reports writes them as an array, which --from reads back.
	again, err := ReadReports(path("all.json"))
	require.NoError(t, err)
	require.Equal(t, []*Report{cpuRep, gpuRep}, again)
}

// Two runs on one device merge, with a warning: their rows look alike.
func TestFromWarnsOfTwoRunsOnADevice(t *testing.T) {
	dir := t.TempDir()
	a := saveReport(t, dir, "a.json", synthReport("cpu", "", "adjoint bench --json a.json"))
	b := saveReport(t, dir, "b.json", synthReport("cpu", "", "adjoint bench --json b.json"))
	var stdout, stderr bytes.Buffer
	require.NoError(t, Main([]string{"--from", a + "," + b}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "two runs on device cpu (from "+a+" and "+b+")")
	assert.Equal(t, 2, strings.Count(stdout.String(), "\ngemm/NN/64 "))
}

// A report written before Meta.GPUs existed names its card only in the
// PyTorch peer's setup; the markdown takes it from there.
func TestCardFromPeers(t *testing.T) {
	rep := synthReport("cuda", "Tesla T4", "adjoint bench --device cuda")
	rep.Meta.GPUs = nil
	var b strings.Builder
	require.NoError(t, WriteMergedMarkdown(&b, "adjoint bench --from t4.json", []Source{{"t4.json", rep}}, "", ""))
	assert.Contains(t, b.String(), "## Run 1: cuda (Tesla T4), from `t4.json`")
	assert.Contains(t, b.String(), "- GPU on cuda: Tesla T4")
}

func TestFromErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	good := saveReport(t, dir, "good.json", synthReport("cpu", "", "adjoint bench"))
	missing := filepath.Join(dir, "missing.json")
	broken := write("broken.json", `{"meta": {"command": "adjoint bench"}, "rows": [`)
	notReport := write("other.json", `{"accuracy": 0.97}`)
	empty := write("empty.json", `[]`)
	for _, tc := range []struct {
		name string
		args []string
		want []string // substrings of the error
		is   error
	}{
		{"missing file", []string{"--from", missing}, []string{missing}, fs.ErrNotExist},
		{"missing second file", []string{"--from", good + "," + missing}, []string{missing}, fs.ErrNotExist},
		{"malformed JSON", []string{"--from", broken}, []string{broken, "invalid JSON"}, nil},
		{"not a report", []string{"--from", notReport}, []string{notReport, "not written by adjoint bench --json"}, nil},
		{"empty array", []string{"--from", empty}, []string{empty, "no report"}, nil},
		{"empty name", []string{"--from", good + ",,"}, []string{"empty file name"}, nil},
		{"no file", []string{"--from", ""}, []string{"empty file name"}, nil},
		{"with --quick", []string{"--from", good, "--quick"}, []string{"--quick", "runs nothing"}, nil},
		{"with run flags", []string{"--only", "gemm", "--from", good, "--device", "cpu", "--no-peers", "--threads", "1", "--note", "x"},
			[]string{"--device, --no-peers, --note, --only, --threads"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Main(tc.args, &out, &out)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Empty(t, out.String(), "nothing printed before the error")
		})
	}
}
