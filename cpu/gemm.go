package cpu

import "fmt"

// gemmer is the matrix product engine the CPU device delegates to.
type gemmer interface {
	name() string
	sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int)
}

func newGemmer(kernel string, threads int) (gemmer, error) {
	switch kernel {
	case "auto", "generic", "":
		return naiveGemm{}, nil
	}
	return nil, fmt.Errorf("unknown GEMM kernel %q", kernel)
}

// naiveGemm is the reference triple loop.
type naiveGemm struct{}

func (naiveGemm) name() string { return "naive" }

func (naiveGemm) sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	naive(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func (naiveGemm) dgemm(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	naive(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func naive[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s T
			for p := 0; p < k; p++ {
				var av, bv T
				if tA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if tB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
