//go:build cuda

package cuda

/*
#cgo LDFLAGS: -ldl
#include "cuinit.h"
*/
import "C"

import "fmt"

// initError is the driver's answer to cuInit (see cuinit.c) as an error,
// or nil when initialisation succeeded.
func initError() error {
	code := C.adjoint_cu_init_result()
	if code == 0 {
		return nil
	}
	name := "an unnamed error"
	if s := C.adjoint_cu_error_name(code); s != nil {
		name = C.GoString(s)
	}
	return fmt.Errorf("the CUDA driver did not initialise: cuInit returned %s (%d)", name, int(code))
}
