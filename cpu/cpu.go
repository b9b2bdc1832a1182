package cpu

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/adjoint-go/adjoint/device"
)

// Buffer is CPU memory: exactly one of its slices is set.
type Buffer struct {
	f32 []float32
	f64 []float64
}

// Len is the number of elements.
func (b *Buffer) Len() int {
	if b.f64 != nil {
		return len(b.f64)
	}
	return len(b.f32)
}

// DType is Float64 for float64 buffers and Float32 otherwise.
func (b *Buffer) DType() device.DType {
	if b.f64 != nil {
		return device.Float64
	}
	return device.Float32
}

// Float32s returns the storage of a float32 CPU buffer without copying; it
// panics for other buffers. It lets CPU-only code (data loaders, tests) read
// and write tensors in place.
func Float32s(b device.Buffer) []float32 { return mustBuf(b, "Float32s").f32 }

// Float64s returns the storage of a float64 CPU buffer without copying.
func Float64s(b device.Buffer) []float64 { return mustBuf(b, "Float64s").f64 }

func mustBuf(b device.Buffer, op string) *Buffer {
	cb, ok := b.(*Buffer)
	if !ok {
		panic(fmt.Sprintf("cpu: %s: buffer %T was not allocated by the cpu device", op, b))
	}
	return cb
}

type poolKey struct {
	dt device.DType
	n  int
}

// CPU is the pure-Go Device. Compute runs synchronously on the calling
// goroutine and, for large enough work, on a pool of worker goroutines.
// A CPU may be used from several goroutines: its calls are serialised (each
// already uses every thread it was given), as the cuda device's are.
type CPU struct {
	// call serialises the methods: the worker pool, the GEMM's packing
	// buffers and the recorded errors are the device's, not the caller's.
	call sync.Mutex

	gemm gemmer
	par  *pool // workers for float32 elementwise and row-wise kernels
	// serial are single-threaded GEMM engines, one per pool slot, that run
	// a batch of small products side by side (GemmStrided); made on first
	// use.
	serial []gemmer
	// free is a caching allocator: buffers released by Free are reused by
	// the next Alloc of the same type and length, so a steady-state training
	// step allocates nothing. Under call, like everything else.
	free map[poolKey][]*Buffer
	err  error // a failure of the device: every later call returns it
	// inputErr is a failure of the data (device.ErrInvalidInput), returned
	// by Err, Sync, Download and Dot until ClearInputErr.
	inputErr error
	poison   bool // WithPoison
	// memory is the machine's RAM in bytes (0: unknown). A buffer larger
	// than that cannot be backed, and Go's runtime would end the whole
	// process trying, so Alloc refuses it with device.ErrOutOfMemory.
	memory uint64
}

var (
	_ device.Device          = (*CPU)(nil)
	_ device.InputErrClearer = (*CPU)(nil)
)

// Option configures New.
type Option func(*config) error

type config struct {
	kernel  string
	threads int
	poison  bool
}

// WithKernel selects the GEMM micro-kernel by name ("auto", "generic",
// "avx2", "avx512"); an unavailable one is an error from New.
func WithKernel(name string) Option {
	return func(c *config) error { c.kernel = name; return nil }
}

// WithThreads sets the number of threads used by GEMM (default GOMAXPROCS).
func WithThreads(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("cpu: negative thread count %d", n)
		}
		c.threads = n
		return nil
	}
}

// WithPoison makes Alloc fill every buffer it returns, new or reused, with
// NaN. The Device contract leaves a buffer's contents unspecified, and a
// GPU's fresh memory holds whatever was there last; Go's zeroed slices
// would hide code that reads a buffer before writing it (β = 0 taken as
// "add to zero", an accumulator assumed cleared), which NaN shows in every
// result it reaches. For tests: it costs a pass over each buffer.
func WithPoison() Option {
	return func(c *config) error { c.poison = true; return nil }
}

// New returns a CPU device.
func New(opts ...Option) (*CPU, error) {
	cfg := config{kernel: "auto"}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	g, err := newGemmer(cfg.kernel, cfg.threads)
	if err != nil {
		return nil, fmt.Errorf("cpu: %w", err)
	}
	threads := cfg.threads
	if threads == 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	c := &CPU{gemm: g, par: newPool(threads), free: map[poolKey][]*Buffer{}, poison: cfg.poison, memory: physicalMemory()}
	// The workers hold only the pool, so an unreachable CPU can stop them.
	runtime.AddCleanup(c, func(p *pool) { p.close() }, c.par)
	return c, nil
}

func init() {
	device.Register("cpu", func(index int) (device.Device, error) {
		if index != 0 {
			return nil, fmt.Errorf("cpu: there is one CPU device, not %d", index+1)
		}
		return New()
	})
}

// Name is "cpu".
func (c *CPU) Name() string { return "cpu" }

// Kernel names the GEMM micro-kernel in use.
func (c *CPU) Kernel() string { return c.gemm.Kernel().String() }

// Err returns the first recorded failure: the device's, or else the data's
// (device.ErrInvalidInput) until ClearInputErr.
func (c *CPU) Err() error {
	c.call.Lock()
	defer c.call.Unlock()
	return c.errNow()
}

// errNow is Err for a caller that holds c.call.
func (c *CPU) errNow() error {
	if c.err != nil {
		return c.err
	}
	return c.inputErr
}

// ClearInputErr forgets a recorded failure of the data
// (device.ErrInvalidInput): the batch that caused it is done. Tape.Reset
// calls it. A failure of the device stays.
func (c *CPU) ClearInputErr() {
	c.call.Lock()
	defer c.call.Unlock()
	c.inputErr = nil
}

// fail records err: as the device's failure, or, when it wraps
// device.ErrInvalidInput, as the data's, reported until ClearInputErr.
func (c *CPU) fail(err error) {
	if errors.Is(err, device.ErrInvalidInput) {
		if c.inputErr == nil {
			c.inputErr = err
		}
		return
	}
	if c.err == nil {
		c.err = err
	}
}

// Alloc returns a buffer from the cache or a new one.
func (c *CPU) Alloc(dt device.DType, n int) (device.Buffer, error) {
	c.call.Lock()
	defer c.call.Unlock()
	b, err := c.alloc(dt, n)
	if err != nil {
		return nil, err // not a nil *Buffer in a non-nil interface
	}
	if c.poison {
		nan := math.NaN()
		for i := range b.f32 {
			b.f32[i] = float32(nan)
		}
		for i := range b.f64 {
			b.f64[i] = nan
		}
	}
	return b, nil
}

// alloc takes a buffer from the cache, or makes one. The caller holds
// c.call.
func (c *CPU) alloc(dt device.DType, n int) (*Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cpu: alloc of %d elements", n)
	}
	key := poolKey{dt, n}
	if l := c.free[key]; len(l) > 0 {
		b := l[len(l)-1]
		c.free[key] = l[:len(l)-1]
		return b, nil
	}
	if sz := uint64(dt.Size()); sz > 0 && c.memory > 0 && uint64(n) > c.memory/sz {
		return nil, fmt.Errorf("cpu: alloc of %d %v elements (%.3g GiB): more than this machine's %.3g GiB of memory: %w",
			n, dt, float64(n)*float64(dt.Size())/(1<<30), float64(c.memory)/(1<<30), device.ErrOutOfMemory)
	}
	switch dt {
	case device.Float32:
		return &Buffer{f32: make([]float32, n)}, nil
	case device.Float64:
		// A zero-length float64 buffer must still say it is float64.
		return &Buffer{f64: make([]float64, n, max(n, 1))}, nil
	}
	return nil, fmt.Errorf("cpu: alloc: unsupported dtype %v", dt)
}

// Free returns b to the cache.
func (c *CPU) Free(b device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	if b == nil {
		return
	}
	cb := mustBuf(b, "Free")
	key := poolKey{cb.DType(), cb.Len()}
	c.free[key] = append(c.free[key], cb)
}

// Sync returns the first recorded error (see Err); CPU work is already
// complete.
func (c *CPU) Sync() error { return c.Err() }

var errLength = errors.New("length mismatch")

func (c *CPU) Upload32(dst device.Buffer, src []float32) error {
	c.call.Lock()
	defer c.call.Unlock()
	b := mustBuf(dst, "Upload32")
	if len(src) != b.Len() {
		return fmt.Errorf("cpu: upload of %d float32 into %d-element buffer: %w", len(src), b.Len(), errLength)
	}
	if b.f64 != nil {
		for i, v := range src {
			b.f64[i] = float64(v)
		}
		return nil
	}
	copy(b.f32, src)
	return nil
}

func (c *CPU) Upload64(dst device.Buffer, src []float64) error {
	c.call.Lock()
	defer c.call.Unlock()
	b := mustBuf(dst, "Upload64")
	if len(src) != b.Len() {
		return fmt.Errorf("cpu: upload of %d float64 into %d-element buffer: %w", len(src), b.Len(), errLength)
	}
	if b.f64 != nil {
		copy(b.f64, src)
		return nil
	}
	for i, v := range src {
		b.f32[i] = float32(v)
	}
	return nil
}

func (c *CPU) Download32(dst []float32, src device.Buffer) error {
	c.call.Lock()
	defer c.call.Unlock()
	b := mustBuf(src, "Download32")
	if len(dst) != b.Len() {
		return fmt.Errorf("cpu: download of %d-element buffer into %d float32: %w", b.Len(), len(dst), errLength)
	}
	if b.f64 != nil {
		for i, v := range b.f64 {
			dst[i] = float32(v)
		}
		return c.errNow()
	}
	copy(dst, b.f32)
	return c.errNow()
}

func (c *CPU) Download64(dst []float64, src device.Buffer) error {
	c.call.Lock()
	defer c.call.Unlock()
	b := mustBuf(src, "Download64")
	if len(dst) != b.Len() {
		return fmt.Errorf("cpu: download of %d-element buffer into %d float64: %w", b.Len(), len(dst), errLength)
	}
	if b.f64 != nil {
		copy(dst, b.f64)
		return c.errNow()
	}
	for i, v := range b.f32 {
		dst[i] = float64(v)
	}
	return c.errNow()
}
