//go:build cuda

package cuda

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/cu"
)

// TestJITErrorLog loads a PTX image the driver's JIT compiler rejects (it
// lacks the .target directive): the error must name the module and carry
// the compiler's own message, not only the driver's code, so that a
// module a card cannot compile says where and why. The stand-in driver
// of scripts/cuda/fakecuda writes its parser's message into the same log.
func TestJITErrorLog(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	drv := newDriver().(*cuDriver)
	if _, _, err := drv.open(0); err != nil {
		t.Fatalf("open: %v", err)
	}
	defer func() { require.NoError(t, drv.release()) }()

	_, err := loadPTX("broken", ".version 7.8\n.address_size 64\n.visible .entry broken()\n{\n\tret;\n}\n")
	require.Error(t, err, "a PTX image without .target loaded")
	t.Logf("%v", err)
	assert.True(t, errors.Is(err, cu.InvalidPtx) || errors.Is(err, cu.InvalidImage), "want InvalidPtx or InvalidImage: %v", err)
	assert.Contains(t, err.Error(), "loading module broken: ")
	assert.Contains(t, err.Error(), "the driver's JIT compiler says: ")
	assert.Contains(t, err.Error(), ".target", "the JIT's log is not in the error")
}

func TestQuoteJITLog(t *testing.T) {
	for _, tc := range []struct{ log, want string }{
		{"", ""},
		{"\n  \n", ""},
		{"ptxas application ptx input, line 2; fatal   : Missing .target directive\nptxas fatal   : Ptx assembly aborted due to errors\n",
			"ptxas application ptx input, line 2; fatal   : Missing .target directive | ptxas fatal   : Ptx assembly aborted due to errors"},
		{strings.Repeat("e\n", jitLogLines+3), strings.Repeat("e | ", jitLogLines) + "(3 more lines)"},
	} {
		assert.Equal(t, tc.want, quoteJITLog(tc.log), "log %q", tc.log)
	}
}

// TestAsResult checks that a launch's CUresult becomes cu's own error, so
// that errors.Is against cu's constants works as for cu's calls.
func TestAsResult(t *testing.T) {
	err := asResult(cu.Success, int(cu.InvalidValue))
	if !errors.Is(err, cu.InvalidValue) || err.Error() != cu.InvalidValue.Error() {
		t.Errorf("asResult(InvalidValue) = %v, want cu.InvalidValue", err)
	}
}

// TestLaunchBeyondLaunchBounds launches an SGEMM kernel, compiled with
// __launch_bounds__(256), with a block of 512 threads: the PTX's .maxntid
// makes the driver refuse it (the real one, and the stand-in of
// scripts/cuda/fakecuda, which reads .maxntid as the real one does). The
// refusal must come back as an error naming the kernel, as any launch
// failure does; TestLargeBlocksHaveLaunchBounds keeps the library's own
// launches within their bounds.
func TestLaunchBeyondLaunchBounds(t *testing.T) {
	d := open(t)
	defer d.Close()
	x := upload(t, d, []float32{2})
	X := d.buf("test", x, false)
	if gemmTiles[0].threads >= 512 {
		t.Fatalf("tile 0 has %d threads: pick a launch beyond its bound", gemmTiles[0].threads)
	}
	d.launch(gemmKernel(0, false, false), 1, 1, 512, 1,
		intArg(1), intArg(1), intArg(1), fltArg(1), ptrArg(X), intArg(1), intArg(0), ptrArg(X), intArg(1), intArg(0), fltArg(0), ptrArg(X), intArg(1), intArg(0))
	err := d.Sync()
	if err == nil {
		t.Fatal("a 512-thread block of a kernel bounded to 256: no error")
	}
	t.Logf("Sync: %v", err)
	if name := kernelTable[gemmKernel(0, false, false)].name; !strings.Contains(err.Error(), "launch "+name) {
		t.Errorf("error %q does not name the kernel %s", err, name)
	}
}
