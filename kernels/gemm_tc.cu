// gemm_tc.cu: C = alpha op(A) op(B) + beta C, row-major, as device.Device.Gemm,
// on tensor cores with each float32 operand split into two TF32 numbers
// (3xTF32). Only device/cuda's autotuning picks these kernels, and only when
// the device allows it (Device.AllowTF32x3): their results are not the FP32
// kernels' bits. See doc.go for the error analysis.
#include "kloop.cuh"

#ifdef __CUDA_ARCH__
// mmaTF32 is one warp's d += a·b for a 16x8 block of C, a 16x8 block of
// op(A) and an 8x8 block of op(B), in the fragment layout of the PTX ISA
// (mma.m16n8k8, .tf32): with g = lane/4 and t = lane%4,
//   a = {A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4]},
//   b = {B[t][g], B[t+4][g]},
//   d = {C[g][2t], C[g][2t+1], C[g+8][2t], C[g+8][2t+1]}.
__device__ __forceinline__ void mmaTF32(float *d, const float *a, const float *b) {
	asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
	    : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
	    : "r"(__float_as_uint(a[0])), "r"(__float_as_uint(a[1])), "r"(__float_as_uint(a[2])),
	      "r"(__float_as_uint(a[3])), "r"(__float_as_uint(b[0])), "r"(__float_as_uint(b[1])));
}
#endif // otherwise scripts/cuda/emu/cuda_emu.h defines it for the CPU

// splitTF32 writes x ≈ big + small with big = tf32(x), rounded to nearest
// (ties away) in integer arithmetic: add half a TF32 ulp to the magnitude
// and clear the 13 bits below, what cvt.rna.tf32.f32 does in more
// instructions. small = x − big is exact in float32 and left for the
// tensor core to truncate to TF32 as it reads the operand (an mma reads
// only the TF32 bits of a register): |x − big − tf32(small)| < 2⁻²¹|x|.
// A NaN stays a NaN. An infinity (or a finite x within 2⁻¹² of FLT_MAX,
// whose big rounds to infinity) gets a NaN small part: its products are
// NaN where FP32 gives ±inf. No guard can avoid that: an infinite big
// part meets the other operand's small parts, which are 0 for every
// TF32-exact number.
__device__ __forceinline__ void splitTF32(float x, float &big, float &small) {
	big = __uint_as_float((__float_as_uint(x) + 0x1000u) & 0xffffe000u);
	small = x - big;
}

// sgemmTF32x3 computes one 128×BN block of C with BN/16 warps (BN = 64:
// 4 warps, two blocks an SM), each warp a 64×32 block as 4×4 mma tiles of
// 16×8 (64 accumulators per thread). K is walked in tiles of 16, two mma
// steps a tile, double buffered as kloop.cuh's loops do: each thread
// fetches its float4 of tile t+1 into registers while the warps multiply
// tile t, stores them after, one __syncthreads a tile.
//
// Shared tiles hold the operands as they arrive (20 to 30 KiB with
// BN = 64), and each warp splits what it reads in registers (splitTF32):
// an element is split by every warp that reads it, but the tiles take
// half the space and half the loads of split pairs. What makes that cheap is the freedom of which k, row
// and column an mma fragment slot stands for, as long as A and B agree on
// k and the epilogue knows the rows and columns:
//   - mma step s ∈ {0, 1} of a tile gives lane (g, t)'s k slots p = t and
//     p = t + 4 the k offsets 4t + 2s and 4t + 2s + 1, so a lane's four k
//     offsets of the tile, 4t…4t+3, are one float4 of a row-layout tile;
//   - mma row r = g + 8h of tile x is the warp's row
//     rowOf(x, g, h) = 32⌊x/2⌋ + 4g + 2(x mod 2) + h, so a lane's rows of
//     tiles x = 0, 1 (and 2, 3) are 4 consecutive rows: one float4 of a
//     k-major tile;
//   - mma column c of tile y is the warp's column 4c + y, so a lane's
//     columns of the 4 tiles are one float4 of a k-major tile, and its
//     outputs in a row are 8 consecutive columns (two float4 stores).
// A warp thus loads a tile's fragments in 12 LDS.128, where fragment
// slots in the natural order need 96 LDS.32. Row-layout tiles ([row][k])
// have stride 20 floats; k-major tiles ([k][row]) have none, their 16-byte chunks XOR-swizzled by
// 2⌊p/4⌋ mod 8 in row p: either way each quarter-warp's eight float4 fall
// in 32 distinct banks.
//
// The 6 mma of a tile (3 per step, small parts first) are chained from
// zero and their sum added to the accumulators in FP32, once per 16 of k
// rather than per 8: the tensor core's truncation (doc.go) is then a few
// ulps of a 48-product sum per FP32 add.
template <int BN, bool TA, bool TB>
__device__ __forceinline__ void sgemmTF32x3(i64 m, i64 n, i64 k, float alpha, const float *__restrict__ A, i64 lda,
                                            const float *__restrict__ B, i64 ldb, float beta, float *C, i64 ldc) {
	constexpr int BM = 128, BK = 16, WM = 64, WN = 32;
	constexpr int NT = 32 * (BM / WM) * (BN / WN);
	constexpr int MI = 4, NI = 4;
	constexpr bool AKM = TA, BKM = !TB; // k-major shared layouts
	constexpr int SR = BK + 4;          // row-layout stride
	constexpr int CA = AKM ? BM / 4 : BK / 4, CB = BKM ? BN / 4 : BK / 4; // float4 chunks per stored row
	constexpr int LA = AKM ? BK * BM : BM * SR, LB = BKM ? BK * BN : BN * SR;
	constexpr int FA = BM * BK / 4 / NT, FB = BN * BK / 4 / NT; // float4 of A and of B per thread per tile
	static_assert(FA * NT * 4 == BM * BK && FB * NT * 4 == BN * BK, "whole float4 per thread");

	__shared__ __align__(16) float As[2][LA];
	__shared__ __align__(16) float Bs[2][LB];

	const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
	const int g = lane / 4, t = lane % 4;
	const int wi = (warp / (BN / WN)) * WM, wj = (warp % (BN / WN)) * WN;
	const i64 bm = (i64)blockIdx.y * BM, bn = (i64)blockIdx.x * BN;
	const bool vecA = lda % 4 == 0 && ((size_t)A & 15) == 0;
	const bool vecB = ldb % 4 == 0 && ((size_t)B & 15) == 0;
	// This thread's f-th float4 of a tile is stored row r0 + f·(NT/C),
	// chunk c (a stored row is a row of A or B in memory).
	const int ra0 = tid / CA, ca = tid % CA, rb0 = tid / CB, cb = tid % CB;

	// swz is the chunk swizzle of row p of a k-major tile.
	auto swz = [](int p) { return 2 * ((p / 4) % 4); };
	// Offsets of this thread's f-th float4 in a shared buffer.
	auto slotA = [&](int f) {
		const int r = ra0 + f * (NT / CA);
		return AKM ? r * BM + 4 * (ca ^ swz(r)) : r * SR + 4 * ca;
	};
	auto slotB = [&](int f) {
		const int r = rb0 + f * (NT / CB);
		return BKM ? r * BN + 4 * (cb ^ swz(r)) : r * SR + 4 * cb;
	};

	float4 ra[FA], rb[FB];
	auto fetchRow = [](const float *src, bool vec, bool rowIn, i64 col, i64 cols) {
		return fetch4(src, vec && rowIn && col + 4 <= cols, rowIn, col, cols);
	};
	// fetchChecked reads the tile starting at k0 with bounds checks.
	auto fetchChecked = [&](i64 k0) {
#pragma unroll
		for (int f = 0; f < FA; f++) {
			const i64 r = ra0 + f * (NT / CA);
			ra[f] = TA ? fetchRow(A + (k0 + r) * lda + bm + 4 * ca, vecA, k0 + r < k, bm + 4 * ca, m)
			           : fetchRow(A + (bm + r) * lda + k0 + 4 * ca, vecA, bm + r < m, k0 + 4 * ca, k);
		}
#pragma unroll
		for (int f = 0; f < FB; f++) {
			const i64 r = rb0 + f * (NT / CB);
			rb[f] = TB ? fetchRow(B + (bn + r) * ldb + k0 + 4 * cb, vecB, bn + r < n, k0 + 4 * cb, k)
			           : fetchRow(B + (k0 + r) * ldb + bn + 4 * cb, vecB, k0 + r < k, bn + 4 * cb, n);
		}
	};
	auto store = [&](int buf) {
#pragma unroll
		for (int f = 0; f < FA; f++) *reinterpret_cast<float4 *>(&As[buf][slotA(f)]) = ra[f];
#pragma unroll
		for (int f = 0; f < FB; f++) *reinterpret_cast<float4 *>(&Bs[buf][slotB(f)]) = rb[f];
	};

	float acc[MI][NI][4];
#pragma unroll
	for (int x = 0; x < MI; x++)
#pragma unroll
		for (int y = 0; y < NI; y++)
#pragma unroll
			for (int q = 0; q < 4; q++) acc[x][y][q] = 0.f;

	// rowOf is the warp's row of mma row g + 8h of tile x.
	auto rowOf = [](int x, int g, int h) { return 32 * (x / 2) + 4 * g + 2 * (x % 2) + h; };

	auto multiply = [&](int buf) {
		float a[MI][2][4]; // op(A)[rowOf(x, g, h)][4t + q]
		float b[NI][4];    // op(B)[4t + q][wj + 4g + y]
		if (AKM) {
#pragma unroll
			for (int q = 0; q < 4; q++) {
				const int p = 4 * t + q;
#pragma unroll
				for (int half = 0; half < 2; half++) {
					const int c = (wi / 4 + 8 * half + g) ^ swz(p);
					const float4 v = *reinterpret_cast<const float4 *>(&As[buf][p * BM + 4 * c]);
					a[2 * half][0][q] = v.x;
					a[2 * half][1][q] = v.y;
					a[2 * half + 1][0][q] = v.z;
					a[2 * half + 1][1][q] = v.w;
				}
			}
		} else {
#pragma unroll
			for (int x = 0; x < MI; x++)
#pragma unroll
				for (int h = 0; h < 2; h++) {
					const float4 v =
					    *reinterpret_cast<const float4 *>(&As[buf][(wi + rowOf(x, g, h)) * SR + 4 * t]);
					a[x][h][0] = v.x;
					a[x][h][1] = v.y;
					a[x][h][2] = v.z;
					a[x][h][3] = v.w;
				}
		}
		if (BKM) {
#pragma unroll
			for (int q = 0; q < 4; q++) {
				const int p = 4 * t + q;
				const int c = (wj / 4 + g) ^ swz(p);
				const float4 v = *reinterpret_cast<const float4 *>(&Bs[buf][p * BN + 4 * c]);
				b[0][q] = v.x;
				b[1][q] = v.y;
				b[2][q] = v.z;
				b[3][q] = v.w;
			}
		} else {
#pragma unroll
			for (int y = 0; y < NI; y++) {
				const float4 v = *reinterpret_cast<const float4 *>(&Bs[buf][(wj + 4 * g + y) * SR + 4 * t]);
				b[y][0] = v.x;
				b[y][1] = v.y;
				b[y][2] = v.z;
				b[y][3] = v.w;
			}
		}
		float aBig[MI][2][4], aSmall[MI][2][4], bBig[NI][4], bSmall[NI][4];
#pragma unroll
		for (int x = 0; x < MI; x++)
#pragma unroll
			for (int h = 0; h < 2; h++)
#pragma unroll
				for (int q = 0; q < 4; q++) splitTF32(a[x][h][q], aBig[x][h][q], aSmall[x][h][q]);
#pragma unroll
		for (int y = 0; y < NI; y++)
#pragma unroll
			for (int q = 0; q < 4; q++) splitTF32(b[y][q], bBig[y][q], bSmall[y][q]);
#pragma unroll
		for (int x = 0; x < MI; x++)
#pragma unroll
			for (int y = 0; y < NI; y++) {
				float part[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
				for (int s = 0; s < 2; s++) {
					// Fragment slots of step s (mmaTF32's layout): k slot
					// t is offset 4t + 2s, slot t + 4 is 4t + 2s + 1.
					const float as[4] = {aSmall[x][0][2 * s], aSmall[x][1][2 * s], aSmall[x][0][2 * s + 1],
					                     aSmall[x][1][2 * s + 1]};
					const float ab[4] = {aBig[x][0][2 * s], aBig[x][1][2 * s], aBig[x][0][2 * s + 1],
					                     aBig[x][1][2 * s + 1]};
					const float bs[2] = {bSmall[y][2 * s], bSmall[y][2 * s + 1]};
					const float bb[2] = {bBig[y][2 * s], bBig[y][2 * s + 1]};
					mmaTF32(part, as, bb);
					mmaTF32(part, ab, bs);
					mmaTF32(part, ab, bb);
				}
#pragma unroll
				for (int q = 0; q < 4; q++) acc[x][y][q] += part[q];
			}
	};

	if (bm + BM <= m && bn + BN <= n && vecA && vecB && k >= BK) {
		const float *pa = TA ? A + ra0 * lda + bm + 4 * ca : A + (bm + ra0) * lda + 4 * ca;
		const float *pb = TB ? B + (bn + rb0) * ldb + 4 * cb : B + rb0 * ldb + bn + 4 * cb;
		const i64 stepA = TA ? BK * lda : BK, stepB = TB ? BK : BK * ldb;
		const i64 nextA = (NT / CA) * lda, nextB = (NT / CB) * ldb; // between a thread's float4
		auto fetchFast = [&]() {
#pragma unroll
			for (int f = 0; f < FA; f++) ra[f] = *reinterpret_cast<const float4 *>(pa + f * nextA);
#pragma unroll
			for (int f = 0; f < FB; f++) rb[f] = *reinterpret_cast<const float4 *>(pb + f * nextB);
			pa += stepA;
			pb += stepB;
		};
		fastKLoop<BK>(k, fetchFast, fetchChecked, store, multiply);
	} else {
		checkedKLoop<BK>(k, fetchChecked, store, multiply);
	}

	// Epilogue: in row rowOf(x, g, h) this lane holds columns
	// wj + 8t + (0…7): tile y's mma columns 2t and 2t + 1 are the warp's
	// 8t + y and 8t + 4 + y: two storeC4.
	const bool vecC = ldc % 4 == 0 && ((size_t)C & 15) == 0;
#pragma unroll
	for (int x = 0; x < MI; x++)
#pragma unroll
		for (int h = 0; h < 2; h++) {
			const i64 row = bm + wi + rowOf(x, g, h);
			if (row >= m) continue;
			const i64 col = bn + wj + 8 * t;
			float v[8];
#pragma unroll
			for (int y = 0; y < NI; y++) {
				v[y] = acc[x][y][2 * h];
				v[4 + y] = acc[x][y][2 * h + 1];
			}
			storeC4(C + row * ldc + col, v, alpha, vecC, col, n, beta);
			storeC4(C + row * ldc + col + 4, v + 4, alpha, vecC, col + 4, n, beta);
		}
}

// The kernels: sgemm_<op(A)><op(B)>_tf32x3, n for a plain operand and t for
// a transposed one, with the parameters of gemm.cuh's SGEMM kernels: 128×64
// blocks of 128 threads, two blocks an SM (ptxas gives 242 to 254 registers
// a thread, no spills). Grid (ceil(n/64), ceil(m/128)), no dynamic shared
// memory. On an H200 (2026-11-28) they ran at 63 to 67 TFLOP/s on 4096
// and 8192 products, where the same template with 128×128 blocks of 8
// warps (one block an SM) ran at 44 to 64 and the 8-deep kernel this one
// replaced, which split operands on their way into shared memory and
// loaded fragments as single floats, at 40 to 50.
#define SGEMM_TF32X3(name, TA, TB)                                                                           \
	extern "C" __global__ void __launch_bounds__(128, 2)                                                       \
	    name(i64 m, i64 n, i64 k, double alpha, const float *__restrict__ A, i64 lda, const float *__restrict__ B, \
	         i64 ldb, double beta, float *C, i64 ldc) {                                                        \
		sgemmTF32x3<64, TA, TB>(m, n, k, (float)alpha, A, lda, B, ldb, (float)beta, C, ldc);                  \
	}

SGEMM_TF32X3(sgemm_nn_tf32x3, false, false)
SGEMM_TF32X3(sgemm_nt_tf32x3, false, true)
SGEMM_TF32X3(sgemm_tn_tf32x3, true, false)
SGEMM_TF32X3(sgemm_tt_tf32x3, true, true)
