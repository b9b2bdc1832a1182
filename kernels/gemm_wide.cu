// gemm_wide.cu: the SGEMM tile that only autotuning chooses (device/cuda
// tune.go), in a module of its own: the driver JIT-compiles a module's PTX
// whole when it first loads it, and these kernels are about half of all the
// SGEMM code. The template is in gemm.cuh.
#include "gemm.cuh"

// 128 x 256 tiles, BK 8, 256 threads of 8 x 16 outputs, one block per SM:
// a candidate for the largest products, where its higher share of FFMA
// in the k-loop may beat the 128 tile's occupancy. device/cuda picks it
// only when timing on the card says so (autotune).
SGEMM(sgemm_nn_128x256, 128, 256, 8, 8, 16, false, false, 1)
SGEMM(sgemm_nt_128x256, 128, 256, 8, 8, 16, false, true, 1)
SGEMM(sgemm_tn_128x256, 128, 256, 8, 8, 16, true, false, 1)
SGEMM(sgemm_tt_128x256, 128, 256, 8, 8, 16, true, true, 1)

// 256 x 128 tiles, BK 8, 256 threads of 16 x 8 outputs: the 128 x 256
// tile's transpose, whose shared A tile is the wider one; which of the two
// loads its operands better depends on the transposes.
SGEMM(sgemm_nn_256x128, 256, 128, 8, 16, 8, false, false, 1)
SGEMM(sgemm_nt_256x128, 256, 128, 8, 16, 8, false, true, 1)
SGEMM(sgemm_tn_256x128, 256, 128, 8, 16, 8, true, false, 1)
SGEMM(sgemm_tt_256x128, 256, 128, 8, 16, 8, true, true, 1)

// 128 x 128 tiles, BK 16: the 128 tile with half the __syncthreads and
// twice the loads in flight per k step, for the largest products (one
// block an SM: with two, ptxas spills the NT kernel).
SGEMM(sgemm_nn_128k16, 128, 128, 16, 8, 8, false, false, 1)
SGEMM(sgemm_nt_128k16, 128, 128, 16, 8, 8, false, true, 1)
SGEMM(sgemm_tn_128k16, 128, 128, 16, 8, 8, true, false, 1)
SGEMM(sgemm_tt_128k16, 128, 128, 16, 8, 8, true, true, 1)
