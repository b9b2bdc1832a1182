//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math"
	"slices"

	"github.com/adjoint-go/adjoint/device"
)

// Validation mirrors package cpu: shape and length misuse panics with the
// method's name. Everything else is handed to the driver (exec in cuda.go).

var (
	numUnary  = device.UnaryOp(len(device.UnaryOps()))
	numBinary = device.BinaryOp(len(device.BinaryOps()))
	numLoss   = device.LossKind(len(device.LossKinds()))
)

func checkLen(op, what string, b *Buffer, n int) {
	if b != nil && b.n < n {
		panic(fmt.Sprintf("cuda: %s: %s has %d elements, need %d", op, what, b.n, n))
	}
}

func checkEq(op string, a, b *Buffer) {
	if a.n != b.n {
		panic(fmt.Sprintf("cuda: %s: lengths %d and %d differ", op, a.n, b.n))
	}
}

func checkDims(op string, dims ...int) {
	for _, v := range dims {
		if v < 0 {
			// A copy goes to the message: handing dims itself to Sprintf
			// would move every caller's argument slice to the heap.
			panic(fmt.Sprintf("cuda: %s: negative dimension in %v", op, slices.Clone(dims)))
		}
	}
}

// grid is the block count of a grid-stride kernel over n elements.
func (d *Device) grid(n int) int { return gridFor(n, threads, d.sms) }

// launch1 queues a one-dimensional grid-stride kernel over n elements.
func (d *Device) launch1(k kernelID, n int, args ...uint64) {
	d.launch(k, d.grid(n), 1, threads, 1, args...)
}

// Copy2D copies a rows×cols block between strided matrices.
func (d *Device) Copy2D(dst device.Buffer, dstOff, dstLD int, src device.Buffer, srcOff, srcLD, rows, cols int) {
	D, S := d.buf("Copy2D", dst, false), d.buf("Copy2D", src, false)
	checkDims("Copy2D", dstOff, dstLD, srcOff, srcLD, rows, cols)
	if rows == 0 || cols == 0 {
		return
	}
	checkLen("Copy2D", "dst", D, dstOff+(rows-1)*dstLD+cols)
	checkLen("Copy2D", "src", S, srcOff+(rows-1)*srcLD+cols)
	d.launch1(kCopy2D, rows*cols, intArg(rows), intArg(cols), ptrArg(D), intArg(dstOff), intArg(dstLD),
		ptrArg(S), intArg(srcOff), intArg(srcLD))
}

// Fill sets every element to v.
func (d *Device) Fill(x device.Buffer, v float64) {
	b := d.buf("Fill", x, false)
	if b.n == 0 {
		return
	}
	d.launch1(kFill, b.n, intArg(b.n), ptrArg(b), fltArg(v))
}

// Gemm computes C = α op(A) op(B) + βC with the register-tiled kernels of
// kernels/gemm.cuh, on the tile that autotuning or gemmPlan picks (see
// SetGemmAutotune); C is not read when β is 0.
func (d *Device) Gemm(transA, transB bool, m, n, k int, alpha float64, a device.Buffer, lda int, b device.Buffer, ldb int, beta float64, c device.Buffer, ldc int) {
	A, B, C := d.buf("Gemm", a, false), d.buf("Gemm", b, false), d.buf("Gemm", c, false)
	checkDims("Gemm", m, n, k, lda, ldb, ldc)
	if m == 0 || n == 0 {
		return
	}
	// op(A) is m×k: stored m×k (rows m, cols k) or, transposed, k×m.
	checkOperand("Gemm", "A", A, transA, m, k, lda)
	checkOperand("Gemm", "B", B, transB, k, n, ldb)
	checkOperand("Gemm", "C", C, false, m, n, ldc)
	if limit := d.gemmRowLimit(); m > limit {
		d.gemmRowSlices(limit, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
		return
	}
	if parts, chunk := d.splitK(m, n, k); parts > 1 && ldc == n {
		d.gemmSplitK(parts, chunk, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C)
		return
	}
	tile := d.gemmTileFor(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
	if tile < 0 {
		d.record(fmt.Errorf("cuda: Gemm: m = %d rows exceed the kernel grid", m))
		return
	}
	d.launchGemm(tile, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
}

// splitK is splitKPlan on this device, with the test knobs applied: no
// split with a forced tile or noSplitK, and BenchmarkSplitK's scaled
// part counts.
func (d *Device) splitK(m, n, k int) (parts, chunk int) {
	if d.forceTile != 0 || d.noSplitK {
		return 1, k
	}
	parts, chunk = splitKPlan(m, n, k, d.sms)
	if parts > 1 && d.splitKScale != 0 {
		parts = max(2, min(k/16, parts<<max(d.splitKScale, 0)>>max(-d.splitKScale, 0)))
		chunk = ceilDiv(ceilDiv(k, parts), 16) * 16
		parts = ceilDiv(k, chunk)
	}
	return parts, chunk
}

// gemmSplitK computes a product whose C has too few blocks to occupy the
// GPU but whose k is long (a convolution's weight gradient Eᵀ X̃, summed
// over every pixel of the batch: 32×27 outputs, k = 131,072 for CIFAR's
// first layer at K = 128), which as one launch would keep a few SMs busy
// walking all of k while the others idle. k is cut into chunks of chunk:
// the chunks' products C_s = α op(A)[:, s] op(B)[s, :] are the blocks of
// one batched launch into a parts×m×n scratch (a second launch for a
// shorter last chunk), and SumRows adds them in double, in a fixed order,
// into C = Σ_s C_s + β C. C must be contiguous (ldc = n), as SumRows
// writes it.
//
//	op(A) m×k:  [ A₀ | A₁ | … ]      op(B) k×n:  [ B₀ ]      C = Σ_s A_s B_s
//	             chunk columns each               [ B₁ ]
//	                                              [ …  ]
func (d *Device) gemmSplitK(parts, chunk int, transA, transB bool, m, n, k int, alpha float64, A *Buffer, lda int, B *Buffer, ldb int, beta float64, C *Buffer) {
	tmp, err := d.Alloc(device.Float32, parts*m*n)
	if err != nil {
		d.record(fmt.Errorf("cuda: Gemm: split-k scratch of %d×%d×%d: %w", parts, m, n, err))
		return
	}
	defer d.Free(tmp)
	W := tmp.(*Buffer)
	// A chunk's offset: chunk columns of a stored m×k A, chunk rows of a
	// stored k×m one (transposed); chunk rows of a stored k×n B, chunk
	// columns of a stored n×k one. chunk is a multiple of 4, so the
	// offsets keep the operands' float4 alignment.
	strideA, strideB := chunk, chunk*ldb
	if transA {
		strideA = chunk * lda
	}
	if transB {
		strideB = chunk
	}
	full := k / chunk
	if full > 0 {
		tile := splitKTile()
		if d.splitKTile > 0 {
			tile = d.splitKTile - 1
		}
		d.launchGemmBatch(tile, transA, transB, full, m, n, chunk, alpha, A, lda, strideA, B, ldb, strideB, 0, W, n, m*n)
	}
	if rest := k - full*chunk; rest > 0 {
		tile, _, _ := gemmPlan(m, n, d.sms)
		d.launchGemm(tile, transA, transB, m, n, rest, alpha, A.view(full*strideA), lda, B.view(full*strideB), ldb, 0, W.view(full*m*n), n)
	}
	d.SumRows(W, parts, m*n, beta, C)
}

// GemmStrided computes a batch of small products (each below the autotuning
// threshold: attention's per-head products) in one launch, block z of the
// grid multiplying product z (gridDim.z ≤ 65535 products a launch), on the
// batched tile gemmBatchPlan picks for the whole batch; a launch per
// product would cost more than such a product's arithmetic. The products
// run in any order, which needs their C blocks disjoint. The other batches
// run as Gemm calls one after another, as on the CPU: large products (each
// on its autotuned tile, the launch a small share of its time), a batch
// whose C blocks overlap (stride 0: every product accumulated into one C),
// and one taller than a launch's grid covers.
func (d *Device) GemmStrided(transA, transB bool, batch, m, n, k int, alpha float64, a device.Buffer, lda, strideA int, b device.Buffer, ldb, strideB int, beta float64, c device.Buffer, ldc, strideC int) {
	const name = "GemmStrided"
	A, B, C := d.buf(name, a, false), d.buf(name, b, false), d.buf(name, c, false)
	checkDims(name, batch, m, n, k, lda, ldb, ldc, strideA, strideB, strideC)
	if batch == 0 || m == 0 || n == 0 {
		return
	}
	// The last product must fit; each view is checked against its own.
	checkOperand(name, "A", A.view(min((batch-1)*strideA, A.n)), transA, m, k, lda)
	checkOperand(name, "B", B.view(min((batch-1)*strideB, B.n)), transB, k, n, ldb)
	checkOperand(name, "C", C.view(min((batch-1)*strideC, C.n)), false, m, n, ldc)
	tile := -1
	if batch > 1 && device.DisjointBlocks(batch, m, n, ldc, strideC) && m <= d.gemmRowLimit() && !d.autotunes(m, n, k) {
		tile = gemmBatchPlan(m, n, batch, d.sms)
		if d.forceTile > 0 {
			tile, _, _ = gemmGrid(d.forceTile-1, m, n)
		}
	}
	if tile < 0 || !gemmTiles[tile].batched {
		for i := range batch {
			d.Gemm(transA, transB, m, n, k, alpha, A.view(i*strideA), lda, B.view(i*strideB), ldb, beta, C.view(i*strideC), ldc)
		}
		return
	}
	perLaunch := maxGridZ
	if d.gemmBatches > 0 {
		perLaunch = d.gemmBatches
	}
	for z := 0; z < batch; z += perLaunch {
		nz := min(perLaunch, batch-z)
		d.launchGemmBatch(tile, transA, transB, nz, m, n, k, alpha, A.view(z*strideA), lda, strideA,
			B.view(z*strideB), ldb, strideB, beta, C.view(z*strideC), ldc, strideC)
	}
}

// gemmRowLimit is the most rows of C one Gemm launch covers: gridDim.y ≤
// maxGridY blocks of the tallest tile gemmPlan has (8,388,480 rows), or
// the lower limit a test sets (Device.gemmRows).
func (d *Device) gemmRowLimit() int {
	if d.gemmRows > 0 {
		return d.gemmRows
	}
	return maxGridY * gemmTiles[0].bm
}

// gemmRowSlices computes a product taller than one launch covers (an m×1×1
// broadcast of a large tensor, say) as products of at most limit rows of
// op(A) and C each. Every tile computes an element of C from its row of
// op(A) and column of op(B) alone, in a fixed order, so the slices give
// the bits of one launch. The slices' offsets are multiples of limit rows,
// which keeps the operands' float4 alignment when limit is a multiple of 4.
func (d *Device) gemmRowSlices(limit int, transA, transB bool, m, n, k int, alpha float64, A *Buffer, lda int, B *Buffer, ldb int, beta float64, C *Buffer, ldc int) {
	for r := 0; r < m; r += limit {
		h := min(limit, m-r)
		aOff := r * lda // op(A)'s row r: row r of A, or column r of a transposed A
		if transA {
			aOff = r
		}
		d.Gemm(transA, transB, h, n, k, alpha, A.view(aOff), lda, B, ldb, beta, C.view(r*ldc), ldc)
	}
}

// launchGemm queues the product on the given tile (whose grid fits).
func (d *Device) launchGemm(tile int, transA, transB bool, m, n, k int, alpha float64, A *Buffer, lda int, B *Buffer, ldb int, beta float64, C *Buffer, ldc int) {
	if gemmTiles[tile].batched {
		d.launchGemmBatch(tile, transA, transB, 1, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0)
		return
	}
	_, gx, gy := gemmGrid(tile, m, n)
	d.launch(gemmKernel(tile, transA, transB), gx, gy, gemmTiles[tile].threads, 1,
		intArg(m), intArg(n), intArg(k), fltArg(alpha), ptrArg(A), intArg(lda), ptrArg(B), intArg(ldb),
		fltArg(beta), ptrArg(C), intArg(ldc))
}

// launchGemmBatch launches a batched tile's kernel on batch products, the
// z-th at A + z·strideA, B + z·strideB and C + z·strideC.
func (d *Device) launchGemmBatch(tile int, transA, transB bool, batch, m, n, k int, alpha float64, A *Buffer, lda, strideA int, B *Buffer, ldb, strideB int, beta float64, C *Buffer, ldc, strideC int) {
	_, gx, gy := gemmGrid(tile, m, n)
	d.launch3(gemmKernel(tile, transA, transB), gx, gy, batch, gemmTiles[tile].threads, 1,
		intArg(m), intArg(n), intArg(k), fltArg(alpha), ptrArg(A), intArg(lda), intArg(strideA),
		ptrArg(B), intArg(ldb), intArg(strideB), fltArg(beta), ptrArg(C), intArg(ldc), intArg(strideC))
}

// checkOperand checks a rows×cols operand (cols×rows stored, when trans)
// with leading dimension ld against its buffer.
func checkOperand(op, name string, b *Buffer, trans bool, rows, cols, ld int) {
	if trans {
		rows, cols = cols, rows
	}
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		panic(fmt.Sprintf("cuda: %s: %s is %d×%d stored with leading dimension %d < %d", op, name, rows, cols, ld, cols))
	}
	checkLen(op, name, b, (rows-1)*ld+cols)
}

// Axpy computes y ← αx + y.
func (d *Device) Axpy(alpha float64, x, y device.Buffer) {
	X, Y := d.buf("Axpy", x, false), d.buf("Axpy", y, false)
	checkEq("Axpy", X, Y)
	if X.n == 0 {
		return
	}
	d.launch1(kAxpy, X.n, intArg(X.n), fltArg(alpha), ptrArg(X), ptrArg(Y))
}

// Scale computes y ← αx.
func (d *Device) Scale(alpha float64, x, y device.Buffer) {
	X, Y := d.buf("Scale", x, false), d.buf("Scale", y, false)
	checkEq("Scale", X, Y)
	if X.n == 0 {
		return
	}
	d.launch1(kScale, X.n, intArg(X.n), fltArg(alpha), ptrArg(X), ptrArg(Y))
}

// Dot returns Σ xᵢyᵢ, accumulated in float64 on the device; it
// synchronizes.
func (d *Device) Dot(x, y device.Buffer) (float64, error) {
	X, Y := d.buf("Dot", x, false), d.buf("Dot", y, false)
	checkEq("Dot", X, Y)
	if X.n == 0 {
		return 0, d.Err()
	}
	r := d.roundTrip(call{op: opDot, ptr: X.ptr, ptr2: Y.ptr, bytes: int64(X.n)})
	if err := d.Err(); err != nil {
		return r.f, err
	}
	return r.f, r.err
}

// Unary computes y = f(x), f with its parameter.
func (d *Device) Unary(op device.UnaryOp, param float64, x, y device.Buffer) {
	X, Y := d.buf("Unary", x, false), d.buf("Unary", y, false)
	checkEq("Unary", X, Y)
	if op >= numUnary {
		panic(fmt.Sprintf("cuda: Unary: unknown op %v", op))
	}
	if X.n == 0 {
		return
	}
	d.launch1(kUnary, X.n, intArg(int(op)), fltArg(param), intArg(X.n), ptrArg(X), ptrArg(Y))
}

// UnaryAdjoint computes δ = f'(x) ⊙ ε, f with its parameter.
func (d *Device) UnaryAdjoint(op device.UnaryOp, param float64, x, y, eps, delta device.Buffer) {
	const name = "UnaryAdjoint"
	X, Y, E, D := d.buf(name, x, false), d.buf(name, y, false), d.buf(name, eps, false), d.buf(name, delta, false)
	checkEq(name, X, Y)
	checkEq(name, X, E)
	checkEq(name, X, D)
	if op >= numUnary {
		panic(fmt.Sprintf("cuda: UnaryAdjoint: unknown op %v", op))
	}
	if X.n == 0 {
		return
	}
	d.launch1(kUnaryAdjoint, X.n, intArg(int(op)), fltArg(param), intArg(X.n), ptrArg(X), ptrArg(Y), ptrArg(E), ptrArg(D))
}

// Binary computes c = a ∘ b.
func (d *Device) Binary(op device.BinaryOp, a, b, c device.Buffer) {
	A, B, C := d.buf("Binary", a, false), d.buf("Binary", b, false), d.buf("Binary", c, false)
	checkEq("Binary", A, B)
	checkEq("Binary", A, C)
	if op >= numBinary {
		panic(fmt.Sprintf("cuda: Binary: unknown op %v", op))
	}
	if A.n == 0 {
		return
	}
	d.launch1(kBinary, A.n, intArg(int(op)), intArg(A.n), ptrArg(A), ptrArg(B), ptrArg(C))
}

// BiasActivation computes y = f(x + 1bᵀ) in one pass; bias may be nil.
func (d *Device) BiasActivation(op device.UnaryOp, param float64, x device.Buffer, rows, cols int, bias device.Buffer, y device.Buffer) {
	const name = "BiasActivation"
	X, Y, B := d.buf(name, x, false), d.buf(name, y, false), d.buf(name, bias, true)
	checkDims(name, rows, cols)
	checkLen(name, "x", X, rows*cols)
	checkLen(name, "y", Y, rows*cols)
	checkLen(name, "bias", B, cols)
	if op >= numUnary {
		panic(fmt.Sprintf("cuda: BiasActivation: unknown op %v", op))
	}
	if rows == 0 || cols == 0 {
		return
	}
	d.launch1(kBiasAct, rows*cols, intArg(int(op)), fltArg(param), intArg(rows), intArg(cols), ptrArg(X), ptrArg(B), ptrArg(Y))
}

// Transpose writes y[b, j, i, :] = x[b, i, j, :] with one thread per
// element of y.
func (d *Device) Transpose(x device.Buffer, batch, rows, cols, inner int, y device.Buffer) {
	const name = "Transpose"
	X, Y := d.buf(name, x, false), d.buf(name, y, false)
	checkDims(name, batch, rows, cols, inner)
	n := batch * rows * cols * inner
	checkLen(name, "x", X, n)
	checkLen(name, "y", Y, n)
	if n == 0 {
		return
	}
	if inner == 1 {
		// 32×32 tiles through shared memory: coalesced reads and writes.
		tiles := batch * ceilDiv(rows, 32) * ceilDiv(cols, 32)
		d.launch(kTransposeTiled, min(tiles, blocksPerSM*max(d.sms, 1)), 1, 32, 8, intArg(batch), intArg(rows), intArg(cols),
			ptrArg(X), ptrArg(Y))
		return
	}
	d.launch1(kTranspose, n, intArg(batch), intArg(rows), intArg(cols), intArg(inner), ptrArg(X), ptrArg(Y))
}

// checkConv panics, naming op, when g is no convolution, a buffer is too
// short for it, or a kernel size, stride, padding or dilation does not
// fit the 32 bits that packPair gives it.
func checkConv(op string, g device.ConvGeometry, x, cols *Buffer) {
	if err := g.Check(); err != nil {
		panic(fmt.Sprintf("cuda: %s: %v", op, err))
	}
	checkLen(op, "x", x, g.N*g.C*g.H*g.W)
	checkLen(op, "cols", cols, g.Pixels()*g.Patch())
	if max(g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW, g.DilationH, g.DilationW) > math.MaxInt32 {
		panic(fmt.Sprintf("cuda: %s: convolution %+v: a kernel size, stride, padding or dilation above 2³¹", op, g))
	}
}

// packPair is one parameter of the convolution kernels: a height in the
// upper 32 bits and a width in the lower (struct Conv in elementwise.cu
// unpacks them), so that a geometry fits the 13-parameter limit.
func packPair(h, w int) int { return h<<32 | w }

// Im2Col writes the patches of x that the convolution g reads, one thread
// per element of cols.
func (d *Device) Im2Col(x device.Buffer, g device.ConvGeometry, cols device.Buffer) {
	X, C := d.buf("Im2Col", x, false), d.buf("Im2Col", cols, false)
	checkConv("Im2Col", g, X, C)
	if n := g.Pixels() * g.Patch(); n > 0 {
		d.launch1(kIm2Col, n, intArg(g.N), intArg(g.C), intArg(g.H), intArg(g.W),
			intArg(packPair(g.KH, g.KW)), intArg(packPair(g.StrideH, g.StrideW)),
			intArg(packPair(g.PadH, g.PadW)), intArg(packPair(g.DilationH, g.DilationW)), ptrArg(X), ptrArg(C))
	}
}

// Col2Im sums into each pixel of x the elements of cols that Im2Col
// copies from it, one thread per pixel.
func (d *Device) Col2Im(cols device.Buffer, g device.ConvGeometry, beta float64, x device.Buffer) {
	X, C := d.buf("Col2Im", x, false), d.buf("Col2Im", cols, false)
	checkConv("Col2Im", g, X, C)
	if n := g.N * g.C * g.H * g.W; n > 0 {
		d.launch1(kCol2Im, n, intArg(g.N), intArg(g.C), intArg(g.H), intArg(g.W),
			intArg(packPair(g.KH, g.KW)), intArg(packPair(g.StrideH, g.StrideW)),
			intArg(packPair(g.PadH, g.PadW)), intArg(packPair(g.DilationH, g.DilationW)), ptrArg(C), fltArg(beta), ptrArg(X))
	}
}

// checkPool panics, naming op, when g is no pooling window or a buffer is
// too short for it.
func checkPool(op string, g device.ConvGeometry, x, y, argmax *Buffer) {
	if err := g.CheckPool(); err != nil {
		panic(fmt.Sprintf("cuda: %s: %v", op, err))
	}
	checkConv(op, g, x, nil)
	n := g.N * g.C * g.OutH() * g.OutW()
	checkLen(op, "y", y, n)
	checkLen(op, "argmax", argmax, n)
}

// MaxPool writes each window's maximum and its index, one thread per
// output element.
func (d *Device) MaxPool(x device.Buffer, g device.ConvGeometry, y, argmax device.Buffer) {
	const name = "MaxPool"
	X, Y, A := d.buf(name, x, false), d.buf(name, y, false), d.buf(name, argmax, false)
	checkPool(name, g, X, Y, A)
	if n := g.N * g.C * g.OutH() * g.OutW(); n > 0 {
		d.launch1(kMaxPool, n, intArg(g.N), intArg(g.C), intArg(g.H), intArg(g.W),
			intArg(packPair(g.KH, g.KW)), intArg(packPair(g.StrideH, g.StrideW)),
			intArg(packPair(g.PadH, g.PadW)), intArg(packPair(g.DilationH, g.DilationW)), ptrArg(X), ptrArg(Y), ptrArg(A))
	}
}

// MaxPoolAdjoint gathers, per pixel, the ε of the outputs whose maximum
// it was, one thread per pixel.
func (d *Device) MaxPoolAdjoint(eps, argmax device.Buffer, g device.ConvGeometry, beta float64, dx device.Buffer) {
	const name = "MaxPoolAdjoint"
	E, A, D := d.buf(name, eps, false), d.buf(name, argmax, false), d.buf(name, dx, false)
	checkPool(name, g, D, E, A)
	if n := g.N * g.C * g.H * g.W; n > 0 {
		d.launch1(kMaxPoolAdjoint, n, intArg(g.N), intArg(g.C), intArg(g.H), intArg(g.W),
			intArg(packPair(g.KH, g.KW)), intArg(packPair(g.StrideH, g.StrideW)),
			intArg(packPair(g.PadH, g.PadW)), intArg(packPair(g.DilationH, g.DilationW)), ptrArg(E), ptrArg(A), fltArg(beta), ptrArg(D))
	}
}

// MaxPoolTangent gathers each output's argmax pixel of dx, one thread per
// output element.
func (d *Device) MaxPoolTangent(dx, argmax device.Buffer, g device.ConvGeometry, y device.Buffer) {
	const name = "MaxPoolTangent"
	D, A, Y := d.buf(name, dx, false), d.buf(name, argmax, false), d.buf(name, y, false)
	checkPool(name, g, D, Y, A)
	if n := g.N * g.C * g.OutH() * g.OutW(); n > 0 {
		d.launch1(kMaxPoolTangent, n, intArg(g.N), intArg(g.C), intArg(g.H), intArg(g.W),
			intArg(packPair(g.KH, g.KW)), intArg(packPair(g.StrideH, g.StrideW)),
			intArg(packPair(g.PadH, g.PadW)), intArg(packPair(g.DilationH, g.DilationW)), ptrArg(D), ptrArg(A), ptrArg(Y))
	}
}

// Gather copies the indexed rows of table, one thread per element of y; a
// bad index is flagged in the status word that the next synchronizing
// call reads (as Loss's bad class index).
func (d *Device) Gather(table device.Buffer, rows, cols int, index device.Buffer, n int, y device.Buffer) {
	const name = "Gather"
	T, I, Y := d.buf(name, table, false), d.buf(name, index, false), d.buf(name, y, false)
	checkDims(name, rows, cols, n)
	checkLen(name, "table", T, rows*cols)
	checkLen(name, "index", I, n)
	checkLen(name, "y", Y, n*cols)
	if n == 0 || cols == 0 {
		return
	}
	c := newCall(kGather, d.grid(n*cols), 1, threads, 1, intArg(rows), intArg(cols), ptrArg(T), ptrArg(I), intArg(n), ptrArg(Y),
		devArg(d.w.scratch+scratchStatus))
	c.checkStatus = true
	d.submit(c)
}

// ScatterAdd adds each row of eps to the table row its index names, with
// scatter_add: parts·cols threads, thread (part, j) owning column j of the
// rows ≡ part (mod parts).
func (d *Device) ScatterAdd(eps device.Buffer, n, cols int, index device.Buffer, beta float64, table device.Buffer, rows int) {
	const name = "ScatterAdd"
	E, I, T := d.buf(name, eps, false), d.buf(name, index, false), d.buf(name, table, false)
	checkDims(name, rows, cols, n)
	checkLen(name, "table", T, rows*cols)
	checkLen(name, "index", I, n)
	checkLen(name, "eps", E, n*cols)
	if rows == 0 || cols == 0 {
		return
	}
	parts := max(1, min(rows, scatterThreads/cols))
	d.launch1(kScatterAdd, parts*cols, ptrArg(E), intArg(n), intArg(cols), ptrArg(I), fltArg(beta), ptrArg(T), intArg(rows), intArg(parts))
}

// DropoutMask writes a dropout mask of probability p with dropout_mask,
// one thread per Philox block of four elements; the bits are those of
// the CPU device (device.DropoutBlock).
func (d *Device) DropoutMask(mask device.Buffer, p float64, seed, offset uint64) {
	const name = "DropoutMask"
	M := d.buf(name, mask, false)
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("cuda: DropoutMask: p = %v, want it in [0, 1]", p))
	}
	if M.n == 0 {
		return
	}
	threshold, scale := device.DropoutThreshold(p)
	// seed and offset pass through int unchanged: the kernel reads the bits.
	d.launch1(kDropoutMask, int(device.DropoutBlocks(M.n)), intArg(M.n), ptrArg(M), intArg(int(threshold)), fltArg(scale),
		intArg(int(seed)), intArg(int(offset)))
}

// SumRows computes y = βy + Σᵢ x[i,:] (column sums; the bias gradient).
func (d *Device) SumRows(x device.Buffer, rows, cols int, beta float64, y device.Buffer) {
	X, Y := d.buf("SumRows", x, false), d.buf("SumRows", y, false)
	checkDims("SumRows", rows, cols)
	checkLen("SumRows", "x", X, rows*cols)
	checkLen("SumRows", "y", Y, cols)
	if cols == 0 {
		return
	}
	if parts := sumRowsParts(rows, cols, d.sms); parts > 1 {
		d.sumRowsSplit(X, rows, cols, parts, beta, Y)
		return
	}
	d.launch(kSumRows, ceilDiv(cols, 32), 1, 32, 8, intArg(rows), intArg(cols), ptrArg(X), fltArg(beta), ptrArg(Y))
}

// sumRowsSplit sums a few long columns in two passes: each of parts
// blocks of rows into a column of double partial sums, then the partials
// of each column in order.
func (d *Device) sumRowsSplit(X *Buffer, rows, cols, parts int, beta float64, Y *Buffer) {
	chunk := ceilDiv(rows, parts)
	parts = ceilDiv(rows, chunk)
	tmp, err := d.Alloc(device.Float32, 2*parts*cols) // parts×cols doubles
	if err != nil {
		d.record(fmt.Errorf("cuda: SumRows: %d partial sums: %w", parts*cols, err))
		return
	}
	defer d.Free(tmp)
	P := tmp.(*Buffer)
	d.launch(kSumRowsPartial, ceilDiv(cols, 32), parts, 32, 8, intArg(rows), intArg(cols), intArg(chunk), ptrArg(X), ptrArg(P))
	d.launch1(kSumRowsFinal, cols, intArg(parts), intArg(cols), ptrArg(P), fltArg(beta), ptrArg(Y))
}

// SumCols computes y = βy + αΣⱼ x[:,j] (row sums).
func (d *Device) SumCols(x device.Buffer, rows, cols int, alpha, beta float64, y device.Buffer) {
	X, Y := d.buf("SumCols", x, false), d.buf("SumCols", y, false)
	checkDims("SumCols", rows, cols)
	checkLen("SumCols", "x", X, rows*cols)
	checkLen("SumCols", "y", Y, rows)
	if rows == 0 {
		return
	}
	if rows <= sumColsSplitRows && cols >= sumColsSplitCols {
		d.sumColsSplit(X, rows, cols, alpha, beta, Y)
		return
	}
	d.launch(kSumCols, gridFor(rows, threads/32, d.sms), 1, threads, 1, intArg(rows), intArg(cols), ptrArg(X), fltArg(alpha), fltArg(beta), ptrArg(Y))
}

// A SumCols of at most sumColsSplitRows rows of at least sumColsSplitCols
// columns (autograd's Sum and Mean of a whole tensor: one row) would leave
// all but a few warps of the GPU idle, one warp reading each long row; it
// runs in two passes instead (sumColsSplit).
const (
	sumColsSplitRows = 64
	sumColsSplitCols = 1 << 16
)

// sumColsSplit is SumCols in two launches: sum_cols_partial, in which
// parts blocks share each row and write their sums (double) to a
// temporary, then sum_cols_final, one block a row summing its parts in a
// fixed order. The temporary comes from the caching allocator and goes back
// at once: the stream orders its reuse after these kernels.
func (d *Device) sumColsSplit(X *Buffer, rows, cols int, alpha, beta float64, Y *Buffer) {
	parts := min(ceilDiv(cols, 16*threads), max(1, blocksPerSM*d.sms/rows), maxDotBlocks)
	tmp, err := d.Alloc(device.Float32, 2*rows*parts) // rows×parts doubles
	if err != nil {
		d.record(fmt.Errorf("cuda: SumCols: %d partial sums: %w", rows*parts, err))
		return
	}
	defer d.Free(tmp)
	P := tmp.(*Buffer)
	d.launch(kSumColsPartial, parts, rows, threads, 1, intArg(cols), ptrArg(X), ptrArg(P))
	d.launch(kSumColsFinal, rows, 1, threads, 1, intArg(parts), ptrArg(P), fltArg(alpha), fltArg(beta), ptrArg(Y))
}

// ArgMaxMatches computes count = β count + #{i : argmax_j x[i,j] = labels[i]}
// in one block of argmax_matches (no atomics: the count is deterministic).
func (d *Device) ArgMaxMatches(x device.Buffer, rows, cols int, labels device.Buffer, beta float64, count device.Buffer) {
	const name = "ArgMaxMatches"
	X, L, C := d.buf(name, x, false), d.buf(name, labels, false), d.buf(name, count, false)
	checkDims(name, rows, cols)
	checkLen(name, "x", X, rows*cols)
	checkLen(name, "labels", L, rows)
	checkLen(name, "count", C, 1)
	d.launch(kArgMaxMatches, 1, 1, argMaxThreads, 1, intArg(rows), intArg(cols), ptrArg(X), ptrArg(L), fltArg(beta), ptrArg(C))
}

// rowKernel picks the warp-per-row or block-per-row form of a row kernel
// and its grid.
func (d *Device) rowKernel(warp, block kernelID, rows, cols int) (kernelID, int) {
	if cols <= warpRowMaxCols {
		return warp, gridFor(rows, threads/32, d.sms)
	}
	return block, gridFor(rows, 1, d.sms)
}

// Softmax computes y = exp(x − lse(x)) per row.
func (d *Device) Softmax(x device.Buffer, rows, cols int, y device.Buffer) {
	d.softmax("Softmax", false, x, rows, cols, y)
}

// LogSoftmax computes y = x − lse(x) per row.
func (d *Device) LogSoftmax(x device.Buffer, rows, cols int, y device.Buffer) {
	d.softmax("LogSoftmax", true, x, rows, cols, y)
}

func (d *Device) softmax(op string, log bool, x device.Buffer, rows, cols int, y device.Buffer) {
	X, Y := d.buf(op, x, false), d.buf(op, y, false)
	checkDims(op, rows, cols)
	checkLen(op, "x", X, rows*cols)
	checkLen(op, "y", Y, rows*cols)
	if rows == 0 || cols == 0 {
		return
	}
	k, g := d.rowKernel(kSoftmaxWarp, kSoftmaxBlock, rows, cols)
	d.launch(k, g, 1, threads, 1, intArg(rows), intArg(cols), ptrArg(X), ptrArg(Y), boolArg(log))
}

// SoftmaxAdjoint computes δ = y ⊙ (ε − ⟨ε, y⟩) per row.
func (d *Device) SoftmaxAdjoint(y, eps device.Buffer, rows, cols int, delta device.Buffer) {
	d.softmaxAdjoint("SoftmaxAdjoint", false, y, eps, rows, cols, delta)
}

// LogSoftmaxAdjoint computes δ = ε − exp(y) Σε per row.
func (d *Device) LogSoftmaxAdjoint(y, eps device.Buffer, rows, cols int, delta device.Buffer) {
	d.softmaxAdjoint("LogSoftmaxAdjoint", true, y, eps, rows, cols, delta)
}

func (d *Device) softmaxAdjoint(op string, log bool, y, eps device.Buffer, rows, cols int, delta device.Buffer) {
	Y, E, D := d.buf(op, y, false), d.buf(op, eps, false), d.buf(op, delta, false)
	checkDims(op, rows, cols)
	for _, b := range []*Buffer{Y, E, D} {
		checkLen(op, "buffer", b, rows*cols)
	}
	if rows == 0 || cols == 0 {
		return
	}
	k, g := d.rowKernel(kSoftmaxAdjointWarp, kSoftmaxAdjointBlock, rows, cols)
	d.launch(k, g, 1, threads, 1, intArg(rows), intArg(cols), ptrArg(Y), ptrArg(E), ptrArg(D), boolArg(log))
}

// LayerNorm normalises each row: y = (x − μ)/√(σ² + ϵ) ⊙ γ + β, writing μ
// and 1/√(σ² + ϵ) per row.
func (d *Device) LayerNorm(x device.Buffer, rows, cols int, gamma, beta device.Buffer, epsilon float64, y, mean, rstd device.Buffer) {
	const name = "LayerNorm"
	X, Y := d.buf(name, x, false), d.buf(name, y, false)
	G, B := d.buf(name, gamma, true), d.buf(name, beta, true)
	M, R := d.buf(name, mean, false), d.buf(name, rstd, false)
	checkDims(name, rows, cols)
	checkLen(name, "x", X, rows*cols)
	checkLen(name, "y", Y, rows*cols)
	checkLen(name, "gamma", G, cols)
	checkLen(name, "beta", B, cols)
	checkLen(name, "mean", M, rows)
	checkLen(name, "rstd", R, rows)
	if rows == 0 || cols == 0 {
		return
	}
	k, g := d.rowKernel(kLayerNormWarp, kLayerNormBlock, rows, cols)
	d.launch(k, g, 1, threads, 1, intArg(rows), intArg(cols), ptrArg(X), ptrArg(G), ptrArg(B), fltArg(epsilon),
		ptrArg(Y), ptrArg(M), ptrArg(R))
}

// LayerNormAdjoint computes δ per row (one row kernel) and the parameter
// gradients Σ ε ⊙ x̂ and Σ ε (one column kernel), each when asked for.
func (d *Device) LayerNormAdjoint(x, eps device.Buffer, rows, cols int, gamma, mean, rstd device.Buffer, delta, gGamma, gBeta device.Buffer, beta float64) {
	const name = "LayerNormAdjoint"
	X, E := d.buf(name, x, false), d.buf(name, eps, false)
	G, M, R := d.buf(name, gamma, true), d.buf(name, mean, false), d.buf(name, rstd, false)
	D, GG, GB := d.buf(name, delta, true), d.buf(name, gGamma, true), d.buf(name, gBeta, true)
	checkDims(name, rows, cols)
	checkLen(name, "x", X, rows*cols)
	checkLen(name, "eps", E, rows*cols)
	checkLen(name, "gamma", G, cols)
	checkLen(name, "mean", M, rows)
	checkLen(name, "rstd", R, rows)
	checkLen(name, "delta", D, rows*cols)
	checkLen(name, "gGamma", GG, cols)
	checkLen(name, "gBeta", GB, cols)
	if cols == 0 {
		return
	}
	if D != nil && rows > 0 {
		d.layerNormDelta(X, E, rows, cols, G, M, R, D)
	}
	if GG != nil || GB != nil {
		d.launch(kLayerNormParamGrad, ceilDiv(cols, 32), 1, 32, 8, intArg(rows), intArg(cols), ptrArg(X), ptrArg(E),
			ptrArg(M), ptrArg(R), ptrArg(GG), ptrArg(GB), fltArg(beta))
	}
}

// layerNormDelta launches the row kernel of LayerNormAdjoint.
func (d *Device) layerNormDelta(X, E *Buffer, rows, cols int, G, M, R, D *Buffer) {
	k, g := d.rowKernel(kLayerNormAdjointWarp, kLayerNormAdjointBlock, rows, cols)
	d.launch(k, g, 1, threads, 1, intArg(rows), intArg(cols), ptrArg(X), ptrArg(E), ptrArg(G), ptrArg(M),
		ptrArg(R), ptrArg(D))
}

// BatchNormStats writes each channel's mean and 1/√(σ² + ϵ) of x [n, c,
// inner]: one block per channel.
func (d *Device) BatchNormStats(x device.Buffer, n, c, inner int, epsilon float64, mean, rstd device.Buffer) {
	const name = "BatchNormStats"
	X, M, R := d.buf(name, x, false), d.buf(name, mean, false), d.buf(name, rstd, false)
	checkDims(name, n, c, inner)
	checkLen(name, "x", X, n*c*inner)
	checkLen(name, "mean", M, c)
	checkLen(name, "rstd", R, c)
	if c == 0 {
		return
	}
	if parts := d.channelParts(c, n*inner); parts > 1 {
		tmp, err := d.Alloc(device.Float32, 2*3*c*parts) // c×parts×3 doubles
		if err != nil {
			d.record(fmt.Errorf("cuda: %s: %d partial statistics: %w", name, c*parts, err))
			return
		}
		defer d.Free(tmp) // the stream orders its reuse after these kernels
		P := tmp.(*Buffer)
		d.launch(kBatchNormStatsPartial, parts, channelGrid(c), threads, 1, intArg(n), intArg(c), intArg(inner), ptrArg(X), ptrArg(P))
		d.launch1(kBatchNormStatsFinal, c, intArg(c), intArg(parts), ptrArg(P), fltArg(epsilon), ptrArg(M), ptrArg(R))
		return
	}
	d.launch(kBatchNormStats, channelGrid(c), 1, threads, 1, intArg(n), intArg(c), intArg(inner), ptrArg(X),
		fltArg(epsilon), ptrArg(M), ptrArg(R))
}

// channelParts is the number of blocks that share each channel of m
// values in the split batch-normalisation kernels, or 1 where a block per
// channel already fills the GPU (many channels) or the channels are short:
// enough blocks for every SM, each with at least 8 values per thread.
func (d *Device) channelParts(c, m int) int {
	return max(1, min(ceilDiv(m, 8*threads), ceilDiv(blocksPerSM*max(d.sms, 1), c), maxChannelParts))
}

// maxChannelParts bounds the partial results of a split kernel per channel.
const maxChannelParts = 64

// BatchNormApply writes y = (x − μ)·r·γ + β per channel, grid-stride over
// every element.
func (d *Device) BatchNormApply(x device.Buffer, n, c, inner int, mean, rstd, gamma, beta device.Buffer, y device.Buffer) {
	const name = "BatchNormApply"
	X, Y := d.buf(name, x, false), d.buf(name, y, false)
	M, R := d.buf(name, mean, false), d.buf(name, rstd, false)
	G, B := d.buf(name, gamma, true), d.buf(name, beta, true)
	checkDims(name, n, c, inner)
	checkLen(name, "x", X, n*c*inner)
	checkLen(name, "y", Y, n*c*inner)
	checkLen(name, "mean", M, c)
	checkLen(name, "rstd", R, c)
	checkLen(name, "gamma", G, c)
	checkLen(name, "beta", B, c)
	if n*c*inner == 0 {
		return
	}
	d.launch1(kBatchNormApply, n*c*inner, intArg(n), intArg(c), intArg(inner), ptrArg(X), ptrArg(M), ptrArg(R),
		ptrArg(G), ptrArg(B), ptrArg(Y))
}

// BatchNormAdjoint writes δ and the parameter gradients per channel: one
// block per channel.
func (d *Device) BatchNormAdjoint(x, eps device.Buffer, n, c, inner int, gamma, mean, rstd device.Buffer, batchStats bool, delta, gGamma, gBeta device.Buffer, beta float64) {
	const name = "BatchNormAdjoint"
	X, E := d.buf(name, x, false), d.buf(name, eps, false)
	G, M, R := d.buf(name, gamma, true), d.buf(name, mean, false), d.buf(name, rstd, false)
	D, GG, GB := d.buf(name, delta, true), d.buf(name, gGamma, true), d.buf(name, gBeta, true)
	checkDims(name, n, c, inner)
	checkLen(name, "x", X, n*c*inner)
	checkLen(name, "eps", E, n*c*inner)
	checkLen(name, "delta", D, n*c*inner)
	checkLen(name, "gamma", G, c)
	checkLen(name, "mean", M, c)
	checkLen(name, "rstd", R, c)
	checkLen(name, "gGamma", GG, c)
	checkLen(name, "gBeta", GB, c)
	if c == 0 || (D == nil && GG == nil && GB == nil) {
		return
	}
	if parts := d.channelParts(c, n*inner); parts > 1 {
		// Partial sums, their per-channel totals (and the parameter
		// gradients), then δ element by element from the totals.
		tmp, err := d.Alloc(device.Float32, 2*(2*c*parts+2*c)) // c×parts×2 and c×2 doubles
		if err != nil {
			d.record(fmt.Errorf("cuda: %s: %d partial sums: %w", name, c*parts, err))
			return
		}
		defer d.Free(tmp)
		P := tmp.(*Buffer)
		sums := P.view(2 * 2 * c * parts) // in float32 elements: after the partials
		d.launch(kBatchNormAdjointPartial, parts, channelGrid(c), threads, 1, intArg(n), intArg(c), intArg(inner), ptrArg(X),
			ptrArg(E), ptrArg(M), ptrArg(R), ptrArg(P))
		d.launch1(kBatchNormAdjointFinal, c, intArg(c), intArg(parts), ptrArg(P), ptrArg(sums), ptrArg(GG), ptrArg(GB), fltArg(beta))
		if D != nil {
			d.launch1(kBatchNormDelta, n*c*inner, intArg(n), intArg(c), intArg(inner), ptrArg(X), ptrArg(E), ptrArg(G),
				ptrArg(M), ptrArg(R), boolArg(batchStats), ptrArg(sums), ptrArg(D))
		}
		return
	}
	d.launch(kBatchNormAdjoint, channelGrid(c), 1, threads, 1, intArg(n), intArg(c), intArg(inner), ptrArg(X),
		ptrArg(E), ptrArg(G), ptrArg(M), ptrArg(R), boolArg(batchStats), ptrArg(D), ptrArg(GG), ptrArg(GB), fltArg(beta))
}

// channelGrid is the block count of a kernel with a block per channel,
// which loops when there are more channels than blocks.
func channelGrid(c int) int { return min(c, 65535) }

// Loss writes ρ per row and, when eps is not nil, epsScale·∇_b ρ, in one
// fused kernel. For SoftmaxCrossEntropyIndex a class index outside [0, cols)
// gives that row a NaN loss and ε, and the next synchronizing call records
// an error naming the row.
func (d *Device) Loss(kind device.LossKind, param float64, pred, target device.Buffer, rows, cols int, losses, eps device.Buffer, epsScale float64) {
	P, T := d.buf("Loss", pred, false), d.buf("Loss", target, false)
	L, E := d.buf("Loss", losses, false), d.buf("Loss", eps, true)
	checkDims("Loss", rows, cols)
	checkLen("Loss", "pred", P, rows*cols)
	checkLen("Loss", "losses", L, rows)
	checkLen("Loss", "eps", E, rows*cols)
	if kind == device.SoftmaxCrossEntropyIndex {
		checkLen("Loss", "target", T, rows)
	} else {
		checkLen("Loss", "target", T, rows*cols)
	}
	if kind >= numLoss {
		d.record(fmt.Errorf("cuda: unknown loss kind %v", kind))
		return
	}
	if rows == 0 {
		return
	}
	k, g := d.rowKernel(kLossWarp, kLossBlock, rows, cols)
	c := newCall(k, g, 1, threads, 1, intArg(int(kind)), intArg(rows), intArg(cols), fltArg(param),
		ptrArg(P), ptrArg(T), ptrArg(L), ptrArg(E), fltArg(epsScale), devArg(d.w.scratch+scratchStatus))
	c.checkStatus = kind == device.SoftmaxCrossEntropyIndex
	d.submit(c)
}

// SGD performs one torch.optim.SGD step on p.
func (d *Device) SGD(p, g, v device.Buffer, cfg device.SGDConfig) {
	P, G, V := d.buf("SGD", p, false), d.buf("SGD", g, false), d.buf("SGD", v, true)
	checkEq("SGD", P, G)
	if cfg.Momentum != 0 && V == nil {
		panic("cuda: SGD: momentum needs a velocity buffer")
	}
	if V != nil {
		checkEq("SGD", P, V)
	}
	if P.n == 0 {
		return
	}
	flags := boolArg(cfg.First) | boolArg(cfg.Nesterov)<<1
	d.launch1(kSGD, P.n, intArg(P.n), ptrArg(P), ptrArg(G), ptrArg(V), fltArg(cfg.LR), fltArg(cfg.Momentum),
		fltArg(cfg.Dampening), fltArg(cfg.WeightDecay), flags)
}

// Adam performs one torch.optim.Adam (or AdamW) step on p.
func (d *Device) Adam(p, g, m, v device.Buffer, cfg device.AdamConfig) {
	P, G, M, V := d.buf("Adam", p, false), d.buf("Adam", g, false), d.buf("Adam", m, false), d.buf("Adam", v, false)
	for _, b := range []*Buffer{G, M, V} {
		checkEq("Adam", P, b)
	}
	if cfg.Step < 1 {
		panic(fmt.Sprintf("cuda: Adam: step %d, want ≥ 1", cfg.Step))
	}
	if P.n == 0 {
		return
	}
	// Bias corrections in float64, as package cpu: p −= (η/bc1)·m/(√v/√bc2 + ϵ).
	bc1 := 1 - math.Pow(cfg.Beta1, float64(cfg.Step))
	bc2 := 1 - math.Pow(cfg.Beta2, float64(cfg.Step))
	d.launch1(kAdam, P.n, intArg(P.n), ptrArg(P), ptrArg(G), ptrArg(M), ptrArg(V), fltArg(cfg.LR),
		fltArg(cfg.Beta1), fltArg(cfg.Beta2), fltArg(cfg.Eps), fltArg(cfg.WeightDecay), fltArg(cfg.LR/bc1),
		fltArg(math.Sqrt(bc2)), boolArg(cfg.Decoupled))
}

// RMSprop performs one torch.optim.RMSprop step on p (device.RMSpropConfig
// has the formulas), in one launch.
func (d *Device) RMSprop(p, g, v, gAvg, b device.Buffer, cfg device.RMSpropConfig) {
	const name = "RMSprop"
	P, G, V := d.buf(name, p, false), d.buf(name, g, false), d.buf(name, v, false)
	A, B := d.buf(name, gAvg, true), d.buf(name, b, true)
	for _, x := range []*Buffer{G, V, A, B} {
		if x != nil {
			checkEq(name, P, x)
		}
	}
	if cfg.Centered && A == nil {
		panic("cuda: RMSprop: centered needs a mean-gradient buffer")
	}
	if cfg.Momentum > 0 && B == nil {
		panic("cuda: RMSprop: momentum needs a momentum buffer")
	}
	if !cfg.Centered {
		A = nil // the kernel centers when it has the buffer
	}
	if !(cfg.Momentum > 0) {
		B = nil
	}
	if P.n == 0 {
		return
	}
	d.launch1(kRMSprop, P.n, intArg(P.n), ptrArg(P), ptrArg(G), ptrArg(V), ptrArg(A), ptrArg(B), fltArg(cfg.LR),
		fltArg(cfg.Alpha), fltArg(cfg.Eps), fltArg(cfg.WeightDecay), fltArg(cfg.Momentum))
}

// checkTensorLists panics unless every list has one buffer per parameter.
func checkTensorLists(op string, n int, lists ...[]device.Buffer) {
	for _, l := range lists {
		if len(l) != n {
			panic(fmt.Sprintf("cuda: %s: %d parameters but a list of %d buffers", op, n, len(l)))
		}
	}
}

// SGDTensors performs one torch.optim.SGD step on every ps[i], with
// gradient gs[i] and momentum buffer vs[i] (vs may be nil without
// momentum), all with the same configuration, in one launch of sgd_multi:
// the result is the same, bit for bit, as SGD on each tensor in turn.
// Package optim uses it when the device has it. The table of the tensors
// is uploaded on the first call with these buffers and reused after that
// (see multi.go).
func (d *Device) SGDTensors(ps, gs, vs []device.Buffer, cfg device.SGDConfig) {
	const op = "SGDTensors"
	checkTensorLists(op, len(ps), gs)
	if vs != nil {
		checkTensorLists(op, len(ps), vs)
	}
	d.tables.mu.Lock()
	defer d.tables.mu.Unlock()
	d.tables.words = d.tables.words[:0]
	for i := range ps {
		P, G := d.buf(op, ps[i], false), d.buf(op, gs[i], false)
		checkEq(op, P, G)
		var V *Buffer
		if vs != nil {
			V = d.buf(op, vs[i], true)
		}
		if cfg.Momentum != 0 && V == nil {
			panic(fmt.Sprintf("cuda: %s: momentum needs a velocity buffer for tensor %d", op, i))
		}
		if V != nil {
			checkEq(op, P, V)
		}
		d.addTensorRef(P, G, nil, V)
	}
	flags := boolArg(cfg.First) | boolArg(cfg.Nesterov)<<1
	d.launchTensorChunks(op, func(chunk devPtr, gx, gy int) {
		d.launch(kSGDMulti, gx, gy, threads, 1, devArg(chunk), fltArg(cfg.LR), fltArg(cfg.Momentum),
			fltArg(cfg.Dampening), fltArg(cfg.WeightDecay), flags)
	})
}

// AdamTensors performs one torch.optim.Adam (or AdamW) step on every
// ps[i], with gradient gs[i] and moments ms[i] and vs[i], all at the same
// step, in one launch of adam_multi: the result is the same, bit for bit,
// as Adam on each tensor in turn. Package optim uses it when the device
// has it. The table of the tensors is uploaded on the first call with
// these buffers and reused after that (see multi.go).
func (d *Device) AdamTensors(ps, gs, ms, vs []device.Buffer, cfg device.AdamConfig) {
	const op = "AdamTensors"
	checkTensorLists(op, len(ps), gs, ms, vs)
	if cfg.Step < 1 {
		panic(fmt.Sprintf("cuda: %s: step %d, want ≥ 1", op, cfg.Step))
	}
	d.tables.mu.Lock()
	defer d.tables.mu.Unlock()
	d.tables.words = d.tables.words[:0]
	for i := range ps {
		P, G, M, V := d.buf(op, ps[i], false), d.buf(op, gs[i], false), d.buf(op, ms[i], false), d.buf(op, vs[i], false)
		checkEq(op, P, G)
		checkEq(op, P, M)
		checkEq(op, P, V)
		d.addTensorRef(P, G, M, V)
	}
	// As Adam: bias corrections in float64.
	bc1 := 1 - math.Pow(cfg.Beta1, float64(cfg.Step))
	bc2 := 1 - math.Pow(cfg.Beta2, float64(cfg.Step))
	d.launchTensorChunks(op, func(chunk devPtr, gx, gy int) {
		d.launch(kAdamMulti, gx, gy, threads, 1, devArg(chunk), fltArg(cfg.LR), fltArg(cfg.Beta1),
			fltArg(cfg.Beta2), fltArg(cfg.Eps), fltArg(cfg.WeightDecay), fltArg(cfg.LR/bc1),
			fltArg(math.Sqrt(bc2)), boolArg(cfg.Decoupled))
	})
}
