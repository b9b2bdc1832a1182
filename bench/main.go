package bench

import (
	"bufio"
	"bytes"
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

Runs the benchmark table on every device this build has (cpu always; cuda
when device.Open("cuda") works) and, when %s can import torch, the same
configurations in PyTorch (and numpy for GEMM) side by side in the same run.
Prints a table on stdout and progress on stderr.

flags:
`

// Main runs the bench command with args (without the command name).
func Main(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		quick    = fs.Bool("quick", false, "run the modest subset (under 2 minutes on a 2-core machine, peers included)")
		devFlag  = fs.String("device", "all", "cpu, cuda, or all (every device this build and machine have)")
		csvPath  = fs.String("csv", "", "write the results as CSV to `file`")
		jsonPath = fs.String("json", "", "write the full report as JSON to `file`")
		plotPath = fs.String("plot", "", "draw the time-over-PyTorch bar chart to `file` (.png, .svg, .pdf) and the order-of-computation chart to <file>-order.<ext>")
		mdPath   = fs.String("markdown", "", "write a complete BENCHMARKS.md (machine, date, command, table, slopes) to `file`")
		noPeers  = fs.Bool("no-peers", false, "do not run the PyTorch/numpy peers")
		only     = fs.String("only", "", "comma-separated benchmarks to run: "+kindList()+" (default all)")
		python   = fs.String("python", DefaultPython(), "Python interpreter for the peers (needs torch; numpy optional)")
		threads  = fs.Int("threads", runtime.GOMAXPROCS(0), "CPU threads for our GEMM and for torch.set_num_threads")
		kernel   = fs.String("cpu-kernel", "auto", "CPU GEMM micro-kernel (cpu.WithKernel)")
		note     = fs.String("note", "", "a remark to record in the JSON and markdown reports (for example where a GPU was not available)")
		ompWait  = fs.String("omp-wait-policy", "PASSIVE", "OMP_WAIT_POLICY for the peers' OpenMP threads (empty: the environment's); PASSIVE keeps PyTorch from losing whole time slices to spinning on a busy machine")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, usage, DefaultPython())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("bench: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q (flags only; see adjoint bench -h)", fs.Args())
	}
	kinds, err := ParseOnly(*only)
	if err != nil {
		return err
	}
	if *threads < 1 {
		return fmt.Errorf("bench: --threads %d: want at least 1", *threads)
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
		devs = append(devs, namedDev{"cuda", d})
	default:
		return fmt.Errorf("bench: --device %q: want cpu, cuda or all", *devFlag)
	}

	cfgs := Select(tableFor(*quick), kinds)
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
	for _, d := range devs {
		if s := orderSummary(rep.Rows, d.name); s != nil {
			rep.Order = append(rep.Order, s)
		}
	}
	rep.Meta.Seconds = time.Since(start).Seconds()
	rep.Meta.LoadEnd = loadAvg()

	var table, order bytes.Buffer
	if err := WriteTable(&table, rep.Rows); err != nil {
		return err
	}
	if err := WriteOrder(&order, rep.Order); err != nil {
		return err
	}
	out := bufio.NewWriter(stdout)
	out.Write(table.Bytes())
	out.Write(order.Bytes())
	for _, d := range slices.Sorted(maps.Keys(rep.Meta.DeviceNotes)) {
		fmt.Fprintf(out, "\n%s: %s\n", d, rep.Meta.DeviceNotes[d])
	}
	if rep.Meta.PeerNote != "" {
		fmt.Fprintf(out, "\nPyTorch/numpy peers: %s\n", rep.Meta.PeerNote)
	}
	if rep.Meta.LoadStart != "" {
		fmt.Fprintf(out, "\nLoad average (1, 5, 15 min): %s at start, %s at end; %d logical CPUs\n", rep.Meta.LoadStart, rep.Meta.LoadEnd, rep.Meta.Cores)
	}
	if err := out.Flush(); err != nil {
		return err
	}

	var errs []error
	if *csvPath != "" {
		errs = append(errs, writeFile(*csvPath, func(w io.Writer) error { return WriteCSV(w, rep.Rows) }))
	}
	if *jsonPath != "" {
		errs = append(errs, writeFile(*jsonPath, func(w io.Writer) error { return WriteJSON(w, rep) }))
	}
	if *mdPath != "" {
		var charts []string
		if *plotPath != "" {
			charts = append(charts, relTo(*mdPath, *plotPath))
			if len(rep.Order) > 0 {
				charts = append(charts, relTo(*mdPath, OrderPlotPath(*plotPath)))
			}
		}
		errs = append(errs, writeFile(*mdPath, func(w io.Writer) error {
			return WriteMarkdown(w, rep, table.String(), order.String(), charts...)
		}))
	}
	if *plotPath != "" {
		if err := PlotRatios(*plotPath, rep.Rows); err != nil {
			errs = append(errs, err)
		}
		if len(rep.Order) > 0 {
			errs = append(errs, PlotOrder(OrderPlotPath(*plotPath), rep.Order))
		}
	}
	if failed > 0 {
		errs = append(errs, fmt.Errorf("bench: %d of %d configurations failed (see the table)", failed, len(jobs)))
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
