// optim.cu: one fused optimizer step per parameter tensor (grid-stride,
// THREADS threads per block). The arithmetic is the cpu package's, in
// float32 with the hyper-parameters rounded to float32 first; the host
// computes Adam's bias corrections in float64 as the cpu package does.
#include "common.cuh"

// sgd: torch.optim.SGD. flags bit 0: first step (v = g); bit 1: Nesterov.
// v may be NULL when momentum is 0.
//   g' = g + wd p
//   v  = g' (first) or mu v + (1 - damp) g'
//   d  = g' + mu v (Nesterov) or v
//   p -= lr d            (without momentum: p -= lr (g + wd p))
extern "C" __global__ void sgd(i64 n, float *p, const float *g, float *v, double lr, double momentum,
                               double dampening, double weightDecay, i64 flags) {
	const float eta = (float)lr, mu = (float)momentum, damp = (float)dampening, wd = (float)weightDecay;
	const bool first = flags & 1, nesterov = flags & 2;
	if (mu == 0.f) {
		FOR_N(i, n) p[i] -= eta * (g[i] + wd * p[i]);
		return;
	}
	FOR_N(i, n) {
		float gi = g[i] + wd * p[i];
		const float vi = first ? gi : mu * v[i] + (1.f - damp) * gi;
		v[i] = vi;
		gi = nesterov ? gi + mu * vi : vi;
		p[i] -= eta * gi;
	}
}

// adam: torch.optim.Adam (decoupled = 0) or AdamW (decoupled = 1), with
// stepSize = lr / (1 - beta1^t) and sqrtBC2 = sqrt(1 - beta2^t):
//   Adam: g += wd p;   AdamW: p -= lr wd p
//   m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
//   p -= stepSize m / (sqrt(v) / sqrtBC2 + eps)
extern "C" __global__ void adam(i64 n, float *p, const float *g, float *m, float *v, double lr, double beta1,
                                double beta2, double epsilon, double weightDecay, double stepSize,
                                double sqrtBC2, i64 decoupled) {
	const float eta = (float)lr, b1 = (float)beta1, b2 = (float)beta2, eps = (float)epsilon;
	const float wd = (float)weightDecay, step = (float)stepSize, bc2 = (float)sqrtBC2;
	FOR_N(i, n) {
		float gi = g[i], pi = p[i];
		if (decoupled)
			pi -= eta * wd * pi;
		else
			gi += wd * pi;
		const float mi = b1 * m[i] + (1.f - b1) * gi;
		const float vi = b2 * v[i] + (1.f - b2) * gi * gi;
		m[i] = mi;
		v[i] = vi;
		const float denom = sqrtf(vi) / bc2 + eps;
		p[i] = pi - step * mi / denom;
	}
}
