package cpu

import (
	"runtime"
	"sync"

	"github.com/adjoint-go/adjoint/device"
)

// Float32 elementwise and row-wise work large enough to pay for a hand-off
// (a few µs) is split over a pool of worker goroutines. The pool is built
// to allocate nothing per call: the arguments of the one call in flight sit
// in the pool, and a task names its kernel by an enum rather than a closure.

// minParallel is the number of elements below which work stays serial.
const minParallel = 1 << 15

type taskKind uint8

const (
	taskUnary taskKind = iota
	taskUnaryAdjoint
	taskBinary
	taskAxpy
	taskScale
	taskBiasActivation
	taskSoftmax
	taskSoftmaxAdjoint
	taskLoss
	taskSGD
	taskAdam
	taskRMSprop
	taskDropoutMask
	taskIm2Col
	taskCol2Im
	taskTranspose
	taskMaxPool
	taskMaxPoolAdjoint
	taskBatchNormStats   // lo and hi index channels
	taskBatchNormApply   // lo and hi index the n·c blocks of inner values
	taskBatchNormAdjoint // lo and hi index channels
	taskGemmStrided      // lo and hi index the products of a batch
)

// args holds the operands of the parallel call in flight. Element kernels
// index [lo, hi) of the slices; row kernels index rows lo…hi−1 of cols.
type args struct {
	uop        device.UnaryOp
	bop        device.BinaryOp
	loss       device.LossKind
	log        bool
	alpha      float32
	param      float64
	scale      float64 // Loss's epsScale
	x, y, e, d []float32
	b, m       []float32
	cols       int
	sgd        device.SGDConfig
	adam       device.AdamConfig
	rms        device.RMSpropConfig
	// DropoutMask's generator: lo and hi index Philox blocks of four.
	seed, offset, threshold uint64
	// Im2Col's and Col2Im's convolution: lo and hi index images.
	conv device.ConvGeometry
	rows int // Transpose's matrices are rows×cols; lo and hi index them
	bn   bnArgs[float32]
	gs   stridedArgs
}

// stridedArgs is a float32 GemmStrided batch, its products split over the
// pool's slots, each slot multiplying on its own single-threaded engine.
type stridedArgs struct {
	engines                []gemmer // one per slot
	transA, transB         bool
	m, n, k                int
	alpha, beta            float32
	a, b, c                []float32
	lda, ldb, ldc          int
	strideA, strideB, strC int
}

// products computes products lo…hi−1 of the batch on engine e.
func (s *stridedArgs) products(e gemmer, lo, hi int) {
	for i := lo; i < hi; i++ {
		e.Sgemm(s.transA, s.transB, s.m, s.n, s.k, s.alpha, s.a[i*s.strideA:], s.lda, s.b[i*s.strideB:], s.ldb,
			s.beta, s.c[i*s.strC:], s.ldc)
	}
}

type task struct {
	kind   taskKind
	lo, hi int
	slot   int
}

type pool struct {
	threads int
	work    chan task
	wg      sync.WaitGroup
	a       args
	errs    []error // one per chunk, for kernels that can fail
}

func newPool(threads int) *pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &pool{threads: threads, errs: make([]error, threads)}
	if threads > 1 {
		p.work = make(chan task, threads)
		for range threads - 1 {
			go p.worker()
		}
	}
	return p
}

func (p *pool) worker() {
	for t := range p.work {
		p.exec(t)
		p.wg.Done()
	}
}

func (p *pool) close() {
	if p.work != nil {
		close(p.work)
	}
}

// run executes kind over [0, n) (elements or rows) with the arguments in
// p.a, splitting when the work, n·unit elements, is large enough. It
// returns the first error a chunk reported.
func (p *pool) run(kind taskKind, n, unit int) error {
	chunks := 1
	if p.threads > 1 && n*unit >= minParallel {
		chunks = min(p.threads, n)
	}
	step := (n + chunks - 1) / max(chunks, 1)
	clear(p.errs)
	for i := 1; i < chunks; i++ {
		lo := i * step
		if lo >= n {
			break
		}
		p.wg.Add(1)
		p.work <- task{kind: kind, lo: lo, hi: min(n, lo+step), slot: i}
	}
	p.exec(task{kind: kind, lo: 0, hi: min(n, step), slot: 0})
	p.wg.Wait()
	for _, err := range p.errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func opt32(s []float32, lo, hi int) []float32 {
	if s == nil {
		return nil
	}
	return s[lo:hi]
}

func (p *pool) exec(t task) {
	a := &p.a
	lo, hi, c := t.lo, t.hi, a.cols
	switch t.kind {
	case taskUnary:
		unary(a.uop, a.param, a.x[lo:hi], a.y[lo:hi])
	case taskUnaryAdjoint:
		unaryAdjoint(a.uop, a.param, a.x[lo:hi], a.y[lo:hi], a.e[lo:hi], a.d[lo:hi])
	case taskBinary:
		binary(a.bop, a.x[lo:hi], a.y[lo:hi], a.d[lo:hi])
	case taskAxpy:
		axpy(a.alpha, a.x[lo:hi], a.y[lo:hi])
	case taskScale:
		scale(a.alpha, a.x[lo:hi], a.y[lo:hi])
	case taskBiasActivation:
		biasActivation(a.uop, a.param, a.x[lo*c:hi*c], hi-lo, c, a.b, a.y[lo*c:hi*c])
	case taskSoftmax:
		for i := lo; i < hi; i++ {
			softmaxRow(a.log, a.x[i*c:(i+1)*c], a.y[i*c:(i+1)*c])
		}
	case taskSoftmaxAdjoint:
		for i := lo; i < hi; i++ {
			softmaxAdjointRow(a.log, a.y[i*c:(i+1)*c], a.e[i*c:(i+1)*c], a.d[i*c:(i+1)*c])
		}
	case taskLoss:
		var target []float32
		if a.loss == device.SoftmaxCrossEntropyIndex {
			target = a.x[lo:hi]
		} else {
			target = a.x[lo*c : hi*c]
		}
		p.errs[t.slot] = loss(a.loss, a.param, a.y[lo*c:hi*c], target, lo, hi-lo, c, a.d[lo:hi], opt32(a.e, lo*c, hi*c), a.scale)
	case taskSGD:
		sgd(a.x[lo:hi], a.y[lo:hi], opt32(a.m, lo, hi), a.sgd)
	case taskAdam:
		adam(a.x[lo:hi], a.y[lo:hi], a.m[lo:hi], a.e[lo:hi], a.adam)
	case taskRMSprop:
		rmsprop(a.x[lo:hi], a.y[lo:hi], a.e[lo:hi], opt32(a.m, lo, hi), opt32(a.b, lo, hi), a.rms)
	case taskMaxPool:
		maxPool(a.x, a.conv, a.y, a.e, lo, hi)
	case taskMaxPoolAdjoint:
		maxPoolAdjoint(a.x, a.e, a.conv, a.param, a.y, lo, hi)
	case taskTranspose:
		transpose(a.x, a.rows, a.cols, a.y, lo, hi)
	case taskIm2Col:
		im2col(a.x, a.conv, a.y, lo, hi)
	case taskCol2Im:
		col2im(a.x, a.conv, a.param, a.y, lo, hi)
	case taskBatchNormStats:
		batchNormStats(&a.bn, lo, hi)
	case taskBatchNormApply:
		batchNormApply(&a.bn, lo, hi)
	case taskBatchNormAdjoint:
		batchNormAdjoint(&a.bn, lo, hi)
	case taskGemmStrided:
		a.gs.products(a.gs.engines[t.slot], lo, hi)
	case taskDropoutMask:
		dropoutMask(a.y[4*lo:min(4*hi, len(a.y))], uint64(lo), a.threshold, a.param, a.seed, a.offset)
	}
}
