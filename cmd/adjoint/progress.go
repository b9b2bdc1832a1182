package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line progress bar (batches, loss, ETA) on a
// terminal; disabled, it does nothing.
type progress struct {
	w       io.Writer
	on      bool
	total   int // batches in the whole run
	done    int
	t0      time.Time
	last    time.Time
	drawn   bool
	barCols int
}

func newProgress(w io.Writer, on bool) *progress {
	return &progress{w: w, on: on, barCols: 24}
}

func (p *progress) start(total int) {
	p.total, p.done, p.t0 = total, 0, time.Now()
}

// step records one batch and redraws at most ten times a second.
func (p *progress) step(epoch, epochs, batch, batches int, loss float64) {
	p.done++
	if !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && batch != batches {
		return
	}
	p.last = now
	filled := p.barCols * batch / max(batches, 1)
	eta := "?"
	if p.done > 0 {
		left := time.Duration(float64(now.Sub(p.t0)) / float64(p.done) * float64(p.total-p.done))
		eta = left.Round(100 * time.Millisecond).String()
	}
	fmt.Fprintf(p.w, "\r\033[Kepoch %d/%d [%s%s] %d/%d  loss %.4f  ETA %s",
		epoch, epochs, strings.Repeat("=", filled), strings.Repeat(" ", p.barCols-filled), batch, batches, loss, eta)
	p.drawn = true
}

// clear erases the bar so that a plain line can be printed.
func (p *progress) clear() {
	if p.on && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}
