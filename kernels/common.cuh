// common.cuh: helpers shared by the kernels of package kernels.
//
// Every kernel is extern "C" (unmangled names, looked up by the Go side with
// cuModuleGetFunction) and takes only 8-byte parameters: pointers, long long
// for integers and double for real scalars (converted to float inside).
// gorgonia.org/cu's Function.Launch copies each argument as one 8-byte word,
// so narrower parameters would read garbage in their upper bytes.
#pragma once

typedef long long i64;

// Threads per block of the one-dimensional kernels.
#define THREADS 256

// Grid-stride loop over [0, n).
#define FOR_N(i, n)                                                          \
	for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n);       \
	     i += (i64)blockDim.x * gridDim.x)

// warpSum and warpMax reduce over the 32 lanes of a warp; every lane gets
// the result.
__device__ __forceinline__ double warpSum(double v) {
#pragma unroll
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
	for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

// blockSum reduces over the whole block (blockDim.x a multiple of 32, at
// most 1024); every thread gets the result. smem holds 32 doubles. It
// contains __syncthreads, so every thread of the block must call it.
__device__ __forceinline__ double blockSum(double v, double *smem) {
	int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	v = warpSum(v);
	__syncthreads(); // smem may still be read by a previous reduction
	if (lane == 0) smem[warp] = v;
	__syncthreads();
	int nw = blockDim.x >> 5;
	v = lane < nw ? smem[lane] : 0.0;
	return warpSum(v);
}

__device__ __forceinline__ float blockMax(float v, float *smem) {
	int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	v = warpMax(v);
	__syncthreads();
	if (lane == 0) smem[warp] = v;
	__syncthreads();
	int nw = blockDim.x >> 5;
	v = lane < nw ? smem[lane] : -INFINITY;
	return warpMax(v);
}

// Row is the work split of the row-wise kernels (softmax, loss): with
// WARP, one warp per row and blockDim.x/32 rows per block; otherwise one
// block per row. All threads of a row's group take the same path, so the
// block variant may call blockSum/blockMax inside the row loop.
template <bool WARP>
struct Row {
	i64 row, step;
	int lane, width;
	__device__ Row() {
		if (WARP) {
			int wpb = blockDim.x >> 5;
			row = (i64)blockIdx.x * wpb + (threadIdx.x >> 5);
			step = (i64)gridDim.x * wpb;
			lane = threadIdx.x & 31;
			width = 32;
		} else {
			row = blockIdx.x;
			step = gridDim.x;
			lane = threadIdx.x;
			width = blockDim.x;
		}
	}
	__device__ double sum(double v, double *smem) const { return WARP ? warpSum(v) : blockSum(v, smem); }
	__device__ float max(float v, float *smem) const { return WARP ? warpMax(v) : blockMax(v, smem); }
};

// stableSigmoid evaluates 1/(1+e^-x) on the side where e^-|x| cannot
// overflow, like the cpu package.
__device__ __forceinline__ float stableSigmoid(float x) {
	if (x >= 0.f) return 1.f / (1.f + expf(-x));
	float e = expf(x);
	return e / (1.f + e);
}

// rowLSE returns log sum_j exp(b[j]) for one row, as the cpu package's
// logSumExp: -inf for a row of -inf.
template <bool W>
__device__ __forceinline__ double rowLSE(const Row<W> &r, const float *b, i64 cols, float *sf, double *sd) {
	float m = -INFINITY;
	for (i64 j = r.lane; j < cols; j += r.width) m = fmaxf(m, b[j]);
	m = r.max(m, sf);
	// fmaxf skips NaN; a NaN entry still turns the sum, and so the row, NaN.
	if (m == -INFINITY) return -INFINITY;
	double s = 0.0;
	for (i64 j = r.lane; j < cols; j += r.width) s += (double)expf(b[j] - m);
	s = r.sum(s, sd);
	return (double)m + log(s);
}

// The codes of device.UnaryOp, device.BinaryOp and device.LossKind, passed
// as 64-bit kernel parameters. kernels_test.go checks them against package
// device.
#define OP_IDENTITY 0
#define OP_NEG 1
#define OP_EXP 2
#define OP_LOG 3
#define OP_SQRT 4
#define OP_SQUARE 5
#define OP_ABS 6
#define OP_RELU 7
#define OP_SIGMOID 8
#define OP_TANH 9
#define OP_GELU 10
#define OP_SILU 11
#define OP_LEAKY_RELU 12
#define OP_ELU 13
#define OP_RELU6 14
#define OP_HARDSIGMOID 15
#define OP_HARDSWISH 16

#define BIN_ADD 0
#define BIN_SUB 1
#define BIN_MUL 2
#define BIN_DIV 3

#define LOSS_MSE 0
#define LOSS_MAE 1
#define LOSS_HUBER 2
#define LOSS_CROSS_ENTROPY 3
#define LOSS_SOFTMAX_CROSS_ENTROPY 4
#define LOSS_SOFTMAX_CROSS_ENTROPY_INDEX 5
#define LOSS_BINARY_CROSS_ENTROPY_LOGITS 6
