//go:build cudaemu && !cuda

// emu_bridge.cpp: the kernels of package kernels compiled for the CPU with
// scripts/cuda/emu/cuda_emu.h, behind the C interface of emu_bridge.h, for
// driver_emu.go. Every kernel parameter is one 8-byte word (see
// kernels/common.cuh); Wrap turns the words back into the kernel's
// parameter types, so the table below needs only the kernels' names.
#include "../../scripts/cuda/emu/cuda_emu.h"

#include "../../kernels/elementwise.cu"
#include "../../kernels/gemm.cu"
#include "../../kernels/gemm_wide.cu"
#include "../../kernels/gemm_tc.cu"
#include "../../kernels/loss.cu"
#include "../../kernels/optim.cu"
#include "../../kernels/reduce.cu"
#include "../../kernels/softmax.cu"

#include "emu_bridge.h"

#include <bit>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>

namespace {

template <class T>
T fromWord(uint64_t w) {
	if constexpr (std::is_pointer_v<T>)
		return reinterpret_cast<T>(static_cast<uintptr_t>(w));
	else if constexpr (std::is_same_v<T, double>)
		return std::bit_cast<double>(w);
	else {
		static_assert(std::is_same_v<T, i64>, "kernel parameters are pointers, i64 or double");
		return static_cast<i64>(w);
	}
}

template <auto F>
struct Wrap;

template <class... Ts, void (*F)(Ts...)>
struct Wrap<F> {
	static constexpr int nargs = sizeof...(Ts);
	static void call(const uint64_t *a) { invoke(a, std::index_sequence_for<Ts...>{}); }
	template <size_t... I>
	static void invoke(const uint64_t *a, std::index_sequence<I...>) {
		F(fromWord<Ts>(a[I])...);
	}
};

struct Kernel {
	const char *name;
	int nargs;
	void (*call)(const uint64_t *);
};

#define K(fn) Kernel{#fn, Wrap<fn>::nargs, Wrap<fn>::call}
const Kernel table[] = {
    K(fill), K(copy2d), K(axpy), K(scale), K(unary), K(unary_adjoint), K(binary), K(bias_act), K(dropout_mask), K(transpose), K(transpose_tiled), K(im2col), K(col2im), K(max_pool), K(max_pool_adjoint), K(max_pool_tangent), K(gather), K(scatter_add),
    K(dot_partial), K(dot_final), K(sum_rows), K(sum_rows_partial), K(sum_rows_final), K(sum_cols), K(sum_cols_partial), K(sum_cols_final), K(argmax_matches),
    K(softmax_warp), K(softmax_block), K(softmax_adjoint_warp), K(softmax_adjoint_block),
    K(layernorm_warp), K(layernorm_block), K(layernorm_adjoint_warp), K(layernorm_adjoint_block),
    K(layernorm_param_grad), K(batchnorm_stats), K(batchnorm_apply), K(batchnorm_adjoint),
    K(batchnorm_stats_partial), K(batchnorm_stats_final), K(batchnorm_adjoint_partial), K(batchnorm_adjoint_final), K(batchnorm_delta),
    K(loss_warp), K(loss_block), K(sgd), K(adam), K(rmsprop), K(sgd_multi), K(adam_multi),
    K(sgemm_nn_128), K(sgemm_nt_128), K(sgemm_tn_128), K(sgemm_tt_128),
    K(sgemm_nn_64), K(sgemm_nt_64), K(sgemm_tn_64), K(sgemm_tt_64),
    K(sgemm_nn_32), K(sgemm_nt_32), K(sgemm_tn_32), K(sgemm_tt_32),
    K(sgemm_nn_128x256), K(sgemm_nt_128x256), K(sgemm_tn_128x256), K(sgemm_tt_128x256),
    K(sgemm_nn_tf32x3), K(sgemm_nt_tf32x3), K(sgemm_tn_tf32x3), K(sgemm_tt_tf32x3),
};
#undef K
constexpr int numKernels = sizeof(table) / sizeof(table[0]);

} // namespace

extern "C" int emu_kernel(const char *name, int *nargs) {
	for (int i = 0; i < numKernels; i++)
		if (std::strcmp(table[i].name, name) == 0) {
			*nargs = table[i].nargs;
			return i;
		}
	return -1;
}

extern "C" int emu_launch(int k, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, const uint64_t *args,
                          int nargs) {
	if (k < 0 || k >= numKernels) return -1;
	if (nargs != table[k].nargs) return -2;
	if ((unsigned long)bx * by > 1024) return -3;
	uint64_t a[16] = {};
	std::memcpy(a, args, sizeof(uint64_t) * (size_t)nargs);
	const Kernel &kern = table[k];
	emu::launch(dim3{gx, gy, gz}, dim3{bx, by, 1}, [&] { kern.call(a); });
	return 0;
}

// emu_alloc returns 256-byte aligned memory, as cuMemAlloc does, filled
// with NaN (every byte 0xff: a NaN as float and as double). Fresh memory
// from the host allocator is mostly zero pages, and code that reads a
// buffer before writing it (β = 0 taken as "add to zero", an accumulator
// assumed cleared) would pass here and fail on a GPU, whose fresh memory is
// whatever was there; NaN makes such a read show in every result it
// touches.
extern "C" uintptr_t emu_alloc(size_t bytes) {
	size_t n = (bytes + 255) / 256 * 256;
	if (n == 0) n = 256;
	void *p = std::aligned_alloc(256, n);
	if (p != nullptr) std::memset(p, 0xff, n);
	return reinterpret_cast<uintptr_t>(p);
}

extern "C" void emu_free(uintptr_t p) { std::free(reinterpret_cast<void *>(p)); }

extern "C" void emu_htod(uintptr_t dst, const void *src, size_t bytes) {
	std::memcpy(reinterpret_cast<void *>(dst), src, bytes);
}

extern "C" void emu_dtoh(void *dst, uintptr_t src, size_t bytes) {
	std::memcpy(dst, reinterpret_cast<const void *>(src), bytes);
}

extern "C" void emu_memset32(uintptr_t dst, uint32_t v, size_t n) {
	uint32_t *p = reinterpret_cast<uint32_t *>(dst);
	for (size_t i = 0; i < n; i++) p[i] = v;
}
