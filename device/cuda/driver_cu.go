//go:build cuda

package cuda

/*
#cgo LDFLAGS: -lcuda
#cgo linux CFLAGS: -I/usr/local/cuda/include
#cgo linux LDFLAGS: -L/usr/local/cuda/lib64
#include <cuda.h>
#include <stdint.h>
#include <stdlib.h>

// adjoint_load_ptx loads a NUL-terminated PTX image into the current
// context, which JIT-compiles it for the card. cuModuleLoadData gives only
// a code when that fails; with these options the driver also writes the
// JIT's own messages (ptxas's "line N; error : ...") into log.
static CUresult adjoint_load_ptx(CUmodule *mod, const char *ptx, char *log, size_t logBytes) {
	CUjit_option opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
	void *vals[2] = {log, (void *)(uintptr_t)logBytes};
	log[0] = 0;
	return cuModuleLoadDataEx(mod, ptx, 2, opts, vals);
}

// adjoint_launch queues f with nargs 8-byte arguments copied from args on
// the current context's default stream: one cgo call per launch, where
// gorgonia.org/cu's Function.Launch makes five (it mallocs and frees two
// argument arrays around cuLaunchKernel).
static CUresult adjoint_launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                               const uint64_t *args, int nargs) {
	uint64_t words[16]; // newCall refuses more than maxArgs (14)
	void *params[16];
	if (nargs > 16) return CUDA_ERROR_INVALID_VALUE;
	for (int i = 0; i < nargs; i++) {
		words[i] = args[i];
		params[i] = &words[i];
	}
	return cuLaunchKernel(f, gx, gy, gz, bx, by, 1, 0, 0, params, 0);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/adjoint-go/adjoint/kernels"
)

// deviceCount is the number of CUDA devices the driver sees, or the
// reason the driver cannot be used (see cuinit.c).
func deviceCount() (int, error) {
	if err := initError(); err != nil {
		return 0, err
	}
	return cu.NumDevices()
}

func newDriver() driver { return &cuDriver{mods: map[string]C.CUmodule{}} }

// cuDriver is the real CUDA driver through gorgonia.org/cu: the device's
// primary context, made current on the calling thread for each call, and
// the PTX modules of package kernels, JIT-compiled by the driver on first
// use. Modules are loaded and looked up through the driver API directly
// (gorgonia.org/cu's LoadData drops the JIT's error log, and its Function
// hides the CUfunction that adjoint_launch needs).
type cuDriver struct {
	dev  cu.Device
	ctx  cu.CUContext
	mods map[string]C.CUmodule
}

func (c *cuDriver) open(index int) (string, int, error) {
	var err error
	if c.dev, err = cu.GetDevice(index); err != nil {
		return "", 0, err
	}
	name, err := c.dev.Name()
	if err != nil {
		return "", 0, err
	}
	sms, err := c.dev.Attribute(cu.MultiprocessorCount)
	if err != nil {
		return "", 0, err
	}
	if c.ctx, err = c.dev.RetainPrimaryCtx(); err != nil {
		return "", 0, err
	}
	if err = cu.SetCurrentContext(c.ctx); err != nil {
		return "", 0, err
	}
	return name, sms, nil
}

func (c *cuDriver) makeCurrent() error { return cu.SetCurrentContext(c.ctx) }

func (c *cuDriver) release() error {
	var first error
	for name, m := range c.mods {
		if r := C.cuModuleUnload(m); r != C.CUDA_SUCCESS && first == nil {
			first = asResult(cu.Success, int(r))
		}
		delete(c.mods, name)
	}
	if c.ctx != (cu.CUContext{}) {
		if err := c.dev.ReleasePrimaryCtx(); err != nil && first == nil {
			first = err
		}
		c.ctx = cu.CUContext{}
	}
	return first
}

func (c *cuDriver) memAlloc(bytes int64) (devPtr, error) {
	p, err := cu.MemAlloc(bytes)
	return devPtr(p), err
}

func (c *cuDriver) memFree(p devPtr) error     { return cu.MemFree(cu.DevicePtr(p)) }
func (c *cuDriver) outOfMemory(err error) bool { return errors.Is(err, cu.OutOfMemory) }

func (c *cuDriver) htoD(dst devPtr, src unsafe.Pointer, bytes int64) error {
	return cu.MemcpyHtoD(cu.DevicePtr(dst), src, bytes)
}

func (c *cuDriver) dtoH(dst unsafe.Pointer, src devPtr, bytes int64) error {
	return cu.MemcpyDtoH(dst, cu.DevicePtr(src), bytes)
}

func (c *cuDriver) memsetD32(p devPtr, v uint32, n int) error {
	return cu.MemsetD32(cu.DevicePtr(p), v, int64(n))
}

func (c *cuDriver) sync() error { return cu.Synchronize() }

func (c *cuDriver) function(module, name string) (kernelFn, error) {
	mod, ok := c.mods[module]
	if !ok {
		src, err := kernels.PTX(module)
		if err != nil {
			return nil, err
		}
		if mod, err = loadPTX(module, src); err != nil {
			return nil, err
		}
		c.mods[module] = mod
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var fn C.CUfunction
	if r := C.cuModuleGetFunction(&fn, mod, cname); r != C.CUDA_SUCCESS {
		return nil, fmt.Errorf("module %s: kernel %s: %w", module, name, asResult(cu.Success, int(r)))
	}
	return fn, nil
}

// jitLogBytes is the size of the buffer for the JIT's error log, and
// jitLogLines the most of its lines an error quotes.
const (
	jitLogBytes = 16 << 10
	jitLogLines = 12
)

// loadPTX loads the PTX text src as module into the current context. When
// the driver's JIT rejects it, the error carries the JIT's messages: the
// line of the PTX and what the card's assembler found wrong there.
func loadPTX(module, src string) (C.CUmodule, error) {
	ptx := C.CString(src)
	defer C.free(unsafe.Pointer(ptx))
	log := (*C.char)(C.malloc(jitLogBytes))
	defer C.free(unsafe.Pointer(log))
	var mod C.CUmodule
	if r := C.adjoint_load_ptx(&mod, ptx, log, jitLogBytes); r != C.CUDA_SUCCESS {
		err := asResult(cu.Success, int(r))
		if msg := quoteJITLog(C.GoString(log)); msg != "" {
			return nil, fmt.Errorf("loading module %s: %w; the driver's JIT compiler says: %s", module, err, msg)
		}
		return nil, fmt.Errorf("loading module %s: %w", module, err)
	}
	return mod, nil
}

// quoteJITLog joins the first jitLogLines non-empty lines of a JIT log
// with " | ", saying how many more there were.
func quoteJITLog(log string) string {
	var lines []string
	for _, l := range strings.Split(log, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > jitLogLines {
		more := len(lines) - jitLogLines
		lines = append(lines[:jitLogLines], fmt.Sprintf("(%d more lines)", more))
	}
	return strings.Join(lines, " | ")
}

func (c *cuDriver) launch(f kernelFn, gx, gy, gz, bx, by int, args []uint64) error {
	var first *C.uint64_t
	if len(args) > 0 {
		first = (*C.uint64_t)(unsafe.Pointer(&args[0]))
	}
	r := C.adjoint_launch(f.(C.CUfunction), C.unsigned(gx), C.unsigned(gy), C.unsigned(gz), C.unsigned(bx), C.unsigned(by), first, C.int(len(args)))
	if r == C.CUDA_SUCCESS {
		return nil
	}
	return asResult(cu.Success, int(r))
}

// asResult turns a CUresult into gorgonia.org/cu's error type (unexported;
// its constants, such as cu.Success, give it to the type parameter), so
// that our launches fail with the same errors as cu's calls.
func asResult[R interface {
	~int
	error
}](_ R, code int) error {
	return R(code)
}
