// gemm_tc.cu: C = alpha op(A) op(B) + beta C, row-major, as device.Device.Gemm,
// on tensor cores with each float32 operand split into two TF32 numbers
// (3xTF32). Only device/cuda's autotuning picks these kernels, and only when
// the device allows it (Device.AllowTF32x3): their results are not the FP32
// kernels' bits. See doc.go for the error analysis and the tiling.
#include "kloop.cuh"

#ifdef __CUDA_ARCH__
// toTF32 rounds x to TF32 (8 exponent bits, 10 explicit mantissa bits; to
// nearest, ties away from zero) as a float32 whose low 13 bits are zero.
// The mask makes x - toTF32(x) exact whatever cvt leaves in those bits; a
// NaN stays a NaN (cvt's NaN keeps high mantissa bits).
__device__ __forceinline__ float toTF32(float x) {
	unsigned r;
	asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
	return __uint_as_float(r & 0xffffe000u);
}

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
#endif // otherwise scripts/cuda/emu/cuda_emu.h defines both for the CPU

// splitTF32 writes x ≈ big + small with both TF32: big = tf32(x), small =
// tf32(x − big), |x − big − small| ≤ 2⁻²² |x|. x − big is exact in float32.
// A non-finite x (or one within 2⁻¹² of FLT_MAX, whose big rounds to
// infinity) gets a NaN small part: its products are NaN where FP32 would
// give ±inf. No guard can avoid that: an infinite big part meets the other
// operand's small parts, which are 0 for every TF32-exact number.
__device__ __forceinline__ void splitTF32(float x, float &big, float &small) {
	big = toTF32(x);
	small = toTF32(x - big);
}

// sgemmTF32x3 computes one 128x128 block of C with 8 warps, each owning a
// 64x32 block as 4x4 mma tiles of 16x8 (64 accumulators per thread). The K
// dimension is walked in tiles of 8 (one mma step), double buffered in
// shared memory like gemm.cuh: each thread fetches its float4 of A and of B
// for tile t+1 into registers while the warps multiply tile t, then splits
// them and stores the big and small parts; one __syncthreads a tile.
// Splitting on the way into shared memory splits each element once per
// block, not once per warp that reads it (4 warps read each A element, 2
// each B element); the split parts take 48 KiB, the static limit.
//
// A shared tile keeps the layout its global rows arrive in, so that every
// store is one float4: op(A) is "row" [i][p] (stride BK+4) when A is plain
// and "k-major" [p][i] (stride BM+8) when A is transposed; op(B) is k-major
// [p][j] when plain and row [j][p] when transposed. The strides make each
// fragment load of a warp hit 32 distinct banks: lane (g, t) reads offset
// 12g + t (+ const) in a row tile and 136t + g in a k-major one.
//
// As in gemm.cuh, a block wholly inside C with 16-byte aligned operands
// whose leading dimensions divide by 4 fetches through pointers stepped a
// tile at a time, without bounds checks (a partial last K tile excepted);
// other blocks check every fetch.
//
// Each product a·b becomes a_small·b_big + a_big·b_small + a_big·b_big,
// three mma, the big product last; the dropped a_small·b_small and the
// split residues are each below 2⁻²² |ab|. The three mma of a K step start
// from zero and their sum is added to the accumulators with FP32 adds: the
// tensor core truncates each mma's sum instead of rounding it to nearest
// (doc.go), and chaining every step through the accumulators would let
// that bias grow with k.
template <bool TA, bool TB>
__device__ __forceinline__ void sgemmTF32x3(i64 m, i64 n, i64 k, float alpha, const float *__restrict__ A, i64 lda,
                                            const float *__restrict__ B, i64 ldb, float beta, float *C, i64 ldc) {
	constexpr int BM = 128, BN = 128, BK = 8;
	constexpr int WM = 64, WN = 32;                // warp tile
	constexpr int NT = 32 * (BM / WM) * (BN / WN); // 256 threads
	constexpr int MI = WM / 16, NI = WN / 8;       // mma tiles per warp
	constexpr bool AKM = TA, BKM = !TB;            // k-major shared layouts
	constexpr int SA = AKM ? BM + 8 : BK + 4, SB = BKM ? BN + 8 : BK + 4;
	constexpr int WA = AKM ? BM / 4 : BK / 4, WB = BKM ? BN / 4 : BK / 4; // float4 per stored row
	constexpr int LA = AKM ? BK * SA : BM * SA, LB = BKM ? BK * SB : BN * SB; // floats per buffer
	static_assert(BM * BK == 4 * NT && BN * BK == 4 * NT, "one float4 of A and of B per thread per tile");

	__shared__ __align__(16) float As[2][2][LA]; // [buffer][big, small]
	__shared__ __align__(16) float Bs[2][2][LB];

	const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
	const int g = lane / 4, t = lane % 4;
	const int wi = (warp / (BN / WN)) * WM, wj = (warp % (BN / WN)) * WN; // warp's block in the tile
	const i64 bm = (i64)blockIdx.y * BM, bn = (i64)blockIdx.x * BN;
	const bool vecA = lda % 4 == 0 && ((size_t)A & 15) == 0;
	const bool vecB = ldb % 4 == 0 && ((size_t)B & 15) == 0;
	// This thread's float4 of a tile: row r, columns c..c+3 of the stored
	// operand's tile (a row of A is op(A)'s column when A is transposed).
	const int ra_ = tid / WA, ca = (tid % WA) * 4, rb_ = tid / WB, cb = (tid % WB) * 4;

	// fetchRow is fetch4 with one float4 whenever the operand allows it and
	// the 4 floats lie inside.
	auto fetchRow = [](const float *src, bool vec, bool rowIn, i64 col, i64 cols) {
		return fetch4(src, vec && rowIn && col + 4 <= cols, rowIn, col, cols);
	};
	float4 ra, rb;
	// fetchChecked reads the tile starting at k0 with bounds checks. Row r
	// of A's tile is row k0+r of A when A is transposed (its columns are
	// op(A)'s rows bm...), else row bm+r (its columns are k0...); B alike.
	auto fetchChecked = [&](i64 k0) {
		ra = TA ? fetchRow(A + (k0 + ra_) * lda + bm + ca, vecA, k0 + ra_ < k, bm + ca, m)
		        : fetchRow(A + (bm + ra_) * lda + k0 + ca, vecA, bm + ra_ < m, k0 + ca, k);
		rb = TB ? fetchRow(B + (bn + rb_) * ldb + k0 + cb, vecB, bn + rb_ < n, k0 + cb, k)
		        : fetchRow(B + (k0 + rb_) * ldb + bn + cb, vecB, k0 + rb_ < k, bn + cb, n);
	};
	// store splits the fetched registers into buffer buf.
	auto store = [&](int buf) {
		float4 big, small;
		splitTF32(ra.x, big.x, small.x);
		splitTF32(ra.y, big.y, small.y);
		splitTF32(ra.z, big.z, small.z);
		splitTF32(ra.w, big.w, small.w);
		*reinterpret_cast<float4 *>(&As[buf][0][ra_ * SA + ca]) = big;
		*reinterpret_cast<float4 *>(&As[buf][1][ra_ * SA + ca]) = small;
		splitTF32(rb.x, big.x, small.x);
		splitTF32(rb.y, big.y, small.y);
		splitTF32(rb.z, big.z, small.z);
		splitTF32(rb.w, big.w, small.w);
		*reinterpret_cast<float4 *>(&Bs[buf][0][rb_ * SB + cb]) = big;
		*reinterpret_cast<float4 *>(&Bs[buf][1][rb_ * SB + cb]) = small;
	};
	// Offsets of op(A)[i][p] and op(B)[p][j] in a shared buffer.
	auto atA = [](int i, int p) { return AKM ? p * SA + i : i * SA + p; };
	auto atB = [](int p, int j) { return BKM ? p * SB + j : j * SB + p; };

	float acc[MI][NI][4];
#pragma unroll
	for (int x = 0; x < MI; x++)
#pragma unroll
		for (int y = 0; y < NI; y++)
#pragma unroll
			for (int q = 0; q < 4; q++) acc[x][y][q] = 0.f;

	// multiply accumulates the tile in buffer buf: 3·MI·NI mma per warp.
	auto multiply = [&](int buf) {
		float b[2][NI][2]; // [big, small][y][fragment]
#pragma unroll
		for (int s = 0; s < 2; s++)
#pragma unroll
			for (int y = 0; y < NI; y++) {
				const int j = wj + 8 * y + g;
				b[s][y][0] = Bs[buf][s][atB(t, j)];
				b[s][y][1] = Bs[buf][s][atB(t + 4, j)];
			}
#pragma unroll
		for (int x = 0; x < MI; x++) {
			float a[2][4];
			const int i = wi + 16 * x + g;
#pragma unroll
			for (int s = 0; s < 2; s++) {
				a[s][0] = As[buf][s][atA(i, t)];
				a[s][1] = As[buf][s][atA(i + 8, t)];
				a[s][2] = As[buf][s][atA(i, t + 4)];
				a[s][3] = As[buf][s][atA(i + 8, t + 4)];
			}
#pragma unroll
			for (int y = 0; y < NI; y++) {
				float part[4] = {0.f, 0.f, 0.f, 0.f};
				mmaTF32(part, a[1], b[0][y]);
				mmaTF32(part, a[0], b[1][y]);
				mmaTF32(part, a[0], b[0][y]);
#pragma unroll
				for (int q = 0; q < 4; q++) acc[x][y][q] += part[q];
			}
		}
	};

	if (bm + BM <= m && bn + BN <= n && vecA && vecB && k >= BK) {
		const float *pa = TA ? A + ra_ * lda + bm + ca : A + (bm + ra_) * lda + ca;
		const float *pb = TB ? B + (bn + rb_) * ldb + cb : B + rb_ * ldb + bn + cb;
		const i64 stepA = TA ? BK * lda : BK, stepB = TB ? BK : BK * ldb;
		auto fetchFast = [&]() {
			ra = *reinterpret_cast<const float4 *>(pa);
			rb = *reinterpret_cast<const float4 *>(pb);
			pa += stepA;
			pb += stepB;
		};
		fastKLoop<BK>(k, fetchFast, fetchChecked, store, multiply);
	} else {
		checkedKLoop<BK>(k, fetchChecked, store, multiply);
	}

	// Epilogue: C = alpha acc + beta C, two adjacent columns per write
	// (float2 where aligned); C is not read when beta is 0.
	const bool vecC = ldc % 2 == 0 && ((size_t)C & 7) == 0;
#pragma unroll
	for (int x = 0; x < MI; x++)
#pragma unroll
		for (int h = 0; h < 2; h++) {
			const i64 row = bm + wi + 16 * x + g + 8 * h;
			if (row >= m) continue;
#pragma unroll
			for (int y = 0; y < NI; y++) {
				const i64 col = bn + wj + 8 * y + 2 * t;
				float *c = C + row * ldc + col;
				const float v0 = alpha * acc[x][y][2 * h], v1 = alpha * acc[x][y][2 * h + 1];
				if (vecC && col + 2 <= n) {
					float2 v = make_float2(v0, v1);
					if (beta != 0.f) {
						const float2 o = *reinterpret_cast<const float2 *>(c);
						v.x += beta * o.x;
						v.y += beta * o.y;
					}
					*reinterpret_cast<float2 *>(c) = v;
				} else {
					if (col < n) c[0] = beta == 0.f ? v0 : v0 + beta * c[0];
					if (col + 1 < n) c[1] = beta == 0.f ? v1 : v1 + beta * c[1];
				}
			}
		}
}

// The kernels: sgemm_<op(A)><op(B)>_tf32x3, n for a plain operand and t for
// a transposed one, with the parameters of gemm.cuh's SGEMM kernels. Grid
// (ceil(n/128), ceil(m/128)), block 256 threads, no dynamic shared memory.
#define SGEMM_TF32X3(name, TA, TB)                                                                           \
	extern "C" __global__ void __launch_bounds__(256, 1)                                                       \
	    name(i64 m, i64 n, i64 k, double alpha, const float *__restrict__ A, i64 lda, const float *__restrict__ B, \
	         i64 ldb, double beta, float *C, i64 ldc) {                                                        \
		sgemmTF32x3<TA, TB>(m, n, k, (float)alpha, A, lda, B, ldb, (float)beta, C, ldc);                      \
	}

SGEMM_TF32X3(sgemm_nn_tf32x3, false, false)
SGEMM_TF32X3(sgemm_nt_tf32x3, false, true)
SGEMM_TF32X3(sgemm_tn_tf32x3, true, false)
SGEMM_TF32X3(sgemm_tt_tf32x3, true, true)

// splitTF32Fast writes x ≈ big + small with big = tf32(x) (rounded to
// nearest, ties away, in integer arithmetic: toTF32 without the cvt) and
// small = x − big exact in float32, left for the tensor core to truncate
// to TF32 as it reads the operand: |x − big − tf32(small)| < 2⁻²¹|x|, a
// bound twice splitTF32's for three instructions instead of five. A NaN
// stays a NaN; an infinity (or a finite x that rounds to one) gets a NaN
// small part, as in splitTF32.
__device__ __forceinline__ void splitTF32Fast(float x, float &big, float &small) {
	big = __uint_as_float((__float_as_uint(x) + 0x1000u) & 0xffffe000u);
	small = x - big;
}

// sgemmTF32x3K16 is sgemmTF32x3 restructured around the shared-memory
// traffic and the FP32 adds that bound it: one 128×BN block of C (BN 128
// with 8 warps or 64 with 4), each warp a 64×32 block as 4×4 mma tiles,
// K walked in tiles of 16, two mma steps a tile, double buffered as
// kloop.cuh's loops do (one __syncthreads per 16 of k, not per 8).
//
// Shared tiles hold the operands as they arrive (40 KiB in all with
// BN = 128), and each warp splits what it reads in registers
// (splitTF32Fast). What makes that cheap is the freedom of which k, row
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
// A warp thus loads a tile's fragments in 12 LDS.128 (48 LDS.32 per mma
// step in sgemmTF32x3). Row-layout tiles ([row][k]) have stride 20 floats;
// k-major tiles ([k][row]) have none, their 16-byte chunks XOR-swizzled by
// 2⌊p/4⌋ mod 8 in row p: either way each quarter-warp's eight float4 fall
// in 32 distinct banks.
//
// The 6 mma of a tile (3 per step, small parts first) are chained from
// zero and their sum added to the accumulators in FP32, once per 16 of k
// rather than per 8: the tensor core's truncation (doc.go) is then a few
// ulps of a 48-product sum per FP32 add.
template <int BN, bool TA, bool TB>
__device__ __forceinline__ void sgemmTF32x3K16(i64 m, i64 n, i64 k, float alpha, const float *__restrict__ A,
                                               i64 lda, const float *__restrict__ B, i64 ldb, float beta, float *C,
                                               i64 ldc) {
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
				for (int q = 0; q < 4; q++) splitTF32Fast(a[x][h][q], aBig[x][h][q], aSmall[x][h][q]);
#pragma unroll
		for (int y = 0; y < NI; y++)
#pragma unroll
			for (int q = 0; q < 4; q++) splitTF32Fast(b[y][q], bBig[y][q], bSmall[y][q]);
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
	// 8t + y and 8t + 4 + y. Two float4 where aligned; C is not read when
	// beta is 0.
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
				v[y] = alpha * acc[x][y][2 * h];
				v[4 + y] = alpha * acc[x][y][2 * h + 1];
			}
			float *c = C + row * ldc + col;
			if (vecC && col + 8 <= n) {
#pragma unroll
				for (int w = 0; w < 2; w++) {
					float4 o = make_float4(v[4 * w], v[4 * w + 1], v[4 * w + 2], v[4 * w + 3]);
					if (beta != 0.f) {
						const float4 old = *reinterpret_cast<const float4 *>(c + 4 * w);
						o.x += beta * old.x;
						o.y += beta * old.y;
						o.z += beta * old.z;
						o.w += beta * old.w;
					}
					*reinterpret_cast<float4 *>(c + 4 * w) = o;
				}
			} else {
#pragma unroll
				for (int q = 0; q < 8; q++)
					if (col + q < n) c[q] = beta == 0.f ? v[q] : v[q] + beta * c[q];
			}
		}
}

// The kernels: sgemm_<op(A)><op(B)>_tf32x3_128 (128×128 blocks, 256
// threads) and _tf32x3_128x64 (128×64, 128 threads, two blocks an SM), with
// the parameters of gemm.cuh's SGEMM kernels. Grid (ceil(n/BN),
// ceil(m/128)), no dynamic shared memory.
#define SGEMM_TF32X3_K16(name, BN, THREADS, MINBLOCKS, TA, TB)                                              \
	extern "C" __global__ void __launch_bounds__(THREADS, MINBLOCKS)                                         \
	    name(i64 m, i64 n, i64 k, double alpha, const float *__restrict__ A, i64 lda, const float *__restrict__ B, \
	         i64 ldb, double beta, float *C, i64 ldc) {                                                        \
		static_assert(THREADS == 32 * 2 * (BN / 32), "8 warps at BN 128, 4 at 64");                          \
		sgemmTF32x3K16<BN, TA, TB>(m, n, k, (float)alpha, A, lda, B, ldb, (float)beta, C, ldc);               \
	}

SGEMM_TF32X3_K16(sgemm_nn_tf32x3_128, 128, 256, 1, false, false)
SGEMM_TF32X3_K16(sgemm_nt_tf32x3_128, 128, 256, 1, false, true)
SGEMM_TF32X3_K16(sgemm_tn_tf32x3_128, 128, 256, 1, true, false)
SGEMM_TF32X3_K16(sgemm_tt_tf32x3_128, 128, 256, 1, true, true)
SGEMM_TF32X3_K16(sgemm_nn_tf32x3_128x64, 64, 128, 2, false, false)
SGEMM_TF32X3_K16(sgemm_nt_tf32x3_128x64, 64, 128, 2, false, true)
SGEMM_TF32X3_K16(sgemm_tn_tf32x3_128x64, 64, 128, 2, true, false)
SGEMM_TF32X3_K16(sgemm_tt_tf32x3_128x64, 64, 128, 2, true, true)
