package cuda

import (
	"math"
	"math/bits"
	"time"

	"github.com/adjoint-go/adjoint/kernels"
)

// This file holds the pure-Go parts of the backend (kernel table, launch
// geometry, allocator size classes), compiled with and without the cuda tag
// so that their tests run in CI without a GPU.

// kernelID indexes kernelTable.
type kernelID uint8

const (
	kFill kernelID = iota
	kCopy2D
	kAxpy
	kScale
	kUnary
	kUnaryAdjoint
	kBinary
	kBiasAct
	kDropoutMask
	kTranspose
	kTransposeTiled
	kIm2Col
	kCol2Im
	kMaxPool
	kMaxPoolAdjoint
	kMaxPoolTangent
	kGather
	kScatterAdd
	kDotPartial
	kDotFinal
	kSumRows
	kSumRowsPartial
	kSumRowsFinal
	kSumCols
	kSumColsPartial
	kSumColsFinal
	kArgMaxMatches
	kSoftmaxWarp
	kSoftmaxBlock
	kSoftmaxAdjointWarp
	kSoftmaxAdjointBlock
	kLayerNormWarp
	kLayerNormBlock
	kLayerNormAdjointWarp
	kLayerNormAdjointBlock
	kLayerNormParamGrad
	kBatchNormStats
	kBatchNormApply
	kBatchNormAdjoint
	kBatchNormStatsPartial
	kBatchNormStatsFinal
	kBatchNormAdjointPartial
	kBatchNormAdjointFinal
	kBatchNormDelta
	kLossWarp
	kLossBlock
	kSGD
	kAdam
	kRMSprop
	kSGDMulti
	kAdamMulti
	// kGemm is the first of 4·numGemmTiles SGEMM kernels, indexed by
	// kGemm + 4·tile + 2·transA + transB (see gemmKernel).
	kGemm
	numKernels = kGemm + 4*numGemmTiles
)

type kernelRef struct{ module, name string }

// kernelTable names each kernel's module and entry point.
var kernelTable = func() [numKernels]kernelRef {
	t := [numKernels]kernelRef{
		kFill:                    {kernels.Elementwise, "fill"},
		kCopy2D:                  {kernels.Elementwise, "copy2d"},
		kAxpy:                    {kernels.Elementwise, "axpy"},
		kScale:                   {kernels.Elementwise, "scale"},
		kUnary:                   {kernels.Elementwise, "unary"},
		kUnaryAdjoint:            {kernels.Elementwise, "unary_adjoint"},
		kBinary:                  {kernels.Elementwise, "binary"},
		kBiasAct:                 {kernels.Elementwise, "bias_act"},
		kDropoutMask:             {kernels.Elementwise, "dropout_mask"},
		kTransposeTiled:          {kernels.Elementwise, "transpose_tiled"},
		kTranspose:               {kernels.Elementwise, "transpose"},
		kIm2Col:                  {kernels.Elementwise, "im2col"},
		kCol2Im:                  {kernels.Elementwise, "col2im"},
		kMaxPool:                 {kernels.Elementwise, "max_pool"},
		kMaxPoolAdjoint:          {kernels.Elementwise, "max_pool_adjoint"},
		kMaxPoolTangent:          {kernels.Elementwise, "max_pool_tangent"},
		kGather:                  {kernels.Elementwise, "gather"},
		kScatterAdd:              {kernels.Elementwise, "scatter_add"},
		kDotPartial:              {kernels.Reduce, "dot_partial"},
		kDotFinal:                {kernels.Reduce, "dot_final"},
		kSumRows:                 {kernels.Reduce, "sum_rows"},
		kSumRowsPartial:          {kernels.Reduce, "sum_rows_partial"},
		kSumRowsFinal:            {kernels.Reduce, "sum_rows_final"},
		kSumCols:                 {kernels.Reduce, "sum_cols"},
		kSumColsPartial:          {kernels.Reduce, "sum_cols_partial"},
		kSumColsFinal:            {kernels.Reduce, "sum_cols_final"},
		kArgMaxMatches:           {kernels.Reduce, "argmax_matches"},
		kSoftmaxWarp:             {kernels.Softmax, "softmax_warp"},
		kSoftmaxBlock:            {kernels.Softmax, "softmax_block"},
		kSoftmaxAdjointWarp:      {kernels.Softmax, "softmax_adjoint_warp"},
		kSoftmaxAdjointBlock:     {kernels.Softmax, "softmax_adjoint_block"},
		kLayerNormWarp:           {kernels.Softmax, "layernorm_warp"},
		kLayerNormBlock:          {kernels.Softmax, "layernorm_block"},
		kLayerNormAdjointWarp:    {kernels.Softmax, "layernorm_adjoint_warp"},
		kLayerNormAdjointBlock:   {kernels.Softmax, "layernorm_adjoint_block"},
		kLayerNormParamGrad:      {kernels.Softmax, "layernorm_param_grad"},
		kBatchNormStats:          {kernels.Softmax, "batchnorm_stats"},
		kBatchNormApply:          {kernels.Softmax, "batchnorm_apply"},
		kBatchNormAdjoint:        {kernels.Softmax, "batchnorm_adjoint"},
		kBatchNormStatsPartial:   {kernels.Softmax, "batchnorm_stats_partial"},
		kBatchNormStatsFinal:     {kernels.Softmax, "batchnorm_stats_final"},
		kBatchNormAdjointPartial: {kernels.Softmax, "batchnorm_adjoint_partial"},
		kBatchNormAdjointFinal:   {kernels.Softmax, "batchnorm_adjoint_final"},
		kBatchNormDelta:          {kernels.Softmax, "batchnorm_delta"},
		kLossWarp:                {kernels.Loss, "loss_warp"},
		kLossBlock:               {kernels.Loss, "loss_block"},
		kSGD:                     {kernels.Optim, "sgd"},
		kAdam:                    {kernels.Optim, "adam"},
		kRMSprop:                 {kernels.Optim, "rmsprop"},
		kSGDMulti:                {kernels.Optim, "sgd_multi"},
		kAdamMulti:               {kernels.Optim, "adam_multi"},
	}
	for tile, g := range gemmTiles {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				name := "sgemm_" + flag(ta) + flag(tb) + "_" + g.suffix
				t[gemmKernel(tile, ta, tb)] = kernelRef{g.module, name}
			}
		}
	}
	return t
}()

func flag(t bool) string {
	if t {
		return "t"
	}
	return "n"
}

// gemmTile is one SGEMM block-tile configuration: of kernels/gemm.cuh, or
// the tensor-core kernels of kernels/gemm_tc.cu (tf32x3).
type gemmTile struct {
	bm, bn  int // block tile of C
	threads int // threads per block
	suffix  string
	module  string // the kernels module that instantiates it
	// tf32x3 marks the tensor-core tile, whose float32 operands are split
	// into TF32 pairs (3xTF32): within FP32's error, but not the FP32
	// tiles' bits, so autotuning considers it only when the device allows
	// it (Device.AllowTF32x3).
	tf32x3 bool
	// batched marks the tiles whose kernels take a batch (SGEMM_BATCHED in
	// kernels/gemm.cuh: three more parameters, the strides, and grid z).
	batched bool
}

const numGemmTiles = 5

// gemmTiles lists the block tiles. gemmPlan chooses among the first
// numPlanTiles, ordered from the largest to the smallest; the tiles after
// them are candidates only when a product is autotuned (tune.go), i.e.
// when timing on the card has shown them faster.
var gemmTiles = [numGemmTiles]gemmTile{
	{128, 128, 256, "128", kernels.Gemm, false, false},
	{64, 64, 256, "64", kernels.Gemm, false, true},
	{32, 32, 64, "32", kernels.Gemm, false, true},
	{128, 256, 256, "128x256", kernels.GemmWide, false, false},
	{128, 64, 128, "tf32x3", kernels.GemmTC, true, false},
}

// numPlanTiles is how many of gemmTiles gemmPlan considers.
const numPlanTiles = 3

func gemmKernel(tile int, transA, transB bool) kernelID {
	id := kGemm + kernelID(4*tile)
	if transA {
		id += 2
	}
	if transB {
		id++
	}
	return id
}

// maxGridY and maxGridZ are CUDA's limits on gridDim.y and gridDim.z.
const (
	maxGridY = 65535
	maxGridZ = 65535
)

// gemmPlan picks the block tile for an m×n product on a GPU with sms
// multiprocessors, without timing anything: the largest tile that still
// gives at least one block per SM, else the smallest (small products: more,
// smaller blocks beat a few idle-heavy large ones). It returns −1 when m is
// too large for any tile's grid. Products large enough to time are
// autotuned instead (tune.go); gemmPlan is their fallback and the choice
// for everything smaller.
func gemmPlan(m, n, sms int) (tile int, gridX, gridY int) {
	tile = numPlanTiles - 1
	for i, g := range gemmTiles[:numPlanTiles] {
		if ceilDiv(m, g.bm)*ceilDiv(n, g.bn) >= sms {
			tile = i
			break
		}
	}
	// A tall product may exceed gridDim.y with small tiles: grow the tile.
	for tile > 0 && ceilDiv(m, gemmTiles[tile].bm) > maxGridY {
		tile--
	}
	return gemmGrid(tile, m, n)
}

// gemmBatchPlan picks the tile for a batch of m×n products in one launch
// (GemmStrided), among the tiles whose kernels take a batch: as gemmPlan,
// the largest that gives at least one block per SM, counting every
// product's blocks. It returns −1 when m is too large for their grids.
func gemmBatchPlan(m, n, batch, sms int) int {
	best := -1
	for i, g := range gemmTiles[:numPlanTiles] {
		if !g.batched || ceilDiv(m, g.bm) > maxGridY {
			continue
		}
		best = i
		if ceilDiv(m, g.bm)*ceilDiv(n, g.bn)*batch >= sms {
			break
		}
	}
	return best
}

// Split-k (Device.gemmSplitK): a product is cut along k when even the
// smallest tile gives C fewer blocks than the GPU has SMs and k holds at
// least two chunks of splitKMinChunk.
const (
	// splitKBlocksPerSM is the blocks per SM the chunks aim at in all: the
	// 32 tile's blocks are two warps, so an SM holds several. 8, not the
	// first guess of 4: on an H200 (2026-11-28, BenchmarkSplitK's parts*2
	// rows against auto) twice the parts ran a 64×288 weight gradient
	// 1.4× as fast and a classifier's products 1.1× to 1.2×.
	splitKBlocksPerSM = 8
	// splitKMinChunk is the shortest chunk: long enough that a block's
	// k-loop, not its prologue and epilogue, is most of its time.
	splitKMinChunk = 256
)

// splitKTile is the batched tile that split-k's chunks run on: the
// smallest. On an H200 (2026-11-28, BenchmarkSplitK) it beat the tile
// gemmBatchPlan picks for the batch on every split-k product measured:
// 2.2× on a CIFAR convolution's first weight gradient (32×27 C,
// k = 131072), where a 64×64 block is mostly idle, 1.3× to 1.4× on a
// 10-class classifier's products, and within 2% of it on a 64×288 C.
func splitKTile() int {
	tile := -1
	for i, g := range gemmTiles[:numPlanTiles] {
		if g.batched && (tile < 0 || g.bm*g.bn < gemmTiles[tile].bm*gemmTiles[tile].bn) {
			tile = i
		}
	}
	return tile
}

// splitKPlan returns how many parts an m×n×k product is cut into along k
// and the chunk length of all but the last, or parts = 1 when it is
// computed whole. parts is a power of two near splitKBlocksPerSM blocks
// per SM over C's blocks (so that a power-of-two k, K·H·W, splits
// evenly), and chunk a multiple of 16.
func splitKPlan(m, n, k, sms int) (parts, chunk int) {
	small := gemmTiles[numPlanTiles-1]
	blocks := ceilDiv(m, small.bm) * ceilDiv(n, small.bn)
	if sms <= 0 || blocks >= sms || k < 2*splitKMinChunk {
		return 1, k
	}
	want := min(ceilDiv(splitKBlocksPerSM*sms, blocks), k/splitKMinChunk)
	want = 1 << (bits.Len(uint(want)) - 1) // the power of two at or below
	chunk = ceilDiv(ceilDiv(k, want), 16) * 16
	parts = ceilDiv(k, chunk)
	if parts < 2 {
		return 1, k
	}
	return parts, chunk
}

// sumRowsMinChunk is the fewest rows a part of a two-pass SumRows sums
// (32 per thread row of a block), and sumRowsMaxParts the most parts,
// which the second pass sums one after another per column.
const (
	sumRowsMinChunk = 256
	sumRowsMaxParts = 256
	// sumRowsBlocksPerSM is the blocks per SM the first pass aims at (its
	// blocks are a warp of 32 columns by 8 thread rows).
	sumRowsBlocksPerSM = 4
)

// sumRowsParts returns how many parts of rows a SumRows of rows×cols sums
// in its first pass, or 1 for one pass: two when its one-pass grid (a
// block per 32 columns) has fewer blocks than the GPU has SMs and the
// rows hold at least two parts, aiming at sumRowsBlocksPerSM blocks per SM.
func sumRowsParts(rows, cols, sms int) int {
	blocks := ceilDiv(cols, 32)
	if sms <= 0 || blocks >= sms || rows < 2*sumRowsMinChunk {
		return 1
	}
	return min(ceilDiv(sumRowsBlocksPerSM*sms, blocks), rows/sumRowsMinChunk, sumRowsMaxParts)
}

// Autotuning (tune.go): the first product of each size class that is
// large enough times every tile on the card and keeps the fastest.
const (
	// tuneMinFlops is the smallest product (2mnk flops) that is autotuned:
	// 27 µs at 40 TFLOP/s (the order of an H100's FP32 rate), long enough
	// to time with a host clock and large enough for the tile to matter.
	tuneMinFlops = 1 << 30
	// tuneFlops is the work timed per tile: enough launches for 0.2 ms at
	// 40 TFLOP/s, at most maxTuneReps.
	tuneFlops   = 1 << 33
	maxTuneReps = 16
)

// gemmClass is the size class of a product for autotuning: its transposes
// and ⌈log₂⌉ of m, n and k. Products of one class share a tile.
type gemmClass struct {
	transA, transB bool
	m, n, k        uint8
}

func classOf(transA, transB bool, m, n, k int) gemmClass {
	lg := func(x int) uint8 { return uint8(bits.Len(uint(x - 1))) }
	return gemmClass{transA, transB, lg(m), lg(n), lg(k)}
}

// tuneReps is how many launches of an m×n×k product are timed per tile.
func tuneReps(m, n, k int) int {
	flops := 2 * float64(m) * float64(n) * float64(k)
	return int(min(maxTuneReps, max(1, math.Ceil(tuneFlops/flops))))
}

// fastest returns the candidate with the least measured time, the first
// of equals; a failed measurement ends the search with its error.
func fastest(candidates []int, measure func(tile int) (time.Duration, error)) (int, error) {
	best, bestTime := -1, time.Duration(math.MaxInt64)
	for _, tile := range candidates {
		t, err := measure(tile)
		if err != nil {
			return -1, err
		}
		if t < bestTime {
			best, bestTime = tile, t
		}
	}
	return best, nil
}

// gemmGrid returns the grid of an m×n product in the given tile, or −1
// when m is too large for that tile's grid.
func gemmGrid(tile, m, n int) (int, int, int) {
	g := gemmTiles[tile]
	if ceilDiv(m, g.bm) > maxGridY {
		return -1, 0, 0
	}
	return tile, ceilDiv(n, g.bn), ceilDiv(m, g.bm)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// maxArgs is the most parameters a kernel takes (the SGEMM kernels, with
// their batch strides); every parameter is one 8-byte word.
const maxArgs = 14

// Launch geometry of the one-dimensional kernels (kernels.THREADS).
const (
	threads        = 256
	blocksPerSM    = 8    // 8 × 256 threads fill an SM (2048 on sm_80/sm_90)
	maxDotBlocks   = 1024 // size of the dot-product partials in scratch
	warpRowMaxCols = 1024 // up to this many columns a warp owns a row
	argMaxThreads  = 1024 // the one block of argmax_matches (at most 1024)
	// scatterThreads is the thread count scatter_add aims for: each thread
	// reads every index, so more threads cost more reads, and fewer leave
	// the GPU idle.
	scatterThreads = 1 << 16
)

// gridFor returns the block count of a grid-stride kernel over n items,
// each block handling perBlock of them per sweep, capped at blocksPerSM
// blocks per multiprocessor.
func gridFor(n int, perBlock int, sms int) int {
	return max(1, min(ceilDiv(n, perBlock), blocksPerSM*max(sms, 1)))
}

// minBucket is the smallest allocation size class in bytes.
const minBucket = 512

// bucketBytes rounds an allocation of n bytes up to its size class: 512
// bytes, or above that the next of 2ᵉ, 1.25·2ᵉ, 1.5·2ᵉ, 1.75·2ᵉ (at most
// 25% waste). Buffers of one class are interchangeable in the free lists.
func bucketBytes(n int64) int64 {
	if n <= minBucket {
		return minBucket
	}
	e := bits.Len64(uint64(n-1)) - 1 // 2ᵉ < n ≤ 2ᵉ⁺¹
	step := int64(1) << (e - 2)
	return (n + step - 1) / step * step
}
