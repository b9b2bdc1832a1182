//go:build cuda

package cuda

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"gorgonia.org/cu"
)

// TestCUFunctionLayout checks what cuHandle assumes of
// gorgonia.org/cu's Function: one field, the driver's CUfunction pointer,
// at offset 0. A cu release that changes it fails here, not in a launch.
func TestCUFunctionLayout(t *testing.T) {
	typ := reflect.TypeOf(cu.Function{})
	if typ.NumField() != 1 || typ.Field(0).Offset != 0 || typ.Field(0).Type.Kind() != reflect.Pointer {
		t.Fatalf("cu.Function is %v with %d fields: want one pointer (the CUfunction)", typ, typ.NumField())
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
		intArg(1), intArg(1), intArg(1), fltArg(1), ptrArg(X), intArg(1), ptrArg(X), intArg(1), fltArg(0), ptrArg(X), intArg(1))
	err := d.Sync()
	if err == nil {
		t.Fatal("a 512-thread block of a kernel bounded to 256: no error")
	}
	t.Logf("Sync: %v", err)
	if name := kernelTable[gemmKernel(0, false, false)].name; !strings.Contains(err.Error(), "launch "+name) {
		t.Errorf("error %q does not name the kernel %s", err, name)
	}
}
