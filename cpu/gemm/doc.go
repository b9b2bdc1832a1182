// Package gemm is a fast float32 (and float64) matrix multiply for row-major
// matrices, written in pure Go plus Go assembly micro-kernels (no cgo).
//
//	C = alpha*op(A)*op(B) + beta*C,  op(X) = X or Xᵀ
//
// # Algorithm
//
// The implementation follows GotoBLAS/BLIS. Five loops around a
// register-tiled micro-kernel block the computation for the cache
// hierarchy (sizes for the AVX2 kernel; MR×NR is the register tile):
//
//	for jc in n step NC (4080)           ← B block kc×NC lives in L3
//	  for pc in k step KC (256)
//	    pack op(B)[pc:pc+KC, jc:jc+NC] → B̃
//	    for ic in m step MC (144)         ← A block MC×KC lives in L2
//	      pack op(A)[ic:ic+MC, pc:pc+KC] → Ã
//	      for jr in NC step NR (16)       ← B micro-panel KC×NR lives in L1
//	        for ir in MC step MR (6)
//	          micro-kernel: C[ir:ir+MR, jr:jr+NR] (+)= Ã[ir] · B̃[jr]
//
// The micro-kernel keeps the whole MR×NR tile of C in vector registers for
// the KC iterations of its loop: each step loads one NR-wide row of the B
// micro-panel (two vectors), broadcasts MR elements of the A micro-panel
// and issues 2·MR fused multiply-adds. C is read (only when beta != 0) and
// written once per KC block; beta is applied on the first block and 1 is
// used for the following ones.
//
// Packing copies each block once into a contiguous, 64-byte aligned,
// engine-owned buffer laid out in exactly the order the micro-kernel reads
// it, so the kernel streams memory with unit stride and no TLB or cache
// conflicts. Packing reads A and B in whichever layout they are given
// (the transpose flags only select the packing routine; no transposed copy
// is ever materialised): a row-contiguous source is copied row by row, a
// column-contiguous source is interleaved several rows at a time.
//
// # Unpacked A
//
// Packing A costs about as much as the multiply-adds of a few dozen
// columns of C, which is a large share of a product with n ≤ 1024 (and
// most of one with n = 10). So for such products the AVX2 engine reads A in
// place (see directMaxN): sgemmKernel6x16RowsAVX2 broadcasts from six
// rows of A (op(A) = A, each row read sequentially) and
// sgemmKernel6x16ColsAVX2 from six adjacent values of a row of A per step
// (op(A) = Aᵀ, n ≤ 256 only: the strided walk loses to packing when the A
// block is reused by many B micro-panels). Only a partial last micro-panel
// (m not a multiple of 6) is packed. B is always packed.
//
// # Packed layouts
//
// Ã (an MC×KC block of op(A)) is cut into MR-row micro-panels and B̃ (a
// KC×NC block of op(B)) into NR-column micro-panels. Panels are stored one
// after the other; inside a panel the elements the kernel needs at step p
// are adjacent (MR = 6, NR = 16 shown; indices are within the block):
//
//	        op(A) block                          op(B) block
//	             KC                          NR    NR    NR
//	     ┌──────────────────┐            ┌─────┬─────┬─────┬──
//	  MR │ A-panel 0        │         KC │ B-  │ B-  │ B-  │ …
//	     ├──────────────────┤            │panel│panel│panel│
//	  MR │ A-panel 1        │            │  0  │  1  │  2  │
//	     ├──────────────────┤            └─────┴─────┴─────┴──
//	     ⋮                  ⋮
//
//	Ã memory: [ A-panel 0 | A-panel 1 | … ]   A-panel q at offset q·MR·KC
//	B̃ memory: [ B-panel 0 | B-panel 1 | … ]   B-panel q at offset q·KC·NR
//
//	A-panel q, k-major (column p of the panel is MR adjacent values):
//	  a[0,0] a[1,0] … a[5,0] │ a[0,1] a[1,1] … a[5,1] │ … │ a[0,KC-1] … a[5,KC-1]
//	  └──────── p = 0 ──────┘ └──────── p = 1 ───────┘     └──── p = KC-1 ─────┘
//
//	B-panel q, row-major (row p of the panel is NR adjacent values):
//	  b[0,0] b[0,1] … b[0,15] │ b[1,0] … b[1,15] │ … │ b[KC-1,0] … b[KC-1,15]
//	  └──────── p = 0 ───────┘ └──── p = 1 ─────┘     └───── p = KC-1 ─────┘
//
// Rows of the last A-panel past m, and columns of the last B-panel past n,
// are zero.
//
// So step p of the micro-kernel reads MR consecutive values of Ã and NR
// consecutive values of B̃, and both pointers simply advance.
//
// # Edge tiles
//
// Zero padding in the packed panels lets the kernel always compute a full
// MR×NR tile. When the tile sticks out of C (m or n not a multiple of the
// tile) the kernel writes into a per-thread scratch tile and only the valid
// part is merged into C, so elements of C outside the m×n matrix (stride
// padding) are never touched.
//
// # Kernels
//
//	Kernel   tile (MR×NR)   registers                 KC   MC   NC
//	AVX2     6×16 float32   12 YMM accumulators        256  144  4080
//	AVX512   14×32 float32  28 ZMM accumulators        256  168  4064
//	Generic  4×4            16 scalar accumulators     256  128  4096
//	(Dgemm)  6×8 float64    12 YMM (AVX2/AVX512 engines), else Generic
//
// The AVX-512 kernel is generated from the same template as the AVX2 one
// and is selected only when golang.org/x/sys/cpu reports AVX-512F.
//
// # Threads
//
// Each Engine owns a persistent pool of worker goroutines; the caller's
// goroutine is thread 0. A thread is added only for every 2²⁰
// multiply-adds. Large products are cut into a grid of about 512×512
// chunks of C (at least two per thread) that the threads claim with an
// atomic counter, so a thread slowed down by other load on the machine
// simply takes fewer chunks. Mid-sized products that read A in place are
// cut the same way into about four chunks per thread (along n where
// possible, so that chunks share no packing). Others are split statically
// into a tm×tn grid of blocks chosen to balance the tiles and minimise
// packing. Either way every block is independent: each thread packs its
// own blocks into its own buffers.
//
// The hand-off (handoff.go) avoids the tens of microseconds that waking a
// parked goroutine costs: an idle worker polls its mailbox (an atomic) for
// up to idleSpin (20 µs) before it parks, the caller takes back and runs
// any job a worker has not started by the time the caller has finished its
// own share, and then polls for completion for up to waitSpin (100 µs)
// before it parks. Tiny problems (m·n·k ≤ 256 with the assembly kernels)
// take a direct loop with no packing.
//
// # Allocation
//
// Packing buffers grow on demand and are kept by the Engine, jobs are
// posted by value into preallocated mailboxes, so after a warm-up call
// Sgemm and Dgemm allocate nothing.
package gemm
