package gemm

// genericSetup returns the blocking for the portable 4×4 Go kernel.
func genericSetup[T float]() setup[T] {
	return setup[T]{
		kern: kernelGo4x4[T],
		mr:   4, nr: 4,
		kc: 256, mc: 128, nc: 4096,
		small: 8 * 8 * 8,
	}
}
