//go:build amd64 && !purego

#include "textflag.h"

// Packing helpers for float32 (SSE only, so usable with every kernel).
// The Go callers check all bounds before calling.

// func packInterleave4(dst, src *float32, ld, w, kb int)
//
// Interleaves 4 rows of src (row stride ld elements) into dst with row
// stride w: dst[p*w+r] = src[r*ld+p] for r < 4, p < kb. Four columns at a
// time go through a 4×4 register transpose.
TEXT ·packInterleave4(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8          // ld in bytes
	MOVQ w+24(FP), R9
	SHLQ $2, R9          // w in bytes
	MOVQ kb+32(FP), CX
	LEAQ (R8)(R8*2), R10 // 3*ld
	LEAQ (R9)(R9*2), R11 // 3*w
	MOVQ CX, DX
	SHRQ $2, DX
	ANDQ $3, CX
	TESTQ DX, DX
	JZ   i4tail

i4loop:
	MOVUPS (SI), X0        // r0: p0 p1 p2 p3
	MOVUPS (SI)(R8*1), X1  // r1
	MOVUPS (SI)(R8*2), X2  // r2
	MOVUPS (SI)(R10*1), X3 // r3
	MOVAPS X0, X4
	UNPCKLPS X1, X4        // r0p0 r1p0 r0p1 r1p1
	UNPCKHPS X1, X0        // r0p2 r1p2 r0p3 r1p3
	MOVAPS X2, X5
	UNPCKLPS X3, X5        // r2p0 r3p0 r2p1 r3p1
	UNPCKHPS X3, X2        // r2p2 r3p2 r2p3 r3p3
	MOVAPS X4, X6
	UNPCKLPD X5, X6        // p0: r0 r1 r2 r3
	UNPCKHPD X5, X4        // p1
	MOVAPS X0, X7
	UNPCKLPD X2, X7        // p2
	UNPCKHPD X2, X0        // p3
	MOVUPS X6, (DI)
	MOVUPS X4, (DI)(R9*1)
	MOVUPS X7, (DI)(R9*2)
	MOVUPS X0, (DI)(R11*1)
	ADDQ $16, SI
	LEAQ (DI)(R9*4), DI
	DECQ DX
	JNZ  i4loop

i4tail:
	TESTQ CX, CX
	JZ    i4done

i4loop1:
	MOVSS (SI), X0
	MOVSS (SI)(R8*1), X1
	MOVSS (SI)(R8*2), X2
	MOVSS (SI)(R10*1), X3
	MOVSS X0, (DI)
	MOVSS X1, 4(DI)
	MOVSS X2, 8(DI)
	MOVSS X3, 12(DI)
	ADDQ $4, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  i4loop1

i4done:
	RET

// func packInterleave2(dst, src *float32, ld, w, kb int)
//
// Like packInterleave4 for 2 rows: dst[p*w+r] = src[r*ld+p], r < 2.
TEXT ·packInterleave2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	MOVQ w+24(FP), R9
	SHLQ $2, R9
	MOVQ kb+32(FP), CX
	LEAQ (R9)(R9*2), R11 // 3*w
	MOVQ CX, DX
	SHRQ $2, DX
	ANDQ $3, CX
	TESTQ DX, DX
	JZ   i2tail

i2loop:
	MOVUPS (SI), X0       // r0: p0 p1 p2 p3
	MOVUPS (SI)(R8*1), X1 // r1
	MOVAPS X0, X2
	UNPCKLPS X1, X2       // r0p0 r1p0 r0p1 r1p1
	UNPCKHPS X1, X0       // r0p2 r1p2 r0p3 r1p3
	MOVLPS X2, (DI)
	MOVHPS X2, (DI)(R9*1)
	MOVLPS X0, (DI)(R9*2)
	MOVHPS X0, (DI)(R11*1)
	ADDQ $16, SI
	LEAQ (DI)(R9*4), DI
	DECQ DX
	JNZ  i2loop

i2tail:
	TESTQ CX, CX
	JZ    i2done

i2loop1:
	MOVSS (SI), X0
	MOVSS (SI)(R8*1), X1
	MOVSS X0, (DI)
	MOVSS X1, 4(DI)
	ADDQ $4, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  i2loop1

i2done:
	RET

// func packCopy16(dst, src *float32, chunks, stride int)
//
// Copies chunks consecutive groups of 16 elements of src to dst, group q
// going to dst[q*stride:]: dst[q*stride+j] = src[q*16+j], j < 16.
TEXT ·packCopy16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ chunks+16(FP), CX
	MOVQ stride+24(FP), R8
	SHLQ $2, R8
	TESTQ CX, CX
	JZ    c16done

c16loop:
	MOVUPS (SI), X0
	MOVUPS 16(SI), X1
	MOVUPS 32(SI), X2
	MOVUPS 48(SI), X3
	MOVUPS X0, (DI)
	MOVUPS X1, 16(DI)
	MOVUPS X2, 32(DI)
	MOVUPS X3, 48(DI)
	ADDQ $64, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  c16loop

c16done:
	RET

// func packCopy6(dst, src *float32, chunks, stride int)
//
// packCopy16 for groups of 6 elements.
TEXT ·packCopy6(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ chunks+16(FP), CX
	MOVQ stride+24(FP), R8
	SHLQ $2, R8
	TESTQ CX, CX
	JZ    c6done

c6loop:
	MOVUPS (SI), X0
	MOVSD  16(SI), X1
	MOVUPS X0, (DI)
	MOVSD  X1, 16(DI)
	ADDQ $24, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  c6loop

c6done:
	RET
