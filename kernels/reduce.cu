// reduce.cu: dot product, column sums (SumRows; in two passes for a few
// long columns), row sums (SumCols, one
// warp per row or, for a few long rows, two passes) and the
// count of correct class predictions (ArgMaxMatches).
// Sums are accumulated in double, like the cpu package's Dot and SumCols.
// No atomics: every result has a fixed summation order, so repeated runs
// give identical bits.
#include "common.cuh"

// dot_partial: partial[b] = sum over the elements of block b's grid-stride
// share of x[i]*y[i]. Launch with THREADS threads and at most 1024 blocks,
// then dot_final with the same block count.
extern "C" __global__ void dot_partial(i64 n, const float *x, const float *y, double *partial) {
	__shared__ double smem[32];
	double s = 0.0;
	FOR_N(i, n) s += (double)x[i] * (double)y[i];
	s = blockSum(s, smem);
	if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// dot_final: out[0] = sum of partial[0..parts). One block of THREADS threads.
extern "C" __global__ void dot_final(i64 parts, const double *partial, double *out) {
	__shared__ double smem[32];
	double s = 0.0;
	for (i64 i = threadIdx.x; i < parts; i += blockDim.x) s += partial[i];
	s = blockSum(s, smem);
	if (threadIdx.x == 0) out[0] = s;
}

// sum_rows: y[j] = beta y[j] + sum_i x[i*cols + j] (the bias gradient).
// Block (32, 8): threadIdx.x picks the column within a 32-column strip
// (coalesced reads), threadIdx.y strides the rows; the 8 partial sums meet
// in shared memory. Grid (ceil(cols/32)). y is not read when beta is 0.
extern "C" __global__ void sum_rows(i64 rows, i64 cols, const float *x, double beta, float *y) {
	__shared__ double part[8][33];
	const i64 j = (i64)blockIdx.x * 32 + threadIdx.x;
	double s = 0.0;
	if (j < cols)
		for (i64 i = threadIdx.y; i < rows; i += 8) s += x[i * cols + j];
	part[threadIdx.y][threadIdx.x] = s;
	__syncthreads();
	if (threadIdx.y == 0 && j < cols) {
		for (int r = 1; r < 8; r++) s += part[r][threadIdx.x];
		if (beta != 0.0) s += beta * (double)y[j];
		y[j] = (float)s;
	}
}

// sum_rows_partial: partial[p*cols + j] = the sum, in double, of x[i*cols
// + j] over the rows i of part p = blockIdx.y, [p*chunk, min((p+1)*chunk,
// rows)): the first pass of a SumRows of few columns and many rows (a
// convolution's bias gradient: K*H*W rows of C channels), which in one
// pass would give each strip of 32 columns a single block. Block (32, 8)
// as sum_rows; grid (ceil(cols/32), parts); then sum_rows_final.
extern "C" __global__ void sum_rows_partial(i64 rows, i64 cols, i64 chunk, const float *x, double *partial) {
	__shared__ double part[8][33];
	const i64 j = (i64)blockIdx.x * 32 + threadIdx.x;
	const i64 lo = (i64)blockIdx.y * chunk, hi = lo + chunk < rows ? lo + chunk : rows;
	double s = 0.0;
	if (j < cols)
		for (i64 i = lo + threadIdx.y; i < hi; i += 8) s += x[i * cols + j];
	part[threadIdx.y][threadIdx.x] = s;
	__syncthreads();
	if (threadIdx.y == 0 && j < cols) {
		for (int r = 1; r < 8; r++) s += part[r][threadIdx.x];
		partial[(i64)blockIdx.y * cols + j] = s;
	}
}

// sum_rows_final: y[j] = beta y[j] + sum_p partial[p*cols + j], the parts
// in order; one thread per column, grid-stride. y is not read when beta is
// 0.
extern "C" __global__ void sum_rows_final(i64 parts, i64 cols, const double *partial, double beta, float *y) {
	FOR_N(j, cols) {
		double s = 0.0;
		for (i64 p = 0; p < parts; p++) s += partial[p * cols + j];
		if (beta != 0.0) s += beta * (double)y[j];
		y[j] = (float)s;
	}
}

// sum_cols: y[i] = beta y[i] + alpha sum_j x[i*cols + j]. One warp per
// row, THREADS/32 rows per block, grid-stride over the rows. y is not read
// when beta is 0.
extern "C" __global__ void sum_cols(i64 rows, i64 cols, const float *x, double alpha, double beta, float *y) {
	Row<true> r;
	for (i64 row = r.row; row < rows; row += r.step) {
		const float *xr = x + row * cols;
		double s = 0.0;
		for (i64 j = r.lane; j < cols; j += r.width) s += xr[j];
		s = alpha * warpSum(s);
		if (r.lane == 0) {
			if (beta != 0.0) s += beta * (double)y[row];
			y[row] = (float)s;
		}
	}
}

// sum_cols_partial: partial[row*gridDim.x + b] = the sum, in double, of
// block b's grid-stride share of row blockIdx.y of x (rows × cols): the
// first pass of a SumCols whose rows are too long for one warp each, so
// that gridDim.x blocks share every row. Launch THREADS threads, gridDim.y =
// rows (at most 65535), then sum_cols_final.
extern "C" __global__ void sum_cols_partial(i64 cols, const float *x, double *partial) {
	__shared__ double smem[32];
	const float *xr = x + (i64)blockIdx.y * cols;
	double s = 0.0;
	for (i64 j = (i64)blockIdx.x * blockDim.x + threadIdx.x; j < cols; j += (i64)gridDim.x * blockDim.x) s += xr[j];
	s = blockSum(s, smem);
	if (threadIdx.x == 0) partial[(i64)blockIdx.y * gridDim.x + blockIdx.x] = s;
}

// sum_cols_final: y[row] = beta y[row] + alpha sum_b partial[row*parts + b],
// one block of THREADS threads per row (blockIdx.x), the parts summed in a
// fixed order. y is not read when beta is 0.
extern "C" __global__ void sum_cols_final(i64 parts, const double *partial, double alpha, double beta, float *y) {
	__shared__ double smem[32];
	const i64 row = blockIdx.x;
	double s = 0.0;
	for (i64 i = threadIdx.x; i < parts; i += blockDim.x) s += partial[row * parts + i];
	s = alpha * blockSum(s, smem);
	if (threadIdx.x == 0) {
		if (beta != 0.0) s += beta * (double)y[row];
		y[row] = (float)s;
	}
}

// argmaxBefore reports whether (v, i) precedes (w, j) in torch.argmax's
// order: a NaN before every number, then the larger value, then the
// smaller index.
__device__ __forceinline__ bool argmaxBefore(float v, i64 i, float w, i64 j) {
	const bool vn = v != v, wn = w != w;
	if (vn != wn) return vn;
	if (!vn && v != w) return v > w;
	return i < j;
}

// argmax_matches: count[0] = beta count[0] + #{i : argmax_j x[i*cols + j] ==
// labels[i]}. One block (of up to 1024 threads, a multiple of 32; the Go
// side launches 1024), one warp per row: each
// lane scans its strided share of the row, then a butterfly of shuffles
// leaves every lane with the row's first maximum. A single block keeps the
// count free of atomics and its order fixed; the rows of one batch of
// logits are few enough. count is not read when beta is 0. A label that is
// not an integer in [0, cols) (NaN included) matches nothing.
// __launch_bounds__(1024): a 1024-thread block needs at most 64 registers
// a thread, and the driver's JIT, not only this nvcc, must keep to that or
// the launch fails (device/cuda's TestLargeBlocksHaveLaunchBounds).
extern "C" __global__ void __launch_bounds__(1024)
    argmax_matches(i64 rows, i64 cols, const float *x, const float *labels, double beta, float *count) {
	__shared__ double smem[32];
	const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
	double n = 0.0;
	for (i64 row = threadIdx.x >> 5; row < rows; row += warps) {
		const float *xr = x + row * cols;
		float v = -INFINITY;
		i64 best = cols; // an empty lane: loses every tie against a real entry
		for (i64 j = lane; j < cols; j += 32)
			if (argmaxBefore(xr[j], j, v, best)) {
				v = xr[j];
				best = j;
			}
#pragma unroll
		for (int o = 16; o > 0; o >>= 1) {
			const float w = __shfl_xor_sync(0xffffffffu, v, o);
			const i64 j = __shfl_xor_sync(0xffffffffu, best, o);
			if (argmaxBefore(w, j, v, best)) {
				v = w;
				best = j;
			}
		}
		if (lane == 0 && best < cols && labels[row] == (float)best) n += 1.0;
	}
	n = blockSum(n, smem);
	if (threadIdx.x == 0) count[0] = (float)(beta != 0.0 ? beta * (double)count[0] + n : n);
}
