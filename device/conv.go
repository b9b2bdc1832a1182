package device

import "fmt"

// ConvGeometry describes a 2-D convolution (PyTorch's conv2d with groups
// = 1) of a batch of N images of C channels and H×W pixels, stored NCHW:
//
//	x[n, c, h, w] at ((n·C + c)·H + h)·W + w
//
// by kernels of KH×KW pixels, with strides StrideH, StrideW, zero padding
// PadH, PadW on each side and dilations DilationH, DilationW. Output pixel
// (oh, ow) reads input pixel (oh·StrideH − PadH + kh·DilationH,
// ow·StrideW − PadW + kw·DilationW) under kernel tap (kh, kw).
type ConvGeometry struct {
	N, C, H, W           int
	KH, KW               int
	StrideH, StrideW     int
	PadH, PadW           int
	DilationH, DilationW int
}

// OutH is the output height ⌊(H + 2·PadH − DilationH·(KH−1) − 1)/StrideH⌋ + 1.
func (g ConvGeometry) OutH() int { return outSize(g.H, g.KH, g.StrideH, g.PadH, g.DilationH) }

// OutW is the output width, as OutH.
func (g ConvGeometry) OutW() int { return outSize(g.W, g.KW, g.StrideW, g.PadW, g.DilationW) }

func outSize(in, k, stride, pad, dil int) int {
	return (in+2*pad-dil*(k-1)-1)/stride + 1
}

// Patch is C·KH·KW, the length of one patch: a row of Im2Col's matrix and
// of a weight [O, C, KH, KW] flattened to O × Patch.
func (g ConvGeometry) Patch() int { return g.C * g.KH * g.KW }

// Pixels is N·OutH·OutW, the rows of Im2Col's matrix.
func (g ConvGeometry) Pixels() int { return g.N * g.OutH() * g.OutW() }

// Check returns an error when g is not a convolution: a negative batch,
// channel count or size, a kernel, stride or dilation below 1, a negative
// padding, or a (dilated) kernel larger than the padded image.
func (g ConvGeometry) Check() error {
	switch {
	case g.N < 0 || g.C < 0 || g.H < 0 || g.W < 0:
		return fmt.Errorf("convolution %+v: negative batch, channels or image size", g)
	case g.KH < 1 || g.KW < 1:
		return fmt.Errorf("convolution %+v: kernel %d×%d, want at least 1×1", g, g.KH, g.KW)
	case g.StrideH < 1 || g.StrideW < 1 || g.DilationH < 1 || g.DilationW < 1:
		return fmt.Errorf("convolution %+v: strides and dilations must be at least 1", g)
	case g.PadH < 0 || g.PadW < 0:
		return fmt.Errorf("convolution %+v: negative padding", g)
	case g.H+2*g.PadH < g.DilationH*(g.KH-1)+1 || g.W+2*g.PadW < g.DilationW*(g.KW-1)+1:
		return fmt.Errorf("convolution %+v: the kernel spans more than the padded %d×%d image", g, g.H+2*g.PadH, g.W+2*g.PadW)
	}
	return nil
}

// CheckPool is Check for a pooling window, with torch's rule that the
// padding is at most half the window (⌊KH/2⌋, ⌊KW/2⌋).
func (g ConvGeometry) CheckPool() error {
	if err := g.Check(); err != nil {
		return err
	}
	if g.PadH > g.KH/2 || g.PadW > g.KW/2 {
		return fmt.Errorf("pooling %+v: the padding is more than half the window", g)
	}
	return nil
}
