// gemm.cu: single-precision matrix product C = alpha op(A) op(B) + beta C,
// row-major, with leading dimensions, as device.Device.Gemm. See doc.go for
// the tiling diagram.
#include "common.cuh"

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
// A tile is loaded with float4 when it lies wholly inside the matrix and
// the operand is 16-byte aligned with a leading dimension divisible by 4;
// otherwise with bounds-checked scalar loads that read zeros outside (the
// edge path). The decision is per tile and uniform across the block.
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

	__shared__ __align__(16) float As[2][BK * SA];
	__shared__ __align__(16) float Bs[2][BK * SB];

	const int tid = threadIdx.x;
	const int tx = tid % (BN / TN), ty = tid / (BN / TN);
	const i64 bm = (i64)blockIdx.y * BM, bn = (i64)blockIdx.x * BN;
	const bool vecA = lda % 4 == 0 && ((size_t)A & 15) == 0;
	const bool vecB = ldb % 4 == 0 && ((size_t)B & 15) == 0;
	const bool fullM = bm + BM <= m, fullN = bn + BN <= n;

	float4 ra[VA], rb[VB];

	// load fetches the tile starting at k0 into registers.
	auto load = [&](i64 k0) {
		const bool kin = k0 + BK <= k;
		const bool fa = fullM && kin && vecA, fb = fullN && kin && vecB;
#pragma unroll
		for (int v = 0; v < VA; v++) {
			const int idx = tid + v * NT;
			if (!TA) { // op(A)[i][p] = A[i*lda + p]: rows i, 4 consecutive p
				const int r = idx / (BK / 4), c = (idx % (BK / 4)) * 4;
				const i64 gi = bm + r, gp = k0 + c;
				const float *src = A + gi * lda + gp;
				if (fa) {
					ra[v] = *reinterpret_cast<const float4 *>(src);
				} else {
					const bool ok = gi < m;
					ra[v].x = ok && gp + 0 < k ? src[0] : 0.f;
					ra[v].y = ok && gp + 1 < k ? src[1] : 0.f;
					ra[v].z = ok && gp + 2 < k ? src[2] : 0.f;
					ra[v].w = ok && gp + 3 < k ? src[3] : 0.f;
				}
			} else { // op(A)[i][p] = A[p*lda + i]: rows p, 4 consecutive i
				const int r = idx / (BM / 4), c = (idx % (BM / 4)) * 4;
				const i64 gp = k0 + r, gi = bm + c;
				const float *src = A + gp * lda + gi;
				if (fa) {
					ra[v] = *reinterpret_cast<const float4 *>(src);
				} else {
					const bool ok = gp < k;
					ra[v].x = ok && gi + 0 < m ? src[0] : 0.f;
					ra[v].y = ok && gi + 1 < m ? src[1] : 0.f;
					ra[v].z = ok && gi + 2 < m ? src[2] : 0.f;
					ra[v].w = ok && gi + 3 < m ? src[3] : 0.f;
				}
			}
		}
#pragma unroll
		for (int v = 0; v < VB; v++) {
			const int idx = tid + v * NT;
			if (!TB) { // op(B)[p][j] = B[p*ldb + j]: rows p, 4 consecutive j
				const int r = idx / (BN / 4), c = (idx % (BN / 4)) * 4;
				const i64 gp = k0 + r, gj = bn + c;
				const float *src = B + gp * ldb + gj;
				if (fb) {
					rb[v] = *reinterpret_cast<const float4 *>(src);
				} else {
					const bool ok = gp < k;
					rb[v].x = ok && gj + 0 < n ? src[0] : 0.f;
					rb[v].y = ok && gj + 1 < n ? src[1] : 0.f;
					rb[v].z = ok && gj + 2 < n ? src[2] : 0.f;
					rb[v].w = ok && gj + 3 < n ? src[3] : 0.f;
				}
			} else { // op(B)[p][j] = B[j*ldb + p]: rows j, 4 consecutive p
				const int r = idx / (BK / 4), c = (idx % (BK / 4)) * 4;
				const i64 gj = bn + r, gp = k0 + c;
				const float *src = B + gj * ldb + gp;
				if (fb) {
					rb[v] = *reinterpret_cast<const float4 *>(src);
				} else {
					const bool ok = gj < n;
					rb[v].x = ok && gp + 0 < k ? src[0] : 0.f;
					rb[v].y = ok && gp + 1 < k ? src[1] : 0.f;
					rb[v].z = ok && gp + 2 < k ? src[2] : 0.f;
					rb[v].w = ok && gp + 3 < k ? src[3] : 0.f;
				}
			}
		}
	};

	// store writes the registers into shared buffer buf, k-major.
	auto store = [&](int buf) {
#pragma unroll
		for (int v = 0; v < VA; v++) {
			const int idx = tid + v * NT;
			if (!TA) {
				const int r = idx / (BK / 4), c = (idx % (BK / 4)) * 4;
				float *dst = &As[buf][c * SA + r];
				dst[0 * SA] = ra[v].x;
				dst[1 * SA] = ra[v].y;
				dst[2 * SA] = ra[v].z;
				dst[3 * SA] = ra[v].w;
			} else {
				const int r = idx / (BM / 4), c = (idx % (BM / 4)) * 4;
				*reinterpret_cast<float4 *>(&As[buf][r * SA + c]) = ra[v];
			}
		}
#pragma unroll
		for (int v = 0; v < VB; v++) {
			const int idx = tid + v * NT;
			if (!TB) {
				const int r = idx / (BN / 4), c = (idx % (BN / 4)) * 4;
				*reinterpret_cast<float4 *>(&Bs[buf][r * SB + c]) = rb[v];
			} else {
				const int r = idx / (BK / 4), c = (idx % (BK / 4)) * 4;
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

	const i64 ntiles = (k + BK - 1) / BK;
	if (ntiles > 0) {
		load(0);
		store(0);
	}
	__syncthreads();
	for (i64 t = 0; t < ntiles; t++) {
		const int cur = (int)(t & 1);
		const bool more = t + 1 < ntiles;
		if (more) load((t + 1) * BK); // in flight during the arithmetic below
#pragma unroll
		for (int kk = 0; kk < BK; kk++) {
			float a[TM], b[TN];
#pragma unroll
			for (int g = 0; g < TM / 4; g++) {
				const float4 v = *reinterpret_cast<const float4 *>(&As[cur][kk * SA + g * RA + ty * 4]);
				a[4 * g + 0] = v.x;
				a[4 * g + 1] = v.y;
				a[4 * g + 2] = v.z;
				a[4 * g + 3] = v.w;
			}
#pragma unroll
			for (int g = 0; g < TN / 4; g++) {
				const float4 v = *reinterpret_cast<const float4 *>(&Bs[cur][kk * SB + g * RB + tx * 4]);
				b[4 * g + 0] = v.x;
				b[4 * g + 1] = v.y;
				b[4 * g + 2] = v.z;
				b[4 * g + 3] = v.w;
			}
#pragma unroll
			for (int i = 0; i < TM; i++)
#pragma unroll
				for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
		}
		if (more) store(cur ^ 1);
		__syncthreads();
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
				float *c = C + row * ldc + col;
				const float *s = ar + 4 * gj;
				if (vecC && col + 4 <= n) {
					float4 v = make_float4(alpha * s[0], alpha * s[1], alpha * s[2], alpha * s[3]);
					if (beta != 0.f) {
						const float4 o = *reinterpret_cast<const float4 *>(c);
						v.x += beta * o.x;
						v.y += beta * o.y;
						v.z += beta * o.z;
						v.w += beta * o.w;
					}
					*reinterpret_cast<float4 *>(c) = v;
				} else {
#pragma unroll
					for (int q = 0; q < 4; q++) {
						if (col + q < n) c[q] = beta == 0.f ? alpha * s[q] : alpha * s[q] + beta * c[q];
					}
				}
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

// 128 x 128 tiles, BK 8, 256 threads of 8 x 8 outputs: large products.
SGEMM(sgemm_nn_128, 128, 128, 8, 8, 8, false, false, 2)
SGEMM(sgemm_nt_128, 128, 128, 8, 8, 8, false, true, 2)
SGEMM(sgemm_tn_128, 128, 128, 8, 8, 8, true, false, 2)
SGEMM(sgemm_tt_128, 128, 128, 8, 8, 8, true, true, 2)

// 64 x 64 tiles, BK 16, 256 threads of 4 x 4 outputs: mid-sized products
// that would leave SMs idle with 128 x 128 tiles.
SGEMM(sgemm_nn_64, 64, 64, 16, 4, 4, false, false, 2)
SGEMM(sgemm_nt_64, 64, 64, 16, 4, 4, false, true, 2)
SGEMM(sgemm_tn_64, 64, 64, 16, 4, 4, true, false, 2)
SGEMM(sgemm_tt_64, 64, 64, 16, 4, 4, true, true, 2)

// 32 x 32 tiles, BK 16, 64 threads of 4 x 4 outputs: the small layers of
// small networks.
SGEMM(sgemm_nn_32, 32, 32, 16, 4, 4, false, false, 4)
SGEMM(sgemm_nt_32, 32, 32, 16, 4, 4, false, true, 4)
SGEMM(sgemm_tn_32, 32, 32, 16, 4, 4, true, false, 4)
SGEMM(sgemm_tt_32, 32, 32, 16, 4, 4, true, true, 4)
