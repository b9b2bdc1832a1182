//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/device"
)

// TestConcurrentCallers drives one device from several goroutines at once,
// each on its own buffers and each locked to an OS thread of its own that
// ends with it, so that at least some of them call the driver from threads
// on which the context has never been current. Every driver call runs on
// its caller's thread, so it must make the context current there first
// (the stand-in driver of scripts/cuda/fakecuda refuses a call on a thread
// without one, as CUDA does), and the device's lock must keep the calls
// whole. Run with -race as well.
func TestConcurrentCallers(t *testing.T) {
	d := open(t)
	defer d.Close()
	const callers, rounds, n = 4, 25, 300
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Never unlocked: the thread exits with the goroutine, and
			// two locked goroutines never share a thread.
			runtime.LockOSThread()
			errs[c] = scaleRounds(d, float32(c+1), rounds, n)
		}()
	}
	wg.Wait()
	for c, err := range errs {
		assert.NoError(t, err, "caller %d", c)
	}
	require.NoError(t, d.Sync())
}

// scaleRounds uploads x = (0, 1, …) times base, doubles it rounds times on
// the device and checks the download each round.
func scaleRounds(d *Device, base float32, rounds, n int) error {
	x := make([]float32, n)
	for i := range x {
		x[i] = base * float32(i%7)
	}
	b, err := d.Alloc(device.Float32, n)
	if err != nil {
		return err
	}
	defer d.Free(b)
	if err := d.Upload32(b, x); err != nil {
		return err
	}
	got := make([]float32, n)
	for r := 1; r <= rounds; r++ {
		d.Scale(2, b, b)
		if r%5 != 0 {
			continue
		}
		if err := d.Download32(got, b); err != nil {
			return err
		}
		for i, v := range got {
			if want := x[i] * float32(uint64(1)<<r); v != want {
				return fmt.Errorf("round %d: x[%d] = %g, want %g", r, i, v, want)
			}
		}
	}
	return nil
}
