// elementwise.cu: fill, strided copy, axpy, scale, the unary functions and
// their adjoints, the binary functions, the fused bias + activation
// epilogue, dropout masks, the layout kernels of convolutions and pooling
// (transpose, im2col, col2im, max_pool with its adjoint and tangent), and
// the embedding-table kernels (gather, scatter_add). All are grid-stride loops over the elements: blocks of THREADS
// threads, as many blocks as the host asks for (it caps the grid at a
// multiple of the SM count). Outputs may alias inputs where device.Device
// allows it (y = x in Unary, Scale, BiasActivation; c = a or b in Binary),
// so no pointer here is __restrict__.
#include "common.cuh"

// unaryF is y = f(x) for the op codes of device.UnaryOp; p is the
// function's parameter (LeakyReLU's negative slope, ELU's alpha), unused by
// the others.
template <int OP>
__device__ __forceinline__ float unaryF(float x, float p) {
	switch (OP) {
	case OP_IDENTITY: return x;
	case OP_NEG: return -x;
	case OP_EXP: return expf(x);
	case OP_LOG: return logf(x);
	case OP_SQRT: return sqrtf(x);
	case OP_SQUARE: return x * x;
	case OP_ABS: return fabsf(x);
	case OP_RELU: return (x > 0.f || x != x) ? x : 0.f; // NaN propagates, as Go's max
	case OP_SIGMOID: return stableSigmoid(x);
	case OP_TANH: return tanhf(x);
	case OP_GELU: return 0.5f * x * erfcf(-x * 0.70710678118654752f); // x Phi(x), erfc keeps the tail
	case OP_SILU: return x * stableSigmoid(x);
	case OP_LEAKY_RELU: return x > 0.f ? x : p * x; // NaN: p NaN = NaN
	case OP_ELU: return x > 0.f ? x : p * expm1f(x); // expm1 keeps e^x - 1 accurate near 0
	case OP_RELU6: return x != x ? x : fminf(fmaxf(x, 0.f), 6.f);
	case OP_HARDSIGMOID: return x != x ? x : fminf(fmaxf(x + 3.f, 0.f), 6.f) / 6.f;
	case OP_HARDSWISH: return x != x ? x : x * fminf(fmaxf(x + 3.f, 0.f), 6.f) / 6.f;
	}
	return __int_as_float(0x7fc00000);
}

// unaryD is delta = f'(x) eps given x and y = f(x), p as in unaryF.
template <int OP>
__device__ __forceinline__ float unaryD(float x, float y, float e, float p) {
	switch (OP) {
	case OP_IDENTITY: return e;
	case OP_NEG: return -e;
	case OP_EXP: return y * e;
	case OP_LOG: return e / x;
	case OP_SQRT: return e / (2.f * y);
	case OP_SQUARE: return 2.f * x * e;
	case OP_ABS: return x > 0.f ? e : (x < 0.f ? -e : 0.f);
	case OP_RELU: return x > 0.f ? e : 0.f;
	case OP_SIGMOID: return y * (1.f - y) * e;
	case OP_TANH: return (1.f - y * y) * e;
	case OP_GELU: // Phi(x) + x phi(x)
		return (0.5f * erfcf(-x * 0.70710678118654752f) + x * 0.39894228040143268f * expf(-0.5f * x * x)) * e;
	case OP_SILU: { // s (1 + x (1 - s)), s = sigmoid(x)
		const float s = stableSigmoid(x);
		return s * (1.f + x * (1.f - s)) * e;
	}
	case OP_LEAKY_RELU: return x > 0.f ? e : p * e;
	case OP_ELU: return x > 0.f ? e : p * expf(x) * e; // y + alpha, from x: exact where y rounded
	case OP_RELU6: return (x > 0.f && x < 6.f) ? e : 0.f;
	case OP_HARDSIGMOID: return (x > -3.f && x < 3.f) ? e / 6.f : 0.f;
	case OP_HARDSWISH: return x < -3.f ? 0.f : (x <= 3.f ? (x / 3.f + 0.5f) * e : e);
	}
	return __int_as_float(0x7fc00000);
}

// The op code selects one of seventeen specialised loops (a uniform branch).
#define UNARY_SWITCH(op, CALL)                                      \
	switch (op) {                                               \
	case OP_IDENTITY: CALL(OP_IDENTITY); break;                 \
	case OP_NEG: CALL(OP_NEG); break;                           \
	case OP_EXP: CALL(OP_EXP); break;                           \
	case OP_LOG: CALL(OP_LOG); break;                           \
	case OP_SQRT: CALL(OP_SQRT); break;                         \
	case OP_SQUARE: CALL(OP_SQUARE); break;                     \
	case OP_ABS: CALL(OP_ABS); break;                           \
	case OP_RELU: CALL(OP_RELU); break;                         \
	case OP_SIGMOID: CALL(OP_SIGMOID); break;                   \
	case OP_TANH: CALL(OP_TANH); break;                         \
	case OP_GELU: CALL(OP_GELU); break;                         \
	case OP_SILU: CALL(OP_SILU); break;                         \
	case OP_LEAKY_RELU: CALL(OP_LEAKY_RELU); break;             \
	case OP_ELU: CALL(OP_ELU); break;                           \
	case OP_RELU6: CALL(OP_RELU6); break;                       \
	case OP_HARDSIGMOID: CALL(OP_HARDSIGMOID); break;           \
	case OP_HARDSWISH: CALL(OP_HARDSWISH); break;               \
	}

// fill: x[i] = v for i < n.
extern "C" __global__ void fill(i64 n, float *x, double v) {
	const float f = (float)v;
	FOR_N(i, n) x[i] = f;
}

// copy2d: dst[dstOff + i*dstLD + j] = src[srcOff + i*srcLD + j] for a
// rows x cols block.
extern "C" __global__ void copy2d(i64 rows, i64 cols, float *dst, i64 dstOff, i64 dstLD,
                                  const float *src, i64 srcOff, i64 srcLD) {
	FOR_N(e, rows * cols) {
		const i64 i = e / cols, j = e - i * cols;
		dst[dstOff + i * dstLD + j] = src[srcOff + i * srcLD + j];
	}
}

// axpy: y = alpha x + y.
extern "C" __global__ void axpy(i64 n, double alpha, const float *x, float *y) {
	const float a = (float)alpha;
	FOR_N(i, n) y[i] += a * x[i];
}

// scale: y = alpha x.
extern "C" __global__ void scale(i64 n, double alpha, const float *x, float *y) {
	const float a = (float)alpha;
	FOR_N(i, n) y[i] = a * x[i];
}

// unary: y = f(x), f given by op (device.UnaryOp) and its parameter.
extern "C" __global__ void unary(i64 op, double param, i64 n, const float *x, float *y) {
	const float p = (float)param;
#define CALL(OP) FOR_N(i, n) y[i] = unaryF<OP>(x[i], p)
	UNARY_SWITCH(op, CALL)
#undef CALL
}

// unary_adjoint: delta = f'(x) eps, given x and y = f(x).
extern "C" __global__ void unary_adjoint(i64 op, double param, i64 n, const float *x, const float *y,
                                         const float *eps, float *delta) {
	const float p = (float)param;
#define CALL(OP) FOR_N(i, n) delta[i] = unaryD<OP>(x[i], y[i], eps[i], p)
	UNARY_SWITCH(op, CALL)
#undef CALL
}

// binary: c = a op b, op given by device.BinaryOp.
extern "C" __global__ void binary(i64 op, i64 n, const float *a, const float *b, float *c) {
	switch (op) {
	case BIN_ADD: FOR_N(i, n) c[i] = a[i] + b[i]; break;
	case BIN_SUB: FOR_N(i, n) c[i] = a[i] - b[i]; break;
	case BIN_MUL: FOR_N(i, n) c[i] = a[i] * b[i]; break;
	case BIN_DIV: FOR_N(i, n) c[i] = a[i] / b[i]; break;
	}
}

// bias_act: y = f(x + 1 bias^T) over a rows x cols matrix; bias may be NULL
// (then y = f(x)). The fused epilogue of a linear layer.
extern "C" __global__ void bias_act(i64 op, double param, i64 rows, i64 cols, const float *x,
                                    const float *bias, float *y) {
	const i64 n = rows * cols;
	const float p = (float)param;
	if (bias == nullptr) {
#define CALL(OP) FOR_N(i, n) y[i] = unaryF<OP>(x[i], p)
		UNARY_SWITCH(op, CALL)
#undef CALL
		return;
	}
#define CALL(OP) FOR_N(i, n) y[i] = unaryF<OP>(x[i] + bias[i % cols], p)
	UNARY_SWITCH(op, CALL)
#undef CALL
}

// philox4x32_10 is the Philox-4x32-10 block of counter c under key k
// (device.Philox4x32): ten rounds of two 32x32->64-bit products whose
// halves are crossed with the other words and the round key, the key
// bumped by the Weyl constants between rounds. The products are written as
// 64-bit multiplies, which nvcc turns into mul.lo/mul.hi pairs.
struct Philox4 {
	unsigned int w[4];
};

__device__ __forceinline__ Philox4 philox4x32_10(Philox4 c, unsigned int k0, unsigned int k1) {
#pragma unroll
	for (int round = 0; round < 10; round++) {
		if (round > 0) {
			k0 += 0x9E3779B9u;
			k1 += 0xBB67AE85u;
		}
		const unsigned long long p0 = (unsigned long long)0xD2511F53u * c.w[0];
		const unsigned long long p1 = (unsigned long long)0xCD9E8D57u * c.w[2];
		Philox4 n;
		n.w[0] = (unsigned int)(p1 >> 32) ^ c.w[1] ^ k0;
		n.w[1] = (unsigned int)p1;
		n.w[2] = (unsigned int)(p0 >> 32) ^ c.w[3] ^ k1;
		n.w[3] = (unsigned int)p0;
		c = n;
	}
	return c;
}

// dropout_mask: mask[i] = 0 when word i%4 of the Philox block at counter
// offset + i/4 (key seed) is below threshold, else scale: one thread per
// block of four elements (device.DropoutBlock and DropoutThreshold define
// the bits; threshold is floor(p 2^32), 2^32 for p = 1).
extern "C" __global__ void dropout_mask(i64 n, float *mask, i64 threshold, double scale, i64 seed, i64 offset) {
	const unsigned long long th = (unsigned long long)threshold, s = (unsigned long long)seed;
	const float keep = (float)scale;
	FOR_N(b, (n + 3) / 4) {
		const unsigned long long ctr = (unsigned long long)offset + (unsigned long long)b;
		Philox4 c = {{(unsigned int)ctr, (unsigned int)(ctr >> 32), 0u, 0u}};
		c = philox4x32_10(c, (unsigned int)s, (unsigned int)(s >> 32));
		const i64 i = 4 * b;
#pragma unroll
		for (int j = 0; j < 4; j++)
			if (i + j < n) mask[i + j] = (unsigned long long)c.w[j] < th ? 0.f : keep;
	}
}

// transpose: y[b, j, i, q] = x[b, i, j, q] for batch row-major rows x cols
// matrices of blocks of inner elements (device.Device.Transpose); one
// thread per element of y, so the writes are coalesced and the reads
// strided, each block of inner elements contiguous. The host sends inner
// = 1 (convolutions, matrix transposes) to transpose_tiled. The index
// arithmetic is 32-bit where the tensor allows: a 64-bit division is a
// long software sequence.
template <typename I>
__device__ __forceinline__ void transposeBlocks(I batch, I rows, I cols, I inner, const float *__restrict__ x,
                                                float *__restrict__ y) {
	const I mat = rows * cols * inner, n = batch * mat;
	for (I e = (I)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (I)gridDim.x * blockDim.x) {
		const I b = e / mat, r = e - b * mat; // r = (j*rows + i)*inner + q in y
		const I ji = r / inner, q = r - ji * inner;
		const I j = ji / rows, i = ji - j * rows;
		y[e] = x[b * mat + (i * cols + j) * inner + q];
	}
}

extern "C" __global__ void transpose(i64 batch, i64 rows, i64 cols, i64 inner, const float *__restrict__ x,
                                     float *__restrict__ y) {
	if (batch * rows * cols * inner <= 0x7fffffff)
		transposeBlocks<unsigned>(batch, rows, cols, inner, x, y);
	else
		transposeBlocks<i64>(batch, rows, cols, inner, x, y);
}

// transpose_tiled: y[b, j, i] = x[b, i, j] through 32 x 32 tiles in shared
// memory (a column of padding keeps the transposed reads free of bank
// conflicts), so that both the reads of x and the writes of y are
// coalesced. Blocks of (32, 8) threads loop over the batch's tiles.
extern "C" __global__ void transpose_tiled(i64 batch, i64 rows, i64 cols, const float *__restrict__ x,
                                           float *__restrict__ y) {
	__shared__ float tile[32][33];
	const i64 rowTiles = (rows + 31) / 32, colTiles = (cols + 31) / 32, perMat = rowTiles * colTiles;
	for (i64 t = blockIdx.x; t < batch * perMat; t += gridDim.x) {
		const i64 b = t / perMat, rt = (t - b * perMat) / colTiles, ct = t - b * perMat - rt * colTiles;
		const i64 r0 = rt * 32, c0 = ct * 32;
		const float *xb = x + b * rows * cols;
		float *yb = y + b * rows * cols;
		for (int k = threadIdx.y; k < 32; k += 8)
			if (r0 + k < rows && c0 + threadIdx.x < cols) tile[k][threadIdx.x] = xb[(r0 + k) * cols + c0 + threadIdx.x];
		__syncthreads();
		for (int k = threadIdx.y; k < 32; k += 8)
			if (c0 + k < cols && r0 + threadIdx.x < rows) yb[(c0 + k) * rows + r0 + threadIdx.x] = tile[threadIdx.x][k];
		__syncthreads(); // the next tile overwrites this one
	}
}

// Conv is a device.ConvGeometry unpacked from the kernels' 8-byte
// parameters: kernel, stride, padding and dilation each arrive as one i64
// holding the height's value in the upper 32 bits and the width's in the
// lower (kernels take at most 13 parameters; see device/cuda/table.go).
struct Conv {
	i64 n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
	__device__ Conv(i64 n_, i64 c_, i64 h_, i64 w_, i64 kernel, i64 stride, i64 pad, i64 dil)
	    : n(n_), c(c_), h(h_), w(w_), kh(kernel >> 32), kw(kernel & 0xffffffff), sh(stride >> 32),
	      sw(stride & 0xffffffff), ph(pad >> 32), pw(pad & 0xffffffff), dh(dil >> 32), dw(dil & 0xffffffff) {
		oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
		ow = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
	}
	__device__ i64 patch() const { return c * kh * kw; }
};

// Index arithmetic of im2col and col2im in I: a GPU has no 64-bit integer
// divider (an i64 division is a software routine of dozens of
// instructions, a 32-bit one a handful), and these kernels, a few loads
// and a store per element, are bound by their divisions. Every tensor
// under 2^30 elements (all but the largest) takes the int path.
const i64 smallIndex = (i64)1 << 30;

template <typename I>
__device__ __forceinline__ void im2colAt(const Conv &g, const float *__restrict__ x, float *__restrict__ cols) {
	const I patch = (I)g.patch(), ohw = (I)(g.oh * g.ow), ow = (I)g.ow, khw = (I)(g.kh * g.kw), kw = (I)g.kw;
	const I h = (I)g.h, w = (I)g.w, c = (I)g.c, sh = (I)g.sh, sw = (I)g.sw, ph = (I)g.ph, pw = (I)g.pw, dh = (I)g.dh,
	        dw = (I)g.dw;
	const I total = (I)g.n * ohw * patch, step = (I)blockDim.x * gridDim.x;
	for (I e = (I)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += step) {
		const I r = e / patch, k = e - r * patch;
		const I img = r / ohw, p = r - img * ohw;
		const I i = p / ow, j = p - i * ow;
		const I ch = k / khw, t = k - ch * khw;
		const I th = t / kw, tw = t - th * kw;
		const I y = i * sh - ph + th * dh, xx = j * sw - pw + tw * dw;
		cols[e] = (y >= 0 && y < h && xx >= 0 && xx < w) ? x[((img * c + ch) * h + y) * w + xx] : 0.f;
	}
}

// im2col: cols[(n, i, j), (c, kh, kw)] = x[n, c, i*sh - ph + kh*dh,
// j*sw - pw + kw*dw], 0 in the padding (device.Device.Im2Col); one thread
// per element of cols, written in order.
extern "C" __global__ void im2col(i64 n, i64 c, i64 h, i64 w, i64 kernel, i64 stride, i64 pad, i64 dil,
                                  const float *__restrict__ x, float *__restrict__ cols) {
	const Conv g(n, c, h, w, kernel, stride, pad, dil);
	if (g.n * g.oh * g.ow * g.patch() < smallIndex && g.n * g.c * g.h * g.w < smallIndex)
		im2colAt<int>(g, x, cols);
	else
		im2colAt<i64>(g, x, cols);
}

template <typename I>
__device__ __forceinline__ void col2imAt(const Conv &g, const float *__restrict__ cols, double beta, float *__restrict__ x) {
	const I patch = (I)g.patch(), oh = (I)g.oh, ow = (I)g.ow, kh = (I)g.kh, kw = (I)g.kw;
	const I h = (I)g.h, w = (I)g.w, c = (I)g.c, sh = (I)g.sh, sw = (I)g.sw, ph = (I)g.ph, pw = (I)g.pw, dh = (I)g.dh,
	        dw = (I)g.dw;
	const float b = (float)beta;
	const I total = (I)g.n * c * h * w, step = (I)blockDim.x * gridDim.x;
	for (I e = (I)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += step) {
		const I plane = e / w, xx = e - plane * w;
		const I img_ch = plane / h, y = plane - img_ch * h;
		const I img = img_ch / c, ch = img_ch - img * c;
		float s = 0.f;
		for (I th = 0; th < kh; th++) {
			const I ty = y + ph - th * dh;
			if (ty < 0) break; // th only grows: ty only falls
			const I i = ty / sh;
			if (i * sh != ty || i >= oh) continue;
			for (I tw = 0; tw < kw; tw++) {
				const I tx = xx + pw - tw * dw;
				if (tx < 0) break;
				const I j = tx / sw;
				if (j * sw != tx || j >= ow) continue;
				s += cols[((img * oh + i) * ow + j) * patch + (ch * kh + th) * kw + tw];
			}
		}
		if (beta != 0.0) s += b * x[e];
		x[e] = s;
	}
}

// col2im: x = beta x + the sum, per pixel, of the cols elements im2col
// copies from it (device.Device.Col2Im): one thread per pixel gathers over
// the taps in order, so there are no atomics and the sums are the CPU's.
extern "C" __global__ void col2im(i64 n, i64 c, i64 h, i64 w, i64 kernel, i64 stride, i64 pad, i64 dil,
                                  const float *__restrict__ cols, double beta, float *__restrict__ x) {
	const Conv g(n, c, h, w, kernel, stride, pad, dil);
	if (g.n * g.oh * g.ow * g.patch() < smallIndex && g.n * g.c * g.h * g.w < smallIndex)
		col2imAt<int>(g, cols, beta, x);
	else
		col2imAt<i64>(g, cols, beta, x);
}

// max_pool: y = the maximum of each window of x (per channel plane) and
// argmax its index h*W + w in the plane, as torch's max_pool2d
// (device.Device.MaxPool): the running maximum starts at -inf on the
// window's first pixel inside the image and moves to a larger value or a
// NaN; -1 when no tap is inside. One thread per output element.
extern "C" __global__ void max_pool(i64 n, i64 c, i64 h, i64 w, i64 kernel, i64 stride, i64 pad, i64 dil,
                                    const float *__restrict__ x, float *__restrict__ y, float *__restrict__ argmax) {
	const Conv g(n, c, h, w, kernel, stride, pad, dil);
	const i64 outs = g.oh * g.ow;
	FOR_N(e, g.n * g.c * outs) {
		const i64 p = e / outs, r = e - p * outs, i = r / g.ow, j = r - i * g.ow;
		const float *img = x + p * g.h * g.w;
		float best = -INFINITY;
		i64 at = -1;
		for (i64 th = 0; th < g.kh; th++) {
			const i64 yy = i * g.sh - g.ph + th * g.dh;
			if (yy < 0 || yy >= g.h) continue;
			for (i64 tw = 0; tw < g.kw; tw++) {
				const i64 xx = j * g.sw - g.pw + tw * g.dw;
				if (xx < 0 || xx >= g.w) continue;
				const i64 idx = yy * g.w + xx;
				if (at < 0) at = idx;
				const float v = img[idx];
				if (v > best || v != v) {
					best = v;
					at = idx;
				}
			}
		}
		y[e] = best;
		argmax[e] = (float)at;
	}
}

// max_pool_adjoint: dx = beta dx + the sum of the eps of the outputs whose
// argmax each pixel is (device.Device.MaxPoolAdjoint): one thread per pixel
// gathers over the windows that hold it, so there are no atomics.
extern "C" __global__ void max_pool_adjoint(i64 n, i64 c, i64 h, i64 w, i64 kernel, i64 stride, i64 pad, i64 dil,
                                            const float *__restrict__ eps, const float *__restrict__ argmax,
                                            double beta, float *__restrict__ dx) {
	const Conv g(n, c, h, w, kernel, stride, pad, dil);
	const float b = (float)beta;
	FOR_N(e, g.n * g.c * g.h * g.w) {
		const i64 plane = g.h * g.w, p = e / plane, idx = e - p * plane;
		const i64 yy = idx / g.w, xx = idx - yy * g.w;
		const float *ep = eps + p * g.oh * g.ow, *ap = argmax + p * g.oh * g.ow;
		float s = 0.f;
		for (i64 th = 0; th < g.kh; th++) {
			const i64 ty = yy + g.ph - th * g.dh;
			if (ty < 0 || ty % g.sh != 0 || ty / g.sh >= g.oh) continue;
			const i64 i = ty / g.sh;
			for (i64 tw = 0; tw < g.kw; tw++) {
				const i64 tx = xx + g.pw - tw * g.dw;
				if (tx < 0 || tx % g.sw != 0 || tx / g.sw >= g.ow) continue;
				const i64 o = i * g.ow + tx / g.sw;
				if (ap[o] == (float)idx) s += ep[o];
			}
		}
		if (beta != 0.0) s += b * dx[e];
		dx[e] = s;
	}
}

// max_pool_tangent: y = dx at each output's argmax (0 for -1): the
// transpose of max_pool_adjoint (device.Device.MaxPoolTangent).
extern "C" __global__ void max_pool_tangent(i64 n, i64 c, i64 h, i64 w, i64 kernel, i64 stride, i64 pad, i64 dil,
                                            const float *__restrict__ dx, const float *__restrict__ argmax,
                                            float *__restrict__ y) {
	const Conv g(n, c, h, w, kernel, stride, pad, dil);
	const i64 outs = g.oh * g.ow;
	FOR_N(e, g.n * g.c * outs) {
		const i64 at = (i64)argmax[e];
		y[e] = at >= 0 ? dx[e / outs * g.h * g.w + at] : 0.f;
	}
}

// STATUS_GATHER marks a status word written by gather (status[3]); the
// index loss leaves status[3] at 0 (see loss.cu for the other words).
#define STATUS_GATHER 1

// gather: y[i, :] = table[index[i], :] (device.Device.Gather), one thread
// per element of y. A bad index (not an integer in [0, rows)) gives a row
// of zeros and records the first such i in status, as the index loss does:
// status = {i+1, the index's bits, rows, STATUS_GATHER}.
extern "C" __global__ void gather(i64 rows, i64 cols, const float *__restrict__ table,
                                  const float *__restrict__ index, i64 n, float *__restrict__ y, int *status) {
	FOR_N(e, n * cols) {
		const i64 i = e / cols, j = e - i * cols;
		const float t = index[i];
		if (!(t >= 0.f && t < (float)rows && t == truncf(t))) { // NaN fails too
			y[e] = 0.f;
			if (j == 0 && atomicCAS(status, 0, (int)(i + 1)) == 0) {
				status[1] = __float_as_int(t);
				status[2] = (int)rows;
				status[3] = STATUS_GATHER;
			}
			continue;
		}
		y[e] = table[(i64)t * cols + j];
	}
}

// scatter_add: table = beta table + the rows of eps added to the rows their
// indices name (device.Device.ScatterAdd). Thread (part, j) owns column j
// of the table rows r with r % parts == part: it scales them, then walks
// all n indices in order and adds the ones it owns, so no two threads
// write one element, every sum runs in increasing i (the CPU's order),
// and the lanes of a warp read each index together.
extern "C" __global__ void scatter_add(const float *__restrict__ eps, i64 n, i64 cols,
                                       const float *__restrict__ index, double beta, float *__restrict__ table,
                                       i64 rows, i64 parts) {
	const float b = (float)beta;
	FOR_N(e, parts * cols) {
		const i64 part = e / cols, j = e - part * cols;
		for (i64 r = part; r < rows; r += parts) {
			float *t = table + r * cols + j;
			*t = beta == 0.0 ? 0.f : (beta == 1.0 ? *t : b * *t);
		}
		for (i64 i = 0; i < n; i++) {
			const float t = index[i];
			if (!(t >= 0.f && t < (float)rows && t == truncf(t))) continue;
			const i64 r = (i64)t;
			if (r % parts == part) table[r * cols + j] += eps[i * cols + j];
		}
	}
}
