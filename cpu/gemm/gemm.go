package gemm

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kernel names a micro-kernel implementation.
type Kernel int

const (
	Auto    Kernel = iota // best available on this CPU
	Generic               // portable Go
	AVX2                  // amd64 AVX2+FMA
	AVX512                // amd64 AVX-512F
)

var kernelNames = [...]string{Auto: "auto", Generic: "generic", AVX2: "avx2", AVX512: "avx512"}

// String returns the lower-case name of k, as accepted by ParseKernel.
func (k Kernel) String() string {
	if k >= 0 && int(k) < len(kernelNames) {
		return kernelNames[k]
	}
	return fmt.Sprintf("Kernel(%d)", int(k))
}

// ParseKernel converts a kernel name ("auto", "generic", "avx2", "avx512";
// case-insensitive) to a Kernel.
func ParseKernel(s string) (Kernel, error) {
	ls := strings.ToLower(strings.TrimSpace(s))
	for k, name := range kernelNames {
		if ls == name {
			return Kernel(k), nil
		}
	}
	return 0, fmt.Errorf("gemm: unknown kernel %q (want auto, generic, avx2 or avx512)", s)
}

// Available returns the kernels this CPU can run, in increasing order.
// Generic is always available. Auto is not listed; it resolves to the
// last element of the returned slice.
func Available() []Kernel {
	ks := []Kernel{Generic}
	if hasAVX2 {
		ks = append(ks, AVX2)
	}
	if hasAVX512 {
		ks = append(ks, AVX512)
	}
	return ks
}

func available(k Kernel) bool {
	switch k {
	case Generic:
		return true
	case AVX2:
		return hasAVX2
	case AVX512:
		return hasAVX512
	}
	return false
}

// Engine owns the packing buffers and a persistent pool of worker
// goroutines used by Sgemm and Dgemm.
//
// An Engine is safe for use by one goroutine at a time: Sgemm, Dgemm and
// Close must not be called concurrently on the same Engine. Use one Engine
// per goroutine that needs to multiply matrices concurrently.
//
// After a warm-up call, calls with the same (or smaller) shapes allocate
// nothing. Close stops the worker goroutines; an Engine that becomes
// unreachable without being closed has its workers stopped by a cleanup.
type Engine struct {
	e *engine
}

// New returns an Engine that uses micro-kernel k and up to threads
// goroutines (the caller's goroutine included) per call. threads <= 0
// means runtime.GOMAXPROCS(0). Auto selects the best kernel available.
// New returns an error if k is unknown or not supported by this CPU.
func New(k Kernel, threads int) (*Engine, error) {
	if k == Auto {
		ks := Available()
		k = ks[len(ks)-1]
	}
	if k < Generic || k > AVX512 {
		return nil, fmt.Errorf("gemm: unknown kernel %v", k)
	}
	if !available(k) {
		return nil, fmt.Errorf("gemm: kernel %v is not supported by this CPU", k)
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	in := newEngine(k, threads)
	eng := &Engine{e: in}
	runtime.AddCleanup(eng, func(in *engine) { in.close() }, in)
	return eng, nil
}

// Kernel returns the micro-kernel in use (never Auto).
func (e *Engine) Kernel() Kernel { return e.e.kernel }

// Threads returns the maximum number of goroutines used per call.
func (e *Engine) Threads() int { return e.e.threads }

// MinParallelWork is the size of a product, m·n·k multiply-adds, from
// which Sgemm and Dgemm split it over more than one thread; a smaller one
// runs on the calling goroutine alone, so a batch of them is better split
// by products (one Engine of one thread per worker).
func MinParallelWork() int { return 2 * minWorkPerThread }

// Close stops the worker goroutines. It is safe to call Close more than
// once. Using an Engine after Close panics.
func (e *Engine) Close() { e.e.close() }

var errClosed = errors.New("gemm: use of closed Engine")

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices.
//
// op(A) is m×k: A is m×k with lda >= k, or k×m with lda >= m when transA.
// op(B) is k×n: B is k×n with ldb >= n, or n×k with ldb >= k when transB.
// C is m×n with ldc >= n. beta == 0 means C is overwritten (NaNs and Infs
// in C are ignored), as in BLAS. Elements of C outside the m×n matrix
// (the ldc-n padding of each row) are never read or written.
//
// Sgemm panics with a message starting with "gemm:" if the dimensions,
// strides or slice lengths are inconsistent.
func (e *Engine) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	in := e.e
	if in.closed {
		panic(errClosed)
	}
	in.p32 = problem[float32]{
		transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
	}
	run(in, &in.p32, &in.s32, false)
	in.p32 = problem[float32]{} // drop references to the caller's slices
}

// Dgemm is Sgemm in float64. It uses a portable blocked Go kernel (or the
// AVX2 double-precision kernel when the Engine's kernel is AVX2 or
// AVX512) and is intended mainly for reference and gradient checking.
func (e *Engine) Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	in := e.e
	if in.closed {
		panic(errClosed)
	}
	in.p64 = problem[float64]{
		transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
	}
	run(in, &in.p64, &in.s64, true)
	in.p64 = problem[float64]{}
}

// checkArgs panics, gonum style, if the arguments are inconsistent.
func checkArgs(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	switch {
	case m < 0:
		panic("gemm: m < 0")
	case n < 0:
		panic("gemm: n < 0")
	case k < 0:
		panic("gemm: k < 0")
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	if lda < max(1, colsA) {
		panic(fmt.Sprintf("gemm: bad lda %d (need >= %d)", lda, max(1, colsA)))
	}
	if ldb < max(1, colsB) {
		panic(fmt.Sprintf("gemm: bad ldb %d (need >= %d)", ldb, max(1, colsB)))
	}
	if ldc < max(1, n) {
		panic(fmt.Sprintf("gemm: bad ldc %d (need >= %d)", ldc, max(1, n)))
	}
	if m == 0 || n == 0 {
		return
	}
	if k > 0 {
		if need := (rowsA-1)*lda + colsA; la < need {
			panic(fmt.Sprintf("gemm: insufficient length of a: %d < %d", la, need))
		}
		if need := (rowsB-1)*ldb + colsB; lb < need {
			panic(fmt.Sprintf("gemm: insufficient length of b: %d < %d", lb, need))
		}
	}
	if need := (m-1)*ldc + n; lc < need {
		panic(fmt.Sprintf("gemm: insufficient length of c: %d < %d", lc, need))
	}
}

// job is one thread's share of a call: either the block [m0,m1)×[n0,n1)
// of C, or (gm > 0) a share of the gm×gn chunk grid claimed dynamically
// through engine.next. It is sent by value so dispatching allocates
// nothing.
type job struct {
	f64            bool
	tid            int
	m0, m1, n0, n1 int
	gm, gn         int
	exit           bool // stop the worker
}

// engine is the state shared with the workers. It is separate from Engine
// so that an unreachable Engine can be cleaned up while workers run.
type engine struct {
	kernel  Kernel
	threads int
	closed  bool

	s32 setup[float32]
	s64 setup[float64]
	p32 problem[float32]
	p64 problem[float64]

	workers   []worker // worker i serves tid i+1
	pending   atomic.Int32
	done      chan struct{} // capacity 1, see waitAll
	idleSpin  time.Duration // see handoff.go
	waitSpin  time.Duration
	exit      sync.WaitGroup
	closeOnce sync.Once
	next      atomic.Int64 // next chunk of a dynamically scheduled call
}

func newEngine(k Kernel, threads int) *engine {
	in := &engine{kernel: k, threads: threads, idleSpin: idleSpin, waitSpin: waitSpin}
	in.s32 = setup32(k)
	in.s64 = setup64(k)
	in.s32.ws = make([]workspace[float32], threads)
	in.s64.ws = make([]workspace[float64], threads)
	in.workers = make([]worker, threads-1)
	in.done = make(chan struct{}, 1)
	in.exit.Add(threads - 1)
	for i := range in.workers {
		w := &in.workers[i]
		w.wake = make(chan struct{}, 1)
		go in.workerLoop(w)
	}
	return in
}

func (in *engine) do(j job) {
	if j.f64 {
		doJob(in, &in.s64, &in.p64, j)
	} else {
		doJob(in, &in.s32, &in.p32, j)
	}
}

func doJob[T float](in *engine, s *setup[T], p *problem[T], j job) {
	ws := &s.ws[j.tid]
	if j.gm == 0 {
		gemmPart(s, ws, p, j.m0, j.m1, j.n0, j.n1)
		return
	}
	// Dynamic schedule: claim chunks until none are left, so a thread
	// that is slowed down (shared machine) does less of the work.
	for {
		idx := int(in.next.Add(1)) - 1
		if idx >= j.gm*j.gn {
			return
		}
		m0, m1 := partRange(p.m, s.mr, j.gm, idx%j.gm)
		n0, n1 := partRange(p.n, s.nr, j.gn, idx/j.gm)
		gemmPart(s, ws, p, m0, m1, n0, n1)
	}
}

func (in *engine) close() {
	in.closeOnce.Do(func() {
		in.closed = true
		for i := range in.workers {
			in.post(&in.workers[i], job{exit: true})
		}
		in.exit.Wait()
		in.s32.ws = nil
		in.s64.ws = nil
	})
}
