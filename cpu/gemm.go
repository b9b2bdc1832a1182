package cpu

import (
	"github.com/adjoint-go/adjoint/cpu/gemm"
)

// gemmer is the matrix product engine the CPU device delegates to; the
// gemm package's Engine (packing, cache blocking, assembly micro-kernels,
// a worker pool over the cores) is the one implementation.
type gemmer interface {
	Kernel() gemm.Kernel
	Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int)
}

var _ gemmer = (*gemm.Engine)(nil)

func newGemmer(kernel string, threads int) (gemmer, error) {
	k, err := gemm.ParseKernel(kernel)
	if err != nil {
		return nil, err
	}
	e, err := gemm.New(k, threads)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return e, nil
}
