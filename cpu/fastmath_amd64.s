//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA float32 exp, tanh and sigmoid, eight lanes per step. The
// algorithms (and constants) are those of the scalar Go versions in
// fastmath.go; see the comment there.
//
// Operand order reminders (Go assembler): VSUBPS b, a, d is d = a-b;
// VDIVPS b, a, d is d = a/b; VFMADD213PS c, b, d is d = d*b+c;
// VFMADD231PS a, b, d is d = a*b+d; VFNMADD231PS a, b, d is d = d-a*b;
// VBLENDVPS m, y, x, d is d = sign(m) ? y : x; VCMPPS $1, b, a, d is
// d = a < b. VMINPS/VMAXPS return their first Go operand when either is
// NaN, so x goes first there and NaN propagates.

// Each constant is repeated eight times (32 bytes) for use as a memory
// operand.
#define FM_EXPHI fmconst<>+0(SB)
DATA fmconst<>+0(SB)/4, $0x42b20000
DATA fmconst<>+4(SB)/4, $0x42b20000
DATA fmconst<>+8(SB)/4, $0x42b20000
DATA fmconst<>+12(SB)/4, $0x42b20000
DATA fmconst<>+16(SB)/4, $0x42b20000
DATA fmconst<>+20(SB)/4, $0x42b20000
DATA fmconst<>+24(SB)/4, $0x42b20000
DATA fmconst<>+28(SB)/4, $0x42b20000
#define FM_EXPLO fmconst<>+32(SB)
DATA fmconst<>+32(SB)/4, $0xc2d00000
DATA fmconst<>+36(SB)/4, $0xc2d00000
DATA fmconst<>+40(SB)/4, $0xc2d00000
DATA fmconst<>+44(SB)/4, $0xc2d00000
DATA fmconst<>+48(SB)/4, $0xc2d00000
DATA fmconst<>+52(SB)/4, $0xc2d00000
DATA fmconst<>+56(SB)/4, $0xc2d00000
DATA fmconst<>+60(SB)/4, $0xc2d00000
#define FM_LOG2E fmconst<>+64(SB)
DATA fmconst<>+64(SB)/4, $0x3fb8aa3b
DATA fmconst<>+68(SB)/4, $0x3fb8aa3b
DATA fmconst<>+72(SB)/4, $0x3fb8aa3b
DATA fmconst<>+76(SB)/4, $0x3fb8aa3b
DATA fmconst<>+80(SB)/4, $0x3fb8aa3b
DATA fmconst<>+84(SB)/4, $0x3fb8aa3b
DATA fmconst<>+88(SB)/4, $0x3fb8aa3b
DATA fmconst<>+92(SB)/4, $0x3fb8aa3b
#define FM_MAGIC fmconst<>+96(SB)
DATA fmconst<>+96(SB)/4, $0x4b400000
DATA fmconst<>+100(SB)/4, $0x4b400000
DATA fmconst<>+104(SB)/4, $0x4b400000
DATA fmconst<>+108(SB)/4, $0x4b400000
DATA fmconst<>+112(SB)/4, $0x4b400000
DATA fmconst<>+116(SB)/4, $0x4b400000
DATA fmconst<>+120(SB)/4, $0x4b400000
DATA fmconst<>+124(SB)/4, $0x4b400000
#define FM_LN2HI fmconst<>+128(SB)
DATA fmconst<>+128(SB)/4, $0x3f318000
DATA fmconst<>+132(SB)/4, $0x3f318000
DATA fmconst<>+136(SB)/4, $0x3f318000
DATA fmconst<>+140(SB)/4, $0x3f318000
DATA fmconst<>+144(SB)/4, $0x3f318000
DATA fmconst<>+148(SB)/4, $0x3f318000
DATA fmconst<>+152(SB)/4, $0x3f318000
DATA fmconst<>+156(SB)/4, $0x3f318000
#define FM_LN2LO fmconst<>+160(SB)
DATA fmconst<>+160(SB)/4, $0xb95e8083
DATA fmconst<>+164(SB)/4, $0xb95e8083
DATA fmconst<>+168(SB)/4, $0xb95e8083
DATA fmconst<>+172(SB)/4, $0xb95e8083
DATA fmconst<>+176(SB)/4, $0xb95e8083
DATA fmconst<>+180(SB)/4, $0xb95e8083
DATA fmconst<>+184(SB)/4, $0xb95e8083
DATA fmconst<>+188(SB)/4, $0xb95e8083
#define FM_Q0 fmconst<>+192(SB)
DATA fmconst<>+192(SB)/4, $0x3f000000
DATA fmconst<>+196(SB)/4, $0x3f000000
DATA fmconst<>+200(SB)/4, $0x3f000000
DATA fmconst<>+204(SB)/4, $0x3f000000
DATA fmconst<>+208(SB)/4, $0x3f000000
DATA fmconst<>+212(SB)/4, $0x3f000000
DATA fmconst<>+216(SB)/4, $0x3f000000
DATA fmconst<>+220(SB)/4, $0x3f000000
#define FM_Q1 fmconst<>+224(SB)
DATA fmconst<>+224(SB)/4, $0x3e2aaa48
DATA fmconst<>+228(SB)/4, $0x3e2aaa48
DATA fmconst<>+232(SB)/4, $0x3e2aaa48
DATA fmconst<>+236(SB)/4, $0x3e2aaa48
DATA fmconst<>+240(SB)/4, $0x3e2aaa48
DATA fmconst<>+244(SB)/4, $0x3e2aaa48
DATA fmconst<>+248(SB)/4, $0x3e2aaa48
DATA fmconst<>+252(SB)/4, $0x3e2aaa48
#define FM_Q2 fmconst<>+256(SB)
DATA fmconst<>+256(SB)/4, $0x3d2aaa2f
DATA fmconst<>+260(SB)/4, $0x3d2aaa2f
DATA fmconst<>+264(SB)/4, $0x3d2aaa2f
DATA fmconst<>+268(SB)/4, $0x3d2aaa2f
DATA fmconst<>+272(SB)/4, $0x3d2aaa2f
DATA fmconst<>+276(SB)/4, $0x3d2aaa2f
DATA fmconst<>+280(SB)/4, $0x3d2aaa2f
DATA fmconst<>+284(SB)/4, $0x3d2aaa2f
#define FM_Q3 fmconst<>+288(SB)
DATA fmconst<>+288(SB)/4, $0x3c091da3
DATA fmconst<>+292(SB)/4, $0x3c091da3
DATA fmconst<>+296(SB)/4, $0x3c091da3
DATA fmconst<>+300(SB)/4, $0x3c091da3
DATA fmconst<>+304(SB)/4, $0x3c091da3
DATA fmconst<>+308(SB)/4, $0x3c091da3
DATA fmconst<>+312(SB)/4, $0x3c091da3
DATA fmconst<>+316(SB)/4, $0x3c091da3
#define FM_Q4 fmconst<>+320(SB)
DATA fmconst<>+320(SB)/4, $0x3ab6da0a
DATA fmconst<>+324(SB)/4, $0x3ab6da0a
DATA fmconst<>+328(SB)/4, $0x3ab6da0a
DATA fmconst<>+332(SB)/4, $0x3ab6da0a
DATA fmconst<>+336(SB)/4, $0x3ab6da0a
DATA fmconst<>+340(SB)/4, $0x3ab6da0a
DATA fmconst<>+344(SB)/4, $0x3ab6da0a
DATA fmconst<>+348(SB)/4, $0x3ab6da0a
#define FM_ONE fmconst<>+352(SB)
DATA fmconst<>+352(SB)/4, $0x3f800000
DATA fmconst<>+356(SB)/4, $0x3f800000
DATA fmconst<>+360(SB)/4, $0x3f800000
DATA fmconst<>+364(SB)/4, $0x3f800000
DATA fmconst<>+368(SB)/4, $0x3f800000
DATA fmconst<>+372(SB)/4, $0x3f800000
DATA fmconst<>+376(SB)/4, $0x3f800000
DATA fmconst<>+380(SB)/4, $0x3f800000
#define FM_TWO fmconst<>+384(SB)
DATA fmconst<>+384(SB)/4, $0x40000000
DATA fmconst<>+388(SB)/4, $0x40000000
DATA fmconst<>+392(SB)/4, $0x40000000
DATA fmconst<>+396(SB)/4, $0x40000000
DATA fmconst<>+400(SB)/4, $0x40000000
DATA fmconst<>+404(SB)/4, $0x40000000
DATA fmconst<>+408(SB)/4, $0x40000000
DATA fmconst<>+412(SB)/4, $0x40000000
#define FM_ABSMASK fmconst<>+416(SB)
DATA fmconst<>+416(SB)/4, $0x7fffffff
DATA fmconst<>+420(SB)/4, $0x7fffffff
DATA fmconst<>+424(SB)/4, $0x7fffffff
DATA fmconst<>+428(SB)/4, $0x7fffffff
DATA fmconst<>+432(SB)/4, $0x7fffffff
DATA fmconst<>+436(SB)/4, $0x7fffffff
DATA fmconst<>+440(SB)/4, $0x7fffffff
DATA fmconst<>+444(SB)/4, $0x7fffffff
#define FM_SIGNMASK fmconst<>+448(SB)
DATA fmconst<>+448(SB)/4, $0x80000000
DATA fmconst<>+452(SB)/4, $0x80000000
DATA fmconst<>+456(SB)/4, $0x80000000
DATA fmconst<>+460(SB)/4, $0x80000000
DATA fmconst<>+464(SB)/4, $0x80000000
DATA fmconst<>+468(SB)/4, $0x80000000
DATA fmconst<>+472(SB)/4, $0x80000000
DATA fmconst<>+476(SB)/4, $0x80000000
#define FM_TANHSMALL fmconst<>+480(SB)
DATA fmconst<>+480(SB)/4, $0x3f200000
DATA fmconst<>+484(SB)/4, $0x3f200000
DATA fmconst<>+488(SB)/4, $0x3f200000
DATA fmconst<>+492(SB)/4, $0x3f200000
DATA fmconst<>+496(SB)/4, $0x3f200000
DATA fmconst<>+500(SB)/4, $0x3f200000
DATA fmconst<>+504(SB)/4, $0x3f200000
DATA fmconst<>+508(SB)/4, $0x3f200000
#define FM_T0 fmconst<>+512(SB)
DATA fmconst<>+512(SB)/4, $0xbeaaaa9a
DATA fmconst<>+516(SB)/4, $0xbeaaaa9a
DATA fmconst<>+520(SB)/4, $0xbeaaaa9a
DATA fmconst<>+524(SB)/4, $0xbeaaaa9a
DATA fmconst<>+528(SB)/4, $0xbeaaaa9a
DATA fmconst<>+532(SB)/4, $0xbeaaaa9a
DATA fmconst<>+536(SB)/4, $0xbeaaaa9a
DATA fmconst<>+540(SB)/4, $0xbeaaaa9a
#define FM_T1 fmconst<>+544(SB)
DATA fmconst<>+544(SB)/4, $0x3e0883b4
DATA fmconst<>+548(SB)/4, $0x3e0883b4
DATA fmconst<>+552(SB)/4, $0x3e0883b4
DATA fmconst<>+556(SB)/4, $0x3e0883b4
DATA fmconst<>+560(SB)/4, $0x3e0883b4
DATA fmconst<>+564(SB)/4, $0x3e0883b4
DATA fmconst<>+568(SB)/4, $0x3e0883b4
DATA fmconst<>+572(SB)/4, $0x3e0883b4
#define FM_T2 fmconst<>+576(SB)
DATA fmconst<>+576(SB)/4, $0xbd5c2224
DATA fmconst<>+580(SB)/4, $0xbd5c2224
DATA fmconst<>+584(SB)/4, $0xbd5c2224
DATA fmconst<>+588(SB)/4, $0xbd5c2224
DATA fmconst<>+592(SB)/4, $0xbd5c2224
DATA fmconst<>+596(SB)/4, $0xbd5c2224
DATA fmconst<>+600(SB)/4, $0xbd5c2224
DATA fmconst<>+604(SB)/4, $0xbd5c2224
#define FM_T3 fmconst<>+608(SB)
DATA fmconst<>+608(SB)/4, $0x3ca92b6b
DATA fmconst<>+612(SB)/4, $0x3ca92b6b
DATA fmconst<>+616(SB)/4, $0x3ca92b6b
DATA fmconst<>+620(SB)/4, $0x3ca92b6b
DATA fmconst<>+624(SB)/4, $0x3ca92b6b
DATA fmconst<>+628(SB)/4, $0x3ca92b6b
DATA fmconst<>+632(SB)/4, $0x3ca92b6b
DATA fmconst<>+636(SB)/4, $0x3ca92b6b
#define FM_T4 fmconst<>+640(SB)
DATA fmconst<>+640(SB)/4, $0xbbbb560c
DATA fmconst<>+644(SB)/4, $0xbbbb560c
DATA fmconst<>+648(SB)/4, $0xbbbb560c
DATA fmconst<>+652(SB)/4, $0xbbbb560c
DATA fmconst<>+656(SB)/4, $0xbbbb560c
DATA fmconst<>+660(SB)/4, $0xbbbb560c
DATA fmconst<>+664(SB)/4, $0xbbbb560c
DATA fmconst<>+668(SB)/4, $0xbbbb560c
#define FM_BIAS fmconst<>+672(SB)
DATA fmconst<>+672(SB)/4, $0x0000007f
DATA fmconst<>+676(SB)/4, $0x0000007f
DATA fmconst<>+680(SB)/4, $0x0000007f
DATA fmconst<>+684(SB)/4, $0x0000007f
DATA fmconst<>+688(SB)/4, $0x0000007f
DATA fmconst<>+692(SB)/4, $0x0000007f
DATA fmconst<>+696(SB)/4, $0x0000007f
DATA fmconst<>+700(SB)/4, $0x0000007f
GLOBL fmconst<>(SB), RODATA|NOPTR, $704
// go: [('expHi', '89.0'), ('expLo', '-104.0'), ('log2e', '1.4426950216293335'), ('magic', '12582912.0'), ('ln2hi', '0.693359375'), ('ln2lo', '-0.00021219444170128554'), ('q0', '0.5'), ('q1', '0.1666651964187622'), ('q2', '0.04166620597243309'), ('q3', '0.008368882350623608'), ('q4', '0.0013950478751212358'), ('one', '1.0'), ('two', '2.0'), ('tanhSmall', '0.625'), ('t0', '-0.3333328366279602'), ('t1', '0.13331490755081177'), ('t2', '-0.05374349653720856'), ('t3', '0.020650586113333702'), ('t4', '-0.005717044696211815')]

// EXP8 sets Y0 = exp(Y0); clobbers Y1-Y5.
#define EXP8 \
	VMOVUPS      FM_EXPHI, Y1 \
	VMINPS       Y0, Y1, Y0 \
	VMOVUPS      FM_EXPLO, Y1 \
	VMAXPS       Y0, Y1, Y0 \
	VMOVUPS      FM_MAGIC, Y1 \
	VFMADD231PS  FM_LOG2E, Y0, Y1 \
	VSUBPS       FM_MAGIC, Y1, Y2 \
	VFNMADD231PS FM_LN2HI, Y2, Y0 \
	VFNMADD231PS FM_LN2LO, Y2, Y0 \
	VCVTTPS2DQ   Y2, Y3 \
	VMOVUPS      FM_Q4, Y4 \
	VFMADD213PS  FM_Q3, Y0, Y4 \
	VFMADD213PS  FM_Q2, Y0, Y4 \
	VFMADD213PS  FM_Q1, Y0, Y4 \
	VFMADD213PS  FM_Q0, Y0, Y4 \
	VMULPS       Y0, Y0, Y5 \
	VFMADD213PS  Y0, Y5, Y4 \
	VADDPS       FM_ONE, Y4, Y4 \
	VPSRAD       $1, Y3, Y5 \
	VPSUBD       Y5, Y3, Y3 \
	VPADDD       FM_BIAS, Y5, Y5 \
	VPADDD       FM_BIAS, Y3, Y3 \
	VPSLLD       $23, Y5, Y5 \
	VPSLLD       $23, Y3, Y3 \
	VMULPS       Y5, Y4, Y4 \
	VMULPS       Y3, Y4, Y0

// func expAVX2(dst, src *float32, n int)
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	TESTQ CX, CX
	JZ   expdone

exploop:
	VMOVUPS (SI), Y0
	EXP8
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  exploop

expdone:
	VZEROUPPER
	RET

// func tanhAVX2(dst, src *float32, n int)
TEXT ·tanhAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	TESTQ CX, CX
	JZ   tanhdone

tanhloop:
	VMOVUPS (SI), Y7           // x
	VANDPS  FM_ABSMASK, Y7, Y6 // a = |x|
	VADDPS  Y6, Y6, Y0         // 2a
	EXP8                       // e = exp(2a)
	VADDPS  FM_ONE, Y0, Y0     // e+1
	VMOVUPS FM_TWO, Y1
	VDIVPS  Y0, Y1, Y0         // 2/(e+1)
	VMOVUPS FM_ONE, Y1
	VSUBPS  Y0, Y1, Y0         // 1 - 2/(e+1)

	VMULPS      Y6, Y6, Y1     // u = a²
	VMOVUPS     FM_T4, Y2
	VFMADD213PS FM_T3, Y1, Y2
	VFMADD213PS FM_T2, Y1, Y2
	VFMADD213PS FM_T1, Y1, Y2
	VFMADD213PS FM_T0, Y1, Y2  // t(u)
	VMULPS      Y6, Y1, Y1     // a³
	VFMADD213PS Y6, Y1, Y2     // a + a³·t(u)

	VCMPPS    $1, FM_TANHSMALL, Y6, Y3 // a < 0.625 (false for NaN)
	VBLENDVPS Y3, Y2, Y0, Y0
	VANDPS    FM_SIGNMASK, Y7, Y1
	VORPS     Y1, Y0, Y0       // the sign of x
	VMOVUPS   Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  tanhloop

tanhdone:
	VZEROUPPER
	RET

// func sigmoidAVX2(dst, src *float32, n int)
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	TESTQ CX, CX
	JZ   sigdone

sigloop:
	VMOVUPS (SI), Y7          // x
	VORPS   FM_SIGNMASK, Y7, Y0 // -|x|
	EXP8                      // e = exp(-|x|)
	VADDPS  FM_ONE, Y0, Y1    // 1+e
	VMOVUPS FM_ONE, Y2
	VDIVPS  Y1, Y2, Y2        // r = 1/(1+e)
	VMULPS  Y2, Y0, Y0        // e·r
	VBLENDVPS Y7, Y0, Y2, Y0  // x < 0 (sign bit) ? e·r : r
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  sigloop

sigdone:
	VZEROUPPER
	RET

// func reluMaskAVX2(d, x, e *float32, n int): d = x > 0 ? e : 0 for n
// groups of eight (the ReLU adjoint, without a branch per element). The
// comparison is ordered: a NaN x gives 0, as the scalar x > 0 does.
TEXT ·reluMaskAVX2(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ e+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y0, Y0, Y0
	TESTQ CX, CX
	JZ   reludone

reluloop:
	VMOVUPS (SI), Y1
	VCMPPS  $0x1e, Y0, Y1, Y2 // x > 0 (GT_OQ): all ones, else zero
	VANDPS  (DX), Y2, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ  reluloop

reludone:
	VZEROUPPER
	RET
