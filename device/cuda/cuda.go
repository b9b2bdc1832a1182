//go:build cuda || cudaemu

package cuda

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/adjoint-go/adjoint/device"
)

func init() {
	device.Register("cuda", func(index int) (device.Device, error) {
		d, err := Open(index)
		if err != nil {
			return nil, err
		}
		return d, nil
	})
}

// Device is one GPU. Its methods may be called from any goroutine, as the
// cpu device's: calls from several goroutines are serialised, in no
// promised order.
type Device struct {
	index int
	name  string
	gpu   string // the card's name, e.g. "NVIDIA H100 80GB HBM3"
	sms   int    // multiprocessors

	// mu serialises every driver call and guards w. A call runs on the
	// caller's goroutine, its OS thread locked and the context made
	// current for the duration (see exec).
	mu     sync.Mutex
	closed atomic.Bool

	errMu    sync.Mutex
	err      error // the first recorded failure of the device
	inputErr error // a failure of the data (device.ErrInvalidInput), until ClearInputErr

	// Caller-side caching allocator: freed buffers by size class.
	allocMu sync.Mutex
	free    map[int64][]*Buffer

	convMu sync.Mutex
	conv   []float32 // staging for Upload64 and Download64

	launches, roundTrips, driverAllocs atomic.Int64 // see Stats
	loadNanos                          atomic.Int64 // see Stats.LoadTime

	tables tableCache // the tables of the multi-tensor optimizer steps
	tune   tuner      // the autotuned SGEMM tiles (tune.go)

	w worker // the driver-side state, under mu

	// forceTile, when positive, makes Gemm use gemmTiles[forceTile−1]
	// instead of gemmPlan's choice: for BenchmarkGemmTiles, which measures
	// every tile at every size so that gemmPlan's thresholds can be tuned.
	forceTile int
	// gemmRows, when positive, replaces the rows one Gemm launch covers
	// (gemmRowLimit), so that tests reach the row slicing of a product too
	// tall for one grid without allocating gigabytes.
	gemmRows int
	// gemmBatches, when positive, replaces the products one GemmStrided
	// launch covers (gridDim.z ≤ maxGridZ), for the same reason.
	gemmBatches int
	// noSplitK turns split-k off (gemmSplitK), so that tests and
	// BenchmarkSplitKSteps compare a product with and without it;
	// splitKTile (a gemmTiles index + 1, a batched tile) and splitKScale
	// (parts × 2^scale) replace splitKPlan's choices for BenchmarkSplitK,
	// which times the alternatives on the card.
	noSplitK    bool
	splitKTile  int
	splitKScale int

	prof profiler // per-kernel times while profiling (profile.go)
}

var (
	_ device.Device          = (*Device)(nil)
	_ device.InputErrClearer = (*Device)(nil)
)

// Open starts device index (0 for the first GPU): it retains the device's
// primary context and allocates a small scratch area. Kernel modules load
// on first use. Close releases everything.
func Open(index int) (*Device, error) {
	n, err := deviceCount()
	if err != nil {
		return nil, fmt.Errorf("cuda: counting devices: %v: %w", err, device.ErrUnavailable)
	}
	if index < 0 || index >= n {
		return nil, fmt.Errorf("cuda: no device %d (%d present): %w", index, n, device.ErrUnavailable)
	}
	d := &Device{
		index: index,
		name:  fmt.Sprintf("cuda:%d", index),
		free:  map[int64][]*Buffer{},
	}
	if err := d.start(); err != nil {
		return nil, fmt.Errorf("cuda: open device %d: %w", index, err)
	}
	return d, nil
}

// Name is "cuda:N".
func (d *Device) Name() string { return d.name }

// GPU is the card's name as the driver reports it.
func (d *Device) GPU() string { return d.gpu }

// SMs is the number of streaming multiprocessors.
func (d *Device) SMs() int { return d.sms }

// Err returns the first recorded failure without synchronizing: failures
// that happen on the GPU appear after the next Sync, Download or Dot. A
// failure of the data (device.ErrInvalidInput: a class index out of range)
// is returned until ClearInputErr; a failure of the device stays.
func (d *Device) Err() error {
	d.errMu.Lock()
	defer d.errMu.Unlock()
	if d.err != nil {
		return d.err
	}
	return d.inputErr
}

// deviceErr is the device's own first failure, leaving out the data's.
func (d *Device) deviceErr() error {
	d.errMu.Lock()
	defer d.errMu.Unlock()
	return d.err
}

// ClearInputErr forgets a recorded failure of the data
// (device.ErrInvalidInput): the batch that caused it is done. Tape.Reset
// calls it. A bad index that no synchronising call has read back yet is
// not cleared: the next one reports it.
func (d *Device) ClearInputErr() {
	d.errMu.Lock()
	d.inputErr = nil
	d.errMu.Unlock()
}

// record keeps err if it is the first failure, of the device or, when it
// wraps device.ErrInvalidInput, of the data.
func (d *Device) record(err error) {
	d.errMu.Lock()
	if errors.Is(err, device.ErrInvalidInput) {
		if d.inputErr == nil {
			d.inputErr = err
		}
	} else if d.err == nil {
		d.err = err
	}
	d.errMu.Unlock()
}

var errClosed = errors.New("cuda: device is closed")

// Close waits for queued work, frees all device memory the device
// allocated (buffers still held become invalid), unloads the kernels and
// releases the context. Further calls fail with an error.
func (d *Device) Close() error {
	r := d.exec(&call{op: opClose})
	if r.err == errClosed {
		return nil
	}
	d.closed.Store(true) // also when the context could not be made current
	d.allocMu.Lock()
	clear(d.free)
	d.allocMu.Unlock()
	d.closeTables()
	return r.err
}

// opcode is the kind of a call to the driver.
type opcode uint8

const (
	opLaunch   opcode = iota // launch kernel with args (asynchronous)
	opAlloc                  // cuMemAlloc(bytes) → ptr
	opUpload                 // host → ptr, bytes
	opDownload               // ptr → host, bytes
	opSync                   // cuCtxSynchronize
	opDot                    // Σ x·y over n = bytes elements, x = ptr, y = ptr2
	opClose                  // shutdown; later calls fail with errClosed
	opPreload                // look up every kernel, loading its module
)

// call is one request to the driver, built on the caller's stack so that a
// launch allocates nothing.
type call struct {
	op         opcode
	kernel     kernelID
	nargs      uint8
	gx, gy, gz uint32 // a launch's grid
	bx, by     uint32 // and block
	args       [maxArgs]uint64
	ptr        devPtr
	ptr2       devPtr
	bytes      int64
	host       unsafe.Pointer
	// checkStatus marks a launch that flags bad input in the status words
	// (the index loss, gather): they must be read at the next
	// synchronizing call.
	checkStatus bool
}

type reply struct {
	ptr devPtr
	f   float64
	err error
}

// submit makes an asynchronous call (a kernel launch): the driver queues
// the kernel on the stream and returns. After Close it records an error.
func (d *Device) submit(c call) {
	d.launches.Add(1)
	if r := d.exec(&c); r.err == errClosed {
		d.record(errClosed)
	}
}

// exec runs c on the calling goroutine: under mu, with its OS thread
// locked and the device's context made current on that thread, since a
// CUDA context is current per thread and a goroutine may change threads
// between calls. A dedicated device thread fed through a channel would
// make every call a cross-thread wake-up, which costs more than the
// driver call itself (BenchmarkTrainingStep on the stand-in driver with
// FAKECUDA_NULL=1: about 200 µs of host time per small training step that
// way, about 14 µs this way, and about 7 µs since launches go through one
// cgo call each, driver_cu.go). The context stays current on the thread
// afterwards, as the CUDA runtime leaves it; the next call sets it again.
func (d *Device) exec(c *call) reply {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() {
		return reply{err: errClosed}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := d.w.drv.makeCurrent(); err != nil {
		err = fmt.Errorf("cuda: making the context current: %w", err)
		d.record(err)
		return reply{err: err}
	}
	return d.serve(c)
}

// Stats counts what a device has done since Open. On a GPU a small
// training step's time is mostly host time per launch and per round trip,
// so these counts are what a small step costs, measurable without a GPU.
type Stats struct {
	Launches     int64 // kernels queued (a Dot counts as one round trip)
	RoundTrips   int64 // calls that wait for the device: uploads, downloads, Sync, Dot, cache-missing Alloc
	DriverAllocs int64 // device memory allocations (the caching allocator's misses)
	// LoadTime is the time spent loading kernels: module loads, in which
	// the driver JIT-compiles the module's PTX for the card (or finds the
	// result in its compute cache), and function lookups.
	LoadTime time.Duration
}

// Stats returns the counts so far.
func (d *Device) Stats() Stats {
	return Stats{Launches: d.launches.Load(), RoundTrips: d.roundTrips.Load(), DriverAllocs: d.driverAllocs.Load(),
		LoadTime: time.Duration(d.loadNanos.Load())}
}

// Preload loads every kernel module now, instead of on the first use of
// one of its kernels: the driver JIT-compiles a module's PTX for the card
// when it loads it (seconds for the SGEMM modules, the first time on a
// machine; the driver caches the result), so a server that must answer its
// first request quickly, or a benchmark, pays for it up front. It returns
// the first failure, which is also recorded as the device's error.
func (d *Device) Preload() error {
	r := d.exec(&call{op: opPreload})
	return r.err
}

// roundTrip makes a synchronous call: one that waits for the device.
func (d *Device) roundTrip(c call) reply {
	d.roundTrips.Add(1)
	return d.exec(&c)
}

// newCall builds the launch of kernel k on a gx×gy grid of bx×by blocks.
// Every launch is built here: table_test.go finds the calls of newCall,
// launch and launch1 in the source and checks their argument kinds against
// the kernels' parameter lists.
func newCall(k kernelID, gx, gy, bx, by int, args ...uint64) call {
	if len(args) > maxArgs {
		panic(fmt.Sprintf("cuda: kernel %s: %d arguments, at most %d", kernelTable[k].name, len(args), maxArgs))
	}
	c := call{op: opLaunch, kernel: k, gx: uint32(gx), gy: uint32(gy), gz: 1, bx: uint32(bx), by: uint32(by)}
	c.nargs = uint8(copy(c.args[:], args))
	return c
}

// launch queues kernel k on a gx×gy grid of bx×by blocks.
func (d *Device) launch(k kernelID, gx, gy, bx, by int, args ...uint64) {
	d.submit(newCall(k, gx, gy, bx, by, args...))
}

// launch3 queues kernel k on a gx×gy×gz grid of bx×by blocks.
func (d *Device) launch3(k kernelID, gx, gy, gz, bx, by int, args ...uint64) {
	c := newCall(k, gx, gy, bx, by, args...)
	c.gz = uint32(gz)
	d.submit(c)
}

// Kernel argument words: every parameter is 8 bytes.
func ptrArg(b *Buffer) uint64 {
	if b == nil {
		return 0
	}
	return uint64(b.ptr)
}
func devArg(p devPtr) uint64  { return uint64(p) }
func intArg(v int) uint64     { return uint64(int64(v)) }
func fltArg(v float64) uint64 { return math.Float64bits(v) }
func boolArg(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

// worker is the driver-side state of a device, touched only under mu.
type worker struct {
	drv  driver
	fns  [numKernels]kernelFn
	have [numKernels]bool
	args [maxArgs]uint64  // a launch's arguments, handed to the driver
	live map[devPtr]int64 // every allocation, for Close and OOM
	// words receives the driver's small copies back to the host: one
	// allocation made at start, since a local handed to the driver would
	// move to the heap on every call, and cgo refuses a pointer into an
	// object that holds Go pointers (such as worker itself).
	words   *hostWords
	scratch devPtr // dot partials, dot result, loss status
	// statusCheck is set after a launch that may flag bad input until the
	// status words have been read back.
	statusCheck bool
}

// hostWords is pointer-free host memory for the dot result and the
// status words.
type hostWords struct {
	dot    float64
	status [4]int32
}

// Scratch layout: maxDotBlocks partial sums, the dot result, then the
// status words that kernels flag bad input in (4 int32: row+1, the bad
// value's bits, its bound, and the kernel: statusLoss or statusGather).
const (
	scratchDot    = maxDotBlocks * 8
	scratchStatus = scratchDot + 8
	scratchBytes  = scratchStatus + 16
)

// start retains the primary context (current on this thread while start
// runs) and allocates the scratch area.
func (d *Device) start() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	w := &d.w
	w.drv = newDriver()
	var err error
	if d.gpu, d.sms, err = w.drv.open(d.index); err != nil {
		_ = w.drv.release()
		return err
	}
	w.live = map[devPtr]int64{}
	w.words = new(hostWords)
	if w.scratch, err = w.drv.memAlloc(scratchBytes); err == nil {
		err = w.drv.memsetD32(w.scratch+scratchStatus, 0, 4)
	}
	if err != nil {
		_ = w.drv.release()
		return fmt.Errorf("scratch allocation: %w", err)
	}
	return nil
}

// serve runs one call; the caller holds mu and the context is current.
func (d *Device) serve(c *call) reply {
	w := &d.w
	switch c.op {
	case opLaunch:
		if err := d.run(c); err != nil {
			d.record(fmt.Errorf("cuda: launch %s: %w", kernelTable[c.kernel].name, err))
		}
		if c.checkStatus {
			w.statusCheck = true
		}
		return reply{}
	case opAlloc:
		ptr, err := d.memAlloc(c.bytes)
		return reply{ptr: ptr, err: err}
	case opUpload:
		err := w.drv.htoD(c.ptr, c.host, c.bytes)
		if err != nil {
			err = fmt.Errorf("cuda: upload of %d bytes: %w", c.bytes, err)
			d.record(err)
		}
		return reply{err: err}
	case opDownload:
		d.checkStatus()
		err := w.drv.dtoH(c.host, c.ptr, c.bytes)
		if err != nil {
			err = fmt.Errorf("cuda: download of %d bytes: %w", c.bytes, err)
			d.record(err)
		}
		return reply{err: err}
	case opSync:
		if err := w.drv.sync(); err != nil {
			d.record(fmt.Errorf("cuda: sync: %w", err))
		}
		d.checkStatus()
		return reply{}
	case opDot:
		v, err := d.dot(c)
		if err != nil {
			d.record(err)
		}
		d.checkStatus()
		return reply{f: v, err: err}
	case opClose:
		err := d.shutdown()
		d.closed.Store(true)
		return reply{err: err}
	case opPreload:
		for k := range kernelID(numKernels) {
			if err := d.load(k); err != nil {
				err = fmt.Errorf("cuda: preload %s: %w", kernelTable[k].name, err)
				d.record(err)
				return reply{err: err}
			}
		}
		return reply{}
	}
	return reply{}
}

// load looks kernel k up, loading its module on first use.
func (d *Device) load(k kernelID) error {
	w := &d.w
	if w.have[k] {
		return nil
	}
	start := time.Now()
	ref := kernelTable[k]
	fn, err := w.drv.function(ref.module, ref.name)
	d.loadNanos.Add(int64(time.Since(start)))
	if err != nil {
		return err
	}
	w.fns[k], w.have[k] = fn, true
	return nil
}

// run launches c's kernel, loading its module on first use.
func (d *Device) run(c *call) error {
	w := &d.w
	k := c.kernel
	if err := d.load(k); err != nil {
		return err
	}
	n := int(c.nargs)
	copy(w.args[:n], c.args[:n])
	if d.prof.on {
		return d.timed(k, c, w.args[:n])
	}
	return w.drv.launch(w.fns[k], int(c.gx), int(c.gy), int(c.gz), int(c.bx), int(c.by), w.args[:n])
}

// memAlloc allocates device memory; out of memory, it frees the
// allocator's cached buffers and tries once more.
func (d *Device) memAlloc(bytes int64) (devPtr, error) {
	w := &d.w
	ptr, err := w.drv.memAlloc(bytes)
	if w.drv.outOfMemory(err) {
		d.allocMu.Lock()
		for size, l := range d.free {
			for _, b := range l {
				_ = w.drv.memFree(b.ptr)
				delete(w.live, b.ptr)
			}
			delete(d.free, size)
		}
		d.allocMu.Unlock()
		ptr, err = w.drv.memAlloc(bytes)
	}
	if err != nil {
		// Running out of memory is the caller's to handle (a smaller batch,
		// say), so it fails only this Alloc; any other failure here is the
		// context's (an earlier kernel fault) and is sticky.
		if w.drv.outOfMemory(err) {
			return 0, fmt.Errorf("cuda: allocation of %d bytes: %w (%w)", bytes, device.ErrOutOfMemory, err)
		}
		err = fmt.Errorf("cuda: allocation of %d bytes: %w", bytes, err)
		d.record(err)
		return 0, err
	}
	w.live[ptr] = bytes
	d.driverAllocs.Add(1)
	return ptr, nil
}

// dot launches the two-pass reduction and reads the result back.
func (d *Device) dot(c *call) (float64, error) {
	w := &d.w
	n := int(c.bytes)
	blocks := min(gridFor(n, threads, d.sms), maxDotBlocks)
	part := newCall(kDotPartial, blocks, 1, threads, 1, intArg(n), devArg(c.ptr), devArg(c.ptr2), devArg(w.scratch))
	if err := d.run(&part); err != nil {
		return 0, fmt.Errorf("cuda: launch dot_partial: %w", err)
	}
	fin := newCall(kDotFinal, 1, 1, threads, 1, intArg(blocks), devArg(w.scratch), devArg(w.scratch+scratchDot))
	if err := d.run(&fin); err != nil {
		return 0, fmt.Errorf("cuda: launch dot_final: %w", err)
	}
	if err := w.drv.dtoH(unsafe.Pointer(&w.words.dot), w.scratch+scratchDot, 8); err != nil {
		return 0, fmt.Errorf("cuda: dot: %w", err)
	}
	return w.words.dot, nil
}

// The kernels that write the status words (its fourth word).
const (
	statusLoss   = 0 // the index loss (loss.cu)
	statusGather = 1 // gather (elementwise.cu's STATUS_GATHER)
)

// checkStatus reads the status words after a launch that may flag bad
// input, and records an error for the first bad row or index flagged.
func (d *Device) checkStatus() {
	w := &d.w
	if !w.statusCheck {
		return
	}
	w.statusCheck = false
	st := &w.words.status
	if err := w.drv.dtoH(unsafe.Pointer(&st[0]), w.scratch+scratchStatus, 16); err != nil {
		d.record(fmt.Errorf("cuda: reading the status words: %w", err))
		return
	}
	if st[0] == 0 {
		return
	}
	bad := math.Float32frombits(uint32(st[1]))
	if st[3] == statusGather {
		d.record(fmt.Errorf("cuda: Gather: index %d: %v is not an integer in [0, %d): %w", st[0]-1, bad, st[2], device.ErrInvalidInput))
	} else {
		d.record(fmt.Errorf("cuda: loss %v: row %d: class index %v is not an integer in [0, %d): %w",
			device.SoftmaxCrossEntropyIndex, st[0]-1, bad, st[2], device.ErrInvalidInput))
	}
	if err := w.drv.memsetD32(w.scratch+scratchStatus, 0, 4); err != nil {
		d.record(fmt.Errorf("cuda: clearing the status words: %w", err))
	}
}

// shutdown synchronizes and releases every driver resource of the device.
func (d *Device) shutdown() error {
	w := &d.w
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	keep(w.drv.sync())
	for ptr := range w.live {
		keep(w.drv.memFree(ptr))
	}
	clear(w.live)
	keep(w.drv.memFree(w.scratch))
	w.have = [numKernels]bool{}
	keep(w.drv.release())
	if first != nil {
		return fmt.Errorf("cuda: close: %w", first)
	}
	return nil
}
