//go:build cuda || cudaemu

package cuda

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// profiler accumulates each kernel's launches and time while profiling is
// on (Device.SetProfiling). Its fields are touched only under Device.mu,
// in run, except on, which SetProfiling sets under mu too.
type profiler struct {
	on       bool
	launches [numKernels]int64
	total    [numKernels]time.Duration
}

// KernelTime is one kernel's share of a profiled run: its launches and the
// time from each launch to the device going idle after it.
type KernelTime struct {
	Kernel   string // the entry point, e.g. "sgemm_tn_32"
	Launches int64
	Total    time.Duration
}

// SetProfiling turns per-kernel timing on or off; turning it on clears the
// counts. While it is on, every launch waits for the device before and
// after it (a Sync each side), so the time charged to a kernel is its
// own, plus the launch's round trip of a few microseconds, and a profiled
// step is slower than an unprofiled one: it shows where a step's device
// time goes (BenchmarkSplitKSteps logs it), not how long the step takes.
func (d *Device) SetProfiling(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if on {
		d.prof = profiler{}
	}
	d.prof.on = on
}

// Profile returns the kernels launched since profiling was turned on, the
// most time first.
func (d *Device) Profile() []KernelTime {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []KernelTime
	for k, n := range d.prof.launches {
		if n > 0 {
			out = append(out, KernelTime{kernelTable[k].name, n, d.prof.total[k]})
		}
	}
	slices.SortStableFunc(out, func(a, b KernelTime) int { return cmp.Compare(b.Total, a.Total) })
	return out
}

// ProfileTable is FormatProfile(d.Profile()): the kernels launched since
// profiling was turned on, as a table (adjoint train --profile prints it).
func (d *Device) ProfileTable() string { return FormatProfile(d.Profile()) }

// FormatProfile writes a profile as a table: each kernel's launches, total
// time, time per launch and share of the whole.
func FormatProfile(p []KernelTime) string {
	var all time.Duration
	for _, k := range p {
		all += k.Total
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s %9s %10s %13s %6s\n", "kernel", "launches", "total_ms", "per_launch_us", "share")
	for _, k := range p {
		fmt.Fprintf(&b, "%-28s %9d %10.3f %13.1f %5.1f%%\n", k.Kernel, k.Launches, k.Total.Seconds()*1e3,
			k.Total.Seconds()*1e6/float64(k.Launches), 100*float64(k.Total)/float64(max(all, 1)))
	}
	fmt.Fprintf(&b, "%-28s %9s %10.3f", "all", "", all.Seconds()*1e3)
	return b.String()
}

// timed launches c (kernel k, its arguments args) while profiling and
// charges k the time until the device is idle after it, having waited for
// the work queued before it. Called under mu.
func (d *Device) timed(k kernelID, c *call, args []uint64) error {
	w := &d.w
	if err := w.drv.sync(); err != nil {
		return err
	}
	start := time.Now()
	if err := w.drv.launch(w.fns[k], int(c.gx), int(c.gy), int(c.gz), int(c.bx), int(c.by), args); err != nil {
		return err
	}
	if err := w.drv.sync(); err != nil {
		return err
	}
	d.prof.launches[k]++
	d.prof.total[k] += time.Since(start)
	return nil
}
