package gemm

import "unsafe"

type float interface{ ~float32 | ~float64 }

// kernelFunc is a micro-kernel. It multiplies a packed mr×kc micro-panel
// of A (a) by a packed kc×nr micro-panel of B (b) and stores
// alpha*A·B + beta*C into the mr×nr tile at c (row stride ldc elements).
// beta == 0 must not read C.
type kernelFunc[T float] func(k int, a, b, c *T, ldc int, alpha, beta T)

// directKernelFunc is a micro-kernel that reads A unpacked from the
// caller's matrix (row stride or step stride lda elements) instead of a
// packed micro-panel; otherwise it is a kernelFunc.
type directKernelFunc[T float] func(k int, a *T, lda int, b, c *T, ldc int, alpha, beta T)

// setup holds the blocking parameters and micro-kernel for one precision.
type setup[T float] struct {
	kern kernelFunc[T]
	// kernRows and kernCols (optional, nil when absent) read A unpacked:
	// kernRows when op(A) = A (six rows, stride lda), kernCols when
	// op(A) = Aᵀ (six adjacent values per step, step stride lda).
	kernRows, kernCols directKernelFunc[T]
	mr, nr             int // register tile
	kc                 int // depth of a packed block (k)
	mc                 int // rows of the packed A block (multiple of mr)
	nc                 int // columns of the packed B block (multiple of nr)
	small              int // m*n*k at or below which the direct path is used
	ws                 []workspace[T]
}

// workspace is one thread's packing buffers. They only grow, so a call
// with the same shapes as an earlier one allocates nothing.
type workspace[T float] struct {
	a, b, tile []T
}

// problem is the argument list of one Sgemm/Dgemm call.
type problem[T float] struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
	// direct: the micro-kernel reads A in place (setup.kernRows/kernCols)
	// rather than from a packed copy; only partial micro-panels are packed.
	direct bool
}

// directMaxN is the largest n for which A is read in place rather than
// packed. Packing A costs about as much as the multiply-adds of a few
// dozen columns of C, and it pays back (contiguous, TLB-friendly reads of
// the A block from L2) only when the A block is reused across many B
// micro-panels.
var directMaxN, directMaxNCols = 1024, 256

// directChunks is the number of dynamically scheduled chunks per thread
// for a multi-threaded product with A read in place.
var directChunks = 4

// minWorkPerThread is the number of multiply-adds below which adding
// another thread does not pay for its wake-up and extra packing.
var minWorkPerThread = 1 << 20

// alignedSlice returns a zeroed slice of length n whose first element is
// 64-byte (cache line) aligned.
func alignedSlice[T float](n int) []T {
	var z T
	sz := int(unsafe.Sizeof(z))
	per := 64 / sz
	raw := make([]T, n+per)
	off := 0
	for uintptr(unsafe.Pointer(&raw[off]))%64 != 0 {
		off++
	}
	return raw[off : off+n : off+n]
}

func grow[T float](buf []T, n int) []T {
	if cap(buf) >= n {
		return buf[:n]
	}
	return alignedSlice[T](n)
}

// run executes p on the engine, splitting it over threads when large.
func run[T float](in *engine, p *problem[T], s *setup[T], f64 bool) {
	m, n, k := p.m, p.n, p.k
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || p.alpha == 0 {
		scaleC(p)
		return
	}
	work := m * n * k
	// A column times a scalar (k = n = 1, how a device-side scalar is
	// broadcast) is a scaled copy: packing it would cost more than the
	// multiply-adds. Wider rank-one products still pay for the kernels.
	if work <= s.small || k == 1 && n == 1 {
		smallGemm(p)
		return
	}
	p.direct = s.kernRows != nil && (n <= directMaxN && !p.transA || n <= directMaxNCols && p.transA)
	t := min(in.threads, max(1, work/minWorkPerThread))
	if t > 1 {
		// Large problems: a grid of about chunkSize² chunks of C, at least
		// two per thread, handed out dynamically.
		gm, gn := ceilDiv(m, chunkSize), ceilDiv(n, chunkSize)
		if gm*gn >= 2*t {
			// Any thread may get the largest chunk: size all buffers for it
			// now, so that warm calls never allocate.
			reserve(s, t, ceilDiv(ceilDiv(m, s.mr), gm)*s.mr, ceilDiv(ceilDiv(n, s.nr), gn)*s.nr, k)
			in.next.Store(0)
			dispatch(in, t, job{f64: f64, gm: gm, gn: gn})
			return
		}
	}
	if t > 1 && p.direct && directChunks > 1 {
		// Mid-sized products with A read in place: split C into a few
		// chunks per thread (along n where possible: chunks then share no
		// packing) handed out dynamically, so that a thread that starts
		// late or runs slower (a worker waking up, a busy core) simply
		// takes fewer.
		gm, gn := split(m, n, s.mr, s.nr, directChunks*t, true)
		if gm*gn > t {
			reserve(s, t, ceilDiv(ceilDiv(m, s.mr), gm)*s.mr, ceilDiv(ceilDiv(n, s.nr), gn)*s.nr, k)
			in.next.Store(0)
			dispatch(in, t, job{f64: f64, gm: gm, gn: gn})
			return
		}
	}
	tm, tn := split(m, n, s.mr, s.nr, t, p.direct)
	t = tm * tn
	reserve(s, t, ceilDiv(ceilDiv(m, s.mr), tm)*s.mr, ceilDiv(ceilDiv(n, s.nr), tn)*s.nr, k)
	if t == 1 {
		gemmPart(s, &s.ws[0], p, 0, m, 0, n)
		return
	}
	in.pending.Store(int32(t - 1))
	for tid := 1; tid < t; tid++ {
		m0, m1 := partRange(m, s.mr, tm, tid%tm)
		n0, n1 := partRange(n, s.nr, tn, tid/tm)
		in.post(&in.workers[tid-1], job{f64: f64, tid: tid, m0: m0, m1: m1, n0: n0, n1: n1})
	}
	m0, m1 := partRange(m, s.mr, tm, 0)
	n0, n1 := partRange(n, s.nr, tn, 0)
	gemmPart(s, &s.ws[0], p, m0, m1, n0, n1)
	in.join(t)
}

// chunkSize is the target side of a dynamically scheduled chunk of C. Each
// chunk packs its own A and B blocks, so the packing overhead relative to
// the multiply is about 2·packCost/chunkSize (a few percent). (A variable
// only so that tests can exercise the schedule on small shapes.)
var chunkSize = 512

// dispatch runs the same job (with tid set) on t threads, the caller's
// goroutine being thread 0, and waits for all of them.
func dispatch(in *engine, t int, j job) {
	in.pending.Store(int32(t - 1))
	for tid := 1; tid < t; tid++ {
		j.tid = tid
		in.post(&in.workers[tid-1], j)
	}
	j.tid = 0
	in.do(j)
	in.join(t)
}

// reserve makes the buffers of threads 0..t-1 large enough for blocks of
// at most mb×nb of C with depth k.
func reserve[T float](s *setup[T], t, mb, nb, k int) {
	kc := min(s.kc, k)
	na := min(s.mc, ceilDiv(mb, s.mr)*s.mr) * kc
	nbuf := min(s.nc, ceilDiv(nb, s.nr)*s.nr) * kc
	for i := range s.ws[:t] {
		ws := &s.ws[i]
		ws.a = grow(ws.a, na)
		ws.b = grow(ws.b, nbuf)
		ws.tile = grow(ws.tile, s.mr*s.nr)
	}
}

// split chooses a tm×tn grid of at most t threads over the m×n output that
// minimises the slowest thread's estimated cost: its share of the tiles
// plus the packing of its A and B blocks (each packed element is counted
// as packCost multiply-adds per unit of k). With direct, A is read in place
// and only B is packed, so splitting along n saves the most.
func split(m, n, mr, nr, t int, direct bool) (tm, tn int) {
	const packCost = 16
	pm, pn := ceilDiv(m, mr), ceilDiv(n, nr)
	best := -1
	tm, tn = 1, 1
	for tt := t; tt >= 1; tt-- {
		for a := 1; a <= tt; a++ {
			if tt%a != 0 {
				continue
			}
			b := tt / a
			if a > pm || b > pn {
				continue
			}
			rm := ceilDiv(pm, a) * mr
			rn := ceilDiv(pn, b) * nr
			cost := rm*rn + packCost*rn
			if !direct {
				cost += packCost * rm
			}
			if best < 0 || cost < best || (cost == best && a*b == tm*tn && a > tm) {
				best, tm, tn = cost, a, b
			}
		}
		if best >= 0 && tm*tn == tt {
			break
		}
	}
	return tm, tn
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// partRange returns part idx of [0,total) split into parts pieces whose
// boundaries are multiples of unit.
func partRange(total, unit, parts, idx int) (lo, hi int) {
	units := ceilDiv(total, unit)
	lo = min(total, units*idx/parts*unit)
	hi = min(total, units*(idx+1)/parts*unit)
	return lo, hi
}

// gemmPart computes the [m0,m1)×[n0,n1) block of C with the five-loop
// GotoBLAS/BLIS algorithm (see the package documentation).
func gemmPart[T float](s *setup[T], ws *workspace[T], p *problem[T], m0, m1, n0, n1 int) {
	if m0 >= m1 || n0 >= n1 {
		return
	}
	mr, nr, kc, mc, nc := s.mr, s.nr, s.kc, s.mc, s.nc
	k := p.k
	// The buffers were sized by reserve (grow is only a safety net).
	kcMax := min(kc, k)
	ws.a = grow(ws.a, min(mc, ceilDiv(m1-m0, mr)*mr)*kcMax)
	ws.b = grow(ws.b, min(nc, ceilDiv(n1-n0, nr)*nr)*kcMax)
	ws.tile = grow(ws.tile, mr*nr)
	kern := s.kern
	direct, dkern, lda := p.direct, s.kernRows, p.lda
	if p.transA {
		dkern = s.kernCols
	}
	c, ldc, alpha := p.c, p.ldc, p.alpha
	tile := ws.tile
	for jc := n0; jc < n1; jc += nc {
		nb := min(nc, n1-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			beta := p.beta
			if pc > 0 {
				beta = 1
			}
			pb := ws.b
			packB(pb, p.b, p.ldb, p.transB, pc, kb, jc, nb, nr)
			for ic := m0; ic < m1; ic += mc {
				mb := min(mc, m1-ic)
				pa := ws.a
				if !p.direct {
					packA(pa, p.a, p.lda, p.transA, ic, mb, pc, kb, mr)
				} else if full := mb / mr * mr; full < mb {
					// Only the partial last micro-panel is packed (with
					// zero rows); full ones are read in place.
					packA(pa[full*kb:], p.a, p.lda, p.transA, ic+full, mb-full, pc, kb, mr)
				}
				// Macro-kernel: B micro-panel (kb×nr) stays in L1 while
				// the A block (mb×kb) streams from L2.
				for jr := 0; jr < nb; jr += nr {
					cols := min(nr, nb-jr)
					bp := &pb[jr*kb]
					for ir := 0; ir < mb; ir += mr {
						rows := min(mr, mb-ir)
						off := (ic+ir)*ldc + jc + jr
						if direct && rows == mr {
							ap := &p.a[aoff(p, ic+ir, pc, mr, kb)]
							if cols == nr {
								dkern(kb, ap, lda, bp, &c[off], ldc, alpha, beta)
								continue
							}
							dkern(kb, ap, lda, bp, &tile[0], nr, 1, 0)
						} else {
							ap := &pa[ir*kb]
							if rows == mr && cols == nr {
								kern(kb, ap, bp, &c[off], ldc, alpha, beta)
								continue
							}
							// Edge tile: compute the full padded tile into
							// scratch, then merge the valid part into C.
							kern(kb, ap, bp, &tile[0], nr, 1, 0)
						}
						for r := 0; r < rows; r++ {
							cr := c[off+r*ldc : off+r*ldc+cols]
							tr := tile[r*nr : r*nr+cols]
							if beta == 0 {
								for j, v := range tr {
									cr[j] = alpha * v
								}
							} else {
								for j, v := range tr {
									cr[j] = alpha*v + beta*cr[j]
								}
							}
						}
					}
				}
			}
		}
	}
}

// aoff returns the index in p.a of op(A)[i, l], the start of the mr×kb
// micro-panel read in place by a direct kernel, after checking that the
// whole panel lies inside p.a (the assembly does not check bounds).
func aoff[T float](p *problem[T], i, l, mr, kb int) int {
	if p.transA {
		_ = p.a[(l+kb-1)*p.lda+i+mr-1]
		return l*p.lda + i
	}
	_ = p.a[(i+mr-1)*p.lda+l+kb-1]
	return i*p.lda + l
}

// packA packs the mb×kb block of op(A) at (i0, p0) into dst as
// ceil(mb/mr) micro-panels; micro-panel q holds rows q*mr.. and is stored
// k-major: dst[q*mr*kb + p*mr + r] = op(A)[i0+q*mr+r, p0+p]. Rows past mb
// are zero.
func packA[T float](dst, a []T, lda int, trans bool, i0, mb, p0, kb, mr int) {
	if trans {
		// A is k×m: row p of A holds op(A)[:, p] contiguously.
		packCopy(dst, a, p0*lda+i0, lda, mb, mr, kb)
		return
	}
	for ir := 0; ir < mb; ir += mr {
		rows := min(mr, mb-ir)
		// A is m×k: each row of the micro-panel is a row of A.
		packInterleave(dst[ir*kb:ir*kb+mr*kb], a, (i0+ir)*lda+p0, lda, rows, mr, kb)
	}
}

// packB packs the kb×nb block of op(B) at (p0, j0) into dst as
// ceil(nb/nr) micro-panels: dst[q*nr*kb + p*nr + j] = op(B)[p0+p, j0+q*nr+j].
// Columns past nb are zero.
func packB[T float](dst, b []T, ldb int, trans bool, p0, kb, j0, nb, nr int) {
	if !trans {
		// B is k×n: row p of B holds op(B)[p, :] contiguously.
		packCopy(dst, b, p0*ldb+j0, ldb, nb, nr, kb)
		return
	}
	for jr := 0; jr < nb; jr += nr {
		cols := min(nr, nb-jr)
		// B is n×k: row j of B holds op(B)[:, j] contiguously.
		packInterleave(dst[jr*kb:jr*kb+nr*kb], b, (j0+jr)*ldb+p0, ldb, cols, nr, kb)
	}
}

// packCopy packs rows whose panel-direction elements are contiguous in
// src: for every panel q (covering elements q*W.. of the w in total),
// d[q*W*kb + p*W + j] = src[off + p*ld + q*W + j], zero past w. It walks
// src row by row so reads are sequential (no page-strided access).
func packCopy[T float](d, src []T, off, ld, w, W, kb int) {
	full := w / W
	rem := w - full*W
	stride := W * kb
	asm := asmPack && is32[T]() && (W == 16 || W == 6) && full > 0
	for p := 0; p < kb; p++ {
		row := src[off+p*ld : off+p*ld+w]
		o := p * W
		switch {
		case asm:
			_ = d[o+(full-1)*stride+W-1] // bounds for the assembly
			if W == 16 {
				packCopy16(f32ptr(d, o), f32ptr(row, 0), full, stride)
			} else {
				packCopy6(f32ptr(d, o), f32ptr(row, 0), full, stride)
			}
		case W == 4:
			for q := 0; q < full; q++ {
				*(*[4]T)(d[o+q*stride:]) = *(*[4]T)(row[q*4:])
			}
		case W == 8:
			for q := 0; q < full; q++ {
				*(*[8]T)(d[o+q*stride:]) = *(*[8]T)(row[q*8:])
			}
		default:
			for q := 0; q < full; q++ {
				copy(d[o+q*stride:o+q*stride+W], row[q*W:q*W+W])
			}
		}
		if rem > 0 {
			dd := d[o+full*stride : o+full*stride+W]
			copy(dd, row[full*W:])
			clear(dd[rem:])
		}
	}
}

// is32 reports whether T is (based on) float32.
func is32[T float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}

// f32ptr returns &s[i] as a *float32; only valid when is32[T]().
func f32ptr[T float](s []T, i int) *float32 {
	return (*float32)(unsafe.Pointer(&s[i]))
}

// packInterleave sets d[p*W+r] = src[off+r*ld+p] for r < w, p < kb, and
// zero for w <= r < W.
func packInterleave[T float](d, src []T, off, ld, w, W, kb int) {
	d = d[:W*kb]
	r := 0
	if asmPack && is32[T]() && kb > 0 {
		for ; r+4 <= w; r += 4 {
			_ = src[off+(r+3)*ld+kb-1] // bounds for the assembly
			_ = d[(kb-1)*W+r+3]
			packInterleave4(f32ptr(d, r), f32ptr(src, off+r*ld), ld, W, kb)
		}
		if r+2 <= w {
			_ = src[off+(r+1)*ld+kb-1]
			_ = d[(kb-1)*W+r+1]
			packInterleave2(f32ptr(d, r), f32ptr(src, off+r*ld), ld, W, kb)
			r += 2
		}
	}
	for ; r+4 <= w; r += 4 {
		s0 := src[off+r*ld : off+r*ld+kb]
		s1 := src[off+(r+1)*ld : off+(r+1)*ld+kb]
		s2 := src[off+(r+2)*ld : off+(r+2)*ld+kb]
		s3 := src[off+(r+3)*ld : off+(r+3)*ld+kb]
		s1, s2, s3 = s1[:len(s0)], s2[:len(s0)], s3[:len(s0)]
		for p, v := range s0 {
			dd := d[p*W+r : p*W+r+4 : p*W+r+4]
			dd[0] = v
			dd[1] = s1[p]
			dd[2] = s2[p]
			dd[3] = s3[p]
		}
	}
	for ; r+2 <= w; r += 2 {
		s0 := src[off+r*ld : off+r*ld+kb]
		s1 := src[off+(r+1)*ld : off+(r+1)*ld+kb]
		s1 = s1[:len(s0)]
		for p, v := range s0 {
			dd := d[p*W+r : p*W+r+2 : p*W+r+2]
			dd[0] = v
			dd[1] = s1[p]
		}
	}
	if r < w {
		s0 := src[off+r*ld : off+r*ld+kb]
		for p, v := range s0 {
			d[p*W+r] = v
		}
		r++
	}
	if r < W {
		for p := 0; p < kb; p++ {
			clear(d[p*W+r : p*W+W])
		}
	}
}

// kernelGo4x4 is the portable micro-kernel (mr = nr = 4).
func kernelGo4x4[T float](k int, a, b, c *T, ldc int, alpha, beta T) {
	pa := unsafe.Slice(a, 4*k)
	pb := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03 T
	var c10, c11, c12, c13 T
	var c20, c21, c22, c23 T
	var c30, c31, c32, c33 T
	for p := 0; p < k; p++ {
		aa := (*[4]T)(pa[4*p:])
		bb := (*[4]T)(pb[4*p:])
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		a0 := aa[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := aa[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := aa[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := aa[3]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	storeRow4(cs[0:4:4], c00, c01, c02, c03, alpha, beta)
	storeRow4(cs[ldc:ldc+4:ldc+4], c10, c11, c12, c13, alpha, beta)
	storeRow4(cs[2*ldc:2*ldc+4:2*ldc+4], c20, c21, c22, c23, alpha, beta)
	storeRow4(cs[3*ldc:3*ldc+4:3*ldc+4], c30, c31, c32, c33, alpha, beta)
}

func storeRow4[T float](cr []T, x0, x1, x2, x3, alpha, beta T) {
	cr = cr[:4]
	if beta == 0 {
		cr[0], cr[1], cr[2], cr[3] = alpha*x0, alpha*x1, alpha*x2, alpha*x3
		return
	}
	cr[0] = alpha*x0 + beta*cr[0]
	cr[1] = alpha*x1 + beta*cr[1]
	cr[2] = alpha*x2 + beta*cr[2]
	cr[3] = alpha*x3 + beta*cr[3]
}

// scaleC sets C = beta*C (zeroing C when beta == 0).
func scaleC[T float](p *problem[T]) {
	beta := p.beta
	if beta == 1 {
		return
	}
	for i := 0; i < p.m; i++ {
		cr := p.c[i*p.ldc : i*p.ldc+p.n]
		if beta == 0 {
			clear(cr)
			continue
		}
		for j := range cr {
			cr[j] *= beta
		}
	}
}

// smallGemm is the direct path for tiny problems: no packing, no threads.
func smallGemm[T float](p *problem[T]) {
	m, n, k := p.m, p.n, p.k
	a, b, c := p.a, p.b, p.c
	lda, ldb, ldc := p.lda, p.ldb, p.ldc
	alpha, beta := p.alpha, p.beta
	if !p.transB {
		// C row i += sum_p alpha*op(A)[i,p] * B row p (axpy form).
		scaleC(p)
		for i := 0; i < m; i++ {
			cr := c[i*ldc : i*ldc+n]
			for l := 0; l < k; l++ {
				var av T
				if p.transA {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				av *= alpha
				br := b[l*ldb : l*ldb+n]
				br = br[:len(cr)]
				for j, bv := range br {
					cr[j] += av * bv
				}
			}
		}
		return
	}
	// B is n×k: C[i,j] = alpha*dot(op(A) row i, B row j) + beta*C[i,j].
	for i := 0; i < m; i++ {
		cr := c[i*ldc : i*ldc+n]
		for j := range cr {
			br := b[j*ldb : j*ldb+k]
			var sum T
			if p.transA {
				for l, bv := range br {
					sum += a[l*lda+i] * bv
				}
			} else {
				ar := a[i*lda : i*lda+k]
				ar = ar[:len(br)]
				for l, bv := range br {
					sum += ar[l] * bv
				}
			}
			if beta == 0 {
				cr[j] = alpha * sum
			} else {
				cr[j] = alpha*sum + beta*cr[j]
			}
		}
	}
}
