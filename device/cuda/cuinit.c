//go:build cuda

// cuinit.c: cuInit for the executable, ahead of libcuda's.
//
// gorgonia.org/cu calls cuInit(0) in its package init and, if that fails,
// prints a line and calls os.Exit(1): on a host without a usable GPU (no
// device, no driver, a driver too old) every program that links this
// package would die before main, even one that only trains on the CPU.
// The executable's definition of cuInit takes precedence over the shared
// library's, so cu's call lands here: we call the driver's cuInit (found
// with dlsym(RTLD_NEXT)), keep its result for adjoint_cu_init_result, and
// report success to cu. deviceCount then turns a failed initialisation into
// an ordinary error wrapping device.ErrUnavailable.
#define _GNU_SOURCE
#include <dlfcn.h>

#include "cuinit.h"

// CUDA_ERROR_NOT_INITIALIZED, the answer before cuInit has run, and
// CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND, when no library after the
// executable defines cuInit (cuda.h's values; the header is not needed).
enum { notInitialized = 3, symbolNotFound = 301 };

static int initResult = notInitialized;

int cuInit(unsigned int flags) {
	int (*driverInit)(unsigned int) = (int (*)(unsigned int))dlsym(RTLD_NEXT, "cuInit");
	initResult = driverInit ? driverInit(flags) : symbolNotFound;
	return 0;
}

int adjoint_cu_init_result(void) { return initResult; }

const char *adjoint_cu_error_name(int code) {
	int (*errorName)(int, const char **) = (int (*)(int, const char **))dlsym(RTLD_NEXT, "cuGetErrorName");
	const char *name = 0;
	if (!errorName || errorName(code, &name) != 0) return 0;
	return name;
}
