// Package cuda is the NVIDIA GPU implementation of device.Device, built on
// the CUDA driver API through gorgonia.org/cu and the kernels of package
// kernels (CUDA C compiled to PTX, embedded, loaded on first use).
//
// # Building
//
// Everything that touches CUDA is behind the build tag cuda:
//
//	go build -tags cuda ./...
//
// needs cgo, cuda.h and libcuda.so (scripts/cuda/install-toolkit.sh installs
// Debian's toolkit). Importing this package in such a build registers the
// backend with device.Open under "cuda" ("cuda:1" for the second GPU).
// Without the tag the package is empty, nothing is registered, and
// device.Open("cuda") returns an error that says how to rebuild.
//
// gorgonia.org/cu calls cuInit in its package init and ends the process
// when that fails. cuinit.c defines cuInit in the executable, ahead of
// libcuda's: it asks the driver, keeps the answer, and lets cu's init go on.
// A binary built with -tags cuda therefore starts on any host that has
// libcuda.so.1 (the driver's library), GPU or not, trains on the CPU, and
// device.Open("cuda") returns an error wrapping device.ErrUnavailable that
// names the driver's answer ("cuInit returned CUDA_ERROR_NO_DEVICE (100)").
//
// # Testing without a GPU: -tags cudaemu, and the stand-in driver
//
// The device reaches the driver through a narrow interface (driver.go):
// driver_cu.go is gorgonia.org/cu, and driver_emu.go, built with
//
//	go test -tags cudaemu ./device/cuda/    (make cuda-emu; needs g++, C++20)
//
// is an emulated GPU: emu_bridge.cpp compiles the same kernels/*.cu for the
// CPU with scripts/cuda/emu/cuda_emu.h (every CUDA thread a host thread,
// blocks in turn, shuffles and __syncthreads as host barriers), device
// memory is bounds-checked host memory, and launches run to completion
// before they return. Everything above the interface (the call path, launch
// geometry, the allocator, the loss status word, the conformance suite, a
// training step against the CPU, `adjoint train --device cuda`) then runs
// exactly as on a GPU, only slower. emu_bridge.cpp includes kernels/*.cu
// from outside this package, which Go's build cache does not watch; it
// does watch the embedded PTX, and `make cuda-emu` puts a hash of the
// kernel sources into CGO_CXXFLAGS, so after editing a .cu file either run
// `make kernels` or test through `make cuda-emu`: a bare `go test -tags
// cudaemu` may otherwise reuse a build of the old kernel.
//
// The cuda build itself is tested the same way below the driver API:
// scripts/cuda/fakecuda builds a stand-in libcuda.so.1 from the same
// emulated kernels, and
//
//	make cuda-fake      (LD_LIBRARY_PATH=.fakecuda go test -tags cuda ...)
//
// runs this package's tests, driver_cu.go and gorgonia.org/cu included, on
// it. The stand-in checks what a driver checks (cuInit first, a current
// context on the calling thread, copies inside live allocations, the
// kernel names and parameter widths of the loaded PTX, launch limits), and
// with FAKECUDA_DEVICES=0 it is a host without a GPU. `make gpu-dry-run`
// runs the GPU bundle's script on it. Both emulations test logic, not
// speed, and not the GPU's memory model.
//
// # Threads, streams, launches
//
// A CUDA context is current per OS thread, and a goroutine may move between
// threads. Every driver call therefore runs under the device's mutex, on
// the calling goroutine with its OS thread locked (runtime.LockOSThread)
// and the device's primary context made current on it for the duration;
// callers never lock threads themselves. Compute methods (Gemm, Unary,
// Loss, ...) validate their arguments, panicking on shape misuse like
// package cpu, then launch the kernel and return without waiting for it.
// Upload, Download, Sync, Dot and Alloc on a cache miss wait for the
// device: a round trip. An earlier design ran every driver call on one
// locked device thread fed through a channel; each call then cost a
// wake-up of another thread, and a small training step spent about
// 200 µs of host time in them, against about 14 µs once the calls ran on
// the caller's goroutine. A launch is also one cgo call (driver_cu.go's
// adjoint_launch, where gorgonia.org/cu's Function.Launch makes five,
// allocating and freeing two argument arrays around cuLaunchKernel): with
// the loss's fewer launches the digits step now takes about 7 µs of host
// time, 10 µs with cu's launch (BenchmarkTrainingStep on the stand-in
// driver with FAKECUDA_NULL=1, which runs no kernels, medians of 8 runs
// side by side).
// All work goes to the context's default stream, so it runs in call order.
// Device.Stats counts launches, round trips and driver allocations: a
// 64-128-10 training step with Adam makes 14 launches and 3 round trips
// (two uploads, the loss download), which TestStepCounts keeps in check.
// The loss costs two of them: its kernel writes ε already scaled by the
// mean's 1/K, and sum_cols scales the sum into the mean; Backward then
// neither writes the unit seed nor scales ε (the prediction adopts it as
// its gradient, package loss).
// The optimizer's share is one launch: SGDTensors and AdamTensors update
// every parameter tensor of a step in one kernel, reading the tensors from
// a table in device memory that is uploaded once per list of buffers and
// cached (multi.go); package optim uses them when the device has them.
//
// # Kernel modules
//
// The kernels come in modules, one per kernels/*.cu source, loaded into the
// context on the first use of one of their kernels. Loading a module makes
// the driver JIT-compile its PTX for the card: seconds for each SGEMM
// module the first time on a machine, milliseconds afterwards, when the
// driver finds the result in its compute cache (~/.nv/ComputeCache, or
// $CUDA_CACHE_PATH). Preload loads every module at once, for a program that
// would rather pay that at start-up than in its first step;
// Stats().LoadTime says how long loading took. A module the card's JIT
// compiler rejects fails with the compiler's own messages in the error
// ("loading module gemm: InvalidPtx; the driver's JIT compiler says:
// ptxas application ptx input, line …"), not only the driver's code.
//
// # SGEMM tiles and autotuning
//
// A product taller than one launch's grid covers (gridDim.y ≤ 65535 row
// blocks: 8,388,480 rows) runs as row slices, with the same bits.
//
// Gemm runs one of four block tiles of kernels/gemm.cuh (128×128, 64×64,
// 32×32, 128×256; see package kernels for their shapes and k-loops). A
// product of at least 2³⁰ flops is autotuned: the first product of its
// size class (the transposes and ⌈log₂⌉ of m, n and k) times every tile
// on the card, and the class keeps the fastest for the life of the Device.
// Each tile runs once before any is timed (a module's first load, its JIT
// compilation, must not count against one tile), then twice a warm-up and
// at most 16 launches between two synchronisations; its better round
// counts. That costs those launches once per class, and adapts the choice
// to the card in hand (an H100, an A100 and a laptop GPU differ in SMs,
// registers and clocks) instead of thresholds guessed for one of them. A
// smaller product takes gemmPlan's untimed choice (the largest tile that
// still gives every SM a block). Every tile accumulates each output in the
// same order, so the choice never changes a result: a product gives the
// same bits however it was tuned. SetGemmAutotune(false) turns the timing
// off. The timing runs of a product with β ≠ 0 write to a scratch matrix,
// not to C.
//
// Split-k: a product whose C has fewer blocks of the smallest tile than
// the GPU has SMs, with k of at least 512 and a contiguous C, is cut along
// k instead (a convolution's weight gradient Eᵀ X̃: C is out × in·kh·kw,
// k = K·H·W, 131,072 for CIFAR's first layer at K = 128, which as one
// launch kept a few SMs walking all of k: 7.7× PyTorch's step time on an
// H100, 0.99× with split-k; 0.42× to 0.52× on an H200 with the two-pass
// SumRows below and the retuning that followed, PyTorch's own time
// varying between runs). A power-of-two number of chunks
// aims at eight blocks per SM, the chunks no shorter than 256; the chunks'
// products are one batched launch of the smallest tile (splitKTile) into a
// scratch, and SumRows adds them in double, in order, into C. Both were
// timed on an H200 (BenchmarkSplitK): the 32 tile beat the 64 tile on
// every such product, by 2.2× on that weight gradient, and twice the
// first guess's four blocks per SM gained 1.1× to 1.4×. Such a
// product sums in another order than the tiles do, so its bits differ
// from the unsplit product's; the choice depends only on the shape and
// the SM count, so a given card always makes the same one.
//
//	C (m×n) = Σ_s op(A)[:, s] op(B)[s, :]      s = chunk of k
//	scratch  [parts][m][n]  ──SumRows──▶  C
//
// The same shape of problem in a reduction, a SumRows of a few long
// columns (a convolution's bias gradient, K·H·W rows of C channels),
// takes two passes: blocks of rows into double partial sums, then each
// column's partials in order.
//
// SetProfiling(true) waits for the device before and after every launch
// and charges each kernel its time; Profile lists the kernels by time.
// BenchmarkSplitKSteps logs the profile of the bench's CIFAR and wide-MLP
// steps, which is how the two cases above were found.
//
// AllowTF32x3(true) adds a fifth candidate to the timing: the tensor-core
// kernel of kernels/gemm_tc.cu, which splits each float32 operand into two
// TF32 numbers and sums three TF32 products in float32 (3xTF32). Its
// error is of the order of FP32's (each product within about 2.5·2⁻²¹ of
// exact before the float32 sum, and each 16 of k's partial sum added in
// float32, so that long sums do not inherit the tensor core's truncation:
// kernels/doc.go), but its bits are its own, and an infinite operand gives
// NaN products where FP32 gives ±inf. It is off by default, as PyTorch's
// allow_tf32; `adjoint bench --tf32x3` measures it. On an H200 it ran large
// products 1.3 to 1.4 times as fast as the FP32 tiles and the wide-MLP
// training step (4096-4096-4096-10, K = 4096) in 0.76 of PyTorch's FP32
// time, against 1.06 on the FP32 tiles (BENCHMARKS.md).
//
// # Memory
//
// Buffers are float32 only: Alloc(device.Float64, n) fails, which tells
// device/devicetest to skip the float64 checks. Free hands a buffer to a
// caching allocator with per-size free lists (sizes rounded up to buckets at
// most 25% apart), so a training step that frees what it allocated calls
// cuMemAlloc only on its first pass. When cuMemAlloc runs out of memory the
// cache is released and the allocation retried once; if that fails too,
// Alloc returns an error wrapping device.ErrOutOfMemory and the device
// stays usable (the error is not recorded as the device's first failure). Close frees all
// device memory. Reusing a freed buffer while earlier kernels may still read
// it is safe because all work is ordered on one stream.
//
// # Errors
//
// Driver failures (out of memory, a failed launch, a kernel fault reported
// at the next synchronisation) are recorded as the device's first error,
// with context ("cuda: launch gemm_nt_128: ..."), and returned by Err, Sync,
// Download and Dot; the device never panics or exits on them. Because
// launches are asynchronous, an error that happens on the GPU is seen at the
// next synchronising call. The softmax-cross-entropy-index loss flags class
// indices outside [0, cols) in a device word: that row's loss is NaN and
// its ε 0, and the next synchronising call returns an error naming the
// row, wrapping device.ErrInvalidInput. That failure is the data's, not
// the device's: it is returned until ClearInputErr (Tape.Reset), and the
// device goes on.
package cuda
