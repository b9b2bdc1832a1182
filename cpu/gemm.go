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
// whole engine (its worker pool splits every product), except a float32
// batch of products too small for the engine to split (below
// gemm.MinParallelWork): those run side by side, the batch split over the
// pool's workers, each with an engine of its own. Every product is then
// computed by one thread either way, in the same order, so the bits are
// the same. The products' C blocks must not overlap (device.Device); a
// batch whose blocks do runs one product after another.
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
	if C.f32 != nil && batch > 1 && c.par.threads > 1 && m*n*k < gemm.MinParallelWork() && device.DisjointBlocks(batch, m, n, ldc, strideC) {
		c.gemmBatch(transA, transB, batch, m, n, k, float32(alpha), A.f32, lda, strideA, B.f32, ldb, strideB, float32(beta), C.f32, ldc, strideC)
		return
	}
	for i := 0; i < batch; i++ {
		oa, ob, oc := i*strideA, i*strideB, i*strideC
		if C.f64 != nil {
			c.gemm.Dgemm(transA, transB, m, n, k, alpha, A.f64[oa:], lda, B.f64[ob:], ldb, beta, C.f64[oc:], ldc)
		} else {
			c.gemm.Sgemm(transA, transB, m, n, k, float32(alpha), A.f32[oa:], lda, B.f32[ob:], ldb, float32(beta), C.f32[oc:], ldc)
		}
	}
}

// gemmBatch splits a float32 batch of small products over the pool's
// slots, each with its own single-threaded engine.
func (c *CPU) gemmBatch(transA, transB bool, batch, m, n, k int, alpha float32, a []float32, lda, strideA int, b []float32, ldb, strideB int, beta float32, cc []float32, ldc, strideC int) {
	if c.serial == nil {
		c.serial = make([]gemmer, c.par.threads)
		for i := range c.serial {
			e, err := gemm.New(c.gemm.Kernel(), 1)
			if err != nil { // the main engine runs this kernel: cannot happen
				panic(fmt.Sprintf("cpu: GemmStrided: a single-threaded engine: %v", err))
			}
			c.serial[i] = e
		}
	}
	c.par.a = args{gs: stridedArgs{engines: c.serial, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: cc, lda: lda, ldb: ldb, ldc: ldc, strideA: strideA, strideB: strideB, strC: strideC}}
	c.par.run(taskGemmStrided, batch, max(1, m*n*k))
	c.par.a = args{} // drop the references to the caller's buffers
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
