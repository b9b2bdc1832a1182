//go:build !cuda && !cudaemu

package cuda

// This build has no CUDA backend: the files that import gorgonia.org/cu
// carry the build tag cuda. Nothing is registered with package device, so
// device.Open("cuda") returns device.ErrUnavailable with instructions to
// rebuild with `go build -tags cuda`. The package still compiles (with
// CGO_ENABLED=0 too) so that `go build ./...` and `go vet ./...` cover it.
