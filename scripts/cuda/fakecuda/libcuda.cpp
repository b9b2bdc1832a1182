// libcuda.cpp: a stand-in for the NVIDIA driver's libcuda.so.1, for running
// the `-tags cuda` build of adjoint (gorgonia.org/cu, device/cuda's
// driver_cu.go, the committed PTX) on a machine without a GPU.
//
// It implements the part of the CUDA driver API that adjoint calls and
// checks what a real driver checks: cuInit before anything else, a current
// context on the calling thread for every memory, module and launch call,
// copies inside live allocations, out of memory beyond a fixed size,
// kernels that exist in the module image that was loaded (the PTX's
// .entry list, with every parameter 8 bytes wide as gorgonia.org/cu
// passes them), launch geometry within the hardware limits and within the
// kernel's own bound (the PTX's .maxntid, from __launch_bounds__). The kernels
// themselves run on the CPU: emu_bridge.cpp compiles kernels/*.cu with
// scripts/cuda/emu/cuda_emu.h, the same emulation as `-tags cudaemu`.
//
// Environment:
//   FAKECUDA_DEVICES=N     devices reported (default 1); 0 makes cuInit
//                          fail with CUDA_ERROR_NO_DEVICE, as on a host
//                          with the driver installed and no card.
//   FAKECUDA_MEMORY=BYTES  memory per device (default 8 GiB).
//   FAKECUDA_TRACE=1       one line per driver call on stderr.
//   FAKECUDA_STRICT=1      a misuse that a real driver would answer with an
//                          error code (no current context, a copy outside
//                          every allocation, an unknown kernel, ...), or a
//                          context released with memory still allocated,
//                          aborts the program: tests that pass under it
//                          made no such call (make cuda-fake sets it).
//   FAKECUDA_NULL=1        launches are checked but not run: what remains
//                          of a step's time is the host's cost per launch
//                          and per copy (Go, the device thread, cgo,
//                          gorgonia.org/cu), the floor under a small step
//                          on a real GPU. Results are then garbage.
//
// Calls outside this set are not defined: the dynamic loader then stops
// the program at the first such call, naming the symbol.
#include <cuda.h>

#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "../../../device/cuda/emu_bridge.h"

namespace {

std::mutex mu; // guards everything below; the emulated kernels run under it
bool initialized;
int devices = 1;
size_t memoryPerDevice = size_t(8) << 30;
bool trace;
bool nullKernels;
bool strict;

struct Context {
	int device;
	int retained;
};
Context primary[8];
thread_local CUcontext current;

struct Allocation {
	size_t bytes;
	int device;
};
std::map<uintptr_t, Allocation> allocations;
size_t used[8];

struct Function {
	std::string name;
	int emuIndex;
	int nargs;
	long maxThreads; // .maxntid's product (__launch_bounds__), or 0 for none
};
struct Module {
	std::vector<Function *> functions; // every .entry of the image
};

// vline writes one "fakecuda: ..." line to stderr.
void vline(const char *format, va_list ap) {
	std::fputs("fakecuda: ", stderr);
	std::vfprintf(stderr, format, ap);
	std::fputc('\n', stderr);
}

void say(const char *format, ...) {
	if (!trace) return;
	va_list ap;
	va_start(ap, format);
	vline(format, ap);
	va_end(ap);
}

// complain reports, always, why a call fails when a real driver would give
// only the code: the point of this library is finding such mistakes.
CUresult complain(CUresult r, const char *format, ...) {
	va_list ap;
	va_start(ap, format);
	vline(format, ap);
	va_end(ap);
	if (strict) {
		std::fputs("fakecuda: FAKECUDA_STRICT is set: aborting\n", stderr);
		std::abort();
	}
	return r;
}

CUresult needContext(const char *call) {
	if (!initialized) return complain(CUDA_ERROR_NOT_INITIALIZED, "%s before cuInit", call);
	if (current == nullptr)
		return complain(CUDA_ERROR_INVALID_CONTEXT, "%s with no current context on this thread", call);
	return CUDA_SUCCESS;
}

int contextDevice() { return reinterpret_cast<Context *>(current)->device; }

// inside reports whether [p, p+bytes) lies in one live allocation.
bool inside(uintptr_t p, size_t bytes) {
	auto it = allocations.upper_bound(p);
	if (it == allocations.begin()) return false;
	--it;
	return p >= it->first && p - it->first + bytes <= it->second.bytes;
}

// deviceRange checks a copy or memset: a current context, and
// [p, p+bytes) inside one live allocation.
CUresult deviceRange(const char *call, CUdeviceptr p, size_t bytes) {
	if (CUresult r = needContext(call)) return r;
	if (!inside(p, bytes))
		return complain(CUDA_ERROR_INVALID_VALUE, "%s of %zu bytes at %#llx: outside every allocation", call, bytes,
		                (unsigned long long)p);
	return CUDA_SUCCESS;
}

// parseEntries returns the kernels a PTX image declares, with their
// parameter counts, or an error message.
std::string parseEntries(const char *ptx, std::vector<Function> &entries) {
	std::string s(ptx);
	if (s.find(".version") == std::string::npos || s.find(".target") == std::string::npos)
		return "image is not PTX text (no .version or .target)";
	for (size_t at = s.find(".entry"); at != std::string::npos; at = s.find(".entry", at + 1)) {
		size_t name = at + 6;
		while (name < s.size() && std::isspace((unsigned char)s[name])) name++;
		size_t open = s.find('(', name);
		size_t close = s.find(')', open);
		if (open == std::string::npos || close == std::string::npos) return "unterminated .entry";
		std::string id = s.substr(name, open - name);
		while (!id.empty() && std::isspace((unsigned char)id.back())) id.pop_back();
		std::string params = s.substr(open + 1, close - open - 1);
		int n = 0;
		for (size_t p = params.find(".param"); p != std::string::npos; p = params.find(".param", p + 1)) {
			size_t type = params.find('.', p + 6);
			std::string t = params.substr(type, 4);
			if (t != ".u64" && t != ".f64" && t != ".b64" && t != ".s64")
				return "kernel " + id + " has a parameter of type " + t +
				       ": gorgonia.org/cu passes every parameter as 8 bytes";
			n++;
		}
		// A .maxntid between the parameters and the body bounds the block
		// size: a real driver refuses a larger block.
		long maxThreads = 0;
		size_t body = s.find('{', close), bound = s.find(".maxntid", close);
		if (bound != std::string::npos && bound < body) {
			long x = 1, y = 1, z = 1;
			if (std::sscanf(s.c_str() + bound + 8, " %ld , %ld , %ld", &x, &y, &z) < 1)
				return "kernel " + id + ": unreadable .maxntid";
			maxThreads = x * y * z;
		}
		entries.push_back(Function{id, -1, n, maxThreads});
	}
	if (entries.empty()) return "image declares no .entry";
	return "";
}

} // namespace

extern "C" {

CUresult CUDAAPI cuInit(unsigned int flags) {
	std::lock_guard<std::mutex> lock(mu);
	if (const char *v = std::getenv("FAKECUDA_TRACE")) trace = *v && *v != '0';
	if (const char *v = std::getenv("FAKECUDA_DEVICES")) devices = std::atoi(v);
	if (const char *v = std::getenv("FAKECUDA_MEMORY")) memoryPerDevice = std::strtoull(v, nullptr, 10);
	if (const char *v = std::getenv("FAKECUDA_NULL")) nullKernels = *v && *v != '0';
	if (const char *v = std::getenv("FAKECUDA_STRICT")) strict = *v && *v != '0';
	if (devices > 8) devices = 8;
	say("cuInit(%u): %d devices", flags, devices);
	if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
	if (devices <= 0) return CUDA_ERROR_NO_DEVICE;
	initialized = true;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDriverGetVersion(int *version) {
	*version = 11080;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuGetErrorName(CUresult error, const char **name) {
	switch (error) {
#define NAME(e) \
	case e: *name = #e; return CUDA_SUCCESS;
		NAME(CUDA_SUCCESS)
		NAME(CUDA_ERROR_INVALID_VALUE)
		NAME(CUDA_ERROR_OUT_OF_MEMORY)
		NAME(CUDA_ERROR_NOT_INITIALIZED)
		NAME(CUDA_ERROR_NO_DEVICE)
		NAME(CUDA_ERROR_INVALID_DEVICE)
		NAME(CUDA_ERROR_INVALID_IMAGE)
		NAME(CUDA_ERROR_INVALID_CONTEXT)
		NAME(CUDA_ERROR_INVALID_HANDLE)
		NAME(CUDA_ERROR_NOT_FOUND)
		NAME(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES)
#undef NAME
	default: *name = nullptr; return CUDA_ERROR_INVALID_VALUE;
	}
}

CUresult CUDAAPI cuDeviceGetCount(int *count) {
	std::lock_guard<std::mutex> lock(mu);
	if (!initialized) return complain(CUDA_ERROR_NOT_INITIALIZED, "cuDeviceGetCount before cuInit");
	*count = devices;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGet(CUdevice *device, int ordinal) {
	std::lock_guard<std::mutex> lock(mu);
	if (!initialized) return complain(CUDA_ERROR_NOT_INITIALIZED, "cuDeviceGet before cuInit");
	if (ordinal < 0 || ordinal >= devices) return CUDA_ERROR_INVALID_DEVICE;
	*device = ordinal;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetName(char *name, int len, CUdevice device) {
	if (device < 0 || device >= devices) return CUDA_ERROR_INVALID_DEVICE;
	std::snprintf(name, (size_t)len, "fakecuda %d (kernels emulated on the CPU)", device);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetAttribute(int *value, CUdevice_attribute attribute, CUdevice device) {
	if (device < 0 || device >= devices) return CUDA_ERROR_INVALID_DEVICE;
	switch (attribute) {
	case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *value = 2; return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *value = 1024; return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *value = 32; return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *value = 9; return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *value = 0; return CUDA_SUCCESS;
	default: return complain(CUDA_ERROR_INVALID_VALUE, "cuDeviceGetAttribute(%d) is not emulated", (int)attribute);
	}
}

CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice device) {
	std::lock_guard<std::mutex> lock(mu);
	if (!initialized) return complain(CUDA_ERROR_NOT_INITIALIZED, "cuDevicePrimaryCtxRetain before cuInit");
	if (device < 0 || device >= devices) return CUDA_ERROR_INVALID_DEVICE;
	primary[device].device = device;
	primary[device].retained++;
	*ctx = reinterpret_cast<CUcontext>(&primary[device]);
	say("cuDevicePrimaryCtxRetain(%d): %d references", device, primary[device].retained);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice device) {
	std::lock_guard<std::mutex> lock(mu);
	if (device < 0 || device >= devices) return CUDA_ERROR_INVALID_DEVICE;
	if (primary[device].retained == 0)
		return complain(CUDA_ERROR_INVALID_CONTEXT, "cuDevicePrimaryCtxRelease(%d) without a retain", device);
	if (--primary[device].retained == 0) {
		// A real driver destroys the context and with it the device's memory,
		// silently; device/cuda's Close frees everything first, so memory
		// still allocated here is a leak worth a line.
		size_t live = 0;
		for (auto &[p, a] : allocations) live += a.device == device;
		if (live > 0)
			complain(CUDA_SUCCESS, "context of device %d released with %zu allocations (%zu bytes) still live", device,
			         live, used[device]);
		for (auto it = allocations.begin(); it != allocations.end();) {
			if (it->second.device == device) {
				emu_free(it->first);
				it = allocations.erase(it);
			} else
				++it;
		}
		used[device] = 0;
	}
	say("cuDevicePrimaryCtxRelease(%d): %d references", device, primary[device].retained);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSetCurrent(CUcontext ctx) {
	current = ctx;
	say("cuCtxSetCurrent(%p)", (void *)ctx);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetCurrent(CUcontext *ctx) {
	*ctx = current;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSynchronize(void) {
	std::lock_guard<std::mutex> lock(mu);
	return needContext("cuCtxSynchronize");
}

CUresult CUDAAPI cuMemAlloc(CUdeviceptr *p, size_t bytes) {
	std::lock_guard<std::mutex> lock(mu);
	if (CUresult r = needContext("cuMemAlloc")) return r;
	if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
	int dev = contextDevice();
	if (bytes > memoryPerDevice - used[dev]) return CUDA_ERROR_OUT_OF_MEMORY;
	uintptr_t a = emu_alloc(bytes);
	if (a == 0) return CUDA_ERROR_OUT_OF_MEMORY;
	allocations[a] = Allocation{bytes, dev};
	used[dev] += bytes;
	*p = a;
	say("cuMemAlloc(%zu) = %#llx", bytes, (unsigned long long)a);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemFree(CUdeviceptr p) {
	std::lock_guard<std::mutex> lock(mu);
	if (CUresult r = needContext("cuMemFree")) return r;
	auto it = allocations.find(p);
	if (it == allocations.end())
		return complain(CUDA_ERROR_INVALID_VALUE, "cuMemFree(%#llx): not an allocation", (unsigned long long)p);
	used[it->second.device] -= it->second.bytes;
	allocations.erase(it);
	emu_free(p);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyHtoD(CUdeviceptr dst, const void *src, size_t bytes) {
	std::lock_guard<std::mutex> lock(mu);
	if (CUresult r = deviceRange("cuMemcpyHtoD", dst, bytes)) return r;
	emu_htod(dst, src, bytes);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyDtoH(void *dst, CUdeviceptr src, size_t bytes) {
	std::lock_guard<std::mutex> lock(mu);
	if (CUresult r = deviceRange("cuMemcpyDtoH", src, bytes)) return r;
	emu_dtoh(dst, src, bytes);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemsetD32(CUdeviceptr dst, unsigned int value, size_t n) {
	std::lock_guard<std::mutex> lock(mu);
	if (CUresult r = deviceRange("cuMemsetD32", dst, 4 * n)) return r;
	if (dst % 4 != 0)
		return complain(CUDA_ERROR_INVALID_VALUE, "cuMemsetD32 at %#llx: misaligned", (unsigned long long)dst);
	emu_memset32(dst, value, n);
	return CUDA_SUCCESS;
}

} // extern "C"

namespace {

// loadModule is cuModuleLoadData and cuModuleLoadDataEx. A real driver
// JIT-compiles the PTX and answers an image it cannot compile with
// CUDA_ERROR_INVALID_PTX, writing the assembler's messages into the error
// log buffer when the caller gave one; this one does the same with what
// its parse of the image found wrong. A caller that gave a log is told
// why, as by a real driver, so that is no misuse for FAKECUDA_STRICT.
CUresult loadModule(const char *call, CUmodule *module, const void *image, char *log, size_t logBytes) {
	std::lock_guard<std::mutex> lock(mu);
	if (CUresult r = needContext(call)) return r;
	std::vector<Function> entries;
	std::string bad = parseEntries(static_cast<const char *>(image), entries);
	if (!bad.empty()) {
		if (log == nullptr || logBytes == 0)
			return complain(CUDA_ERROR_INVALID_PTX, "%s: %s", call, bad.c_str());
		std::snprintf(log, logBytes, "fakecuda JIT: error   : %s\n", bad.c_str());
		say("%s: %s (in the error log)", call, bad.c_str());
		return CUDA_ERROR_INVALID_PTX;
	}
	auto *m = new Module;
	for (Function &e : entries) {
		int emuArgs = 0;
		e.emuIndex = emu_kernel(e.name.c_str(), &emuArgs);
		if (e.emuIndex >= 0 && emuArgs != e.nargs)
			return complain(CUDA_ERROR_INVALID_IMAGE, "kernel %s: %d parameters in the PTX, %d in the source",
			                e.name.c_str(), e.nargs, emuArgs);
		m->functions.push_back(new Function(e));
	}
	*module = reinterpret_cast<CUmodule>(m);
	say("%s: %zu kernels", call, entries.size());
	return CUDA_SUCCESS;
}

} // namespace

extern "C" {

CUresult CUDAAPI cuModuleLoadData(CUmodule *module, const void *image) {
	return loadModule("cuModuleLoadData", module, image, nullptr, 0);
}

// cuModuleLoadDataEx reads the error log options and ignores the others
// (they tune the JIT, which this driver does not have).
CUresult CUDAAPI cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned int numOptions,
                                    CUjit_option *options, void **optionValues) {
	char *log = nullptr;
	size_t logBytes = 0;
	for (unsigned i = 0; i < numOptions; i++) {
		if (options[i] == CU_JIT_ERROR_LOG_BUFFER) log = static_cast<char *>(optionValues[i]);
		if (options[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES) logBytes = reinterpret_cast<uintptr_t>(optionValues[i]);
	}
	if (log != nullptr && logBytes > 0) log[0] = 0;
	return loadModule("cuModuleLoadDataEx", module, image, log, logBytes);
}

CUresult CUDAAPI cuModuleGetFunction(CUfunction *f, CUmodule module, const char *name) {
	std::lock_guard<std::mutex> lock(mu);
	if (CUresult r = needContext("cuModuleGetFunction")) return r;
	auto *m = reinterpret_cast<Module *>(module);
	for (Function *fn : m->functions)
		if (fn->name == name) {
			if (fn->emuIndex < 0)
				return complain(CUDA_ERROR_NOT_FOUND, "kernel %s is in the PTX but not in emu_bridge.cpp's table", name);
			*f = reinterpret_cast<CUfunction>(fn);
			return CUDA_SUCCESS;
		}
	return CUDA_ERROR_NOT_FOUND;
}

CUresult CUDAAPI cuModuleUnload(CUmodule module) {
	std::lock_guard<std::mutex> lock(mu);
	if (CUresult r = needContext("cuModuleUnload")) return r;
	auto *m = reinterpret_cast<Module *>(module);
	for (Function *fn : m->functions) delete fn;
	delete m;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                                unsigned bz, unsigned sharedMemBytes, CUstream stream, void **params, void **extra) {
	std::lock_guard<std::mutex> lock(mu);
	if (CUresult r = needContext("cuLaunchKernel")) return r;
	auto *fn = reinterpret_cast<Function *>(f);
	if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0 || gy > 65535 || gz > 65535 || bx > 1024 ||
	    by > 1024 || bz > 64 || (unsigned long)bx * by * bz > 1024)
		return CUDA_ERROR_INVALID_VALUE; // a real driver says no more than this
	if (fn->maxThreads > 0 && (long)bx * by * bz > fn->maxThreads) { // as above: a code, not a complaint
		say("launch %s: %ux%u threads a block, its __launch_bounds__ allows %ld", fn->name.c_str(), bx, by, fn->maxThreads);
		return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
	}
	if (bz != 1)
		return complain(CUDA_ERROR_INVALID_VALUE, "launch %s: a block's z dimension is not emulated", fn->name.c_str());
	if (sharedMemBytes != 0 || stream != nullptr || extra != nullptr)
		return complain(CUDA_ERROR_INVALID_VALUE, "launch %s: dynamic shared memory, streams and extra are not emulated",
		                fn->name.c_str());
	if (fn->nargs > 0 && params == nullptr)
		return complain(CUDA_ERROR_INVALID_VALUE, "launch %s: %d parameters, none passed", fn->name.c_str(), fn->nargs);
	uint64_t args[16];
	for (int i = 0; i < fn->nargs && i < 16; i++) std::memcpy(&args[i], params[i], 8);
	say("cuLaunchKernel(%s, %ux%ux%u, %ux%u)", fn->name.c_str(), gx, gy, gz, bx, by);
	if (nullKernels) return CUDA_SUCCESS;
	int rc = emu_launch(fn->emuIndex, gx, gy, gz, bx, by, args, fn->nargs);
	if (rc != 0) return complain(CUDA_ERROR_LAUNCH_FAILED, "launch %s: emulator code %d", fn->name.c_str(), rc);
	return CUDA_SUCCESS;
}

} // extern "C"
