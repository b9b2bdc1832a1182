// elementwise.cu: fill, strided copy, axpy, scale, the unary functions and
// their adjoints, the binary functions, and the fused bias + activation
// epilogue. All are grid-stride loops over the elements: blocks of THREADS
// threads, as many blocks as the host asks for (it caps the grid at a
// multiple of the SM count). Outputs may alias inputs where device.Device
// allows it (y = x in Unary, Scale, BiasActivation; c = a or b in Binary),
// so no pointer here is __restrict__.
#include "common.cuh"

// unaryF is y = f(x) for the op codes of device.UnaryOp.
template <int OP>
__device__ __forceinline__ float unaryF(float x) {
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
	}
	return __int_as_float(0x7fc00000);
}

// unaryD is delta = f'(x) eps given x and y = f(x).
template <int OP>
__device__ __forceinline__ float unaryD(float x, float y, float e) {
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
	}
	return __int_as_float(0x7fc00000);
}

// The op code selects one of ten specialised loops (a uniform branch).
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

// unary: y = f(x), f given by op (device.UnaryOp).
extern "C" __global__ void unary(i64 op, i64 n, const float *x, float *y) {
#define CALL(OP) FOR_N(i, n) y[i] = unaryF<OP>(x[i])
	UNARY_SWITCH(op, CALL)
#undef CALL
}

// unary_adjoint: delta = f'(x) eps, given x and y = f(x).
extern "C" __global__ void unary_adjoint(i64 op, i64 n, const float *x, const float *y,
                                         const float *eps, float *delta) {
#define CALL(OP) FOR_N(i, n) delta[i] = unaryD<OP>(x[i], y[i], eps[i])
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
extern "C" __global__ void bias_act(i64 op, i64 rows, i64 cols, const float *x,
                                    const float *bias, float *y) {
	const i64 n = rows * cols;
	if (bias == nullptr) {
#define CALL(OP) FOR_N(i, n) y[i] = unaryF<OP>(x[i])
		UNARY_SWITCH(op, CALL)
#undef CALL
		return;
	}
#define CALL(OP) FOR_N(i, n) y[i] = unaryF<OP>(x[i] + bias[i % cols])
	UNARY_SWITCH(op, CALL)
#undef CALL
}
