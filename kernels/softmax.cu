// softmax.cu: softmax and log-softmax over each row of a rows x cols
// matrix, and their adjoints. Numerically stable: the row maximum is
// subtracted before exponentiating, and log-sum-exp is formed in double.
//
// Two launch shapes of the same code (see Row in common.cuh): *_warp puts
// one warp on a row (THREADS/32 rows per block; the host uses it for
// cols <= 1024), *_block one block of THREADS threads on a row. Row sums use
// warp shuffles, then shared memory across the warps of a block.
#include "common.cuh"

template <bool W>
__device__ __forceinline__ void softmaxRows(i64 rows, i64 cols, const float *x, float *y, bool logp) {
	__shared__ float sf[32];
	__shared__ double sd[32];
	Row<W> r;
	for (i64 row = r.row; row < rows; row += r.step) {
		const float *xr = x + row * cols;
		float *yr = y + row * cols;
		const double lse = rowLSE(r, xr, cols, sf, sd);
		if (logp) {
			for (i64 j = r.lane; j < cols; j += r.width) yr[j] = (float)((double)xr[j] - lse);
		} else {
			for (i64 j = r.lane; j < cols; j += r.width) yr[j] = expf((float)((double)xr[j] - lse));
		}
	}
}

template <bool W>
__device__ __forceinline__ void softmaxAdjointRows(i64 rows, i64 cols, const float *y, const float *eps,
                                                   float *delta, bool logp) {
	__shared__ double sd[32];
	Row<W> r;
	for (i64 row = r.row; row < rows; row += r.step) {
		const float *yr = y + row * cols, *er = eps + row * cols;
		float *dr = delta + row * cols;
		double s = 0.0;
		if (logp) { // delta = eps - exp(y) sum(eps)
			for (i64 j = r.lane; j < cols; j += r.width) s += er[j];
			s = r.sum(s, sd);
			for (i64 j = r.lane; j < cols; j += r.width)
				dr[j] = (float)((double)er[j] - (double)expf(yr[j]) * s);
		} else { // delta = y (eps - <eps, y>)
			for (i64 j = r.lane; j < cols; j += r.width) s += (double)er[j] * (double)yr[j];
			s = r.sum(s, sd);
			for (i64 j = r.lane; j < cols; j += r.width)
				dr[j] = (float)((double)yr[j] * ((double)er[j] - s));
		}
	}
}

// softmax_*: y = softmax(x) (logp = 0) or log softmax(x) (logp = 1) per row.
extern "C" __global__ void softmax_warp(i64 rows, i64 cols, const float *x, float *y, i64 logp) {
	softmaxRows<true>(rows, cols, x, y, logp != 0);
}
extern "C" __global__ void softmax_block(i64 rows, i64 cols, const float *x, float *y, i64 logp) {
	softmaxRows<false>(rows, cols, x, y, logp != 0);
}

// softmax_adjoint_*: delta = y (eps - <eps, y>) given y = softmax(x), or with
// logp = 1, delta = eps - exp(y) sum(eps) given y = log softmax(x).
extern "C" __global__ void softmax_adjoint_warp(i64 rows, i64 cols, const float *y, const float *eps,
                                                float *delta, i64 logp) {
	softmaxAdjointRows<true>(rows, cols, y, eps, delta, logp != 0);
}
extern "C" __global__ void softmax_adjoint_block(i64 rows, i64 cols, const float *y, const float *eps,
                                                 float *delta, i64 logp) {
	softmaxAdjointRows<false>(rows, cols, y, eps, delta, logp != 0);
}
