// optim.cu: fused optimizer steps (grid-stride, THREADS threads per
// block), one parameter tensor per launch (sgd, adam, rmsprop) or every tensor of a
// step in one launch (sgd_multi, adam_multi: PyTorch's multi-tensor apply,
// since a small step on a GPU is bound by its launch count). The arithmetic
// is the cpu package's, in float32 with the hyper-parameters rounded to
// float32 first; the host computes Adam's bias corrections in float64 as
// the cpu package does. The single- and multi-tensor kernels share the
// per-element code (sgdElement, adamElement), so their results are the
// same bit for bit.
#include "common.cuh"

// TensorRef is one entry of a multi-tensor kernel's table, which the host
// uploads once and reuses while the list of tensors stays the same: the
// parameter p, its gradient g, its state buffers m and v (NULL where the
// optimizer has none) and the element count n. Five 8-byte words, laid out
// as device/cuda (multi.go) writes them.
struct TensorRef {
	float *p;
	const float *g;
	float *m;
	float *v;
	i64 n;
};

// sgdPlainElement and sgdMomentumElement update element i:
// torch.optim.SGD with the hyper-parameters already rounded to float32.
//   g' = g + wd p
//   v  = g' (first) or mu v + (1 - damp) g'
//   d  = g' + mu v (Nesterov) or v
//   p -= lr d            (without momentum: p -= lr (g + wd p))
// The kernels choose between them once, outside their loops.
__device__ __forceinline__ void sgdPlainElement(i64 i, float *p, const float *g, float eta, float wd) {
	p[i] -= eta * (g[i] + wd * p[i]);
}

__device__ __forceinline__ void sgdMomentumElement(i64 i, float *p, const float *g, float *v, float eta, float mu,
                                                   float damp, float wd, bool first, bool nesterov) {
	float gi = g[i] + wd * p[i];
	const float vi = first ? gi : mu * v[i] + (1.f - damp) * gi;
	v[i] = vi;
	gi = nesterov ? gi + mu * vi : vi;
	p[i] -= eta * gi;
}

// sgd: torch.optim.SGD on one tensor. flags bit 0: first step (v = g);
// bit 1: Nesterov. v may be NULL when momentum is 0.
extern "C" __global__ void sgd(i64 n, float *p, const float *g, float *v, double lr, double momentum,
                               double dampening, double weightDecay, i64 flags) {
	const float eta = (float)lr, mu = (float)momentum, damp = (float)dampening, wd = (float)weightDecay;
	const bool first = flags & 1, nesterov = flags & 2;
	if (mu == 0.f) {
		FOR_N(i, n) sgdPlainElement(i, p, g, eta, wd);
		return;
	}
	FOR_N(i, n) sgdMomentumElement(i, p, g, v, eta, mu, damp, wd, first, nesterov);
}

// sgd_multi: sgd on every tensor of a table (p, g and v of each entry; m
// is unused, v may be NULL when momentum is 0), tensor blockIdx.y,
// gridDim.x blocks per tensor.
extern "C" __global__ void sgd_multi(const TensorRef *tensors, double lr, double momentum, double dampening,
                                     double weightDecay, i64 flags) {
	const float eta = (float)lr, mu = (float)momentum, damp = (float)dampening, wd = (float)weightDecay;
	const bool first = flags & 1, nesterov = flags & 2;
	const TensorRef t = tensors[blockIdx.y];
	if (mu == 0.f) {
		FOR_N(i, t.n) sgdPlainElement(i, t.p, t.g, eta, wd);
		return;
	}
	FOR_N(i, t.n) sgdMomentumElement(i, t.p, t.g, t.v, eta, mu, damp, wd, first, nesterov);
}

// adamElement updates element i: torch.optim.Adam (decoupled false) or
// AdamW (decoupled true), with the hyper-parameters already rounded to
// float32, step = lr / (1 - beta1^t) and bc2 = sqrt(1 - beta2^t):
//   Adam: g += wd p;   AdamW: p -= lr wd p
//   m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
//   p -= step m / (sqrt(v) / bc2 + eps)
__device__ __forceinline__ void adamElement(i64 i, float *p, const float *g, float *m, float *v, float eta,
                                            float b1, float b2, float eps, float wd, float step, float bc2,
                                            bool decoupled) {
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

// adam: torch.optim.Adam (decoupled = 0) or AdamW (decoupled = 1) on one
// tensor, with stepSize = lr / (1 - beta1^t) and sqrtBC2 = sqrt(1 - beta2^t).
extern "C" __global__ void adam(i64 n, float *p, const float *g, float *m, float *v, double lr, double beta1,
                                double beta2, double epsilon, double weightDecay, double stepSize,
                                double sqrtBC2, i64 decoupled) {
	const float eta = (float)lr, b1 = (float)beta1, b2 = (float)beta2, eps = (float)epsilon;
	const float wd = (float)weightDecay, step = (float)stepSize, bc2 = (float)sqrtBC2;
	FOR_N(i, n) adamElement(i, p, g, m, v, eta, b1, b2, eps, wd, step, bc2, decoupled);
}

// rmsprop: torch.optim.RMSprop on one tensor (device.RMSpropConfig), the
// arithmetic of the cpu package's rmsprop in float32:
//   g' = g + wd p,  v = alpha v + (1 - alpha) g'^2
//   centered: a = alpha a + (1 - alpha) g',  q = g' / (sqrt(v - a^2) + eps)
//   else q = g' / (sqrt(v) + eps)
//   momentum: b = mu b + q, p -= lr b;  else p -= lr q
// gAvg is NULL unless centered, b NULL unless momentum > 0.
extern "C" __global__ void rmsprop(i64 n, float *p, const float *g, float *v, float *gAvg, float *b, double lr,
                                   double alpha, double epsilon, double weightDecay, double momentum) {
	const float eta = (float)lr, a = (float)alpha, eps = (float)epsilon, wd = (float)weightDecay;
	const float mu = (float)momentum;
	FOR_N(i, n) {
		const float gi = g[i] + wd * p[i];
		float vi = a * v[i] + (1.f - a) * (gi * gi);
		v[i] = vi;
		if (gAvg != nullptr) {
			const float ai = a * gAvg[i] + (1.f - a) * gi;
			gAvg[i] = ai;
			vi -= ai * ai;
		}
		const float q = gi / (sqrtf(vi) + eps);
		if (b != nullptr) {
			const float bi = mu * b[i] + q;
			b[i] = bi;
			p[i] -= eta * bi;
		} else {
			p[i] -= eta * q;
		}
	}
}

// adam_multi: adam on every tensor of a table, all at the same step t,
// tensor blockIdx.y, gridDim.x blocks per tensor.
extern "C" __global__ void adam_multi(const TensorRef *tensors, double lr, double beta1, double beta2,
                                      double epsilon, double weightDecay, double stepSize, double sqrtBC2,
                                      i64 decoupled) {
	const float eta = (float)lr, b1 = (float)beta1, b2 = (float)beta2, eps = (float)epsilon;
	const float wd = (float)weightDecay, step = (float)stepSize, bc2 = (float)sqrtBC2;
	const TensorRef t = tensors[blockIdx.y];
	FOR_N(i, t.n) adamElement(i, t.p, t.g, t.m, t.v, eta, b1, b2, eps, wd, step, bc2, decoupled);
}
