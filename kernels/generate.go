package kernels

// Regenerate the committed PTX from the CUDA sources with `go generate
// ./kernels` (needs nvcc; scripts/cuda/install-toolkit.sh installs the
// Debian toolkit, nvcc 11.8). The flags are fixed and carry no line or debug
// information, so the output depends only on the sources and the nvcc
// version; scripts/cuda/check-ptx.sh reruns exactly these lines and fails
// when the result differs from what is committed. Keep one nvcc line per
// .cu file, in the form check-ptx.sh expects.
//
// compute_80 PTX runs on every GPU from the A100 (sm_80) on; the driver
// JIT-compiles it for the card at module load (the H100 is sm_90).

//go:generate nvcc -ptx -arch=compute_80 -O3 -std=c++17 -o elementwise.ptx elementwise.cu
//go:generate nvcc -ptx -arch=compute_80 -O3 -std=c++17 -o gemm.ptx gemm.cu
//go:generate nvcc -ptx -arch=compute_80 -O3 -std=c++17 -o gemm_tc.ptx gemm_tc.cu
//go:generate nvcc -ptx -arch=compute_80 -O3 -std=c++17 -o gemm_wide.ptx gemm_wide.cu
//go:generate nvcc -ptx -arch=compute_80 -O3 -std=c++17 -o loss.ptx loss.cu
//go:generate nvcc -ptx -arch=compute_80 -O3 -std=c++17 -o optim.ptx optim.cu
//go:generate nvcc -ptx -arch=compute_80 -O3 -std=c++17 -o reduce.ptx reduce.cu
//go:generate nvcc -ptx -arch=compute_80 -O3 -std=c++17 -o softmax.ptx softmax.cu
