// softmax.cu: softmax and log-softmax over each row of a rows x cols
// matrix, and their adjoints; layer normalisation (the other row-wise
// family) at the end. Numerically stable: the row maximum is
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

// Layer normalisation over each row (device.Device.LayerNorm): the mean and
// the biased variance in double, two passes over the row, then
// y = (x - mean) rstd * gamma + beta with rstd = 1/sqrt(var + epsilon);
// gamma and beta may be NULL (1 and 0). y may be x: each element is read
// by the thread that writes it.
template <bool W>
__device__ __forceinline__ void layerNormRows(i64 rows, i64 cols, const float *x, const float *gamma,
                                              const float *beta, double epsilon, float *y, float *mean,
                                              float *rstd) {
	__shared__ double sd[32];
	Row<W> r;
	for (i64 row = r.row; row < rows; row += r.step) {
		const float *xr = x + row * cols;
		float *yr = y + row * cols;
		double s = 0.0;
		for (i64 j = r.lane; j < cols; j += r.width) s += xr[j];
		const double mu = r.sum(s, sd) / (double)cols;
		double v = 0.0;
		for (i64 j = r.lane; j < cols; j += r.width) {
			const double d = (double)xr[j] - mu;
			v += d * d;
		}
		const double rs = 1.0 / sqrt(r.sum(v, sd) / (double)cols + epsilon);
		for (i64 j = r.lane; j < cols; j += r.width) {
			double h = ((double)xr[j] - mu) * rs;
			if (gamma != nullptr) h *= (double)gamma[j];
			if (beta != nullptr) h += (double)beta[j];
			yr[j] = (float)h;
		}
		if (r.lane == 0) {
			mean[row] = (float)mu;
			rstd[row] = (float)rs;
		}
	}
}

// layerNormAdjointRows: delta = rstd (g - mean(g) - xhat mean(g xhat)) per
// row, with g = eps * gamma and xhat recomputed from x, mean and rstd.
template <bool W>
__device__ __forceinline__ void layerNormAdjointRows(i64 rows, i64 cols, const float *x, const float *eps,
                                                     const float *gamma, const float *mean, const float *rstd,
                                                     float *delta) {
	__shared__ double sd[32];
	Row<W> r;
	for (i64 row = r.row; row < rows; row += r.step) {
		const float *xr = x + row * cols, *er = eps + row * cols;
		float *dr = delta + row * cols;
		const double mu = mean[row], rs = rstd[row], n = (double)cols;
		double s1 = 0.0, s2 = 0.0;
		for (i64 j = r.lane; j < cols; j += r.width) {
			const double g = gamma != nullptr ? (double)er[j] * (double)gamma[j] : (double)er[j];
			s1 += g;
			s2 += g * ((double)xr[j] - mu) * rs;
		}
		s1 = r.sum(s1, sd);
		s2 = r.sum(s2, sd);
		for (i64 j = r.lane; j < cols; j += r.width) {
			const double g = gamma != nullptr ? (double)er[j] * (double)gamma[j] : (double)er[j];
			const double h = ((double)xr[j] - mu) * rs;
			dr[j] = (float)(rs * (g - s1 / n - h * s2 / n));
		}
	}
}

// layernorm_*: see layerNormRows; used like softmax_* (warp for cols <= 1024).
extern "C" __global__ void layernorm_warp(i64 rows, i64 cols, const float *x, const float *gamma, const float *beta,
                                          double epsilon, float *y, float *mean, float *rstd) {
	layerNormRows<true>(rows, cols, x, gamma, beta, epsilon, y, mean, rstd);
}
extern "C" __global__ void layernorm_block(i64 rows, i64 cols, const float *x, const float *gamma, const float *beta,
                                           double epsilon, float *y, float *mean, float *rstd) {
	layerNormRows<false>(rows, cols, x, gamma, beta, epsilon, y, mean, rstd);
}

// layernorm_adjoint_*: see layerNormAdjointRows.
extern "C" __global__ void layernorm_adjoint_warp(i64 rows, i64 cols, const float *x, const float *eps,
                                                  const float *gamma, const float *mean, const float *rstd,
                                                  float *delta) {
	layerNormAdjointRows<true>(rows, cols, x, eps, gamma, mean, rstd, delta);
}
extern "C" __global__ void layernorm_adjoint_block(i64 rows, i64 cols, const float *x, const float *eps,
                                                   const float *gamma, const float *mean, const float *rstd,
                                                   float *delta) {
	layerNormAdjointRows<false>(rows, cols, x, eps, gamma, mean, rstd, delta);
}

// layernorm_param_grad: gGamma[j] = beta gGamma[j] + sum_i eps[i,j] xhat[i,j]
// and gBeta[j] = beta gBeta[j] + sum_i eps[i,j] (either may be NULL; they
// are not read when beta is 0). Block (32, 8) over a 32-column strip, as
// sum_rows; grid ceil(cols/32).
extern "C" __global__ void layernorm_param_grad(i64 rows, i64 cols, const float *x, const float *eps,
                                                const float *mean, const float *rstd, float *gGamma,
                                                float *gBeta, double beta) {
	__shared__ double pg[8][33], pb[8][33];
	const i64 j = (i64)blockIdx.x * 32 + threadIdx.x;
	double sg = 0.0, sb = 0.0;
	if (j < cols)
		for (i64 i = threadIdx.y; i < rows; i += 8) {
			const double e = eps[i * cols + j];
			sg += e * ((double)x[i * cols + j] - (double)mean[i]) * (double)rstd[i];
			sb += e;
		}
	pg[threadIdx.y][threadIdx.x] = sg;
	pb[threadIdx.y][threadIdx.x] = sb;
	__syncthreads();
	if (threadIdx.y == 0 && j < cols) {
		for (int q = 1; q < 8; q++) {
			sg += pg[q][threadIdx.x];
			sb += pb[q][threadIdx.x];
		}
		if (gGamma != nullptr) gGamma[j] = (float)(beta != 0.0 ? sg + beta * (double)gGamma[j] : sg);
		if (gBeta != nullptr) gBeta[j] = (float)(beta != 0.0 ? sb + beta * (double)gBeta[j] : sb);
	}
}

// Batch normalisation over the channels of x [n, c, inner]
// (device.Device.BatchNormStats, BatchNormApply, BatchNormAdjoint): channel
// ch holds the m = n*inner values x[(i*c + ch)*inner + s]. One block per
// channel sums them in double (blockSum), as layernorm does a row. Value j
// of a channel is (i, s) = (j / inner, j % inner): in 32 bits when m and
// the tensor fit (a 64-bit division is a long software sequence), else in
// 64.
template <typename I>
__device__ __forceinline__ i64 bnAt(I j, I inner, i64 c, i64 ch) {
	const I i = j / inner;
	return ((i64)i * c + ch) * (i64)inner + (i64)(j - i * inner);
}

template <typename I>
__device__ __forceinline__ void batchNormStatsChannels(i64 n, i64 c, i64 inner, const float *x, double epsilon,
                                                       float *mean, float *rstd) {
	__shared__ double sd[32];
	const I m = (I)(n * inner), in = (I)inner;
	for (i64 ch = blockIdx.x; ch < c; ch += gridDim.x) {
		double s = 0.0;
		for (I j = threadIdx.x; j < m; j += blockDim.x) s += x[bnAt(j, in, c, ch)];
		const double mu = blockSum(s, sd) / (double)m;
		double v = 0.0;
		for (I j = threadIdx.x; j < m; j += blockDim.x) {
			const double d = (double)x[bnAt(j, in, c, ch)] - mu;
			v += d * d;
		}
		const double rs = 1.0 / sqrt(blockSum(v, sd) / (double)m + epsilon);
		if (threadIdx.x == 0) {
			mean[ch] = (float)mu;
			rstd[ch] = (float)rs;
		}
	}
}

// batchnorm_stats: mean[ch] and rstd[ch] = 1/sqrt(var + epsilon), var the
// biased variance (two passes, as layernorm). Grid: a block per channel.
extern "C" __global__ void batchnorm_stats(i64 n, i64 c, i64 inner, const float *x, double epsilon, float *mean,
                                           float *rstd) {
	if (n * c * inner <= 0x7fffffff)
		batchNormStatsChannels<unsigned>(n, c, inner, x, epsilon, mean, rstd);
	else
		batchNormStatsChannels<i64>(n, c, inner, x, epsilon, mean, rstd);
}

// batchnorm_apply: y = (x - mean[ch]) rstd[ch] gamma[ch] + beta[ch] over
// all n*c*inner elements, grid-stride (gamma, beta may be NULL: 1 and 0).
// y may be x: each element is read by the thread that writes it.
extern "C" __global__ void batchnorm_apply(i64 n, i64 c, i64 inner, const float *x, const float *mean,
                                           const float *rstd, const float *gamma, const float *beta, float *y) {
	const i64 total = n * c * inner;
	for (i64 k = (i64)blockIdx.x * blockDim.x + threadIdx.x; k < total; k += (i64)gridDim.x * blockDim.x) {
		const i64 ch = total <= 0x7fffffff ? (i64)(((unsigned)k / (unsigned)inner) % (unsigned)c) : (k / inner) % c;
		double h = ((double)x[k] - (double)mean[ch]) * (double)rstd[ch];
		if (gamma != nullptr) h *= (double)gamma[ch];
		if (beta != nullptr) h += (double)beta[ch];
		y[k] = (float)h;
	}
}

template <typename I>
__device__ __forceinline__ void batchNormAdjointChannels(i64 n, i64 c, i64 inner, const float *x, const float *eps,
                                                         const float *gamma, const float *mean, const float *rstd,
                                                         bool batchStats, float *delta, float *gGamma, float *gBeta,
                                                         double beta) {
	__shared__ double sd[32];
	const I m = (I)(n * inner), in = (I)inner;
	for (i64 ch = blockIdx.x; ch < c; ch += gridDim.x) {
		const double mu = mean[ch], rs = rstd[ch], g = gamma != nullptr ? (double)gamma[ch] : 1.0;
		double se = 0.0, sex = 0.0;
		for (I j = threadIdx.x; j < m; j += blockDim.x) {
			const i64 k = bnAt(j, in, c, ch);
			const double e = eps[k];
			se += e;
			sex += e * ((double)x[k] - mu) * rs;
		}
		se = blockSum(se, sd);
		sex = blockSum(sex, sd);
		if (delta != nullptr) {
			// g = eps gamma: mean(g) = gamma se/m, mean(g xhat) = gamma sex/m.
			const double mg = batchStats ? g * se / (double)m : 0.0, mgx = batchStats ? g * sex / (double)m : 0.0;
			for (I j = threadIdx.x; j < m; j += blockDim.x) {
				const i64 k = bnAt(j, in, c, ch);
				const double h = ((double)x[k] - mu) * rs;
				delta[k] = (float)(rs * (g * (double)eps[k] - mg - h * mgx));
			}
		}
		if (threadIdx.x == 0) {
			if (gGamma != nullptr) gGamma[ch] = (float)(beta != 0.0 ? sex + beta * (double)gGamma[ch] : sex);
			if (gBeta != nullptr) gBeta[ch] = (float)(beta != 0.0 ? se + beta * (double)gBeta[ch] : se);
		}
	}
}

// batchnorm_adjoint: per channel, se = sum eps and sex = sum eps xhat, then
// delta = rstd (g - mean(g) - xhat mean(g xhat)) with g = eps gamma (with
// batchStats = 0 the statistics are constants: delta = rstd g), and
// gGamma = sex, gBeta = se (plus beta times their old values). Any of
// delta, gGamma, gBeta may be NULL. Grid: a block per channel.
extern "C" __global__ void batchnorm_adjoint(i64 n, i64 c, i64 inner, const float *x, const float *eps,
                                             const float *gamma, const float *mean, const float *rstd,
                                             i64 batchStats, float *delta, float *gGamma, float *gBeta,
                                             double beta) {
	if (n * c * inner <= 0x7fffffff)
		batchNormAdjointChannels<unsigned>(n, c, inner, x, eps, gamma, mean, rstd, batchStats != 0, delta, gGamma,
		                                   gBeta, beta);
	else
		batchNormAdjointChannels<i64>(n, c, inner, x, eps, gamma, mean, rstd, batchStats != 0, delta, gGamma, gBeta,
		                              beta);
}

// The split forms of batchnorm_stats and batchnorm_adjoint, for few
// channels of many values (a block per channel would leave most SMs idle
// and each block waiting on its loads): gridDim.x blocks share each
// channel, their partial results go to a temporary in double, and a
// second kernel combines them per channel in a fixed order, so results do
// not depend on timing. Block (p, ch) takes the channel's values j = p*THREADS
// + tid, stepping gridDim.x*THREADS; channels loop over gridDim.y.

// batchnorm_stats_partial: per (channel, block) the count, mean and sum of
// squared deviations from that mean of the block's values (two passes over
// them), into partial[(ch*parts + p)*3 + {0, 1, 2}].
extern "C" __global__ void batchnorm_stats_partial(i64 n, i64 c, i64 inner, const float *x, double *partial) {
	__shared__ double sd[32];
	const i64 m = n * inner, parts = gridDim.x, step = parts * blockDim.x;
	for (i64 ch = blockIdx.y; ch < c; ch += gridDim.y) {
		double s = 0.0, cnt = 0.0;
		for (i64 j = (i64)blockIdx.x * blockDim.x + threadIdx.x; j < m; j += step) {
			s += x[bnAt<i64>(j, inner, c, ch)];
			cnt += 1.0;
		}
		cnt = blockSum(cnt, sd);
		s = blockSum(s, sd);
		const double mu = cnt > 0.0 ? s / cnt : 0.0;
		double v = 0.0;
		for (i64 j = (i64)blockIdx.x * blockDim.x + threadIdx.x; j < m; j += step) {
			const double d = (double)x[bnAt<i64>(j, inner, c, ch)] - mu;
			v += d * d;
		}
		v = blockSum(v, sd);
		if (threadIdx.x == 0) {
			double *o = partial + (ch * parts + blockIdx.x) * 3;
			o[0] = cnt;
			o[1] = mu;
			o[2] = v;
		}
	}
}

// batchnorm_stats_final: one thread per channel merges its parts in order
// (Chan et al.'s pairwise update: the deviations of each part's mean from
// the running mean add n_a n_b (mean_b - mean_a)^2 / (n_a + n_b)), then
// writes mean and rstd = 1/sqrt(var + epsilon).
extern "C" __global__ void batchnorm_stats_final(i64 c, i64 parts, const double *partial, double epsilon, float *mean,
                                                 float *rstd) {
	FOR_N(ch, c) {
		double cnt = 0.0, mu = 0.0, m2 = 0.0;
		for (i64 p = 0; p < parts; p++) {
			const double *o = partial + (ch * parts + p) * 3;
			const double nb = o[0];
			if (nb == 0.0) continue;
			const double d = o[1] - mu, tot = cnt + nb;
			mu += d * nb / tot;
			m2 += o[2] + d * d * cnt * nb / tot;
			cnt = tot;
		}
		mean[ch] = (float)mu;
		rstd[ch] = (float)(1.0 / sqrt(m2 / cnt + epsilon));
	}
}

// batchnorm_adjoint_partial: per (channel, block) the sums of eps and of
// eps xhat over the block's values, into partial[(ch*parts + p)*2 + {0, 1}].
extern "C" __global__ void batchnorm_adjoint_partial(i64 n, i64 c, i64 inner, const float *x, const float *eps,
                                                     const float *mean, const float *rstd, double *partial) {
	__shared__ double sd[32];
	const i64 m = n * inner, parts = gridDim.x, step = parts * blockDim.x;
	for (i64 ch = blockIdx.y; ch < c; ch += gridDim.y) {
		const double mu = mean[ch], rs = rstd[ch];
		double se = 0.0, sex = 0.0;
		for (i64 j = (i64)blockIdx.x * blockDim.x + threadIdx.x; j < m; j += step) {
			const i64 k = bnAt<i64>(j, inner, c, ch);
			const double e = eps[k];
			se += e;
			sex += e * ((double)x[k] - mu) * rs;
		}
		se = blockSum(se, sd);
		sex = blockSum(sex, sd);
		if (threadIdx.x == 0) {
			partial[(ch * parts + blockIdx.x) * 2] = se;
			partial[(ch * parts + blockIdx.x) * 2 + 1] = sex;
		}
	}
}

// batchnorm_adjoint_final: one thread per channel adds its parts in order
// into sums[ch*2 + {0, 1}] (for batchnorm_delta) and sets or adds the
// parameter gradients (either may be NULL; not read when beta is 0).
extern "C" __global__ void batchnorm_adjoint_final(i64 c, i64 parts, const double *partial, double *sums, float *gGamma,
                                                   float *gBeta, double beta) {
	FOR_N(ch, c) {
		double se = 0.0, sex = 0.0;
		for (i64 p = 0; p < parts; p++) {
			se += partial[(ch * parts + p) * 2];
			sex += partial[(ch * parts + p) * 2 + 1];
		}
		sums[ch * 2] = se;
		sums[ch * 2 + 1] = sex;
		if (gGamma != nullptr) gGamma[ch] = (float)(beta != 0.0 ? sex + beta * (double)gGamma[ch] : sex);
		if (gBeta != nullptr) gBeta[ch] = (float)(beta != 0.0 ? se + beta * (double)gBeta[ch] : se);
	}
}

// batchnorm_delta: delta = rstd (g - mean(g) - xhat mean(g xhat)), g = eps
// gamma, from the channel sums of batchnorm_adjoint_final (with batchStats
// = 0, delta = rstd g), grid-stride over every element.
extern "C" __global__ void batchnorm_delta(i64 n, i64 c, i64 inner, const float *x, const float *eps,
                                           const float *gamma, const float *mean, const float *rstd, i64 batchStats,
                                           const double *sums, float *delta) {
	const i64 total = n * c * inner;
	const double m = (double)(n * inner);
	FOR_N(k, total) {
		const i64 ch = total <= 0x7fffffff ? (i64)(((unsigned)k / (unsigned)inner) % (unsigned)c) : (k / inner) % c;
		const double mu = mean[ch], rs = rstd[ch], g = gamma != nullptr ? (double)gamma[ch] : 1.0;
		const double h = ((double)x[k] - mu) * rs;
		const double mg = batchStats ? g * sums[ch * 2] / m : 0.0, mgx = batchStats ? g * sums[ch * 2 + 1] / m : 0.0;
		delta[k] = (float)(rs * (g * (double)eps[k] - mg - h * mgx));
	}
}
