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
