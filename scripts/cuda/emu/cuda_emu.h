// cuda_emu.h: a minimal CPU emulation of the CUDA C used by kernels/*.cu,
// for checking the kernels' logic on machines without a GPU (see
// emu_test.cpp and run.sh). Each CUDA thread of a block is a std::thread;
// blocks run one after another, so __shared__ variables can be plain
// statics. __syncthreads is a block-wide barrier, warp shuffles a per-warp
// exchange. It checks semantics only, never speed, and it cannot see
// races that depend on the GPU's memory model.
#pragma once
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)

struct dim3 {
	unsigned x = 1, y = 1, z = 1;
};
struct float4 {
	float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

inline dim3 blockIdx, blockDim, gridDim;
inline thread_local dim3 threadIdx;

namespace emu {
inline std::unique_ptr<std::barrier<>> block;
inline std::vector<std::unique_ptr<std::barrier<>>> warps;
inline std::vector<double> lanes; // one slot per thread for shuffles
inline std::mutex atomicMu;
inline int linear() { return threadIdx.x + threadIdx.y * blockDim.x; }

// launch runs kernel(args...) on a grid of blocks, one block at a time.
template <class F>
void launch(dim3 grid, dim3 blk, F kernel) {
	int n = blk.x * blk.y;
	gridDim = grid;
	blockDim = blk;
	for (unsigned by = 0; by < grid.y; by++)
		for (unsigned bx = 0; bx < grid.x; bx++) {
			blockIdx = dim3{bx, by, 1};
			block = std::make_unique<std::barrier<>>(n);
			warps.clear();
			for (int w = 0; w < (n + 31) / 32; w++) warps.push_back(std::make_unique<std::barrier<>>(std::min(32, n - 32 * w)));
			lanes.assign(n, 0.0);
			std::vector<std::thread> ts;
			for (int t = 0; t < n; t++)
				ts.emplace_back([=] {
					threadIdx = dim3{(unsigned)(t % blk.x), (unsigned)(t / blk.x), 1};
					kernel();
				});
			for (auto &t : ts) t.join();
		}
}
} // namespace emu

inline void __syncthreads() { emu::block->arrive_and_wait(); }

template <class T>
T __shfl_xor_sync(unsigned, T v, int o) {
	int t = emu::linear(), w = t / 32;
	emu::lanes[t] = (double)v;
	emu::warps[w]->arrive_and_wait();
	T r = (T)emu::lanes[(t ^ o)];
	emu::warps[w]->arrive_and_wait();
	return r;
}

inline int atomicCAS(int *p, int cmp, int val) {
	std::lock_guard<std::mutex> l(emu::atomicMu);
	int old = *p;
	if (old == cmp) *p = val;
	return old;
}
inline float __int_as_float(int i) {
	float f;
	std::memcpy(&f, &i, 4);
	return f;
}
inline int __float_as_int(float f) {
	int i;
	std::memcpy(&i, &f, 4);
	return i;
}
#include <math.h> // expf, logf, sqrtf, fabsf, tanhf, fmaf, fmaxf, truncf
