//go:build cuda

package cuda

import (
	"errors"
	"reflect"
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
