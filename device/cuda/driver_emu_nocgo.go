//go:build cudaemu && !cuda && !cgo

package cuda

// The emulated driver (driver_emu.go) is C++ behind cgo: a cudaemu build
// with CGO_ENABLED=0 stops here with this identifier in the error.
var _ = cudaemuNeedsCgoAndCxx20
