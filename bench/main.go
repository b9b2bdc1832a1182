package bench

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/adjoint-go/adjoint/cpu" // registers the "cpu" device
	"github.com/adjoint-go/adjoint/device"
)

// Invocation is how the command is named in reports (BENCHMARKS.md's
// "Command" line): the arguments follow it. A driver other than
// `adjoint bench` sets it to its own invocation.
var Invocation = "adjoint bench"

// tableFor and timingFor give the configuration table and the timing Main
// uses; tests replace them with tiny ones.
var (
	tableFor  = Table
	timingFor = func(quick bool) Timing {
		if quick {
			return QuickTiming
		}
		return FullTiming
	}
)

const usage = `usage: adjoint bench [flags]
       adjoint bench --from FILE[,FILE...] [--markdown F] [--plot F] [--csv F] [--json F]

Runs the benchmark table on every device this build has (cpu always; cuda
when device.Open("cuda") works) and, when %s can import torch, the same
configurations in PyTorch (and numpy for GEMM) side by side in the same run.
Prints a table on stdout and progress on stderr.

With --from it runs nothing: it reads reports saved earlier with --json
(for example a CPU run here and a GPU run from a GPU host) and writes the
table and the outputs from them, merged; see the doc of package bench.

flags:
`

// UsageError is the error Main returns for a bad command line (an unknown
// flag, a bad value, flags that do not go together), so that a driver can
// tell it from a failed run: adjoint exits with status 2 for it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// Main runs the bench command with args (without the command name).
func Main(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var (
		quick    = fs.Bool("quick", false, "run the modest subset (under 2 minutes on a 2-core machine, peers included)")
		devFlag  = fs.String("device", "all", "cpu, cuda, or all (every device this build and machine have)")
		csvPath  = fs.String("csv", "", "write the results as CSV to `file`")
		jsonPath = fs.String("json", "", "write the full report as JSON to `file`")
		plotPath = fs.String("plot", "", "draw the time-over-PyTorch bar chart to `file` (.png, .svg, .pdf) and the order-of-computation chart to <file>-order.<ext>")
		mdPath   = fs.String("markdown", "", "write a complete BENCHMARKS.md (machine, date, command, table, slopes) to `file`")
		noPeers  = fs.Bool("no-peers", false, "do not run the PyTorch/numpy peers")
		only     = fs.String("only", "", "comma-separated benchmarks to run: "+kindList()+" (default all)")
		maxSize  = fs.Int("max-size", 0, "skip the configurations with a matrix dimension (GEMM m, n, k; a layer width; a batch) over `n`; 0 keeps all (a quick look on a slow device, or a dry run of a GPU bundle on an emulated one)")
		python   = fs.String("python", DefaultPython(), "Python interpreter for the peers (needs torch; numpy optional)")
		threads  = fs.Int("threads", runtime.GOMAXPROCS(0), "CPU threads for our GEMM and for torch.set_num_threads")
		kernel   = fs.String("cpu-kernel", "auto", "CPU GEMM micro-kernel (cpu.WithKernel)")
		note     = fs.String("note", "", "a remark to record in the JSON and markdown reports (for example where a GPU was not available)")
		ompWait  = fs.String("omp-wait-policy", "PASSIVE", "OMP_WAIT_POLICY for the peers' OpenMP threads (empty: the environment's); PASSIVE keeps PyTorch from losing whole time slices to spinning on a busy machine")
		tf32x3   = fs.Bool("tf32x3", false, "cuda: allow products of at least 2^30 flops to run on tensor cores with 3xTF32 (Device.AllowTF32x3) when autotuning finds it faster; the PyTorch peers keep TF32 off")
		from     = fs.String("from", "", "run nothing: read the reports saved earlier with --json from the comma-separated `files` and write the table, --markdown, --plot, --csv and --json from them, merged (each run keeps its own machine, date and command); only those output flags may go with it")
	)
	// The flag package prints the usage on every parse error; only -h
	// should, and an error should stay one line.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, usage, DefaultPython())
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return nil
		}
		return usagef("bench: %v (see adjoint bench -h)", err)
	}
	if fs.NArg() > 0 {
		return usagef("bench: unexpected arguments %q (flags only; see adjoint bench -h)", fs.Args())
	}
	outs := outputs{csv: *csvPath, json: *jsonPath, plot: *plotPath, markdown: *mdPath}
	if isSet(fs, "from") {
		if err := checkFromFlags(fs); err != nil {
			return err
		}
		return fromReports(*from, commandLine(args), outs, stdout, stderr)
	}
	kinds, err := ParseOnly(*only)
	if err != nil {
		return err
	}
	if *threads < 1 {
		return usagef("bench: --threads %d: want at least 1", *threads)
	}
	if *maxSize < 0 {
		return usagef("bench: --max-size %d: want 0 (no limit) or a positive size", *maxSize)
	}
	tm := timingFor(*quick)
	start := time.Now()
	rep := &Report{Meta: Meta{
		Date:        start.UTC().Format("2006-01-02 15:04 MST"),
		Command:     commandLine(args),
		GoVersion:   runtime.Version(),
		OSArch:      runtime.GOOS + "/" + runtime.GOARCH,
		CPUModel:    cpuModel(),
		Cores:       runtime.NumCPU(),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		Threads:     *threads,
		Quick:       *quick,
		Timing:      tm,
		DeviceNotes: map[string]string{},
		LoadStart:   loadAvg(),
		Note:        *note,
		Peers:       map[string]PeerInfo{},
	}}

	// Devices.
	type namedDev struct {
		name string
		dev  device.Device
	}
	var devs []namedDev
	switch *devFlag {
	case "cpu", "all":
		c, err := cpu.New(cpu.WithKernel(*kernel), cpu.WithThreads(*threads))
		if err != nil {
			return fmt.Errorf("bench: opening the cpu device: %w", err)
		}
		rep.Meta.CPUKernel = c.Kernel()
		devs = append(devs, namedDev{"cpu", c})
		if *devFlag == "cpu" {
			break
		}
		fallthrough
	case "cuda":
		d, err := device.Open("cuda")
		if err != nil {
			if *devFlag == "cuda" {
				return fmt.Errorf("bench: %w", err)
			}
			rep.Meta.DeviceNotes["cuda"] = "no GPU rows: " + err.Error()
			break
		}
		if g, ok := d.(interface{ GPU() string }); ok && g.GPU() != "" {
			rep.Meta.GPUs = map[string]string{"cuda": g.GPU()}
		}
		if *tf32x3 {
			a, ok := d.(tf32x3Allower)
			if !ok {
				return fmt.Errorf("bench: --tf32x3: the cuda device %s cannot run 3xTF32", d.Name())
			}
			a.AllowTF32x3(true)
			rep.Meta.DeviceNotes["cuda"] = "3xTF32 allowed (--tf32x3): products of at least 2^30 flops may run on tensor cores"
		}
		devs = append(devs, namedDev{"cuda", d})
	default:
		return usagef("bench: --device %q: want cpu, cuda or all", *devFlag)
	}

	if *tf32x3 && len(devs) > 0 && devs[len(devs)-1].name != "cuda" {
		return usagef("bench: --tf32x3 needs a cuda device (--device %s opened none)", *devFlag)
	}
	cfgs := Select(tableFor(*quick), kinds)
	if *maxSize > 0 {
		cfgs = slices.DeleteFunc(cfgs, func(c Config) bool { return c.MaxDim() > *maxSize })
		if len(cfgs) == 0 {
			return usagef("bench: --max-size %d leaves no configuration to run", *maxSize)
		}
	}
	type job struct {
		dev namedDev
		cfg Config
	}
	var jobs []job
	for _, d := range devs {
		rep.Meta.Devices = append(rep.Meta.Devices, d.name)
		for _, c := range cfgs {
			if c.OnDevice(d.name) {
				jobs = append(jobs, job{d, c})
			}
		}
	}

	prog := newProgress(stderr, len(jobs))
	peers := map[string]*Peers{}
	defer func() {
		for _, p := range peers {
			p.Close()
		}
	}()
	if *noPeers {
		rep.Meta.PeerNote = "not run (--no-peers)"
	}
	failed := 0
	for i, j := range jobs {
		name := j.dev.name
		var pr *Peers
		if !*noPeers && rep.Meta.PeerNote == "" {
			if p, ok := peers[name]; ok {
				pr = p
			} else {
				prog.show(i, name, "starting the PyTorch peers ("+*python+")")
				var env []string
				if *ompWait != "" {
					env = append(env, "OMP_WAIT_POLICY="+*ompWait)
				}
				p, err := StartPeers(*python, name, *threads, env...)
				if err != nil {
					rep.Meta.PeerNote = "skipped: " + err.Error()
					prog.note("PyTorch peers skipped: " + err.Error())
				} else {
					peers[name] = p
					p.Info.Env = env
					rep.Meta.Peers[name] = p.Info
					pr = p
					if strings.Contains(p.Info.BLAS, "/blas/libblas") {
						prog.note("warning: the system BLAS is the reference implementation (" + p.Info.BLAS +
							"); torch and numpy will be far slower than usual: install libopenblas0-pthread")
					}
				}
			}
		}
		row := Row{Config: j.cfg, Device: name, Flops: j.cfg.Flops(), Samples: j.cfg.Samples()}
		prog.show(i, name, j.cfg.Name+" (ours)")
		if err := runOurs(j.dev.dev, j.cfg, tm, &row); err != nil {
			row.Err = err.Error()
			failed++
		}
		if pr != nil && row.Err == "" {
			prog.show(i, name, j.cfg.Name+" (torch)")
			res, err := pr.Run(name, j.cfg, tm)
			if err != nil {
				row.PeerErr = err.Error()
				prog.note(err.Error())
			}
			for _, r := range res {
				s := Summarize(r.Times)
				switch r.Impl {
				case "torch":
					row.Torch = &s
				case "numpy":
					row.Numpy = &s
				}
			}
		}
		rep.Rows = append(rep.Rows, row)
	}
	prog.done()
	rep.Order = orderSummaries(rep.Rows)
	rep.Meta.Seconds = time.Since(start).Seconds()
	rep.Meta.LoadEnd = loadAvg()

	txt, err := renderText(rep.Rows, rep.Order)
	if err != nil {
		return err
	}
	var footer strings.Builder
	writeNotes(&footer, rep.Meta)
	if rep.Meta.LoadStart != "" {
		fmt.Fprintf(&footer, "\nLoad average (1, 5, 15 min): %s at start, %s at end; %d logical CPUs\n", rep.Meta.LoadStart, rep.Meta.LoadEnd, rep.Meta.Cores)
	}
	if err := txt.print(stdout, footer.String()); err != nil {
		return err
	}
	err = outs.write(rep.Rows, rep.Order,
		func(w io.Writer) error { return WriteJSON(w, rep) },
		func(w io.Writer, charts []string) error {
			return WriteMarkdown(w, rep, txt.table, txt.order, charts...)
		})
	if failed > 0 {
		err = errors.Join(err, fmt.Errorf("bench: %d of %d configurations failed (see the table)", failed, len(jobs)))
	}
	return err
}

// isSet reports whether the command line set flag name.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// checkFromFlags rejects run flags next to --from: they would configure a
// run that --from does not make, and silently ignoring them would let a
// reader believe, say, that --quick changed the numbers.
func checkFromFlags(fs *flag.FlagSet) error {
	var bad []string
	fs.Visit(func(f *flag.Flag) {
		if !fromFlags[f.Name] {
			bad = append(bad, "--"+f.Name)
		}
	})
	if len(bad) > 0 {
		return usagef("bench: --from writes reports from saved runs and runs nothing, so %s cannot go with it (only --markdown, --plot, --csv and --json can)", strings.Join(bad, ", "))
	}
	return nil
}

// printed is the results as the command prints them: the table and the
// order-of-computation summary, which BENCHMARKS.md repeats verbatim.
type printed struct{ table, order string }

func renderText(rows []Row, order []*OrderSummary) (printed, error) {
	var table, ord strings.Builder
	if err := WriteTable(&table, rows); err != nil {
		return printed{}, err
	}
	if err := WriteOrder(&ord, order); err != nil {
		return printed{}, err
	}
	return printed{table.String(), ord.String()}, nil
}

// print writes the table, the order summary and footer to w.
func (t printed) print(w io.Writer, footer string) error {
	out := bufio.NewWriter(w)
	out.WriteString(t.table)
	out.WriteString(t.order)
	out.WriteString(footer)
	return out.Flush()
}

// writeNotes writes a run's device notes, GPU cards and peer note as the
// command prints them below the table.
func writeNotes(b *strings.Builder, m Meta) {
	for _, d := range slices.Sorted(maps.Keys(m.DeviceNotes)) {
		fmt.Fprintf(b, "\n%s: %s\n", d, m.DeviceNotes[d])
	}
	for _, d := range m.Devices {
		if c := cardName(m, d); c != "" {
			fmt.Fprintf(b, "\n%s: GPU %s\n", d, c)
		}
	}
	if m.PeerNote != "" {
		fmt.Fprintf(b, "\nPyTorch/numpy peers: %s\n", m.PeerNote)
	}
}

// outputs are the files the command writes besides the table on stdout.
type outputs struct{ csv, json, plot, markdown string }

// write writes every requested output from rows and order; writeJSON and
// writeMD write the report and the markdown (given the charts' links).
func (o outputs) write(rows []Row, order []*OrderSummary, writeJSON func(io.Writer) error, writeMD func(w io.Writer, charts []string) error) error {
	var errs []error
	if o.csv != "" {
		errs = append(errs, writeFile(o.csv, func(w io.Writer) error { return WriteCSV(w, rows) }))
	}
	if o.json != "" {
		errs = append(errs, writeFile(o.json, writeJSON))
	}
	if o.markdown != "" {
		var charts []string
		if o.plot != "" {
			charts = append(charts, relTo(o.markdown, o.plot))
			if len(order) > 0 {
				charts = append(charts, relTo(o.markdown, OrderPlotPath(o.plot)))
			}
		}
		errs = append(errs, writeFile(o.markdown, func(w io.Writer) error { return writeMD(w, charts) }))
	}
	if o.plot != "" {
		errs = append(errs, PlotRatios(o.plot, rows))
		if len(order) > 0 {
			errs = append(errs, PlotOrder(OrderPlotPath(o.plot), order))
		}
	}
	return errors.Join(errs...)
}

// runOurs times c on dev into row.
func runOurs(dev device.Device, c Config, tm Timing, row *Row) (err error) {
	defer func() {
		// A shape or device misuse panics by convention; report it as this
		// configuration's failure rather than stopping the whole run.
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	r, err := NewRunner(dev, device.Float32, c)
	if err != nil {
		return err
	}
	defer r.Close()
	times, err := Measure(tm, r.Step)
	if err != nil {
		return err
	}
	row.Ours = Summarize(times)
	return nil
}

// commandLine is Invocation and args, quoted for a POSIX shell.
func commandLine(args []string) string {
	parts := []string{Invocation}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// relTo returns path relative to the directory of file (for links from a
// markdown file), or path itself when no relative path exists.
func relTo(file, path string) string {
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return path
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(dir, abs); err == nil {
		return r
	}
	return path
}

// loadAvg returns the 1, 5 and 15 minute load averages (Linux), or "".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// cpuModel reads the processor name (Linux), or describes the architecture.
func cpuModel() string {
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH + " CPU"
}

// progress shows what runs now on stderr: one rewritten line on a
// terminal, one line per step otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	total int
	start time.Time
	dirty bool
}

func newProgress(w io.Writer, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty, total: total, start: time.Now()}
}

func (p *progress) show(i int, dev, what string) {
	msg := fmt.Sprintf("bench [%*d/%d %4.0fs] %s %s", len(fmt.Sprint(p.total)), i+1, p.total, time.Since(p.start).Seconds(), dev, what)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", msg)
		p.dirty = true
		return
	}
	fmt.Fprintln(p.w, msg)
}

func (p *progress) note(msg string) {
	if p.dirty {
		fmt.Fprint(p.w, "\r\033[K")
		p.dirty = false
	}
	fmt.Fprintln(p.w, "bench: "+msg)
}

func (p *progress) done() {
	if p.dirty {
		fmt.Fprint(p.w, "\r\033[K")
		p.dirty = false
	}
	fmt.Fprintf(p.w, "bench: %d runs in %.0fs\n", p.total, time.Since(p.start).Seconds())
}

// tf32x3Allower is a device that can run large products on tensor cores
// with 3xTF32 (device/cuda's Device.AllowTF32x3).
type tf32x3Allower interface{ AllowTF32x3(on bool) }
