// gemm.cu: the SGEMM tiles that gemmPlan chooses among (device/cuda), one
// kernel per tile and transpose pair. The template is in gemm.cuh.
#include "gemm.cuh"

// 128 x 128 tiles, BK 8, 256 threads of 8 x 8 outputs: large products.
SGEMM(sgemm_nn_128, 128, 128, 8, 8, 8, false, false, 2)
SGEMM(sgemm_nt_128, 128, 128, 8, 8, 8, false, true, 2)
SGEMM(sgemm_tn_128, 128, 128, 8, 8, 8, true, false, 2)
SGEMM(sgemm_tt_128, 128, 128, 8, 8, 8, true, true, 2)

// 64 x 64 tiles, BK 16, 256 threads of 4 x 4 outputs: mid-sized products
// that would leave SMs idle with 128 x 128 tiles, and batches.
SGEMM_BATCHED(sgemm_nn_64, 64, 64, 16, 4, 4, false, false, 2)
SGEMM_BATCHED(sgemm_nt_64, 64, 64, 16, 4, 4, false, true, 2)
SGEMM_BATCHED(sgemm_tn_64, 64, 64, 16, 4, 4, true, false, 2)
SGEMM_BATCHED(sgemm_tt_64, 64, 64, 16, 4, 4, true, true, 2)

// 32 x 32 tiles, BK 16, 64 threads of 4 x 4 outputs: the small layers of
// small networks, and batches of small products (attention heads).
SGEMM_BATCHED(sgemm_nn_32, 32, 32, 16, 4, 4, false, false, 4)
SGEMM_BATCHED(sgemm_nt_32, 32, 32, 16, 4, 4, false, true, 4)
SGEMM_BATCHED(sgemm_tn_32, 32, 32, 16, 4, 4, true, false, 4)
SGEMM_BATCHED(sgemm_tt_32, 32, 32, 16, 4, 4, true, true, 4)
