// Package kernels holds the CUDA C kernels of the GPU backend and the PTX
// generated from them, embedded in the binary: users never need nvcc. The
// package is pure Go (no cgo) and builds everywhere; device/cuda loads the
// modules into a CUDA context on first use.
//
//	kernels/<module>.cu  →  go generate ./kernels  →  kernels/<module>.ptx  →  PTX(module)
//
// generate.go runs nvcc -ptx -arch=compute_80 with fixed flags and no line
// information, so the output is reproducible for a given nvcc (CI uses
// Debian bookworm's 11.8 and scripts/cuda/check-ptx.sh fails when the
// committed PTX is stale). compute_80 PTX is JIT-compiled by the driver for
// any GPU from the A100 on, the H100 included.
//
// # Calling convention
//
// Every kernel is extern "C" and float32. Parameters are pointers or 8-byte
// scalars only: integers as long long, real scalars as double (converted to
// float inside), because device/cuda passes each argument as one 8-byte
// word (as gorgonia.org/cu's Function.Launch does). Op codes (device.UnaryOp, BinaryOp,
// LossKind) are passed as long long; common.cuh defines them and a test
// checks them against package device.
//
// # Modules and launch geometry
//
//	elementwise  fill, copy2d, axpy, scale, unary, unary_adjoint, binary,
//	             bias_act, dropout_mask, transpose, im2col, col2im,
//	             max_pool, max_pool_adjoint, max_pool_tangent, gather,
//	             scatter_add: grid-stride loops, 256 threads per block, at
//	             most 8 blocks per SM. unary/unary_adjoint/bias_act branch
//	             once on the op code into one specialised loop per op.
//	             dropout_mask gives each thread one Philox-4x32-10 block of
//	             four elements (device.Philox4x32 is the definition). The
//	             convolution and pooling kernels take a geometry whose
//	             (height, width) pairs are packed into one parameter each;
//	             col2im and max_pool_adjoint gather per input pixel, and
//	             scatter_add gives each thread a column of a class of table
//	             rows, so none of them needs atomics. gather flags a bad
//	             index in the status words, as the index loss does.
//	reduce       dot_partial (≤ 1024 blocks of 256, one partial sum each, in
//	             double) then dot_final (one block); sum_rows (column sums:
//	             block 32×8, 32 columns per block, 8 row strides); sum_cols
//	             (row sums: a warp per row), or for at most 64 rows of at
//	             least 2¹⁶ columns sum_cols_partial (blocks sharing each
//	             row, partial sums in double) then sum_cols_final (a block
//	             a row); argmax_matches (one block of
//	             1024: a warp finds a row's first maximum by shuffles, the
//	             block sums the matches). Fixed summation order, no atomics.
//	softmax      softmax/log-softmax and adjoints: *_warp puts a warp on a
//	             row (8 rows per 256-thread block; used for cols ≤ 1024),
//	             *_block a block on a row; max, then Σexp, by warp shuffles
//	             (and shared memory across warps); log-sum-exp in double.
//	             layernorm_* and layernorm_adjoint_* share that row layout
//	             (mean and variance in double); layernorm_param_grad sums
//	             the γ and β gradients over the rows like sum_rows.
//	loss         every device.LossKind, one row per warp or block like
//	             softmax; softmax + cross-entropy fused (max, Σexp, ε in
//	             three sweeps of the row). An out-of-range class index makes
//	             the row's loss NaN and is flagged in a device status word.
//	optim        sgd, adam, rmsprop: the whole update of one parameter
//	             tensor in one grid-stride pass (momentum / moment buffers
//	             updated in place); sgd_multi, adam_multi: every tensor of
//	             a step in one launch.
//	gemm         sgemm_{nn,nt,tn,tt}_{128,64,32}, the 64 and 32 tiles
//	             batched too (grid z): see below.
//	gemm_wide    sgemm_{nn,nt,tn,tt}_128x256, the tile only autotuning picks,
//	             in a module of its own: the driver JIT-compiles a module
//	             whole on first load (ptxas takes 3 to 4 s for each of the
//	             two SGEMM modules on this project's 2-core machine; the
//	             driver caches the result), so a program whose products
//	             stay small never compiles it.
//	             Both SGEMM modules instantiate the template of gemm.cuh.
//	gemm_tc      sgemm_{nn,nt,tn,tt}_tf32x3: the same product on tensor
//	             cores with 3xTF32 (below), which only autotuning picks and
//	             only where the device allows it; a module of its own for
//	             the same reason.
//
// # SGEMM
//
// C = α·op(A)·op(B) + β·C, row-major, op(A) m×k, op(B) k×n, with leading
// dimensions. Each block computes one BM×BN tile of C, walking K in steps
// of BK; each thread owns TM×TN outputs in registers:
//
//	                         BN (block tile of op(B))
//	                      ┌──────────────┐
//	                BK    │ Bs[2][BK][BN]│  shared, k-major, double-buffered
//	                      └──────────────┘
//	      BK
//	   ┌──────┐          ┌──────────────┐
//	   │As    │          │ C tile       │  BM×BN, in registers:
//	BM │[2]   │   ×      │  ┌──┐   ┌──┐ │  thread (tx,ty) owns TM×TN values as
//	   │[BK]  │          │  │t │...│t │ │  (TM/4)×(TN/4) groups of 4×4, the
//	   │[BM]  │          │  └──┘   └──┘ │  groups 4·BM/TM rows and 4·BN/TN
//	   └──────┘          │   ⋮       ⋮  │  columns apart, so a warp's float4
//	   shared, k-major   └──────────────┘  reads of As/Bs are contiguous
//	   (op(A) transposed
//	    on the way in)
//
//	for each K tile t:                      one __syncthreads per tile
//	    registers ← global tile t+1         (two k-loops, below)
//	    for kk < BK: a[TM] ← As[kk][rows], b[TN] ← Bs[kk][cols]
//	                 acc[TM][TN] += a ⊗ b   (TM·TN FMAs per 2 float4-pairs of loads)
//	    shared buffer (t+1)&1 ← registers
//	C ← α·acc + β·C                         C not read when β = 0; float4
//	                                        stores where aligned, else checked
//
// Each block runs one of two copies of the k-loop. The fast one serves a
// block wholly inside C with 16-byte aligned operands whose leading
// dimensions divide by 4 (nearly every block of a large product): each
// thread keeps a pointer per float4 it fetches and steps it one tile at a
// time, without bounds checks; a partial last K tile is fetched checked,
// after the loop. The edge one checks every fetch: float4 where the tile
// lies inside the matrix, else scalars with zeros outside. An SGEMM of this
// kind is bound by instruction issue on a GPU (a scheduler issues one warp
// instruction per cycle, and an FFMA is one), so what counts is the FFMA
// share of the loop: for the 128 tile on sm_90 (ptxas of nvcc 11.8) it is
// 512 of 578 instructions per K tile in the fast loop, against 512 of 699
// in the single checked loop this replaced (about 650 of them executed on
// its vector path, counted by hand from the SASS). Every output is
// accumulated over p = 0, 1, …, k−1 in order on every tile and both loops,
// so every tile gives the same bits (scripts/cuda/emu checks this).
// scripts/cuda/sass-loops.sh prints every kernel's loops and FFMA share.
//
// The transposes only change how a tile is fetched: op(A) = Aᵀ is read along
// its stored rows (contiguous in i) and stored straight into As[p][i]; the
// plain A is read along k and transposed into As. Likewise for B. Shared
// rows are padded by 4 floats against bank conflicts in those transposing
// stores.
//
// Four FP32 tile shapes, and the tensor-core tile. device/cuda picks one
// per product: a product of at least 2³⁰ flops is autotuned (every tile
// timed on the card on the first product of its size class; the tf32x3 one
// only when the device allows it); a smaller one takes gemmPlan's choice
// among the first three, which needs no timing:
//
//	tile     BM×BN    BK  threads  TM×TN  gemmPlan uses it when
//	128      128×128   8    256     8×8   ≥ one 128-tile per SM (large products)
//	64        64×64   16    256     4×4   ≥ one 64-tile per SM
//	32        32×32   16     64     4×4   smaller products (small layers)
//	128x256  128×256   8    256    8×16   never: autotuning only (one block per
//	                                      SM, 92% FFMA in its fast loop)
//
//	tf32x3   128×64   16    128     (mma) tensor cores, 3xTF32: autotuning
//	                                      only, and only with AllowTF32x3
//
// ptxas (sm_90, nvcc 11.8) reports no spills: 128 registers for the 128
// tile (__launch_bounds__(256, 2)), 231 for 128x256 (__launch_bounds__(256,
// 1)), 242 to 254 for tf32x3 (__launch_bounds__(128, 2)), fewer for the
// others. Every other kernel runs blocks of at most 256 threads, where any
// register count fits, except argmax_matches, whose 1024-thread block needs
// __launch_bounds__(1024) (at most 64 registers a thread, whatever the
// driver's JIT would choose). Grid: (⌈n/BN⌉, ⌈m/BM⌉), so m ≤ 65535·BM. The
// kernels have no split-K of their own: device/cuda cuts a product with
// few blocks of C and a long k into a batch of chunks (doc.go there).
//
// The 64 and 32 tiles are also batched (SGEMM_BATCHED): three more
// parameters, the strides sA, sB, sC after A's, B's and C's leading
// dimensions, and grid (⌈n/BN⌉, ⌈m/BM⌉, batch), block z multiplying the
// product at A + z·sA, B + z·sB, C + z·sC; a single product passes strides
// 0 and one z-block. A GemmStrided batch of small products (every head of
// an attention layer) is then one launch. The 128 tiles keep the plain
// form: already at their 128-register bound, the three offset pointers
// would spill there (ptxas, sm_89 and sm_90), and their products are large
// enough that a launch each costs little.
//
// # 3xTF32 on tensor cores
//
// gemm_tc.cu computes the same product with mma.sync.m16n8k8 (TF32 inputs,
// float32 accumulators), whose throughput on an A100 or H100 is several
// times the FP32 cores'. TF32 keeps 10 of float32's 23 mantissa bits, so
// each operand is split in two, x = big + small with big = tf32(x)
// (rounded to nearest) and small = x − big exact in float32, which the
// tensor core reads truncated to TF32: tf32(small) is within 2⁻²¹|x| of
// small. Each product is summed from three mma:
//
//	a·b ≈ a_small·b_big + a_big·b_small + a_big·b_big     (a_small·b_small dropped)
//
// The terms left out are each below about 2⁻²¹|ab| and of either sign, so
// a product is within about 2.5·2⁻²¹|ab| of exact before the float32 sum
// (an FP32 multiply-add rounds at 2⁻²⁴). The sum is the other half. A
// tensor core does not round its sums to nearest: measurements of V100,
// A100 and H100 find the terms aligned to the largest with the bits below
// its significand cut off, and the sum truncated, a bias toward zero of a
// few ulps of the running sum per mma, which over the k/8 mma steps of a
// long sum of same-signed products grows linearly (4.7·10⁻⁵ of the result
// at k = 2048 on the emulator's model, had every mma been chained through
// one accumulator). So each K tile's six mma (two steps of three) start
// from zero (a sum of 48 products, whose truncation is a few ulps of that
// small sum) and that partial result is added to the block's accumulators
// by an FP32 add, rounded to nearest: the long sum is then as accurate as
// FP32's, or better (k/16 roundings instead of k). scripts/cuda/emu models
// the cut terms and the truncated sum with no extra bits kept, a
// pessimistic choice (some cards keep a few), in cuda_emu.h's tcSum, and
// checks the kernels to 10⁻⁵ of Σ|ab|: the largest error is about 4·10⁻⁷
// of it on random operands and 7·10⁻⁷ on positive ones at k = 2048; on an
// H200, a 4096-long sum of positive products is off by 8.6·10⁻⁷ of Σ|ab|,
// against 3.5·10⁻⁶ for the FP32 128 tile (TestGemmTF32x3); a single TF32
// product misses the bound by far (4·10⁻⁴). The bits differ from the FP32
// tiles', and an infinite operand makes its products NaN (its infinite big
// part meets the other operand's zero small parts) where FP32 gives ±inf.
//
// The kernel (gemm_tc.cu has the layout in full) keeps the operands in
// shared memory as they arrive, 16 of k a tile, double buffered, and each
// warp splits the fragments it reads in registers. Which k, row and column
// each fragment slot of an mma stands for is free as long as A and B agree
// on k and the epilogue knows where the outputs go, so the kernel chooses
// them to make a lane's fragments contiguous: a warp loads its fragments
// of a tile in 12 LDS.128 where the natural order needs 96 LDS.32, and
// stores its outputs as float4. Blocks are 128×64, four warps of 64×32,
// two blocks an SM. As in gemm.cuh, interior blocks with aligned operands
// run a fast k-loop without bounds checks: ptxas (sm_90) makes it about
// 365 instructions per K tile for its 96 HMMA, an HMMA share of 0.26, the
// rest mostly 144 for the splits, the 64 FP32 adds of the partial sums and
// 12 shared loads (sass-loops.sh).
//
// On an H200 (2026-11-28, bench/reports/h200-run.txt) it ran 4096 and 8192
// products at 61 to 66 TFLOP/s, where the FP32 tiles reached 46 to 49 and
// PyTorch's FP32 torch.mm 49 to 51; the earlier kernel, which split each
// element once on its way into shared memory and read its fragments a
// float at a time (48 KiB of split pairs, 8 warps, one block an SM), ran
// at 40 to 50, and the same template as now with 128×128 blocks of 8 warps
// at 44 to 64.
package kernels
