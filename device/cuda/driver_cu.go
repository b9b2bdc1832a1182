//go:build cuda

package cuda

import (
	"errors"
	"fmt"
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
	return fn, nil
}

func (c *cuDriver) launch(f kernelFn, gx, gy, bx, by int, params []unsafe.Pointer) error {
	return f.(cu.Function).Launch(gx, gy, 1, bx, by, 1, 0, cu.Stream{}, params)
}
