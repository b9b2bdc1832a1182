package device

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Opener opens the device with the given index (0 for the first GPU).
type Opener func(index int) (Device, error)

// ErrUnavailable is wrapped by Open when a backend is not compiled in or has
// no hardware.
var ErrUnavailable = errors.New("device unavailable")

// ErrBadSpec is wrapped by Open when spec names no backend this package
// knows of, or carries an index that is not a number: a mistake in the
// name, where ErrUnavailable is a missing build tag or GPU.
var ErrBadSpec = errors.New("bad device name")

// ErrInvalidInput is wrapped by a failure that the data caused, not the
// device: a class index out of range in a loss. The device stays sound:
// Err, Sync, Download and Dot return the failure until the batch is done
// (InputErrClearer, which autograd's Tape.Reset calls), and a server can
// reject the batch and go on. A device failure is returned by every later
// call.
var ErrInvalidInput = errors.New("invalid input")

// ErrOutOfMemory is wrapped by Alloc when a device has no memory left for
// the request. The device stays usable: free buffers or ask for less.
var ErrOutOfMemory = errors.New("out of device memory")

// The registry is the package's only state: backends add themselves from an
// init function (the cpu package, and device/cuda when built with -tags cuda).
var registry = struct {
	sync.Mutex
	openers map[string]Opener
}{openers: map[string]Opener{}}

// Register makes a backend available to Open under name. It panics if the
// name is taken, like database/sql.Register.
func Register(name string, open Opener) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.openers[name]; dup {
		panic("device: Register called twice for " + name)
	}
	registry.openers[name] = open
}

// Backends lists the registered backend names, sorted.
func Backends() []string {
	registry.Lock()
	defer registry.Unlock()
	names := make([]string, 0, len(registry.openers))
	for n := range registry.openers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open returns the device named by spec: "cpu", "cuda", "cuda:1", or "auto"
// (the first GPU if one works, else the CPU). Backends register themselves
// when their package is imported: import _ "github.com/adjoint-go/adjoint/cpu"
// and, in a build with -tags cuda, _ "github.com/adjoint-go/adjoint/device/cuda".
func Open(spec string) (Device, error) {
	if spec == "auto" || spec == "" {
		if d, err := Open("cuda"); err == nil {
			return d, nil
		}
		return Open("cpu")
	}
	name, index := spec, 0
	if i := strings.IndexByte(spec, ':'); i >= 0 {
		name = spec[:i]
		if _, err := fmt.Sscanf(spec[i+1:], "%d", &index); err != nil || index < 0 {
			return nil, fmt.Errorf("device %q: %w: the index must be a number ≥ 0 (e.g. cuda:0)", spec, ErrBadSpec)
		}
	}
	registry.Lock()
	open, ok := registry.openers[name]
	registry.Unlock()
	if !ok {
		switch name {
		case "cuda":
			return nil, fmt.Errorf("device %q: %w: this binary was built without CUDA; rebuild with `go build -tags cuda` on a host with the CUDA toolkit (see README, \"GPU build\")", spec, ErrUnavailable)
		case "cpu":
			return nil, fmt.Errorf("device %q: %w: import _ \"github.com/adjoint-go/adjoint/cpu\" to register it", spec, ErrUnavailable)
		}
		return nil, fmt.Errorf("device %q: %w (want auto, cpu or cuda[:N])", spec, ErrBadSpec)
	}
	d, err := open(index)
	if err != nil {
		return nil, fmt.Errorf("device %q: %w", spec, err)
	}
	return d, nil
}
