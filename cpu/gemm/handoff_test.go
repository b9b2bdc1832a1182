package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestHandoff runs multi-threaded products with the spin bounds at zero and
// at their defaults, so that every path of the hand-off is taken: workers
// parked or polling, jobs taken back by the caller, the caller parking.
func TestHandoff(t *testing.T) {
	savedIdle, savedWait, savedMin := idleSpin, waitSpin, minWorkPerThread
	defer func() { idleSpin, waitSpin, minWorkPerThread = savedIdle, savedWait, savedMin }()
	minWorkPerThread = 1
	for _, spins := range [][2]time.Duration{{0, 0}, {0, savedWait}, {savedIdle, 0}, {savedIdle, savedWait}} {
		idleSpin, waitSpin = spins[0], spins[1]
		for _, threads := range []int{2, 3} {
			t.Run(fmt.Sprintf("idle=%v/wait=%v/threads=%d", spins[0], spins[1], threads), func(t *testing.T) {
				e, err := New(Auto, threads)
				if err != nil {
					t.Fatal(err)
				}
				defer e.Close()
				rng := rand.New(rand.NewPCG(9, uint64(threads)))
				for i := 0; i < 40; i++ {
					s := shape{20 + i%7*9, 30 + i%5*17, 10 + i%3*40}
					runCase(t, e, rng, i%2 == 0, i%3 == 0, s, strides{}, scalars{1, 0.5}, false, false)
					if i%8 == 0 {
						time.Sleep(50 * time.Microsecond) // let the workers park
					}
				}
			})
		}
	}
}

// BenchmarkSgemmAfterIdle measures a call that finds the workers parked
// (the engine sat idle for a millisecond), on one and two threads.
func BenchmarkSgemmAfterIdle(b *testing.B) {
	for _, threads := range []int{1, 2} {
		e, err := New(Auto, threads)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{128, 256} {
			b.Run(fmt.Sprintf("t=%d/NN/%d", threads, n), func(b *testing.B) {
				a := make([]float32, n*n)
				c := make([]float32, n*n)
				e.Sgemm(false, false, n, n, n, 1, a, n, a, n, 0, c, n)
				var busy time.Duration
				for b.Loop() {
					b.StopTimer()
					time.Sleep(time.Millisecond)
					b.StartTimer()
					t0 := time.Now()
					e.Sgemm(false, false, n, n, n, 1, a, n, a, n, 0, c, n)
					busy += time.Since(t0)
				}
				b.ReportMetric(float64(busy.Nanoseconds())/float64(b.N), "ns/call")
			})
		}
		e.Close()
	}
}
