//go:build cuda

package cuda

/*
#cgo LDFLAGS: -lcuda
#cgo linux CFLAGS: -I/usr/local/cuda/include
#cgo linux LDFLAGS: -L/usr/local/cuda/lib64
#include <cuda.h>
#include <stdint.h>

// adjoint_launch queues f with nargs 8-byte arguments copied from args on
// the current context's default stream: one cgo call per launch, where
// gorgonia.org/cu's Function.Launch makes five (it mallocs and frees two
// argument arrays around cuLaunchKernel).
static CUresult adjoint_launch(CUfunction f, unsigned gx, unsigned gy, unsigned bx, unsigned by,
                               const uint64_t *args, int nargs) {
	uint64_t words[16]; // newCall refuses more than maxArgs (13)
	void *params[16];
	if (nargs > 16) return CUDA_ERROR_INVALID_VALUE;
	for (int i = 0; i < nargs; i++) {
		words[i] = args[i];
		params[i] = &words[i];
	}
	return cuLaunchKernel(f, gx, gy, 1, bx, by, 1, 0, 0, params, 0);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/adjoint-go/adjoint/kernels"
)

// cuHandle is the driver's CUfunction inside a gorgonia.org/cu Function,
// which adjoint_launch takes: cu.Function holds that one pointer and
// exposes no accessor for it; TestCUFunctionLayout checks the layout this
// reads (cu is pinned in go.sum).
func cuHandle(fn cu.Function) C.CUfunction { return *(*C.CUfunction)(unsafe.Pointer(&fn)) }

// deviceCount is the number of CUDA devices the driver sees, or the
// reason the driver cannot be used (see cuinit.c).
func deviceCount() (int, error) {
	if err := initError(); err != nil {
		return 0, err
	}
	return cu.NumDevices()
}

func newDriver() driver { return &cuDriver{mods: map[string]cu.Module{}} }

// cuDriver is the real CUDA driver through gorgonia.org/cu: the device's
// primary context, made current on the calling thread for each call, and
// the PTX modules of package kernels, JIT-compiled by the driver on first
// use.
type cuDriver struct {
	dev  cu.Device
	ctx  cu.CUContext
	mods map[string]cu.Module
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
		if err := m.Unload(); err != nil && first == nil {
			first = err
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
		if mod, err = cu.LoadData(src); err != nil {
			return nil, fmt.Errorf("loading module %s: %w", module, err)
		}
		c.mods[module] = mod
	}
	fn, err := mod.Function(name)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", module, err)
	}
	return cuHandle(fn), nil
}

func (c *cuDriver) launch(f kernelFn, gx, gy, bx, by int, args []uint64) error {
	var first *C.uint64_t
	if len(args) > 0 {
		first = (*C.uint64_t)(unsafe.Pointer(&args[0]))
	}
	r := C.adjoint_launch(f.(C.CUfunction), C.unsigned(gx), C.unsigned(gy), C.unsigned(bx), C.unsigned(by), first, C.int(len(args)))
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
