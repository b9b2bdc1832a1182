package cuda

import (
	"slices"
	"testing"

	"github.com/adjoint-go/adjoint/kernels"
)

// These tests are pure Go and run without a GPU (and without the cuda tag).

func TestKernelTableMatchesPTX(t *testing.T) {
	entries := map[string][]string{}
	for _, m := range kernels.Modules() {
		e, err := kernels.Entries(m)
		if err != nil {
			t.Fatal(err)
		}
		entries[m] = e
	}
	used := map[string]bool{}
	for id, ref := range kernelTable {
		if ref.name == "" {
			t.Errorf("kernel %d has no name", id)
			continue
		}
		if !slices.Contains(entries[ref.module], ref.name) {
			t.Errorf("kernel %s is not an entry of module %s (have %v)", ref.name, ref.module, entries[ref.module])
		}
		used[ref.module+"."+ref.name] = true
	}
	for m, es := range entries {
		for _, e := range es {
			if !used[m+"."+e] {
				t.Errorf("PTX entry %s.%s is not in the kernel table", m, e)
			}
		}
	}
}

func TestGemmKernelNames(t *testing.T) {
	if got := kernelTable[gemmKernel(0, false, true)].name; got != "sgemm_nt_128" {
		t.Errorf("gemmKernel(0, false, true) = %s", got)
	}
	if got := kernelTable[gemmKernel(2, true, false)].name; got != "sgemm_tn_32" {
		t.Errorf("gemmKernel(2, true, false) = %s", got)
	}
}

func TestGemmPlan(t *testing.T) {
	const sms = 132 // H100 SXM
	for _, c := range []struct{ m, n, tile int }{
		{4096, 4096, 0}, {2048, 2048, 0}, {1024, 1024, 1}, {256, 256, 2}, {64, 10, 2}, {1, 1, 2},
		{5_000_000, 1, 0}, // tall: 32-row tiles would exceed gridDim.y
	} {
		tile, gx, gy := gemmPlan(c.m, c.n, sms)
		if tile != c.tile {
			t.Errorf("gemmPlan(%d, %d) tile %d, want %d", c.m, c.n, tile, c.tile)
			continue
		}
		g := gemmTiles[tile]
		if gx*g.bn < c.n || gy*g.bm < c.m || gy > maxGridY {
			t.Errorf("gemmPlan(%d, %d) grid %d×%d of %d×%d tiles", c.m, c.n, gx, gy, g.bm, g.bn)
		}
	}
	if tile, _, _ := gemmPlan(128*maxGridY+1, 1, sms); tile != -1 {
		t.Errorf("gemmPlan of a too tall product: tile %d, want -1", tile)
	}
}

func TestBucketBytes(t *testing.T) {
	prev := int64(0)
	for n := int64(1); n < 1<<22; n = n*9/8 + 1 {
		b := bucketBytes(n)
		if b < n || b < prev {
			t.Fatalf("bucketBytes(%d) = %d (previous %d)", n, b, prev)
		}
		if n > minBucket && float64(b) > 1.25*float64(n) {
			t.Fatalf("bucketBytes(%d) = %d wastes more than 25%%", n, b)
		}
		if bucketBytes(b) != b {
			t.Fatalf("bucketBytes(%d) = %d is not a fixed point", b, bucketBytes(b))
		}
		prev = b
	}
	for _, c := range [][2]int64{{1, 512}, {512, 512}, {513, 640}, {1024, 1024}, {1025, 1280}, {4000, 4096}} {
		if got := bucketBytes(c[0]); got != c[1] {
			t.Errorf("bucketBytes(%d) = %d, want %d", c[0], got, c[1])
		}
	}
}
