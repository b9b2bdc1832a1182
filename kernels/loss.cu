// loss.cu: the per-row distortions rho(target_k, pred_k) of device.LossKind
// and their error vectors eps_k = grad_b rho, one row per warp (*_warp,
// cols <= 1024) or per block (*_block), like softmax.cu. Element terms are
// evaluated in double and summed in double, as the cpu package does.
//
// Softmax + cross-entropy is fused: one pass for the row maximum, one for
// sum exp, one writing eps = softmax(b) sum(a) - a (or softmax(b) - e_c).
//
// Class-index targets (LOSS_SOFTMAX_CROSS_ENTROPY_INDEX) hold one float per
// row. A target that is not an integer in [0, cols) makes that row's loss
// NaN and its eps 0 (the bad sample adds nothing to any gradient, so an
// optimizer step queued before the host has seen the error spoils no
// weight) and records the first such row in status: status[0] = row+1
// (set once, by atomicCAS from 0), status[1] = the target's bits,
// status[2] = cols. The host reads status back at its next synchronizing
// call and turns it into an error.
#include "common.cuh"

__device__ __forceinline__ double signd(double r) { return r > 0.0 ? 1.0 : (r < 0.0 ? -1.0 : 0.0); }

template <bool W>
__device__ __forceinline__ void lossRows(i64 kind, i64 rows, i64 cols, double delta, const float *pred,
                                         const float *target, float *losses, float *eps, double escale,
                                         int *status) {
	__shared__ float sf[32];
	__shared__ double sd[32];
	const float nan = __int_as_float(0x7fc00000);
	Row<W> r;
	for (i64 row = r.row; row < rows; row += r.step) {
		const float *b = pred + row * cols;
		float *e = eps != nullptr ? eps + row * cols : nullptr;
		double rho = 0.0;
		if (kind == LOSS_SOFTMAX_CROSS_ENTROPY_INDEX) {
			const float t = target[row];
			if (!(t >= 0.f && t < (float)cols && t == truncf(t))) { // NaN fails too
				if (r.lane == 0) {
					losses[row] = nan;
					if (atomicCAS(status, 0, (int)(row + 1)) == 0) {
						status[1] = __float_as_int(t);
						status[2] = (int)cols;
					}
				}
				if (e != nullptr)
					for (i64 j = r.lane; j < cols; j += r.width) e[j] = 0.f;
				continue; // uniform across the row's threads
			}
			const i64 c = (i64)t;
			const double lse = rowLSE(r, b, cols, sf, sd);
			rho = lse - (double)b[c];
			if (e != nullptr)
				for (i64 j = r.lane; j < cols; j += r.width) {
					double p = exp((double)b[j] - lse);
					if (j == c) p -= 1.0;
					e[j] = (float)(p * escale);
				}
			if (r.lane == 0) losses[row] = (float)rho;
			continue;
		}
		const float *a = target + row * cols;
		if (kind == LOSS_SOFTMAX_CROSS_ENTROPY) {
			const double lse = rowLSE(r, b, cols, sf, sd);
			double sa = 0.0;
			for (i64 j = r.lane; j < cols; j += r.width) {
				sa += a[j];
				rho -= (double)a[j] * ((double)b[j] - lse);
			}
			sa = r.sum(sa, sd);
			if (e != nullptr)
				for (i64 j = r.lane; j < cols; j += r.width)
					e[j] = (float)((exp((double)b[j] - lse) * sa - (double)a[j]) * escale);
		} else {
			for (i64 j = r.lane; j < cols; j += r.width) {
				const double av = a[j], bv = b[j], d = av - bv;
				double g = 0.0;
				switch (kind) {
				case LOSS_MSE:
					rho += d * d;
					g = -2.0 * d;
					break;
				case LOSS_MAE:
					rho += fabs(d);
					g = -signd(d);
					break;
				case LOSS_HUBER:
					if (fabs(d) <= delta) {
						rho += d * d / 2.0;
						g = -d;
					} else {
						rho += delta * (fabs(d) - delta / 2.0);
						g = -delta * signd(d);
					}
					break;
				case LOSS_CROSS_ENTROPY:
					if (av != 0.0) rho -= av * log(bv); // 0 log 0 = 0
					g = -av / bv;
					break;
				case LOSS_BINARY_CROSS_ENTROPY_LOGITS: {
					// log(1 + e^b) - ab without overflow; eps = sigmoid(b) - a.
					const double t = exp(-fabs(bv));
					rho += fmax(bv, 0.0) - av * bv + log1p(t);
					g = (bv >= 0.0 ? 1.0 / (1.0 + t) : t / (1.0 + t)) - av;
					break;
				}
				}
				if (e != nullptr) e[j] = (float)(g * escale);
			}
		}
		rho = r.sum(rho, sd);
		if (r.lane == 0) losses[row] = (float)rho;
	}
}

// loss_*: losses[k] = rho(target_k, pred_k); eps (may be NULL) = escale
// times the gradient (a mean's 1/K folded in), computed in double and
// rounded once.
// delta is Huber's threshold; status is a 3-int device word (see above).
extern "C" __global__ void loss_warp(i64 kind, i64 rows, i64 cols, double delta, const float *pred,
                                     const float *target, float *losses, float *eps, double escale, int *status) {
	lossRows<true>(kind, rows, cols, delta, pred, target, losses, eps, escale, status);
}
extern "C" __global__ void loss_block(i64 kind, i64 rows, i64 cols, double delta, const float *pred,
                                      const float *target, float *losses, float *eps, double escale, int *status) {
	lossRows<false>(kind, rows, cols, delta, pred, target, losses, eps, escale, status);
}
