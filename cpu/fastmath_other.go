//go:build !amd64 || purego

package cpu

// expSlice sets dst[i] = exp(src[i]); len(dst) >= len(src).
func expSlice(dst, src []float32) { expGeneric(dst, src) }

// tanhSlice sets dst[i] = tanh(src[i]); len(dst) >= len(src).
func tanhSlice(dst, src []float32) { tanhGeneric(dst, src) }

// sigmoidSlice sets dst[i] = 1/(1+exp(-src[i])); len(dst) >= len(src).
func sigmoidSlice(dst, src []float32) { sigmoidGeneric(dst, src) }

// reluAdjoint32 sets d[i] = e[i] where x[i] > 0 and 0 elsewhere.
func reluAdjoint32(x, e, d []float32) { reluAdjointGeneric(x, e, d) }
