package cuda

import (
	"errors"
	"testing"
	"time"
)

// Pure-Go tests of the autotuning helpers (table.go); tune_test.go tests
// the tuning itself on a device.

func TestClassOf(t *testing.T) {
	for _, c := range []struct {
		m, n, k int
		want    gemmClass
	}{
		{1, 1, 1, gemmClass{m: 0, n: 0, k: 0}},
		{4096, 4096, 4096, gemmClass{m: 12, n: 12, k: 12}},
		{4097, 2049, 3000, gemmClass{m: 13, n: 12, k: 12}},
		{2048, 10, 4096, gemmClass{m: 11, n: 4, k: 12}},
	} {
		if got := classOf(false, false, c.m, c.n, c.k); got != c.want {
			t.Errorf("classOf(%d, %d, %d) = %+v, want %+v", c.m, c.n, c.k, got, c.want)
		}
	}
	if classOf(true, false, 64, 64, 64) == classOf(false, true, 64, 64, 64) {
		t.Error("classOf ignores the transposes")
	}
}

func TestTuneReps(t *testing.T) {
	for _, c := range []struct{ m, n, k, want int }{
		{4096, 4096, 4096, 1},     // 137 GFLOP: one launch is plenty
		{1024, 1024, 1024, 4},     // 2.1 GFLOP: 4 × = 8.6 GFLOP
		{1024, 1024, 512, 8},      // 1.07 GFLOP, the smallest tuned
		{256, 256, 256, 16},       // capped
		{8192, 8192, 8192, 1},     // never less than one
		{1 << 20, 1 << 20, 64, 1}, // float64 arithmetic: no overflow
	} {
		if got := tuneReps(c.m, c.n, c.k); got != c.want {
			t.Errorf("tuneReps(%d, %d, %d) = %d, want %d", c.m, c.n, c.k, got, c.want)
		}
	}
}

func TestFastest(t *testing.T) {
	times := map[int]time.Duration{0: 5 * time.Millisecond, 1: 3 * time.Millisecond, 2: 9 * time.Millisecond, 3: 3 * time.Millisecond}
	var measured []int
	measure := func(tile int) (time.Duration, error) {
		measured = append(measured, tile)
		return times[tile], nil
	}
	best, err := fastest([]int{0, 1, 2, 3}, measure)
	if err != nil || best != 1 {
		t.Errorf("fastest = %d, %v; want 1 (the first of the two fastest)", best, err)
	}
	if len(measured) != 4 {
		t.Errorf("measured %v, want every candidate once", measured)
	}
	boom := errors.New("boom")
	best, err = fastest([]int{0, 1}, func(tile int) (time.Duration, error) {
		if tile == 1 {
			return 0, boom
		}
		return time.Millisecond, nil
	})
	if !errors.Is(err, boom) || best != -1 {
		t.Errorf("fastest with a failing measurement = %d, %v; want -1, boom", best, err)
	}
	if best, err := fastest(nil, measure); best != -1 || err != nil {
		t.Errorf("fastest of nothing = %d, %v", best, err)
	}
}
