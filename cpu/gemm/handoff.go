package gemm

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Hand-off between the calling goroutine and the workers.
//
// Waking a parked goroutine costs tens of microseconds on a busy or
// virtualised machine (the runtime has to wake an OS thread), which is as
// long as a whole 128×128 product. So both sides spin briefly on an atomic
// before they block:
//
//   - an idle worker polls its state for up to idleSpin after finishing a
//     job, then parks on its wake channel. Back-to-back calls (a training
//     step) find it still polling and start it in well under a microsecond,
//     while an idle Engine costs no CPU after idleSpin.
//   - the caller, having done its own share, takes back every job that
//     its worker has not started yet (a worker still waking up from a
//     park) and runs it itself, so a slow wake-up never costs more than
//     doing the work serially. Then it polls the count of outstanding jobs
//     for up to waitSpin (the workers are busy with shares as large as its
//     own, so the wait is short), then parks.
//
// Spinning loops call runtime.Gosched, so any other runnable goroutine
// gets the processor first, and they never spin for longer than the
// bounds above.

// Spin bounds (variables so that tests can change them; an engine copies
// them when it is created).
var (
	idleSpin = 20 * time.Microsecond
	waitSpin = 100 * time.Microsecond
)

// Worker states.
const (
	wIdle    int32 = iota // no job; the worker is running, polling or about to
	wParked               // no job; the worker blocks on wake
	wJob                  // a job is posted in worker.job
	wRunning              // the worker took the job
)

// parkedBit is set in engine.pending while the caller blocks on done.
const parkedBit = 1 << 30

// worker is the mailbox of one worker goroutine, padded to its own cache
// lines so that polling does not contend with the other workers.
type worker struct {
	_     [64]byte
	state atomic.Int32
	job   job
	wake  chan struct{} // capacity 1
	_     [64]byte
}

// post hands j to worker w. The job is written before the state becomes
// wJob (an atomic store), so the worker sees it complete.
func (in *engine) post(w *worker, j job) {
	w.job = j
	if w.state.Swap(wJob) == wParked {
		w.wake <- struct{}{}
	}
}

// workerLoop runs the jobs posted to w until it gets one with exit set.
func (in *engine) workerLoop(w *worker) {
	defer in.exit.Done()
	for {
		if !spinFor(&w.state, wJob, in.idleSpin) && w.state.CompareAndSwap(wIdle, wParked) {
			<-w.wake // post saw wParked
		}
		if !w.state.CompareAndSwap(wJob, wRunning) {
			continue // the caller took the job back (see join)
		}
		j := w.job
		if j.exit {
			return
		}
		in.do(j)
		// Back to idle before reporting completion: the next post can only
		// follow the caller's join, which needs this job's finish.
		w.state.Store(wIdle)
		in.finish()
	}
}

// join completes a call whose caller has done its own share: jobs that
// workers 0..t-2 have not started are taken back and run here (each
// worker's workspace is free until it starts), then it waits for the rest.
func (in *engine) join(t int) {
	for i := range in.workers[:t-1] {
		w := &in.workers[i]
		if w.state.CompareAndSwap(wJob, wIdle) {
			in.do(w.job)
			in.finish()
		}
	}
	in.waitAll()
}

// spinFor polls s until it equals want or d has passed, reporting whether
// it saw want.
func spinFor(s *atomic.Int32, want int32, d time.Duration) bool {
	if s.Load() == want {
		return true
	}
	start := time.Now()
	for {
		for range 64 {
			if s.Load() == want {
				return true
			}
		}
		if time.Since(start) > d {
			return s.Load() == want
		}
		runtime.Gosched()
	}
}

// finish reports one completed job; the last one wakes a parked caller.
func (in *engine) finish() {
	if in.pending.Add(-1) == parkedBit {
		in.done <- struct{}{}
	}
}

// waitAll waits for the jobs counted in pending (set before they were
// posted) and leaves pending at zero.
func (in *engine) waitAll() {
	if in.pending.Load() != 0 {
		start := time.Now()
	spin:
		for {
			for range 64 {
				if in.pending.Load() == 0 {
					break spin
				}
			}
			if time.Since(start) > in.waitSpin {
				if in.pending.Add(parkedBit) != parkedBit {
					<-in.done // the last finish saw the bit
				}
				in.pending.Store(0)
				break
			}
			runtime.Gosched()
		}
	}
}
