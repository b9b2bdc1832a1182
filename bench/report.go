package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Row is the result of one configuration on one device.
type Row struct {
	Config  Config  `json:"config"`
	Device  string  `json:"device"`
	Ours    Stats   `json:"ours"`
	Torch   *Stats  `json:"torch,omitempty"`
	Numpy   *Stats  `json:"numpy,omitempty"`
	Flops   float64 `json:"flops"`
	Samples int     `json:"samples,omitempty"`
	Err     string  `json:"error,omitempty"`
	PeerErr string  `json:"peer_error,omitempty"`
}

// GFlops is the achieved rate at the median, or 0 where flops are undefined.
func (r Row) GFlops() float64 { return gflops(r.Flops, r.Ours.Median) }

func gflops(flops, sec float64) float64 {
	if flops <= 0 || sec <= 0 {
		return 0
	}
	return flops / sec / 1e9
}

// PerSample is the median time per sample, or 0 for GEMM.
func (r Row) PerSample() float64 {
	if r.Samples <= 0 {
		return 0
	}
	return r.Ours.Median / float64(r.Samples)
}

// TorchRatio is our median time over PyTorch's (below 1: we are faster),
// or 0 without a PyTorch time.
func (r Row) TorchRatio() float64 { return ratio(r.Ours, r.Torch) }

// NumpyRatio is our median time over numpy's, or 0.
func (r Row) NumpyRatio() float64 { return ratio(r.Ours, r.Numpy) }

func ratio(a Stats, b *Stats) float64 {
	if b == nil || b.Median <= 0 || a.Median <= 0 {
		return 0
	}
	return a.Median / b.Median
}

// OrderSummary is the order-of-computation result on one device: time per
// sample over N for both orders, the fitted log–log slopes, and the cost of
// a gradient over the cost of the forward pass.
type OrderSummary struct {
	Device   string    `json:"device"`
	Layers   int       `json:"layers"`
	Samples  int       `json:"samples"`
	N        []int     `json:"n"`
	RTL      []float64 `json:"rtl_s_per_sample"`
	LTR      []float64 `json:"ltr_s_per_sample"`
	RTLSlope float64   `json:"rtl_slope"`
	LTRSlope float64   `json:"ltr_slope"`
	// RatioSlope is the slope of (left to right)/(right to left) against N:
	// the counts predict 1, and the GEMM's rising efficiency with size,
	// which flattens both slopes above, largely cancels in it.
	RatioSlope float64 `json:"ratio_slope"`
	// The slopes over the largest TailN widths only (the asymptotic
	// regime, where fixed per-op costs no longer matter); 0 when the run
	// has no more than TailN widths.
	TailN        int     `json:"tail_n,omitempty"`
	RTLTailSlope float64 `json:"rtl_tail_slope,omitempty"`
	LTRTailSlope float64 `json:"ltr_tail_slope,omitempty"`
	rtlFit       [2]float64
	ltrFit       [2]float64
	// Gradient over forward on the medium MLP (0 when not run).
	GradSeconds float64 `json:"grad_s,omitempty"`
	FwdSeconds  float64 `json:"fwd_s,omitempty"`
	GradOverFwd float64 `json:"grad_over_fwd,omitempty"`
	TorchRatio  float64 `json:"torch_grad_over_fwd,omitempty"`
	GradConfig  string  `json:"grad_config,omitempty"`
	FitError    string  `json:"fit_error,omitempty"`
}

// tailWidths is how many of the largest widths the asymptotic fit uses.
const tailWidths = 3

// Summarise the order rows of one device.
func orderSummary(rows []Row, dev string) *OrderSummary {
	s := &OrderSummary{Device: dev}
	rtl, ltr := map[int]float64{}, map[int]float64{}
	var fwd, grad *Row
	for i := range rows {
		r := &rows[i]
		if r.Device != dev || r.Config.Kind != KindOrder || r.Err != "" {
			continue
		}
		switch r.Config.Order {
		case OrderRTL:
			rtl[r.Config.Width] = r.PerSample()
			s.Layers, s.Samples = r.Config.Layers, r.Config.Batch
		case OrderLTR:
			ltr[r.Config.Width] = r.PerSample()
		case OrderFwd:
			fwd = r
		case OrderGrad:
			grad = r
		}
	}
	for n := range rtl {
		if _, ok := ltr[n]; ok {
			s.N = append(s.N, n)
		}
	}
	slices.Sort(s.N)
	xs := make([]float64, len(s.N))
	for i, n := range s.N {
		xs[i] = float64(n)
		s.RTL = append(s.RTL, rtl[n])
		s.LTR = append(s.LTR, ltr[n])
	}
	if len(s.N) >= 2 {
		var err1, err2 error
		s.RTLSlope, s.rtlFit[1], err1 = FitLogLog(xs, s.RTL)
		s.LTRSlope, s.ltrFit[1], err2 = FitLogLog(xs, s.LTR)
		s.rtlFit[0], s.ltrFit[0] = s.RTLSlope, s.LTRSlope
		ratios := make([]float64, len(xs))
		for i := range xs {
			ratios[i] = s.LTR[i] / s.RTL[i]
		}
		var err3 error
		s.RatioSlope, _, err3 = FitLogLog(xs, ratios)
		if err := cmpErr(err1, err2, err3); err != nil {
			s.FitError = err.Error()
		}
		if t := len(xs) - tailWidths; t > 0 {
			s.TailN = tailWidths
			s.RTLTailSlope, _, _ = FitLogLog(xs[t:], s.RTL[t:])
			s.LTRTailSlope, _, _ = FitLogLog(xs[t:], s.LTR[t:])
		}
	}
	if fwd != nil && grad != nil {
		s.FwdSeconds, s.GradSeconds = fwd.Ours.Median, grad.Ours.Median
		s.GradOverFwd = s.GradSeconds / s.FwdSeconds
		s.GradConfig = fmt.Sprintf("%s, K = %d", sizesName(grad.Config.Sizes), grad.Config.Batch)
		if fwd.Torch != nil && grad.Torch != nil {
			s.TorchRatio = grad.Torch.Median / fwd.Torch.Median
		}
	}
	if len(s.N) == 0 && s.GradOverFwd == 0 {
		return nil
	}
	return s
}

func cmpErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Meta describes the run: machine, versions, command, settings.
type Meta struct {
	Date        string              `json:"date"`
	Command     string              `json:"command"`
	GoVersion   string              `json:"go"`
	OSArch      string              `json:"os_arch"`
	CPUModel    string              `json:"cpu_model"`
	Cores       int                 `json:"cores"`
	GOMAXPROCS  int                 `json:"gomaxprocs"`
	Threads     int                 `json:"threads"`
	CPUKernel   string              `json:"cpu_kernel,omitempty"`
	Quick       bool                `json:"quick"`
	Timing      Timing              `json:"timing"`
	Devices     []string            `json:"devices"`
	DeviceNotes map[string]string   `json:"device_notes,omitempty"`
	Peers       map[string]PeerInfo `json:"peers,omitempty"`
	PeerNote    string              `json:"peer_note,omitempty"`
	Seconds     float64             `json:"seconds"`
	// LoadStart and LoadEnd are /proc/loadavg's 1, 5 and 15 minute load
	// averages when the run began and ended (how busy the machine was).
	LoadStart string `json:"load_start,omitempty"`
	LoadEnd   string `json:"load_end,omitempty"`
	Note      string `json:"note,omitempty"` // --note`
	// GPUs names the card behind each GPU device ("cuda": "NVIDIA H100
	// 80GB HBM3"), read from the device itself so that a run without
	// peers, whose report is merged elsewhere (--from), still names it.
	GPUs map[string]string `json:"gpus,omitempty"`
}

// Report is everything a run produced.
type Report struct {
	Meta  Meta            `json:"meta"`
	Rows  []Row           `json:"rows"`
	Order []*OrderSummary `json:"order,omitempty"`
}

func fmtDur(s float64) string {
	switch {
	case s <= 0 || math.IsNaN(s):
		return "-"
	case s < 1e-6:
		return fmt.Sprintf("%.3gns", s*1e9)
	case s < 1e-3:
		return fmt.Sprintf("%.3gµs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.3gms", s*1e3)
	}
	return fmt.Sprintf("%.3gs", s)
}

func fmtNum(v float64, format string) string {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// tableHeader and tableCells define the printed table.
var tableHeader = []string{"config", "device", "median", "IQR", "GFLOP/s", "per sample", "torch", "×torch", "numpy", "×numpy"}

func tableCells(r Row) []string {
	if r.Err != "" {
		return []string{r.Config.Name, r.Device, "error: " + r.Err, "", "", "", "", "", "", ""}
	}
	c := []string{
		r.Config.Name, r.Device,
		fmtDur(r.Ours.Median), fmtNum(r.Ours.Spread(), "%.1f%%"),
		fmtNum(r.GFlops(), "%.1f"), fmtDur(r.PerSample()),
		"-", "-", "-", "-",
	}
	if r.Torch != nil {
		c[6], c[7] = fmtDur(r.Torch.Median), fmtNum(r.TorchRatio(), "%.2f")
	}
	if r.Numpy != nil {
		c[8], c[9] = fmtDur(r.Numpy.Median), fmtNum(r.NumpyRatio(), "%.2f")
	}
	return c
}

// WriteTable prints the rows as an aligned text table: first two columns
// left-aligned, the numbers right-aligned.
func WriteTable(w io.Writer, rows []Row) error {
	cells := [][]string{tableHeader}
	for _, r := range rows {
		cells = append(cells, tableCells(r))
	}
	isErr := func(row []string) bool { return strings.HasPrefix(row[2], "error: ") }
	width := make([]int, len(tableHeader))
	for _, row := range cells {
		for i, c := range row {
			if i < 2 || !isErr(row) {
				width[i] = max(width[i], utf8.RuneCountInString(c))
			}
		}
	}
	var b strings.Builder
	for _, row := range cells {
		var line strings.Builder
		for i, c := range row {
			if isErr(row) && i > 2 {
				break
			}
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", max(0, width[i]-utf8.RuneCountInString(c)))
			switch {
			case isErr(row) && i == 2:
				line.WriteString(c)
			case i < 2:
				line.WriteString(c + pad)
			default:
				line.WriteString(pad + c)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteOrder prints the order-of-computation summary of each device.
func WriteOrder(w io.Writer, sums []*OrderSummary) error {
	var b strings.Builder
	for _, s := range sums {
		if len(s.N) > 0 {
			fmt.Fprintf(&b, "\nOrder of computation on %s: gradient of ρ = ‖t − z_M‖² wrt the input of a chain of M = %d dense N×N tanh layers, time per sample (K = %d):\n", s.Device, s.Layers, s.Samples)
			fmt.Fprintf(&b, "  %6s  %16s  %16s  %8s\n", "N", "right to left", "left to right", "ltr/rtl")
			for i, n := range s.N {
				fmt.Fprintf(&b, "  %6d  %16s  %16s  %8.1f\n", n, fmtDur(s.RTL[i]), fmtDur(s.LTR[i]), s.LTR[i]/s.RTL[i])
			}
			if s.FitError != "" {
				fmt.Fprintf(&b, "  log–log fit failed: %s\n", s.FitError)
			} else {
				fmt.Fprintf(&b, "  fitted log–log slopes (least squares over N = %d…%d): right to left (back propagation) %.2f (expect ≈ 2), left to right (Jacobian products) %.2f (expect ≈ 3)\n",
					s.N[0], s.N[len(s.N)-1], s.RTLSlope, s.LTRSlope)
				fmt.Fprintf(&b, "  slope of ltr/rtl: %.2f (expect ≈ 1: left to right costs N times more per sample)\n", s.RatioSlope)
				if s.TailN > 0 {
					t := len(s.N) - s.TailN
					fmt.Fprintf(&b, "  over the largest %d widths (N = %d…%d): right to left %.2f, left to right %.2f\n", s.TailN, s.N[t], s.N[len(s.N)-1], s.RTLTailSlope, s.LTRTailSlope)
				}
			}
		}
		if s.GradOverFwd > 0 {
			fmt.Fprintf(&b, "\nCheap gradient on %s (MLP %s): gradient/forward = %.2f (forward %s, forward + backward %s; expect ≤ ~3)",
				s.Device, s.GradConfig, s.GradOverFwd, fmtDur(s.FwdSeconds), fmtDur(s.GradSeconds))
			if s.TorchRatio > 0 {
				fmt.Fprintf(&b, "; PyTorch: %.2f", s.TorchRatio)
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// csvHeader lists the CSV columns; times are in seconds.
var csvHeader = []string{"config", "kind", "device", "reps", "median_s", "q1_s", "q3_s", "min_s", "max_s", "iqr_pct", "flops", "gflops", "samples", "per_sample_s",
	"torch_median_s", "torch_iqr_pct", "torch_ratio", "numpy_median_s", "numpy_ratio", "error"}

// WriteCSV writes one line per row.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(v float64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	for _, r := range rows {
		rec := []string{r.Config.Name, string(r.Config.Kind), r.Device, strconv.Itoa(r.Ours.Reps),
			f(r.Ours.Median), f(r.Ours.Q1), f(r.Ours.Q3), f(r.Ours.Min), f(r.Ours.Max), f(r.Ours.Spread()),
			f(r.Flops), f(r.GFlops()), strconv.Itoa(r.Samples), f(r.PerSample()), "", "", "", "", "", r.Err}
		if r.Torch != nil {
			rec[14], rec[15], rec[16] = f(r.Torch.Median), f(r.Torch.Spread()), f(r.TorchRatio())
		}
		if r.Numpy != nil {
			rec[17], rec[18] = f(r.Numpy.Median), f(r.NumpyRatio())
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the whole report.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteMarkdown writes a complete BENCHMARKS.md for one run: machine,
// date, versions, the command, the table and the order-of-computation
// results exactly as the command printed them, and links to the charts
// (paths relative to the markdown file; empty for none).
func WriteMarkdown(w io.Writer, rep *Report, table, order string, charts ...string) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Generated by `adjoint bench` (package `bench`; methodology in `bench/doc.go`). Every figure below was printed by the command named here, in one run; regenerate this file with the same command.\n\n")
	fmt.Fprintf(&b, "- Command: `%s`\n", rep.Meta.Command)
	writeMeta(&b, rep.Meta)
	b.WriteString("\n" + columnsText)
	writeResults(&b, table, order, charts)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMergedMarkdown writes a complete BENCHMARKS.md from saved reports
// (--from). The runs behind them may have been made on different machines
// (a GPU run happens on a GPU host without Go), so each keeps its own
// section: the command that measured it, machine, date, peers and card.
// command is the --from command that wrote this file and regenerates it;
// table and order are the merged text as printed; charts as WriteMarkdown.
func WriteMergedMarkdown(w io.Writer, command string, srcs []Source, table, order string, charts ...string) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	fmt.Fprintf(&b, "Generated by `adjoint bench` (package `bench`; methodology in `bench/doc.go`) from the JSON reports of %s, each described in its own section below with the machine it ran on and the command that measured it. The runs may come from different machines: a GPU run is made on a GPU host, and its `--json` report is saved next to the others. Regenerate this file, from the same reports, with the command named here.\n\n", runsText(len(srcs)))
	fmt.Fprintf(&b, "- Command: `%s`\n", command)
	for i, s := range srcs {
		fmt.Fprintf(&b, "- Run %d: %s\n", i+1, runTitle(s))
	}
	b.WriteString("\n" + columnsText)
	for i, s := range srcs {
		fmt.Fprintf(&b, "\n## Run %d: %s\n\n", i+1, runTitle(s))
		fmt.Fprintf(&b, "- Measured by: `%s`\n", s.Report.Meta.Command)
		writeMeta(&b, s.Report.Meta)
	}
	writeResults(&b, table, order, charts)
	_, err := io.WriteString(w, b.String())
	return err
}

// runsText is "1 run" or "n runs".
func runsText(n int) string {
	if n == 1 {
		return "1 run"
	}
	return fmt.Sprintf("%d runs", n)
}

// runTitle names a saved run by its devices, their cards and its file.
func runTitle(s Source) string {
	m := s.Report.Meta
	var devs []string
	for _, d := range m.Devices {
		if c := cardName(m, d); c != "" {
			d += " (" + c + ")"
		}
		devs = append(devs, d)
	}
	if len(devs) == 0 {
		devs = []string{"no devices"}
	}
	return fmt.Sprintf("%s, from `%s`", strings.Join(devs, ", "), filepath.ToSlash(s.Path))
}

// cardName is the GPU behind device d: as the device named it, else as the
// PyTorch peer did (reports written before Meta.GPUs existed), else "".
func cardName(m Meta, d string) string {
	if c := m.GPUs[d]; c != "" {
		return c
	}
	return m.Peers[d].Card
}

// columnsText explains the table's columns.
const columnsText = "Columns: `median` is the time of one repetition (one GEMM, one training step, one chain of K samples); `GFLOP/s` uses 2mnk for GEMM and 6·K·Σ in·out for a training step; `per sample` is median/K; `torch` and `numpy` are the peers' medians measured in the same run, interleaved with ours; `×torch` and `×numpy` are our time over theirs (below 1: faster than the peer).\n"

// writeMeta writes the list items that describe one run after its command:
// driver, date, machine, load, Go, peers, cards, devices, notes, timing.
func writeMeta(b *strings.Builder, m Meta) {
	if !strings.HasPrefix(m.Command, "adjoint bench") {
		b.WriteString("- Driver: the command above called `bench.Main` with these flags because `cmd/adjoint` did not call it yet; `adjoint bench` with the same flags runs the same code.\n")
	}
	fmt.Fprintf(b, "- Date: %s (run took %.0f s)\n", m.Date, m.Seconds)
	fmt.Fprintf(b, "- Machine: %s, %d logical CPUs, %s; GOMAXPROCS %d, threads %d", m.CPUModel, m.Cores, m.OSArch, m.GOMAXPROCS, m.Threads)
	if m.CPUKernel != "" {
		fmt.Fprintf(b, ", CPU GEMM kernel %s", m.CPUKernel)
	}
	b.WriteString("\n")
	if m.LoadStart != "" {
		fmt.Fprintf(b, "- Load average (1, 5, 15 min) at start: %s; at end: %s\n", m.LoadStart, m.LoadEnd)
	}
	fmt.Fprintf(b, "- Go: %s\n", m.GoVersion)
	for _, d := range m.Devices {
		if c := cardName(m, d); c != "" {
			fmt.Fprintf(b, "- GPU on %s: %s\n", d, c)
		}
	}
	for _, d := range m.Devices {
		if p, ok := m.Peers[d]; ok {
			fmt.Fprintf(b, "- Peers on %s: PyTorch %s (%d threads), numpy %s, Python %s", d, p.Torch, p.Threads, p.Numpy, p.Python)
			if p.BLAS != "" {
				fmt.Fprintf(b, ", system BLAS %s", p.BLAS)
			}
			if len(p.Env) > 0 {
				fmt.Fprintf(b, ", %s", strings.Join(p.Env, " "))
			}
			if p.Card != "" {
				fmt.Fprintf(b, ", card %s", p.Card)
			}
			if p.TF32 != "" {
				fmt.Fprintf(b, ", TF32 off (%s)", p.TF32)
			}
			b.WriteString("\n")
		}
	}
	if m.PeerNote != "" {
		fmt.Fprintf(b, "- Peers: %s\n", m.PeerNote)
	}
	fmt.Fprintf(b, "- Devices: %s\n", strings.Join(m.Devices, ", "))
	for _, d := range slices.Sorted(maps.Keys(m.DeviceNotes)) {
		fmt.Fprintf(b, "- %s: %s\n", d, m.DeviceNotes[d])
	}
	if m.Note != "" {
		fmt.Fprintf(b, "- Note: %s\n", m.Note)
	}
	quick := ""
	if m.Quick {
		quick = " (--quick)"
	}
	fmt.Fprintf(b, "- Timing%s: %d warm-up run(s), then at least %d repetitions and %.3g s (at most %d); median and interquartile range (IQR, %% of the median)\n",
		quick, m.Timing.Warmup, m.Timing.MinReps, m.Timing.MinTime, m.Timing.MaxReps)
}

// writeResults writes the results table, the order-of-computation text and
// the chart links.
func writeResults(b *strings.Builder, table, order string, charts []string) {
	b.WriteString("\n## Results\n\n```text\n")
	b.WriteString(table)
	b.WriteString("```\n")
	if len(charts) > 0 && charts[0] != "" {
		fmt.Fprintf(b, "\n![Our time over PyTorch's, per configuration](%s)\n", filepath.ToSlash(charts[0]))
	}
	if strings.TrimSpace(order) != "" {
		b.WriteString("\n## Order of computation and the cheap gradient\n\n```text\n")
		b.WriteString(strings.TrimLeft(order, "\n"))
		b.WriteString("```\n")
		if len(charts) > 1 && charts[1] != "" {
			fmt.Fprintf(b, "\n![Time per sample against N, log–log, both orders of computation](%s)\n", filepath.ToSlash(charts[1]))
		}
	}
}

// writeFile creates path and calls write on it.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("bench: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: writing %s: %w", path, err)
	}
	return nil
}
