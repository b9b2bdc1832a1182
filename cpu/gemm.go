package cpu

import (
	"fmt"

	"github.com/adjoint-go/adjoint/cpu/gemm"
	"github.com/adjoint-go/adjoint/device"
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

// GemmStrided runs the batch's products one after another, each on the
// whole engine (its worker pool splits every product).
func (c *CPU) GemmStrided(transA, transB bool, batch, m, n, k int, alpha float64, a device.Buffer, lda, strideA int, b device.Buffer, ldb, strideB int, beta float64, cc device.Buffer, ldc, strideC int) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "GemmStrided"
	A, B := bufs2(name, a, b)
	C := mustBuf(cc, name)
	checkSame(name, A, C)
	checkNonNegative(name, batch, m, n, k, lda, ldb, ldc, strideA, strideB, strideC)
	if batch == 0 || m == 0 || n == 0 {
		return
	}
	checkStrided(name, "A", A, batch, strideA, transA, m, k, lda)
	checkStrided(name, "B", B, batch, strideB, transB, k, n, ldb)
	checkStrided(name, "C", C, batch, strideC, false, m, n, ldc)
	for i := 0; i < batch; i++ {
		oa, ob, oc := i*strideA, i*strideB, i*strideC
		if C.f64 != nil {
			c.gemm.Dgemm(transA, transB, m, n, k, alpha, A.f64[oa:], lda, B.f64[ob:], ldb, beta, C.f64[oc:], ldc)
		} else {
			c.gemm.Sgemm(transA, transB, m, n, k, float32(alpha), A.f32[oa:], lda, B.f32[ob:], ldb, float32(beta), C.f32[oc:], ldc)
		}
	}
}

// checkStrided panics, naming op, when the last of batch rows×cols
// operands (cols×rows stored when trans) stride apart does not fit b.
func checkStrided(op, name string, b *Buffer, batch, stride int, trans bool, rows, cols, ld int) {
	if trans {
		rows, cols = cols, rows
	}
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		panic(fmt.Sprintf("cpu: %s: %s is %d×%d stored with leading dimension %d < %d", op, name, rows, cols, ld, cols))
	}
	checkLen(op, name, b, (batch-1)*stride+(rows-1)*ld+cols)
}
