// Package device defines Device, the one boundary between the tensor engine
// and a backend (the pure-Go cpu package, or device/cuda), and the registry
// through which a command opens one by name.
//
// Memory layout. A Buffer is a flat array. Matrices are row-major: a K×N
// batch (K samples per launch, N features) stores sample k at [k·N, (k+1)·N):
//
//	        col 0   col 1   …   col N−1
//	row 0 [ x₀₀     x₀₁     …   x₀,N−1 ]   ← sample 0
//	row 1 [ x₁₀     x₁₁     …   x₁,N−1 ]   ← sample 1
//	  ⋮
//	row K−1                                ← sample K−1
//
// element (i, j) of a matrix with leading dimension ld sits at i·ld + j, so a
// column block of a wider matrix (Concat, Split) is addressed by an offset and
// the wider matrix's ld.
//
// Method families: memory (Alloc, Free, Upload, Download, Sync, Copy2D,
// Fill), dense algebra (Gemm with transpose flags, Axpy, Scale, Dot),
// elementwise functions and their adjoints, reductions, the softmax family,
// the loss kernels that produce the lecture's error vectors ε_k, and the
// optimizer updates. The conformance suite device/devicetest checks any
// implementation against a float64 reference.
package device
