package gemm

import (
	"fmt"
	"testing"
)

func BenchmarkTmp(b *testing.B) {
	minWorkPerThread = 1
	defer func() { minWorkPerThread = 1 << 20 }()
	for _, th := range []int{1, 2} {
		e, _ := New(AVX2, th)
		for _, s := range [][3]int{{64, 128, 64}, {64, 10, 128}, {96, 96, 96}, {128, 128, 128}, {192, 192, 192}, {256, 256, 256}} {
			b.Run(fmt.Sprintf("t%d/%dx%dx%d", th, s[0], s[1], s[2]), func(b *testing.B) { benchSgemm(b, e, false, false, s[0], s[1], s[2]) })
		}
	}
}
