//go:build !amd64 || purego

package gemm

const asmPack = false

func packInterleave4(dst, src *float32, ld, w, kb int) { panic("unreachable") }
func packInterleave2(dst, src *float32, ld, w, kb int) { panic("unreachable") }
func packCopy16(dst, src *float32, chunks, stride int) { panic("unreachable") }
func packCopy6(dst, src *float32, chunks, stride int)  { panic("unreachable") }
