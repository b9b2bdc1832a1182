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
#include <bit>
#include <condition_variable>
#include <climits>
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
struct alignas(16) float4 { // as CUDA's: a float4 load needs a 16-byte aligned address
	float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
struct alignas(8) float2 {
	float x, y;
};
inline float2 make_float2(float x, float y) { return {x, y}; }

inline dim3 blockIdx, blockDim, gridDim;
inline thread_local dim3 threadIdx;

namespace emu {
inline std::unique_ptr<std::barrier<>> block;
inline std::vector<std::unique_ptr<std::barrier<>>> warps;
inline std::vector<double> lanes; // one slot per thread for shuffles
inline std::vector<float> frags;  // 6 slots per thread for mmaTF32's operands
inline std::mutex atomicMu;
inline int linear() { return threadIdx.x + threadIdx.y * blockDim.x; }

// Pool is a persistent set of threads, one per CUDA thread of the largest
// block launched so far. A launch wakes the first n of them and they run
// every block of the grid in turn (blocks one after another, so __shared__
// statics are per block), meeting at a barrier between blocks whose
// completion step moves blockIdx on. A launch therefore costs a wake-up,
// not n thread creations per block.
class Pool {
  public:
	void run(dim3 grid, dim3 blk, std::function<void()> kernel) {
		const int n = blk.x * blk.y;
		std::unique_lock<std::mutex> l(mu);
		while ((int)threads.size() < n) {
			int t = threads.size();
			threads.emplace_back([this, t] { worker(t); });
		}
		gridDim = grid;
		blockDim = blk;
		blockIdx = dim3{0, 0, 0};
		block = std::make_unique<std::barrier<>>(n);
		warps.clear();
		for (int w = 0; w < (n + 31) / 32; w++) warps.push_back(std::make_unique<std::barrier<>>(std::min(32, n - 32 * w)));
		lanes.assign(n, 0.0);
		frags.assign(6 * n, 0.f);
		next = std::make_unique<std::barrier<Advance>>(n, Advance{});
		fn = std::move(kernel);
		active = n;
		remaining = n;
		blocks = (long long)grid.x * grid.y * grid.z;
		gen++;
		start.notify_all();
		done.wait(l, [this] { return remaining == 0; });
		fn = nullptr;
	}
	~Pool() {
		{
			std::lock_guard<std::mutex> l(mu);
			quit = true;
		}
		start.notify_all();
		for (auto &t : threads) t.join();
	}

  private:
	// Advance moves blockIdx to the next block, once every thread of the
	// block has finished it.
	struct Advance {
		void operator()() noexcept {
			if (++blockIdx.x == gridDim.x) {
				blockIdx.x = 0;
				if (++blockIdx.y == gridDim.y) {
					blockIdx.y = 0;
					blockIdx.z++;
				}
			}
		}
	};
	void worker(int t) {
		unsigned long long seen = 0;
		for (;;) {
			{
				std::unique_lock<std::mutex> l(mu);
				start.wait(l, [&] { return quit || gen != seen; });
				if (quit) return;
				seen = gen;
				if (t >= active) continue;
			}
			threadIdx = dim3{(unsigned)(t % blockDim.x), (unsigned)(t / blockDim.x), 0};
			for (long long b = 0; b < blocks; b++) {
				fn();
				next->arrive_and_wait();
			}
			std::lock_guard<std::mutex> l(mu);
			if (--remaining == 0) done.notify_one();
		}
	}
	std::mutex mu;
	std::condition_variable start, done;
	std::vector<std::thread> threads;
	std::unique_ptr<std::barrier<Advance>> next;
	std::function<void()> fn;
	unsigned long long gen = 0;
	int active = 0, remaining = 0;
	long long blocks = 0;
	bool quit = false;
};

// launchFn runs kernel on a grid of blocks, one block at a time, on the
// process's one pool. Launches are serialised (one grid at a time, like a
// single stream).
inline void launchFn(dim3 grid, dim3 blk, std::function<void()> kernel) {
	static Pool pool;
	static std::mutex one;
	std::lock_guard<std::mutex> l(one);
	if (grid.x == 0 || grid.y == 0 || blk.x * blk.y == 0) return;
	pool.run(grid, blk, std::move(kernel));
}

template <class F>
void launch(dim3 grid, dim3 blk, F kernel) {
	launchFn(grid, blk, std::function<void()>(std::move(kernel)));
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

inline float __uint_as_float(unsigned u) { return std::bit_cast<float>(u); }
inline unsigned __float_as_uint(float f) { return std::bit_cast<unsigned>(f); }

// toTF32 is cvt.rna.tf32.f32 followed by gemm_tc.cu's mask: round to 10
// explicit mantissa bits, to nearest with ties away from zero (add half an
// ulp to the magnitude, then truncate; a carry rounds up the exponent, to
// infinity past the largest finite), NaN unchanged.
inline float toTF32(float x) {
	if (std::isnan(x)) return x;
	return __uint_as_float((__float_as_uint(x) + 0x1000u) & 0xffffe000u);
}

// tcSum is the tensor core's sum of n terms as mmaTF32's comment models
// it: every term cut to the 24-bit grid of the largest (toward zero), the
// cut terms summed exactly, the sum truncated toward zero to float32.
// Non-finite terms are summed as IEEE does (NaN and ±inf propagate).
inline float tcSum(const double *terms, int n) {
	int emax = INT_MIN;
	double plain = 0;
	for (int p = 0; p < n; p++) {
		plain += terms[p];
		if (terms[p] != 0 && std::isfinite(terms[p])) emax = std::max(emax, std::ilogb(terms[p]));
	}
	if (!std::isfinite(plain) || emax == INT_MIN) return (float)plain;
	double sum = 0; // exact: n multiples of 2^(emax-23), each below 2^(emax+1)
	for (int p = 0; p < n; p++) sum += std::ldexp(std::trunc(std::ldexp(terms[p], 23 - emax)), emax - 23);
	float s = (float)sum;
	if (std::fabs((double)s) > std::fabs(sum)) s = std::nextafter(s, 0.0f); // toward zero
	return s;
}

// mmaTF32 is mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 for the
// calling warp, with the PTX ISA's fragment layout (g = lane/4, t = lane%4):
// a = {A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4]}, b = {B[t][g], B[t+4][g]},
// d = {D[g][2t], D[g][2t+1], D[g+8][2t], D[g+8][2t+1]}. Like the tensor
// core it reads only the TF32 bits of a and b (the low 13 are ignored).
// Each lane publishes its fragments, the warp meets, each lane computes
// its four outputs, and the warp meets again before the slots are reused.
//
// The arithmetic is a model of the tensor core's, not IEEE float, and a
// pessimistic one: NVIDIA does not document it, and published measurements
// of V100, A100 and H100 tensor cores (Fasi et al. 2021, Khattak and
// Mikaitis 2025) find exact products, terms aligned to the largest with
// the bits below its 24-bit significand cut off (truncated, with a few
// extra bits kept on some cards), and a sum truncated toward zero rather
// than rounded to nearest. tcSum does that with no extra bits. Truncation
// biases every mma toward zero by up to a few ulps of its largest term, so
// code that chains many mma through one accumulator drifts where FP32's
// rounding to nearest would not; this model makes such drift show here.
inline void mmaTF32(float *d, const float *a, const float *b) {
	const int self = emu::linear(), w = self / 32, lane = self % 32;
	auto tf32 = [](float x) { return __uint_as_float(__float_as_uint(x) & 0xffffe000u); };
	float *slot = &emu::frags[6 * self];
	for (int q = 0; q < 4; q++) slot[q] = tf32(a[q]);
	slot[4] = tf32(b[0]);
	slot[5] = tf32(b[1]);
	emu::warps[w]->arrive_and_wait();
	const float *warp = &emu::frags[6 * 32 * w];
	auto A = [&](int i, int p) { return warp[6 * ((i % 8) * 4 + p % 4) + (i >= 8) + 2 * (p >= 4)]; };
	auto B = [&](int p, int j) { return warp[6 * (j * 4 + p % 4) + 4 + (p >= 4)]; };
	const int g = lane / 4, t = lane % 4;
	float out[4];
	for (int q = 0; q < 4; q++) {
		const int i = g + 8 * (q / 2), j = 2 * t + q % 2;
		double terms[9] = {d[q]};
		for (int p = 0; p < 8; p++) terms[1 + p] = (double)A(i, p) * (double)B(p, j); // exact: 11-bit significands
		out[q] = tcSum(terms, 9);
	}
	emu::warps[w]->arrive_and_wait();
	for (int q = 0; q < 4; q++) d[q] = out[q];
}

inline int atomicCAS(int *p, int cmp, int val) {
	std::lock_guard<std::mutex> l(emu::atomicMu);
	int old = *p;
	if (old == cmp) *p = val;
	return old;
}
inline float __int_as_float(int i) { return std::bit_cast<float>(i); }
inline int __float_as_int(float f) { return std::bit_cast<int>(f); }
#include <math.h> // expf, logf, sqrtf, fabsf, tanhf, fmaf, fmaxf, truncf
