// gemm.cuh: the single-precision matrix product C = alpha op(A) op(B) +
// beta C, row-major, with leading dimensions, as device.Device.Gemm: the
// block-tile template and the SGEMM macro that instantiates it as a kernel.
// gemm.cu and gemm_wide.cu instantiate the tiles, as two modules so that a
// program whose products never reach the wide tile never JIT-compiles it.
// See doc.go for the tiling diagram.
#pragma once
#include "kloop.cuh"

// spread copies 4 floats from 16-byte aligned shared memory (one float4
// load) into registers dst[0..3].
__device__ __forceinline__ void spread(float *dst, const float *src) {
	const float4 v = *reinterpret_cast<const float4 *>(src);
	dst[0] = v.x;
	dst[1] = v.y;
	dst[2] = v.z;
	dst[3] = v.w;
}

// sgemmTile computes one BM x BN block of C. The block's (BM/TM)(BN/TN)
// threads each own TM x TN outputs, split into 4 x 4 groups spaced
// 4*BM/TM rows and 4*BN/TN columns apart so that the float4 reads of the
// shared tiles are contiguous across a warp (no bank conflicts).
//
// The K dimension is walked in tiles of BK. The shared tiles hold op(A)
// k-major (As[p][i]) and op(B) k-major (Bs[p][j]), double buffered: while
// the block multiplies tile t out of one buffer, each thread's registers
// already hold its share of tile t+1, stored to the other buffer after the
// arithmetic; one __syncthreads per tile.
//
// Two copies of the k-loop (kloop.cuh) are compiled, chosen once per block:
//   - the fast path, for a block wholly inside C whose operands are 16-byte
//     aligned with leading dimensions divisible by 4 (nearly every block of
//     a large product): each thread keeps a pointer per float4 it loads and
//     advances it by one tile, with no bounds checks; only a last partial
//     tile (k not a multiple of BK) takes the checked load;
//   - the edge path: every load bounds-checked, float4 where the tile lies
//     inside the matrix, scalar reads with zeros outside otherwise.
// On a GPU an SGEMM of this shape is bound by instruction issue (one warp
// instruction per cycle per scheduler, and an FFMA is one of them), so the
// fast path exists to keep the loop's non-FFMA instructions few: the edge
// path's 64-bit index arithmetic and predicates would cost about a sixth of
// the issue slots. Both paths accumulate each output over p = 0, 1, ...,
// k-1 in order, so every tile and path gives bit-identical results.
template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB>
__device__ __forceinline__ void sgemmTile(i64 m, i64 n, i64 k, float alpha,
                                          const float *__restrict__ A, i64 lda,
                                          const float *__restrict__ B, i64 ldb,
                                          float beta, float *C, i64 ldc) {
	constexpr int NT = (BM / TM) * (BN / TN); // threads per block
	constexpr int VA = BM * BK / 4 / NT;      // float4 of A per thread per tile
	constexpr int VB = BN * BK / 4 / NT;
	static_assert(VA * NT * 4 == BM * BK, "A tile does not split evenly");
	static_assert(VB * NT * 4 == BN * BK, "B tile does not split evenly");
	static_assert(TM % 4 == 0 && TN % 4 == 0, "TM, TN must be multiples of 4");
	constexpr int SA = BM + 4, SB = BN + 4; // padded shared row strides
	constexpr int RA = 4 * BM / TM;         // row distance of a thread's 4-row groups
	constexpr int RB = 4 * BN / TN;         // column distance of its 4-column groups
	// A tile of a stored operand is read as rows of float4: WA (WB) float4
	// per stored row. op(A) is m x k: stored m x k (rows i, columns p) or,
	// when TA, k x m (rows p, columns i); op(B) likewise.
	constexpr int WA = TA ? BM / 4 : BK / 4;
	constexpr int WB = TB ? BK / 4 : BN / 4;

	__shared__ __align__(16) float As[2][BK * SA];
	__shared__ __align__(16) float Bs[2][BK * SB];

	const int tid = threadIdx.x;
	const int tx = tid % (BN / TN), ty = tid / (BN / TN);
	const i64 bm = (i64)blockIdx.y * BM, bn = (i64)blockIdx.x * BN;
	const bool vecA = lda % 4 == 0 && ((size_t)A & 15) == 0;
	const bool vecB = ldb % 4 == 0 && ((size_t)B & 15) == 0;
	const bool fullM = bm + BM <= m, fullN = bn + BN <= n;

	float4 ra[VA], rb[VB];

	// loadChecked fetches the tile starting at k0 into registers, with
	// bounds checks (the edge path, and the fast path's partial last tile).
	auto loadChecked = [&](i64 k0) {
		const bool kin = k0 + BK <= k;
		const bool fa = fullM && kin && vecA, fb = fullN && kin && vecB;
#pragma unroll
		for (int v = 0; v < VA; v++) {
			const int idx = tid + v * NT, r = idx / WA, c = (idx % WA) * 4;
			if (!TA) // rows i, 4 consecutive p
				ra[v] = fetch4(A + (bm + r) * lda + k0 + c, fa, bm + r < m, k0 + c, k);
			else // rows p, 4 consecutive i
				ra[v] = fetch4(A + (k0 + r) * lda + bm + c, fa, k0 + r < k, bm + c, m);
		}
#pragma unroll
		for (int v = 0; v < VB; v++) {
			const int idx = tid + v * NT, r = idx / WB, c = (idx % WB) * 4;
			if (!TB) // rows p, 4 consecutive j
				rb[v] = fetch4(B + (k0 + r) * ldb + bn + c, fb, k0 + r < k, bn + c, n);
			else // rows j, 4 consecutive p
				rb[v] = fetch4(B + (bn + r) * ldb + k0 + c, fb, bn + r < n, k0 + c, k);
		}
	};

	// store writes the registers into shared buffer buf, k-major.
	auto store = [&](int buf) {
#pragma unroll
		for (int v = 0; v < VA; v++) {
			const int idx = tid + v * NT, r = idx / WA, c = (idx % WA) * 4;
			if (!TA) {
				float *dst = &As[buf][c * SA + r];
				dst[0 * SA] = ra[v].x;
				dst[1 * SA] = ra[v].y;
				dst[2 * SA] = ra[v].z;
				dst[3 * SA] = ra[v].w;
			} else {
				*reinterpret_cast<float4 *>(&As[buf][r * SA + c]) = ra[v];
			}
		}
#pragma unroll
		for (int v = 0; v < VB; v++) {
			const int idx = tid + v * NT, r = idx / WB, c = (idx % WB) * 4;
			if (!TB) {
				*reinterpret_cast<float4 *>(&Bs[buf][r * SB + c]) = rb[v];
			} else {
				float *dst = &Bs[buf][c * SB + r];
				dst[0 * SB] = rb[v].x;
				dst[1 * SB] = rb[v].y;
				dst[2 * SB] = rb[v].z;
				dst[3 * SB] = rb[v].w;
			}
		}
	};

	float acc[TM][TN];
#pragma unroll
	for (int i = 0; i < TM; i++)
#pragma unroll
		for (int j = 0; j < TN; j++) acc[i][j] = 0.f;

	// multiply accumulates the tile in shared buffer buf.
	auto multiply = [&](int buf) {
#pragma unroll
		for (int kk = 0; kk < BK; kk++) {
			float a[TM], b[TN];
#pragma unroll
			for (int g = 0; g < TM / 4; g++) spread(&a[4 * g], &As[buf][kk * SA + g * RA + ty * 4]);
#pragma unroll
			for (int g = 0; g < TN / 4; g++) spread(&b[4 * g], &Bs[buf][kk * SB + g * RB + tx * 4]);
#pragma unroll
			for (int i = 0; i < TM; i++)
#pragma unroll
				for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
		}
	};

	if (fullM && fullN && vecA && vecB && k >= BK) {
		// The fast path: per-thread pointers, one per float4 fetched,
		// stepped one tile at a time.
		const float *pa[VA], *pb[VB];
#pragma unroll
		for (int v = 0; v < VA; v++) {
			const int idx = tid + v * NT, r = idx / WA, c = (idx % WA) * 4;
			pa[v] = TA ? A + r * lda + bm + c : A + (bm + r) * lda + c;
		}
#pragma unroll
		for (int v = 0; v < VB; v++) {
			const int idx = tid + v * NT, r = idx / WB, c = (idx % WB) * 4;
			pb[v] = TB ? B + (bn + r) * ldb + c : B + r * ldb + bn + c;
		}
		const i64 stepA = TA ? BK * lda : BK, stepB = TB ? BK : BK * ldb;
		auto loadFast = [&]() {
#pragma unroll
			for (int v = 0; v < VA; v++) {
				ra[v] = *reinterpret_cast<const float4 *>(pa[v]);
				pa[v] += stepA;
			}
#pragma unroll
			for (int v = 0; v < VB; v++) {
				rb[v] = *reinterpret_cast<const float4 *>(pb[v]);
				pb[v] += stepB;
			}
		};
		fastKLoop<BK>(k, loadFast, loadChecked, store, multiply);
	} else {
		checkedKLoop<BK>(k, loadChecked, store, multiply);
	}

	// Epilogue: C = alpha acc + beta C; C is not read when beta is 0.
	const bool vecC = ldc % 4 == 0 && ((size_t)C & 15) == 0;
#pragma unroll
	for (int gi = 0; gi < TM / 4; gi++) {
#pragma unroll
		for (int qi = 0; qi < 4; qi++) {
			const i64 row = bm + gi * RA + ty * 4 + qi;
			if (row >= m) continue;
			const float *ar = acc[4 * gi + qi];
#pragma unroll
			for (int gj = 0; gj < TN / 4; gj++) {
				const i64 col = bn + gj * RB + tx * 4;
				storeC4(C + row * ldc + col, ar + 4 * gj, alpha, vecC, col, n, beta);
			}
		}
	}
}

// The kernels: sgemm_<op(A)><op(B)>_<tile>, n for a plain operand and t for
// a transposed one. Grid (ceil(n/BN), ceil(m/BM)), block (BM/TM)(BN/TN)
// threads, no dynamic shared memory. Parameters:
//   m, n, k, alpha, A, lda, B, ldb, beta, C, ldc
#define SGEMM(name, BM, BN, BK, TM, TN, TA, TB, MINB)                                 \
	extern "C" __global__ void __launch_bounds__((BM / TM) * (BN / TN), MINB) name(     \
	    i64 m, i64 n, i64 k, double alpha, const float *__restrict__ A, i64 lda,        \
	    const float *__restrict__ B, i64 ldb, double beta, float *C, i64 ldc) {         \
		sgemmTile<BM, BN, BK, TM, TN, TA, TB>(m, n, k, (float)alpha, A, lda, B, ldb,  \
		                                      (float)beta, C, ldc);                   \
	}

// SGEMM_BATCHED kernels also multiply a batch of products in one launch
// (device.Device.GemmStrided): grid (ceil(n/BN), ceil(m/BM), batch), block
// z computing the product at A + z sA, B + z sB, C + z sC. Parameters:
//   m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC
// A single product is a batch of one with strides 0. Only tiles with
// registers to spare take this form: the three offset pointers stay live
// through the k-loop, where SGEMM's reload A, B and C from the parameter
// bank, and the 128 tile, already at its 128-register bound, would spill.
#define SGEMM_BATCHED(name, BM, BN, BK, TM, TN, TA, TB, MINB)                               \
	extern "C" __global__ void __launch_bounds__((BM / TM) * (BN / TN), MINB) name(           \
	    i64 m, i64 n, i64 k, double alpha, const float *__restrict__ A, i64 lda, i64 sA,      \
	    const float *__restrict__ B, i64 ldb, i64 sB, double beta, float *C, i64 ldc, i64 sC) { \
		const i64 z = blockIdx.z;                                                           \
		sgemmTile<BM, BN, BK, TM, TN, TA, TB>(m, n, k, (float)alpha, A + z * sA, lda,       \
		                                      B + z * sB, ldb, (float)beta, C + z * sC, ldc); \
	}
