//go:build cudaemu && !cuda

package cuda

/*
#cgo CXXFLAGS: -std=c++20 -O2 -pthread -Wno-unknown-pragmas
#cgo LDFLAGS: -pthread
#include <stdlib.h>
#include "emu_bridge.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// This file is the CUDA driver of a `-tags cudaemu` build: no GPU, no CUDA
// toolkit, only a C++20 compiler. The kernels of package kernels are
// compiled for the CPU by emu_bridge.cpp with scripts/cuda/emu/cuda_emu.h
// (each CUDA thread a host thread, blocks one after another) and device
// memory is host memory. Everything above the driver interface runs as it
// does on a GPU: the call path, launch geometry, the caching allocator,
// the loss status word, error handling. It is a
// test of that code and of the kernels' logic, not of speed or of the
// GPU's memory model.

func deviceCount() (int, error) { return 1, nil }

func newDriver() driver { return &emuDriver{} }

// emuMemory is the emulated device's memory size: allocations beyond it
// fail as out of memory, like cuMemAlloc on a full card.
const emuMemory = 8 << 30

var errEmuOutOfMemory = errors.New("emulator: out of memory")

// emuDriver runs kernels synchronously on launch; sizes tracks the live
// allocations for the memory limit.
type emuDriver struct {
	mu    sync.Mutex
	used  int64
	sizes map[devPtr]int64
	// args holds a launch's parameters for C: a field, not a local, since
	// what cgo is handed a pointer to escapes to the heap.
	args [16]C.uint64_t
}

func (e *emuDriver) open(index int) (string, int, error) {
	if index != 0 {
		return "", 0, fmt.Errorf("emulator: no device %d", index)
	}
	e.sizes = map[devPtr]int64{}
	return "CPU emulator (scripts/cuda/emu/cuda_emu.h)", 2, nil
}

func (e *emuDriver) release() error { return nil }

func (e *emuDriver) makeCurrent() error { return nil }

func (e *emuDriver) memAlloc(bytes int64) (devPtr, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if bytes <= 0 || e.used+bytes > emuMemory {
		return 0, errEmuOutOfMemory
	}
	p := devPtr(C.emu_alloc(C.size_t(bytes)))
	if p == 0 {
		return 0, errEmuOutOfMemory
	}
	e.used += bytes
	e.sizes[p] = bytes
	return p, nil
}

func (e *emuDriver) memFree(p devPtr) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, ok := e.sizes[p]
	if !ok {
		return fmt.Errorf("emulator: free of %#x, which is not allocated", uintptr(p))
	}
	delete(e.sizes, p)
	e.used -= n
	C.emu_free(C.uintptr_t(p))
	return nil
}

func (e *emuDriver) outOfMemory(err error) bool { return errors.Is(err, errEmuOutOfMemory) }

// check verifies that [p, p+bytes) lies inside one allocation, as a GPU's
// memory protection would.
func (e *emuDriver) check(what string, p devPtr, bytes int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for base, n := range e.sizes {
		if p >= base && int64(p-base)+bytes <= n {
			return nil
		}
	}
	return fmt.Errorf("emulator: %s of %d bytes at %#x outside every allocation", what, bytes, uintptr(p))
}

func (e *emuDriver) htoD(dst devPtr, src unsafe.Pointer, bytes int64) error {
	if err := e.check("copy to the device", dst, bytes); err != nil {
		return err
	}
	C.emu_htod(C.uintptr_t(dst), src, C.size_t(bytes))
	return nil
}

func (e *emuDriver) dtoH(dst unsafe.Pointer, src devPtr, bytes int64) error {
	if err := e.check("copy from the device", src, bytes); err != nil {
		return err
	}
	C.emu_dtoh(dst, C.uintptr_t(src), C.size_t(bytes))
	return nil
}

func (e *emuDriver) memsetD32(p devPtr, v uint32, n int) error {
	if err := e.check("memset", p, 4*int64(n)); err != nil {
		return err
	}
	C.emu_memset32(C.uintptr_t(p), C.uint32_t(v), C.size_t(n))
	return nil
}

func (e *emuDriver) sync() error { return nil }

func (e *emuDriver) function(module, name string) (kernelFn, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var nargs C.int
	k := C.emu_kernel(cname, &nargs)
	if k < 0 {
		return nil, fmt.Errorf("module %s: emulator has no kernel %s", module, name)
	}
	return emuKernel{index: int(k), nargs: int(nargs)}, nil
}

type emuKernel struct{ index, nargs int }

func (e *emuDriver) launch(f kernelFn, gx, gy, gz, bx, by int, args []uint64) error {
	k := f.(emuKernel)
	if len(args) != k.nargs {
		return fmt.Errorf("emulator: kernel takes %d parameters, launch passes %d", k.nargs, len(args))
	}
	for i, a := range args {
		e.args[i] = C.uint64_t(a)
	}
	switch rc := C.emu_launch(C.int(k.index), C.unsigned(gx), C.unsigned(gy), C.unsigned(gz), C.unsigned(bx), C.unsigned(by), &e.args[0], C.int(len(args))); rc {
	case 0:
		return nil
	case -3:
		return fmt.Errorf("emulator: block of %d×%d threads exceeds 1024", bx, by)
	default:
		return fmt.Errorf("emulator: launch failed (code %d)", int(rc))
	}
}
