// emu_test.cpp: runs the real kernels/*.cu on the CPU through cuda_emu.h
// and compares them with double-precision references written here from
// the math in device/device.go. See run.sh.
#include "cuda_emu.h"

#include "../../../kernels/elementwise.cu"
#include "../../../kernels/gemm.cu"
#include "../../../kernels/gemm_wide.cu"
#include "../../../kernels/gemm_tc.cu"
#include "../../../kernels/loss.cu"
#include "../../../kernels/optim.cu"
#include "../../../kernels/reduce.cu"
#include "../../../kernels/softmax.cu"

#include <array>
#include <cstdio>
#include <cstring>
#include <random>

static int failures = 0, checks = 0;
static std::mt19937_64 rng(42);

static std::vector<float> rnd(size_t n, float lo = -1, float hi = 1) {
	std::uniform_real_distribution<float> u(lo, hi);
	std::vector<float> v(n);
	for (auto &x : v) x = u(rng);
	return v;
}

static bool close(double got, double want, double scale, double tol = 2e-5) {
	if (std::isnan(want)) return std::isnan(got);
	return std::fabs(got - want) <= tol * std::max(std::fabs(want), scale);
}

#define CHECK(cond, ...)                                  \
	do {                                              \
		checks++;                                 \
		if (!(cond)) {                            \
			if (failures++ < 30) {            \
				printf("FAIL %s:%d: ", __FILE__, __LINE__); \
				printf(__VA_ARGS__);      \
				printf("\n");             \
			}                                 \
		}                                         \
	} while (0)

typedef void (*gemmFn)(i64, i64, i64, double, const float *, i64, const float *, i64, double, float *, i64);
// one calls a batched tile's kernel (SGEMM_BATCHED) on a single product.
template <auto F>
void one(i64 m, i64 n, i64 k, double alpha, const float *A, i64 lda, const float *B, i64 ldb, double beta, float *C,
         i64 ldc) {
	F(m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0);
}
struct Tile {
	int bm, bn, threads;
	gemmFn fn[4];
};
static Tile tiles[] = {
    {128, 128, 256, {sgemm_nn_128, sgemm_nt_128, sgemm_tn_128, sgemm_tt_128}},
    {64, 64, 256, {one<sgemm_nn_64>, one<sgemm_nt_64>, one<sgemm_tn_64>, one<sgemm_tt_64>}},
    {32, 32, 64, {one<sgemm_nn_32>, one<sgemm_nt_32>, one<sgemm_tn_32>, one<sgemm_tt_32>}},
    {128, 256, 256, {sgemm_nn_128x256, sgemm_nt_128x256, sgemm_tn_128x256, sgemm_tt_128x256}},
};

// GemmCase is one product of the SGEMM tests: op(A) m×k and op(B) k×n with
// transposes from v (bit 1: A, bit 0: B), random operands stored with
// leading dimensions padded by pad, alpha 1.5, and C0 the C before the
// product (NaN when beta = 0: it must not be read).
struct GemmCase {
	int m, n, k, v, pad;
	double beta, alpha = 1.5;
	bool ta, tb;
	int lda, ldb, ldc;
	std::vector<float> A, B, C0;
	GemmCase(int m, int n, int k, int v, int pad, double beta)
	    : m(m), n(n), k(k), v(v), pad(pad), beta(beta), ta(v & 2), tb(v & 1) {
		lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
		A = rnd(std::max((ta ? k : m) * lda, 1)), B = rnd(std::max((tb ? n : k) * ldb, 1)), C0 = rnd(m * ldc);
		if (beta == 0)
			for (auto &x : C0) x = NAN;
	}
	// run launches fn on a grid of bm×bn blocks of threads and returns C.
	std::vector<float> run(gemmFn fn, int bm, int bn, int threads) const {
		auto C = C0;
		emu::launch(dim3{(unsigned)((n + bn - 1) / bn), (unsigned)((m + bm - 1) / bm)}, dim3{(unsigned)threads},
		            [&] { fn(m, n, k, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc); });
		return C;
	}
	// want is alpha op(A) op(B) + beta C0 at (i, j) in double; scale is what
	// its rounding error is measured against, alpha sum|a b| + 1.
	double want(int i, int j, double &scale) const {
		double sum = 0, abs = 0;
		for (int p = 0; p < k; p++) {
			double a = ta ? A[p * lda + i] : A[i * lda + p];
			double b = tb ? B[j * ldb + p] : B[p * ldb + j];
			sum += a * b;
			abs += std::fabs(a * b);
		}
		scale = alpha * abs + 1;
		return alpha * sum + (beta != 0 ? beta * C0[i * ldc + j] : 0);
	}
	// padKept reports whether C[i][j], a padding column, still holds C0's.
	bool padKept(const std::vector<float> &C, int i, int j) const {
		float c = C[i * ldc + j], c0 = C0[i * ldc + j];
		return std::isnan(c0) ? std::isnan(c) : c == c0;
	}
	const char *ops() const { return v == 0 ? "nn" : v == 1 ? "nt" : v == 2 ? "tn" : "tt"; }
};

// testGemm checks every tile and transpose variant against a float64 sum,
// on shapes that take the edge path (edges, k < BK, leading dimensions not
// divisible by 4) and the fast path (interior blocks, with and without a
// partial last k-tile), and checks that every tile gives the same bits:
// each output is accumulated over p in order whatever the tile or path, so
// that device/cuda may pick any tile for a product without changing it.
static void testGemm() {
	int shapes[][3] = {{1, 1, 1},       {3, 5, 7},       {33, 31, 17},   {64, 64, 64},  {129, 127, 9},
	                   {130, 260, 33},  {5, 5, 0},       {128, 128, 8},  {128, 128, 12}, {256, 128, 100},
	                   {130, 260, 36},  {64, 64, 4},     {256, 512, 20}};
	for (auto &s : shapes)
		for (int v = 0; v < 4; v++)
			for (int pad : {0, 3})
				for (double beta : {0.0, 0.5}) {
#ifdef __SANITIZE_THREAD__
					// Under ThreadSanitizer every block costs thread hand-offs:
					// the smaller shapes already take both k-loops (the fast one
					// with a partial last tile in 130 x 260 x 36).
					if ((long)s[0] * s[1] * s[2] > 1500000) continue;
#endif
					const GemmCase g(s[0], s[1], s[2], v, pad, beta);
					std::vector<float> first;
					for (auto &t : tiles) {
						auto C = g.run(t.fn[v], t.bm, t.bn, t.threads);
						for (int i = 0; i < g.m; i++)
							for (int j = 0; j < g.ldc; j++) {
								if (j >= g.n) {
									CHECK(g.padKept(C, i, j), "gemm padding touched");
									continue;
								}
								double scale, want = g.want(i, j, scale), c = C[i * g.ldc + j];
								CHECK(std::fabs(c - want) <= 1e-5 * scale, "gemm tile %dx%d %s m%d n%d k%d pad%d beta%g C[%d,%d]=%g want %g",
								      t.bm, t.bn, g.ops(), g.m, g.n, g.k, pad, beta, i, j, c, want);
								if (!first.empty())
									CHECK(memcmp(&C[i * g.ldc + j], &first[i * g.ldc + j], 4) == 0,
									      "gemm tile %dx%d %s m%d n%d k%d pad%d beta%g C[%d,%d]=%a, tile %dx%d gave %a", t.bm,
									      t.bn, g.ops(), g.m, g.n, g.k, pad, beta, i, j, c, tiles[0].bm, tiles[0].bn,
									      first[i * g.ldc + j]);
							}
						if (first.empty()) first = C;
					}
				}
}

// testGemmTF32x3 checks the tensor-core kernels (3xTF32) on the shapes of
// testGemm: within FP32's tolerance of the float64 sum (a single TF32
// product, with its 2⁻¹¹ rounding, would miss it by far on these random
// operands), padding untouched, and non-finite operands as documented in
// gemm_tc.cu: a NaN or an infinity makes its row's products NaN, and only
// its row's.
static void testGemmTF32x3() {
	// The model itself (cuda_emu.h's tcSum): terms below the largest's
	// 24-bit grid are cut before the sum, so eight 2⁻²⁵ beside 1 vanish
	// (an exact sum would give 1 + 2⁻²²), and the sum is cut toward zero.
	{
		double t[9] = {1, 0x1p-25, 0x1p-25, 0x1p-25, 0x1p-25, 0x1p-25, 0x1p-25, 0x1p-25, 0x1p-25};
		CHECK(tcSum(t, 9) == 1.0f, "tcSum(1, 8 x 2^-25) = %a, want 1 (cut when aligned)", tcSum(t, 9));
		double u[3] = {1, 0x1p-23, 0x1p-24}; // 1 + 2^-23 + 2^-24: cut to 1 + 2^-23, not rounded up
		CHECK(tcSum(u, 3) == 1.0f + 0x1p-23f, "tcSum(1, 2^-23, 2^-24) = %a, want 0x1.000002p+0", tcSum(u, 3));
		double v[5] = {-1, -1, -1, -1, -0x3p-23}; // -4 - 3·2⁻²³: nearest is -4 - 2⁻²¹, toward zero -4
		CHECK(tcSum(v, 5) == -4.0f, "tcSum(4 x -1, -3·2^-23) = %a, want -4", tcSum(v, 5));
		double w[2] = {INFINITY, 1};
		CHECK(std::isinf(tcSum(w, 2)), "tcSum(inf, 1) = %g, want inf", tcSum(w, 2));
	}
	const gemmFn fns[4] = {sgemm_nn_tf32x3, sgemm_nt_tf32x3, sgemm_tn_tf32x3, sgemm_tt_tf32x3};
	const int bn = 64, threads = 128; // gemm_tc.cu's block: 128 x 64, 128 threads
	int shapes[][3] = {{1, 1, 1},     {3, 5, 7},       {33, 31, 17}, {128, 128, 8},  {128, 128, 28},
	                   {129, 127, 9}, {129, 127, 25},  {5, 5, 0},    {130, 260, 33}};
	double worst = 0; // largest error over the bound's scale, for the log
	for (auto &s : shapes)
		for (int v = 0; v < 4; v++)
			for (int pad : {0, 3})
				for (double beta : {0.0, 0.5}) {
#ifdef __SANITIZE_THREAD__
					// Every mma is two warp barriers, costly under ThreadSanitizer:
					// one block per k-loop is enough to order every shared access,
					// as long as the loop turns a few times (128 x 128 x 28: the
					// fast loop, 3 full tiles and a partial one; 129 x 127 x 25:
					// the edge loop, 4 tiles).
					// Padding and beta change no shared-memory access.
					if ((long)s[0] * s[1] * s[2] > 500000 || pad != 0 || beta == 0) continue;
#endif
					const GemmCase g(s[0], s[1], s[2], v, pad, beta);
					auto C = g.run(fns[v], 128, bn, threads);
					for (int i = 0; i < g.m; i++)
						for (int j = 0; j < g.ldc; j++) {
							if (j >= g.n) {
								CHECK(g.padKept(C, i, j), "tf32x3 padding touched");
								continue;
							}
							double scale, want = g.want(i, j, scale), c = C[i * g.ldc + j];
							worst = std::max(worst, std::fabs(c - want) / scale);
							CHECK(std::fabs(c - want) <= 1e-5 * scale, "tf32x3 %s m%d n%d k%d pad%d beta%g C[%d,%d]=%g want %g",
							      g.ops(), g.m, g.n, g.k, pad, beta, i, j, c, want);
						}
				}
	printf("tf32x3: largest error %.2e of |alpha| sum|a b| + 1 (bound 1e-5)\n", worst);

#ifndef __SANITIZE_THREAD__
	// Long sums of positive products, where every partial sum grows: the
	// emulated tensor core cuts its terms and its sum toward zero
	// (cuda_emu.h), and a kernel that chained all k/8 mma steps through one
	// accumulator would drift toward zero by several ulps of the result per
	// step (4.7e-5 of it at k = 2048). The kernel sums each step's three mma apart and adds that
	// to its accumulators in float32, rounding to nearest.
	{
		GemmCase g(128, 128, 2048, 0, 0, 0.0);
		std::uniform_real_distribution<float> u(0, 1);
		for (auto &x : g.A) x = u(rng);
		for (auto &x : g.B) x = u(rng);
		auto C = g.run(fns[0], 128, bn, threads);
		double longWorst = 0;
		for (int i = 0; i < g.m; i++)
			for (int j = 0; j < g.n; j++) {
				double scale, want = g.want(i, j, scale), c = C[i * g.ldc + j];
				longWorst = std::max(longWorst, std::fabs(c - want) / scale);
				CHECK(std::fabs(c - want) <= 1e-5 * scale, "tf32x3 positive k2048 C[%d,%d]=%g want %g", i, j, c, want);
			}
		printf("tf32x3: positive operands, k = 2048: largest error %.2e (bound 1e-5)\n", longWorst);
	}
#endif

	// Non-finite operands: row 0 of A holds +inf at p = 0, row 1 a NaN; B
	// is positive. FP32 gives C[0][*] = +inf; 3xTF32 gives NaN (its cross
	// terms meet inf with 0). The other rows stay finite.
	int m = 130, n = 131, k = 20;
	auto A = rnd(m * k, 0.5, 1), B = rnd(k * n, 0.5, 1);
	std::vector<float> C(m * n);
	A[0] = INFINITY;
	A[k + 3] = NAN;
	emu::launch(dim3{(unsigned)((n + bn - 1) / bn), 2}, dim3{(unsigned)threads},
	            [&] { fns[0](m, n, k, 1.0, A.data(), k, B.data(), n, 0.0, C.data(), n); });
	for (int j = 0; j < n; j++) {
		CHECK(std::isnan(C[j]), "tf32x3 inf row: C[0,%d]=%g want NaN", j, C[j]);
		CHECK(std::isnan(C[n + j]), "tf32x3 NaN row: C[1,%d]=%g want NaN", j, C[n + j]);
		CHECK(std::isfinite(C[2 * n + j]), "tf32x3 finite row: C[2,%d]=%g", j, C[2 * n + j]);
	}
}

static double lse(const float *x, int n) {
	double m = -INFINITY;
	for (int j = 0; j < n; j++) m = std::max(m, (double)x[j]);
	if (m == -INFINITY) return m;
	double s = 0;
	for (int j = 0; j < n; j++) s += std::exp(x[j] - m);
	return m + std::log(s);
}

static void testSoftmax() {
	for (int cols : {1, 5, 37, 1030})
		for (bool warp : {true, false})
			for (i64 logp : {0, 1}) {
				int rows = 11;
				auto x = rnd(rows * cols, -5, 5), y = std::vector<float>(rows * cols);
				unsigned g = warp ? 1 : 3; // fewer blocks than rows: grid-stride
				emu::launch(dim3{g}, dim3{THREADS}, [&] {
					(warp ? softmax_warp : softmax_block)(rows, cols, x.data(), y.data(), logp);
				});
				for (int i = 0; i < rows; i++) {
					double l = lse(&x[i * cols], cols);
					for (int j = 0; j < cols; j++) {
						double want = x[i * cols + j] - l;
						if (!logp) want = std::exp(want);
						CHECK(close(y[i * cols + j], want, 1), "softmax cols %d warp %d log %lld", cols, warp, logp);
					}
				}
				auto e = rnd(rows * cols), d = std::vector<float>(rows * cols);
				emu::launch(dim3{g}, dim3{THREADS}, [&] {
					(warp ? softmax_adjoint_warp : softmax_adjoint_block)(rows, cols, y.data(), e.data(), d.data(), logp);
				});
				for (int i = 0; i < rows; i++) {
					double s = 0;
					for (int j = 0; j < cols; j++) s += logp ? e[i * cols + j] : (double)e[i * cols + j] * y[i * cols + j];
					for (int j = 0; j < cols; j++) {
						int q = i * cols + j;
						double want = logp ? e[q] - std::exp((double)y[q]) * s : y[q] * (e[q] - s);
						CHECK(close(d[q], want, 1), "softmax adjoint cols %d warp %d log %lld: %g want %g", cols, warp, logp, d[q], want);
					}
				}
			}
}

// testBatchNorm: the batch-normalisation kernels on a grid of fewer
// blocks than channels (grid-stride), against double references.
static void testBatchNorm() {
	struct {
		int n, c, inner;
	} shapes[] = {{3, 5, 7}, {2, 3, 300}, {40, 2, 1}};
	for (auto sh : shapes) {
		int n = sh.n, c = sh.c, inner = sh.inner, total = n * c * inner;
		auto x = rnd(total, -3, 3), gamma = rnd(c, 0.5f, 2), beta = rnd(c), e = rnd(total);
		std::vector<float> mean(c), rstd(c), y(total), d(total), gg(c), gb(c);
		auto at = [&](int i, int ch, int s) { return (i * c + ch) * inner + s; };
		emu::launch(dim3{2}, dim3{THREADS}, [&] { batchnorm_stats(n, c, inner, x.data(), 1e-5, mean.data(), rstd.data()); });
		emu::launch(dim3{3}, dim3{THREADS}, [&] {
			batchnorm_apply(n, c, inner, x.data(), mean.data(), rstd.data(), gamma.data(), beta.data(), y.data());
		});
		// The split forms: three blocks share each channel.
		const unsigned parts = 3;
		std::vector<double> partial(c * parts * 3), sums(2 * c);
		std::vector<float> mean2(c), rstd2(c), d2(total), gg2(c), gb2(c);
		emu::launch(dim3{parts, (unsigned)c}, dim3{THREADS}, [&] { batchnorm_stats_partial(n, c, inner, x.data(), partial.data()); });
		emu::launch(dim3{1}, dim3{THREADS}, [&] { batchnorm_stats_final(c, parts, partial.data(), 1e-5, mean2.data(), rstd2.data()); });
		for (int ch = 0; ch < c; ch++)
			CHECK(close(mean2[ch], mean[ch], 1) && close(rstd2[ch], rstd[ch], rstd[ch]), "batchnorm split stats n %d c %d inner %d", n, c, inner);
		for (i64 stats : {1, 0}) {
			emu::launch(dim3{2}, dim3{THREADS}, [&] {
				batchnorm_adjoint(n, c, inner, x.data(), e.data(), gamma.data(), mean.data(), rstd.data(), stats, d.data(),
				                  gg.data(), gb.data(), 0.0);
			});
			emu::launch(dim3{parts, (unsigned)c}, dim3{THREADS}, [&] {
				batchnorm_adjoint_partial(n, c, inner, x.data(), e.data(), mean.data(), rstd.data(), partial.data());
			});
			emu::launch(dim3{1}, dim3{THREADS}, [&] {
				batchnorm_adjoint_final(c, parts, partial.data(), sums.data(), gg2.data(), gb2.data(), 0.0);
			});
			emu::launch(dim3{2}, dim3{THREADS}, [&] {
				batchnorm_delta(n, c, inner, x.data(), e.data(), gamma.data(), mean.data(), rstd.data(), stats, sums.data(), d2.data());
			});
			for (int k = 0; k < total; k++) CHECK(close(d2[k], d[k], 1e-3 + std::fabs(d[k])), "batchnorm split delta n %d c %d inner %d", n, c, inner);
			for (int ch = 0; ch < c; ch++)
				CHECK(close(gg2[ch], gg[ch], 1 + std::fabs(gg[ch])) && close(gb2[ch], gb[ch], 1 + std::fabs(gb[ch])), "batchnorm split gradients");
			for (int ch = 0; ch < c; ch++) {
				double mu = 0, v = 0, se = 0, sex = 0, m = n * inner;
				for (int i = 0; i < n; i++)
					for (int s = 0; s < inner; s++) mu += x[at(i, ch, s)];
				mu /= m;
				for (int i = 0; i < n; i++)
					for (int s = 0; s < inner; s++) v += (x[at(i, ch, s)] - mu) * (x[at(i, ch, s)] - mu);
				double r = 1 / std::sqrt(v / m + 1e-5);
				CHECK(close(mean[ch], mu, 1) && close(rstd[ch], r, r), "batchnorm stats n %d c %d inner %d", n, c, inner);
				for (int i = 0; i < n; i++)
					for (int s = 0; s < inner; s++) {
						int k = at(i, ch, s);
						double h = (x[k] - mu) * r;
						se += e[k];
						sex += e[k] * h;
						CHECK(close(y[k], h * gamma[ch] + beta[ch], 4), "batchnorm apply n %d c %d inner %d", n, c, inner);
					}
				for (int i = 0; i < n; i++)
					for (int s = 0; s < inner; s++) {
						int k = at(i, ch, s);
						double h = (x[k] - mu) * r;
						double want = stats ? r * gamma[ch] * (e[k] - se / m - h * sex / m) : r * gamma[ch] * e[k];
						CHECK(close(d[k], want, 4 * r), "batchnorm adjoint n %d c %d inner %d stats %lld: %g want %g", n, c, inner,
						      stats, d[k], want);
					}
				CHECK(close(gg[ch], sex, std::sqrt(m)) && close(gb[ch], se, std::sqrt(m)), "batchnorm gradients n %d c %d inner %d", n,
				      c, inner);
			}
		}
	}
}

static void testLoss() {
	for (int cols : {1, 7, 1100})
		for (bool warp : {true, false})
			for (int kind = 0; kind <= LOSS_BINARY_CROSS_ENTROPY_LOGITS; kind++) {
				int rows = 9;
				auto b = rnd(rows * cols, 0.05f, 1), a = rnd(rows * cols, 0, 1);
				if (kind == LOSS_MSE || kind == LOSS_MAE || kind == LOSS_HUBER) b = rnd(rows * cols, -2, 2);
				if (kind == LOSS_BINARY_CROSS_ENTROPY_LOGITS) b = rnd(rows * cols, -30, 30);
				if (kind == LOSS_SOFTMAX_CROSS_ENTROPY_INDEX) {
					a.assign(rows, 0);
					for (int i = 0; i < rows; i++) a[i] = (float)((i * 7) % cols);
					a[4] = (float)cols; // out of range
					a[6] = 0.5f;         // not an integer
				}
				std::vector<float> L(rows), E(rows * cols);
				int status[3] = {0, 0, 0};
				double delta = 0.7, escale = warp ? 1.0 : 0.25;
				emu::launch(dim3{warp ? 1u : 2u}, dim3{THREADS}, [&] {
					(warp ? loss_warp : loss_block)(kind, rows, cols, delta, b.data(), a.data(), L.data(), E.data(), escale, status);
				});
				for (int i = 0; i < rows; i++) {
					const float *bb = &b[i * cols];
					double rho = 0;
					std::vector<double> g(cols);
					bool bad = false;
					if (kind == LOSS_SOFTMAX_CROSS_ENTROPY_INDEX) {
						float t = a[i];
						int c = (int)t;
						if (c != t || c < 0 || c >= cols) {
							bad = true;
						} else {
							double l = lse(bb, cols);
							rho = l - bb[c];
							for (int j = 0; j < cols; j++) g[j] = std::exp(bb[j] - l) - (j == c);
						}
					} else if (kind == LOSS_SOFTMAX_CROSS_ENTROPY) {
						double l = lse(bb, cols), sa = 0;
						for (int j = 0; j < cols; j++) sa += a[i * cols + j], rho -= a[i * cols + j] * (bb[j] - l);
						for (int j = 0; j < cols; j++) g[j] = std::exp(bb[j] - l) * sa - a[i * cols + j];
					} else {
						for (int j = 0; j < cols; j++) {
							double av = a[i * cols + j], bv = bb[j], r = av - bv, sg = (r > 0) - (r < 0);
							switch (kind) {
							case LOSS_MSE: rho += r * r, g[j] = -2 * r; break;
							case LOSS_MAE: rho += std::fabs(r), g[j] = -sg; break;
							case LOSS_HUBER:
								if (std::fabs(r) <= delta) rho += r * r / 2, g[j] = -r;
								else rho += delta * (std::fabs(r) - delta / 2), g[j] = -delta * sg;
								break;
							case LOSS_CROSS_ENTROPY:
								if (av != 0) rho -= av * std::log(bv);
								g[j] = -av / bv;
								break;
							case LOSS_BINARY_CROSS_ENTROPY_LOGITS: {
								// -a log s - (1-a) log(1-s) with s = sigmoid(b), in long double
								long double s = 1.0L / (1.0L + std::exp(-(long double)bv));
								rho += (double)(-av * std::log(s) - (1 - av) * std::log1p(-s));
								g[j] = (double)(s - av);
								break;
							}
							}
						}
					}
					if (bad) {
						CHECK(std::isnan(L[i]), "loss index bad row %d not NaN", i);
						for (int j = 0; j < cols; j++) CHECK(E[i * cols + j] == 0, "eps of bad row not 0");
						continue;
					}
					CHECK(close(L[i], rho, 1, 1e-4), "loss kind %d cols %d warp %d row %d: %g want %g", kind, cols, warp, i, L[i], rho);
					for (int j = 0; j < cols; j++)
						CHECK(close(E[i * cols + j], escale * g[j], escale), "loss eps kind %d cols %d warp %d: %g want %g", kind, cols, warp,
						      E[i * cols + j], escale * g[j]);
				}
				if (kind == LOSS_SOFTMAX_CROSS_ENTROPY_INDEX)
					CHECK((status[0] == 5 || status[0] == 7) && status[2] == cols, "loss status %d %d %d", status[0], status[1], status[2]);
				else
					CHECK(status[0] == 0, "status set for kind %d", kind);
			}
}

static void testReduce() {
	for (int rows : {0, 1, 13, 300})
		for (int cols : {1, 5, 33, 70}) {
			auto x = rnd(rows * cols);
			for (double beta : {0.0, 2.0}) {
				auto y = rnd(cols), y0 = y;
				if (beta == 0) y.assign(cols, NAN);
				emu::launch(dim3{(unsigned)((cols + 31) / 32)}, dim3{32, 8}, [&] { sum_rows(rows, cols, x.data(), beta, y.data()); });
				for (int j = 0; j < cols; j++) {
					double s = beta != 0 ? beta * y0[j] : 0;
					for (int i = 0; i < rows; i++) s += x[i * cols + j];
					CHECK(close(y[j], s, 1), "sum_rows %dx%d beta %g: %g want %g", rows, cols, beta, y[j], s);
				}
				auto z = rnd(rows), z0 = z;
				if (beta == 0) z.assign(rows, NAN);
				const double alpha = beta == 0 ? 1 : 0.25;
				emu::launch(dim3{2}, dim3{THREADS}, [&] { sum_cols(rows, cols, x.data(), alpha, beta, z.data()); });
				for (int i = 0; i < rows; i++) {
					double s = 0;
					for (int j = 0; j < cols; j++) s += x[i * cols + j];
					s = alpha * s + (beta != 0 ? beta * z0[i] : 0);
					CHECK(close(z[i], s, 1), "sum_cols %dx%d alpha %g beta %g", rows, cols, alpha, beta);
				}
			}
		}
	// The two passes of a SumCols on a few long rows: parts blocks share
	// each row, then one block a row sums the parts.
	for (int rows : {1, 3})
		for (int cols : {1, 300, 5000})
			for (unsigned parts : {1u, 3u, 7u})
				for (double beta : {0.0, 2.0}) {
					auto x = rnd(rows * cols), z = rnd(rows), z0 = z;
					if (beta == 0) z.assign(rows, NAN);
					const double alpha = beta == 0 ? 1 : 0.25;
					std::vector<double> part(rows * parts, NAN);
					emu::launch(dim3{parts, (unsigned)rows}, dim3{THREADS}, [&] { sum_cols_partial(cols, x.data(), part.data()); });
					emu::launch(dim3{(unsigned)rows}, dim3{THREADS}, [&] { sum_cols_final(parts, part.data(), alpha, beta, z.data()); });
					for (int i = 0; i < rows; i++) {
						double s = 0;
						for (int j = 0; j < cols; j++) s += x[i * cols + j];
						s = alpha * s + (beta != 0 ? beta * z0[i] : 0);
						CHECK(close(z[i], s, 1), "sum_cols_partial/final %dx%d parts %u alpha %g beta %g: %g want %g", rows, cols, parts,
						      alpha, beta, z[i], s);
					}
				}
	// The two passes of a SumRows on a few long columns: parts blocks of
	// rows (the last one short), then each column's parts in order.
	for (int rows : {1, 300, 1000})
		for (int cols : {1, 32, 40})
			for (int chunk : {1, 7, 256, 1000})
				for (double beta : {0.0, 2.0}) {
					const unsigned parts = (rows + chunk - 1) / chunk;
					auto x = rnd(rows * cols), y = rnd(cols), y0 = y;
					if (beta == 0) y.assign(cols, NAN);
					std::vector<double> part(parts * cols, NAN);
					emu::launch(dim3{(unsigned)((cols + 31) / 32), parts}, dim3{32, 8},
					            [&] { sum_rows_partial(rows, cols, chunk, x.data(), part.data()); });
					emu::launch(dim3{2}, dim3{THREADS}, [&] { sum_rows_final(parts, cols, part.data(), beta, y.data()); });
					for (int j = 0; j < cols; j++) {
						double s = beta != 0 ? beta * y0[j] : 0;
						for (int i = 0; i < rows; i++) s += x[i * cols + j];
						CHECK(close(y[j], s, 1), "sum_rows_partial/final %dx%d chunk %d beta %g: %g want %g", rows, cols, chunk, beta,
						      y[j], s);
					}
				}
	for (int n : {1, 255, 1000, 70000}) {
		auto x = rnd(n), y = rnd(n);
		std::vector<double> part(1024), out(1);
		unsigned g = std::min(1024, (n + 255) / 256);
		g = std::min(g, 7u);
		emu::launch(dim3{g}, dim3{THREADS}, [&] { dot_partial(n, x.data(), y.data(), part.data()); });
		emu::launch(dim3{1}, dim3{THREADS}, [&] { dot_final(g, part.data(), out.data()); });
		double s = 0;
		for (int i = 0; i < n; i++) s += (double)x[i] * y[i];
		CHECK(close(out[0], s, 1, 1e-12), "dot %d: %g want %g", n, out[0], s);
	}
}

// refArgMax is torch.argmax of a row: the first maximum, NaN above all.
static int refArgMax(const float *r, int cols) {
	int best = 0;
	for (int j = 0; j < cols && !std::isnan(r[best]); j++)
		if (std::isnan(r[j]) || r[j] > r[best]) best = j;
	return best;
}

// testArgMax checks argmax_matches on rows with ties (the first counts),
// NaN (wins), all -inf, and labels that are no class.
static void testArgMax() {
	for (unsigned threads : {64u, 1024u})
		for (int rows : {0, 1, 13, 300})
			for (int cols : {0, 1, 5, 33, 70}) {
				auto x = rnd(rows * cols, -3, 3);
				std::vector<float> labels(rows);
				for (int i = 0; i < rows; i++) {
					float *r = x.data() + i * cols;
					if (cols > 2 && i % 5 == 1) r[1] = r[cols - 1] = 4; // a tie
					if (cols > 0 && i % 7 == 3) r[i % cols] = NAN;
					if (cols > 0 && i % 11 == 4)
						for (int j = 0; j < cols; j++) r[j] = -INFINITY;
					int best = cols > 0 ? refArgMax(r, cols) : 0;
					switch (i % 4) {
					case 0: labels[i] = best; break;
					case 1: labels[i] = cols > 2 && i % 5 == 1 ? cols - 1 : best; break;
					case 2: labels[i] = (float[]){-1.f, (float)cols, 0.5f, NAN}[i % 4 == 2 ? (i / 4) % 4 : 0]; break;
					default: labels[i] = cols > 0 ? (float)(rng() % cols) : 0; break;
					}
				}
				int want = 0;
				for (int i = 0; i < rows; i++)
					if (cols > 0 && (float)refArgMax(x.data() + i * cols, cols) == labels[i]) want++;
				for (double beta : {0.0, 1.0, 0.5}) {
					std::vector<float> count{beta == 0 ? NAN : 7.f};
					emu::launch(dim3{1}, dim3{threads}, [&] { argmax_matches(rows, cols, x.data(), labels.data(), beta, count.data()); });
					double w = want + (beta != 0 ? beta * 7 : 0);
					CHECK(count[0] == (float)w, "argmax_matches %dx%d beta %g threads %u: %g want %g", rows, cols, beta, threads, count[0], w);
				}
			}
}

// The parameter passed with every op: LeakyReLU's slope, ELU's alpha.
static const double unaryParam = 0.25;

static double refUnary(int op, double x) {
	const double p = unaryParam;
	switch (op) {
	case OP_IDENTITY: return x;
	case OP_NEG: return -x;
	case OP_EXP: return std::exp(x);
	case OP_LOG: return std::log(x);
	case OP_SQRT: return std::sqrt(x);
	case OP_SQUARE: return x * x;
	case OP_ABS: return std::fabs(x);
	case OP_RELU: return x > 0 ? x : 0;
	case OP_SIGMOID: return 1 / (1 + std::exp(-x));
	case OP_TANH: return std::tanh(x);
	case OP_GELU: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
	case OP_SILU: return x / (1 + std::exp(-x));
	case OP_LEAKY_RELU: return x > 0 ? x : p * x;
	case OP_ELU: return x > 0 ? x : p * std::expm1(x);
	case OP_RELU6: return std::min(std::max(x, 0.0), 6.0);
	case OP_HARDSIGMOID: return std::min(std::max(x + 3, 0.0), 6.0) / 6;
	case OP_HARDSWISH: return x * std::min(std::max(x + 3, 0.0), 6.0) / 6;
	}
	return NAN;
}

static void testElementwise() {
	int rows = 7, cols = 13, n = rows * cols;
	for (int op = 0; op <= OP_HARDSWISH; op++) {
		auto x = rnd(n, 0.1f, 3);
		if (op != OP_LOG && op != OP_SQRT) {
			x = rnd(n, -3, 3);
			x[0] = 0; // sign(0) = 0 for Abs, [0 > 0] = 0 for ReLU, the slope p for LeakyReLU
		}
		std::vector<float> y(n), d(n);
		auto e = rnd(n), bias = rnd(cols);
		emu::launch(dim3{2}, dim3{THREADS}, [&] { unary(op, unaryParam, n, x.data(), y.data()); });
		for (int i = 0; i < n; i++) CHECK(close(y[i], refUnary(op, x[i]), 1), "unary %d x=%g: %g", op, x[i], y[i]);
		emu::launch(dim3{2}, dim3{THREADS}, [&] { unary_adjoint(op, unaryParam, n, x.data(), y.data(), e.data(), d.data()); });
		for (int i = 0; i < n; i++) {
			double h = 1e-3, xv = x[i];
			double der = (op == OP_ABS || op == OP_RELU) ? (xv > 0 ? 1 : (xv < 0 ? (op == OP_ABS ? -1 : 0) : 0))
			             : op == OP_LEAKY_RELU           ? (xv > 0 ? 1 : unaryParam)
			             : op == OP_ELU && xv == 0       ? unaryParam
			             : op == OP_RELU6                ? (xv > 0 && xv < 6 ? 1 : 0)
			             : op == OP_HARDSIGMOID          ? (xv > -3 && xv < 3 ? 1.0 / 6 : 0)
			             : op == OP_HARDSWISH            ? (xv < -3 ? 0 : xv <= 3 ? xv / 3 + 0.5 : 1)
			                                             : (refUnary(op, xv + h) - refUnary(op, xv - h)) / (2 * h);
			CHECK(close(d[i], der * e[i], 1, 1e-3), "unary_adjoint %d x=%g: %g want %g", op, x[i], d[i], der * e[i]);
		}
		emu::launch(dim3{1}, dim3{THREADS}, [&] { bias_act(op, unaryParam, rows, cols, x.data(), bias.data(), y.data()); });
		for (int i = 0; i < n; i++) {
			float v = x[i] + bias[i % cols];
			double want = refUnary(op, v);
			CHECK(close(y[i], want, 1) || (std::isnan(want) && std::isnan(y[i])), "bias_act %d", op);
		}
		auto y2 = x; // in place, nil bias
		emu::launch(dim3{1}, dim3{THREADS}, [&] { bias_act(op, unaryParam, rows, cols, y2.data(), nullptr, y2.data()); });
		for (int i = 0; i < n; i++) CHECK(close(y2[i], refUnary(op, x[i]), 1), "bias_act nil %d", op);
	}
	float nanv = NAN, r;
	emu::launch(dim3{1}, dim3{32}, [&] { unary(OP_RELU, 0, 1, &nanv, &r); });
	CHECK(std::isnan(r), "relu(NaN) = %g", r);
	auto a = rnd(n), b = rnd(n, 0.5f, 2);
	for (int op = 0; op <= 3; op++) {
		std::vector<float> c(n);
		emu::launch(dim3{1}, dim3{THREADS}, [&] { binary(op, n, a.data(), b.data(), c.data()); });
		for (int i = 0; i < n; i++) {
			double want = op == 0 ? a[i] + b[i] : op == 1 ? a[i] - b[i] : op == 2 ? a[i] * b[i] : a[i] / b[i];
			CHECK(close(c[i], want, 1), "binary %d", op);
		}
	}
	std::vector<float> dst(10 * 12, -1);
	auto src = rnd(8 * 9);
	emu::launch(dim3{1}, dim3{THREADS}, [&] { copy2d(3, 4, dst.data(), 5, 12, src.data(), 2, 9); });
	for (int i = 0; i < 10 * 12; i++) {
		int r0 = (i - 5) / 12, c0 = (i - 5) % 12;
		bool in = i >= 5 && r0 < 3 && c0 < 4;
		CHECK(dst[i] == (in ? src[2 + r0 * 9 + c0] : -1.f), "copy2d at %d", i);
	}
	std::vector<float> f(1000);
	emu::launch(dim3{2}, dim3{THREADS}, [&] { fill(1000, f.data(), 2.5); });
	CHECK(std::all_of(f.begin(), f.end(), [](float v) { return v == 2.5f; }), "fill");

	// transpose_tiled: partial tiles, a batch, and fewer blocks than tiles
	// (each block reuses its shared tile).
	for (auto sh : {std::array<int, 3>{3, 37, 45}, std::array<int, 3>{1, 32, 1}, std::array<int, 3>{2, 5, 70}}) {
		int batch = sh[0], rows = sh[1], cols = sh[2], total = batch * rows * cols;
		auto x = rnd(total);
		std::vector<float> y(total, NAN);
		emu::launch(dim3{2}, dim3{32, 8}, [&] { transpose_tiled(batch, rows, cols, x.data(), y.data()); });
		bool same = true;
		for (int b = 0; b < batch; b++)
			for (int i = 0; i < rows; i++)
				for (int j = 0; j < cols; j++) same = same && y[(b * cols + j) * rows + i] == x[(b * rows + i) * cols + j];
		CHECK(same, "transpose_tiled %d x %d x %d", batch, rows, cols);
	}
}

static void testOptim() {
	int n = 300;
	for (int flags = 0; flags < 4; flags++)
		for (double mom : {0.0, 0.9}) {
			auto p = rnd(n), g = rnd(n), v = rnd(n);
			auto p0 = p, v0 = v;
			double lr = 0.1, damp = 0.2, wd = 0.01;
			emu::launch(dim3{1}, dim3{THREADS}, [&] { sgd(n, p.data(), g.data(), v.data(), lr, mom, damp, wd, flags); });
			for (int i = 0; i < n; i++) {
				double gi = g[i] + wd * p0[i], pw, vw = v0[i];
				if (mom == 0) {
					pw = p0[i] - lr * gi;
				} else {
					vw = (flags & 1) ? gi : mom * v0[i] + (1 - damp) * gi;
					double dd = (flags & 2) ? gi + mom * vw : vw;
					pw = p0[i] - lr * dd;
				}
				CHECK(close(p[i], pw, 1), "sgd flags %d mom %g", flags, mom);
				CHECK(close(v[i], vw, 1), "sgd v flags %d mom %g", flags, mom);
			}
		}
	for (int dec : {0, 1}) {
		auto p = rnd(n), g = rnd(n), m = rnd(n), v = rnd(n, 0, 1);
		auto p0 = p, m0 = m, v0 = v;
		double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
		int t = 3;
		double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
		emu::launch(dim3{1}, dim3{THREADS}, [&] {
			adam(n, p.data(), g.data(), m.data(), v.data(), lr, b1, b2, eps, wd, lr / bc1, std::sqrt(bc2), dec);
		});
		for (int i = 0; i < n; i++) {
			double pi = p0[i], gi = g[i];
			if (dec) pi -= lr * wd * pi;
			else gi += wd * pi;
			double mi = b1 * m0[i] + (1 - b1) * gi, vi = b2 * v0[i] + (1 - b2) * gi * gi;
			double pw = pi - lr * (mi / bc1) / (std::sqrt(vi / bc2) + eps);
			CHECK(close(p[i], pw, 1), "adam dec %d: %g want %g", dec, p[i], pw);
			CHECK(close(m[i], mi, 1) && close(v[i], vi, 1), "adam moments");
		}
	}
	// rmsprop: every combination of centering and momentum (a NULL buffer
	// turns each off), with weight decay, from a state already under way.
	for (int centered : {0, 1})
		for (double mom : {0.0, 0.9}) {
			auto p = rnd(n), g = rnd(n), v = rnd(n, 0.5, 1), a = rnd(n, -0.1, 0.1), b = rnd(n);
			auto p0 = p, v0 = v, a0 = a, b0 = b;
			double lr = 0.01, alpha = 0.9, eps = 1e-6, wd = 0.1;
			emu::launch(dim3{1}, dim3{THREADS}, [&] {
				rmsprop(n, p.data(), g.data(), v.data(), centered ? a.data() : nullptr, mom > 0 ? b.data() : nullptr, lr,
				        alpha, eps, wd, mom);
			});
			for (int i = 0; i < n; i++) {
				double gi = g[i] + wd * p0[i], vi = alpha * v0[i] + (1 - alpha) * gi * gi, d = vi, ai = a0[i], bi = b0[i];
				if (centered) {
					ai = alpha * a0[i] + (1 - alpha) * gi;
					d -= ai * ai;
				}
				double q = gi / (std::sqrt(d) + eps);
				if (mom > 0) {
					bi = mom * b0[i] + q;
					q = bi;
				}
				double pw = p0[i] - lr * q;
				CHECK(close(p[i], pw, 1), "rmsprop centered %d mom %g: %g want %g", centered, mom, p[i], pw);
				CHECK(close(v[i], vi, 1) && close(a[i], ai, 1) && close(b[i], bi, 1), "rmsprop state centered %d mom %g",
				      centered, mom);
			}
		}
}

// main runs every group of checks, or only those named on the command line
// (elementwise reduce argmax optim softmax loss gemm tf32x3).
int main(int argc, char **argv) {
	const struct {
		const char *name;
		void (*run)();
	} groups[] = {{"elementwise", testElementwise}, {"reduce", testReduce}, {"argmax", testArgMax}, {"optim", testOptim},
	              {"softmax", [] { testSoftmax(); testBatchNorm(); }},         {"loss", testLoss},     {"gemm", testGemm},
	              {"tf32x3", testGemmTF32x3}};
	for (int a = 1; a < argc; a++) {
		bool known = false;
		for (auto &g : groups) known = known || strcmp(argv[a], g.name) == 0;
		if (!known) {
			fprintf(stderr, "emu_test: unknown group %s\n", argv[a]);
			return 2;
		}
	}
	for (auto &g : groups) {
		bool run = argc == 1;
		for (int a = 1; a < argc; a++) run = run || strcmp(argv[a], g.name) == 0;
		if (run) g.run();
	}
	printf("%d checks, %d failures\n", checks, failures);
	return failures != 0;
}
