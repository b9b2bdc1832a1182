// Package cpu is the pure-Go implementation of device.Device: Go and Go
// assembly, no cgo. It runs everywhere, in CI, and serves as the float64
// reference for gradient checks (float64 buffers are supported by every
// method).
//
// Importing the package registers it with device.Open under "cpu".
//
// Memory. A Buffer wraps one Go slice. Matrices are row-major with a leading
// dimension (see package device). Freed buffers go to a per-(dtype, length)
// cache, so a training step that frees what it allocated reuses the same
// memory on the next step and allocates nothing.
package cpu
