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
// Fill), layout (Transpose of blocks, Im2Col and Col2Im for convolutions,
// MaxPool with its adjoint and tangent), embedding tables (Gather,
// ScatterAdd), dense algebra (Gemm with transpose flags, GemmStrided for
// batches, Axpy, Scale, Dot), elementwise functions and their adjoints,
// dropout masks (DropoutMask, Philox-4x32-10), reductions, the softmax
// family, layer normalisation, batch normalisation (per channel of [N, C,
// …], in place: statistics, apply, adjoint), the loss kernels that produce the lecture's
// error vectors ε_k, and the optimizer updates.
//
// A convolution's images are NCHW and its patch matrix is pixel-major:
//
//	x [N, C, H, W] ─Im2Col─▶ cols [N·OH·OW × C·KH·KW]   row (n, i, j), column (c, kh, kw)
//	                         cols · Wᵀ (W [O × C·KH·KW]) = Z [N·OH·OW × O]
//	                         Z per image [OH·OW × O] ─Transpose─▶ y [N, O, OH, OW]
//
// The conformance suite device/devicetest checks any implementation
// against a float64 reference.
package device
