// kloop.cuh: the double-buffered k-loops the SGEMM kernels share (gemm.cuh
// and gemm_tc.cu). A kernel supplies four callables over its own registers
// and shared tiles:
//   fetchFast()      the next full K tile into registers, through pointers
//                    it steps itself (no bounds checks);
//   fetchChecked(k0) the tile starting at k0 into registers, bounds-checked;
//   store(buf)       those registers into shared buffer buf (0 or 1);
//   multiply(buf)    accumulate the tile in shared buffer buf.
// Both loops keep the next tile's fetch in flight during the arithmetic
// and synchronise once per tile: a buffer is stored only after every
// thread has passed the barrier that follows its last multiply.
#pragma once
#include "common.cuh"

// fetch4 reads 4 consecutive floats of a stored row at src: one float4
// when whole (the caller knows them inside the row and 16-byte aligned),
// else scalars, zero past the row's end (col + q >= cols) or for a row
// outside (!rowIn). The checked fetches of both SGEMM kernels use it.
__device__ __forceinline__ float4 fetch4(const float *src, bool whole, bool rowIn, i64 col, i64 cols) {
	if (whole) return *reinterpret_cast<const float4 *>(src);
	float4 v;
	v.x = rowIn && col + 0 < cols ? src[0] : 0.f;
	v.y = rowIn && col + 1 < cols ? src[1] : 0.f;
	v.z = rowIn && col + 2 < cols ? src[2] : 0.f;
	v.w = rowIn && col + 3 < cols ? src[3] : 0.f;
	return v;
}

// storeC4 writes 4 consecutive outputs of a row of C at c, columns
// col..col+3 of n: c[q] = alpha·s[q] + beta·c[q], C not read when beta is
// 0. One float4 when vec (C 16-byte aligned, ldc a multiple of 4: col is
// then too) and all 4 lie inside, else scalar writes of those that do.
// Both SGEMM epilogues store through it.
__device__ __forceinline__ void storeC4(float *c, const float *s, float alpha, bool vec, i64 col, i64 n, float beta) {
	if (vec && col + 4 <= n) {
		float4 v = make_float4(alpha * s[0], alpha * s[1], alpha * s[2], alpha * s[3]);
		if (beta != 0.f) {
			const float4 o = *reinterpret_cast<const float4 *>(c);
			v.x += beta * o.x;
			v.y += beta * o.y;
			v.z += beta * o.z;
			v.w += beta * o.w;
		}
		*reinterpret_cast<float4 *>(c) = v;
		return;
	}
#pragma unroll
	for (int q = 0; q < 4; q++)
		if (col + q < n) c[q] = beta == 0.f ? alpha * s[q] : alpha * s[q] + beta * c[q];
}

// fastKLoop walks k (at least BK) for a block whose fetches need no checks:
// the k/BK full tiles through fetchFast, then a partial last tile, if any,
// through fetchChecked after the loop, so that the loop itself holds no
// bounds arithmetic (nor its registers).
template <int BK, class FetchFast, class FetchChecked, class Store, class Multiply>
__device__ __forceinline__ void fastKLoop(i64 k, FetchFast &fetchFast, FetchChecked &fetchChecked, Store &store,
                                          Multiply &multiply) {
	const i64 ntiles = (k + BK - 1) / BK, nfull = k / BK;
	fetchFast();
	store(0);
	__syncthreads();
	i64 t = 0;
	for (; t + 1 < nfull; t++) { // the next tile is full too
		const int cur = (int)(t & 1);
		fetchFast();
		multiply(cur);
		store(cur ^ 1);
		__syncthreads();
	}
	const int cur = (int)(t & 1); // holds the last full tile
	if (nfull < ntiles) {         // a partial tile follows
		fetchChecked(nfull * BK);
		multiply(cur);
		store(cur ^ 1);
		__syncthreads();
		multiply(cur ^ 1);
	} else {
		multiply(cur);
	}
}

// checkedKLoop walks k with every fetch checked (edge blocks, unaligned
// operands, k < BK).
template <int BK, class FetchChecked, class Store, class Multiply>
__device__ __forceinline__ void checkedKLoop(i64 k, FetchChecked &fetchChecked, Store &store, Multiply &multiply) {
	const i64 ntiles = (k + BK - 1) / BK;
	if (ntiles > 0) {
		fetchChecked((i64)0);
		store(0);
	}
	__syncthreads();
	for (i64 t = 0; t < ntiles; t++) {
		const int cur = (int)(t & 1);
		const bool more = t + 1 < ntiles;
		if (more) fetchChecked((t + 1) * BK);
		multiply(cur);
		if (more) store(cur ^ 1);
		__syncthreads();
	}
}
