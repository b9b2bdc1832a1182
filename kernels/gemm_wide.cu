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
