//go:build amd64 && !purego

package gemm

// Assembly packing helpers (pack_amd64.s); SSE only, callers check bounds.

const asmPack = true

//go:noescape
func packInterleave4(dst, src *float32, ld, w, kb int)

//go:noescape
func packInterleave2(dst, src *float32, ld, w, kb int)

//go:noescape
func packCopy16(dst, src *float32, chunks, stride int)

//go:noescape
func packCopy6(dst, src *float32, chunks, stride int)
