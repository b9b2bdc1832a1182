//go:build cuda || cudaemu

package cuda

import "unsafe"

// devPtr is a device address.
type devPtr uintptr

// kernelFn is a loaded kernel, as the driver returns it.
type kernelFn any

// driver is the part of the CUDA driver API the device uses. Two
// implementations exist, chosen by build tag: cuDriver (driver_cu.go, tag
// cuda) calls the real driver through gorgonia.org/cu; emuDriver
// (driver_emu.go, tag cudaemu) runs the same kernels/*.cu on the CPU
// through scripts/cuda/emu/cuda_emu.h, so that everything above this
// interface (queue, allocator, launch geometry, error handling) is tested
// without a GPU. All methods are called under Device.mu, on a locked OS
// thread on which makeCurrent (or open) has made the context current.
type driver interface {
	// open makes device index current on the calling thread and reports
	// the card's name and multiprocessor count.
	open(index int) (name string, sms int, err error)
	// release unloads the modules and releases the context; it is safe
	// after a failed open.
	release() error
	// makeCurrent makes the context current on the calling thread.
	makeCurrent() error
	memAlloc(bytes int64) (devPtr, error)
	memFree(p devPtr) error
	// outOfMemory reports whether err from memAlloc means the device is
	// out of memory.
	outOfMemory(err error) bool
	htoD(dst devPtr, src unsafe.Pointer, bytes int64) error
	dtoH(dst unsafe.Pointer, src devPtr, bytes int64) error
	memsetD32(p devPtr, v uint32, n int) error
	sync() error
	// function returns kernel name of module (a kernels.Modules name),
	// loading the module on first use.
	function(module, name string) (kernelFn, error)
	// launch queues f on a gx×gy×gz grid of bx×by blocks with the 8-byte
	// kernel arguments args (at most maxArgs; args belongs to the caller).
	launch(f kernelFn, gx, gy, gz, bx, by int, args []uint64) error
}
