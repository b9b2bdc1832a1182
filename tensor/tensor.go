package tensor

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/adjoint-go/adjoint/device"
)

// MaxDims is the largest number of dimensions a Tensor may have.
const MaxDims = 8

// Tensor is a row-major array of float32 (or, for gradient checks, float64)
// with a shape, stored in one device's memory.
//
// The zero Tensor is empty and unusable; create tensors with New, Zeros,
// FromFloat32 or FromFloat64. A Tensor made by Reshape is a view: it shares
// its parent's buffer and Release on it does nothing.
type Tensor struct {
	dev  device.Device
	buf  device.Buffer
	dims [MaxDims]int
	nd   int
	view bool
}

func checkShape(op string, shape []int) int {
	if len(shape) > MaxDims {
		panic(fmt.Sprintf("tensor: %s: shape %v has %d dimensions, at most %d allowed", op, slices.Clone(shape), len(shape), MaxDims))
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: %s: negative dimension in shape %v", op, slices.Clone(shape)))
		}
		if d > 0 && n > math.MaxInt/d {
			panic(fmt.Sprintf("tensor: %s: shape %v has more than MaxInt elements", op, slices.Clone(shape)))
		}
		n *= d
	}
	return n
}

// New allocates an uninitialised tensor of the given shape on dev. A shape
// with no dimensions is a scalar.
func New(dev device.Device, dt device.DType, shape ...int) (*Tensor, error) {
	t := &Tensor{}
	if err := t.Init(dev, dt, shape...); err != nil {
		return nil, err
	}
	return t, nil
}

// Init is New into an existing (zero or released) Tensor value; it lets
// callers keep tensors in reusable arrays without allocating.
func (t *Tensor) Init(dev device.Device, dt device.DType, shape ...int) error {
	n := checkShape("New", shape)
	buf, err := dev.Alloc(dt, n)
	if err != nil {
		return fmt.Errorf("tensor: allocating %v %v on %s: %w", dt, slices.Clone(shape), dev.Name(), err)
	}
	*t = Tensor{dev: dev, buf: buf, nd: len(shape)}
	copy(t.dims[:], shape)
	return nil
}

// Zeros allocates a zero-filled tensor.
func Zeros(dev device.Device, dt device.DType, shape ...int) (*Tensor, error) {
	t, err := New(dev, dt, shape...)
	if err != nil {
		return nil, err
	}
	dev.Fill(t.buf, 0)
	return t, nil
}

// FromFloat32 copies data to a new float32 tensor of the given shape; with
// no shape the tensor is 1-D of len(data).
func FromFloat32(dev device.Device, data []float32, shape ...int) (*Tensor, error) {
	if len(shape) == 0 {
		shape = []int{len(data)}
	}
	if n := checkShape("FromFloat32", shape); n != len(data) {
		return nil, fmt.Errorf("tensor: FromFloat32: %d values do not fill shape %v (%d elements)", len(data), slices.Clone(shape), n)
	}
	t, err := New(dev, device.Float32, shape...)
	if err != nil {
		return nil, err
	}
	if err := dev.Upload32(t.buf, data); err != nil {
		t.Release()
		return nil, fmt.Errorf("tensor: FromFloat32: %w", err)
	}
	return t, nil
}

// FromFloat64 copies data to a new float64 tensor (on devices that support
// float64, the CPU) of the given shape.
func FromFloat64(dev device.Device, data []float64, shape ...int) (*Tensor, error) {
	if len(shape) == 0 {
		shape = []int{len(data)}
	}
	if n := checkShape("FromFloat64", shape); n != len(data) {
		return nil, fmt.Errorf("tensor: FromFloat64: %d values do not fill shape %v (%d elements)", len(data), slices.Clone(shape), n)
	}
	t, err := New(dev, device.Float64, shape...)
	if err != nil {
		return nil, err
	}
	if err := dev.Upload64(t.buf, data); err != nil {
		t.Release()
		return nil, fmt.Errorf("tensor: FromFloat64: %w", err)
	}
	return t, nil
}

// Shape returns the dimensions; the slice aliases the tensor and must not be
// modified.
func (t *Tensor) Shape() []int { return t.dims[:t.nd:t.nd] }

// Dims is the number of dimensions (0 for a scalar).
func (t *Tensor) Dims() int { return t.nd }

// Dim returns dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += t.nd
	}
	if i < 0 || i >= t.nd {
		panic(fmt.Sprintf("tensor: Dim(%d) of shape %v", i, t.Shape()))
	}
	return t.dims[i]
}

// Len is the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.dims[:t.nd] {
		n *= d
	}
	return n
}

// Cols is the last dimension (1 for a scalar): a tensor is treated as a
// Rows×Cols matrix by the row-wise ops (softmax, losses, linear layers).
func (t *Tensor) Cols() int {
	if t.nd == 0 {
		return 1
	}
	return t.dims[t.nd-1]
}

// Rows is Len/Cols, the number of samples when the last axis is features.
func (t *Tensor) Rows() int {
	if c := t.Cols(); c != 0 {
		return t.Len() / c
	}
	n := 1
	for _, d := range t.dims[:max(t.nd-1, 0)] {
		n *= d
	}
	return n
}

// DType is the element type.
func (t *Tensor) DType() device.DType { return t.buf.DType() }

// Device is the device holding the data.
func (t *Tensor) Device() device.Device { return t.dev }

// Buffer is the device memory; op implementations pass it to the device.
func (t *Tensor) Buffer() device.Buffer { return t.buf }

// Valid reports whether the tensor holds memory (it is not zero or released).
func (t *Tensor) Valid() bool { return t != nil && t.buf != nil }

// SameShape reports whether t and u have equal shapes.
func (t *Tensor) SameShape(u *Tensor) bool {
	return t.nd == u.nd && t.dims == u.dims
}

// Reshape returns a view of t with a new shape of the same length; one
// dimension may be −1 and is then inferred. It panics if the lengths differ.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	v := &Tensor{}
	t.ReshapeInto(v, shape...)
	return v
}

// ReshapeInto is Reshape writing the view into v.
func (t *Tensor) ReshapeInto(v *Tensor, shape ...int) {
	if len(shape) > MaxDims {
		panic(fmt.Sprintf("tensor: Reshape %v to %v: too many dimensions", t.Shape(), slices.Clone(shape)))
	}
	var dims [MaxDims]int
	copy(dims[:], shape)
	infer, n := -1, 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic(fmt.Sprintf("tensor: Reshape %v to %v: bad dimension %d", t.Shape(), slices.Clone(shape), d))
		default:
			n *= d
		}
	}
	if infer >= 0 && n != 0 {
		dims[infer] = t.Len() / n
		n *= dims[infer]
	}
	if n != t.Len() {
		panic(fmt.Sprintf("tensor: Reshape %v (%d elements) to %v", t.Shape(), t.Len(), slices.Clone(shape)))
	}
	*v = Tensor{dev: t.dev, buf: t.buf, dims: dims, nd: len(shape), view: true}
}

// Float32s downloads the data as float32 (converting float64).
func (t *Tensor) Float32s() ([]float32, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("tensor: Float32s: %w", ErrInvalid)
	}
	out := make([]float32, t.Len())
	if err := t.dev.Download32(out, t.buf); err != nil {
		return nil, fmt.Errorf("tensor: download %v: %w", t.Shape(), err)
	}
	return out, nil
}

// ErrInvalid is returned by the downloads of a tensor that holds no
// memory: released, never allocated, or the value of an op that failed
// (whose error the autograd tape holds).
var ErrInvalid = errors.New("the tensor holds no memory (released, never allocated, or the output of a failed op)")

// Float64s downloads the data as float64.
func (t *Tensor) Float64s() ([]float64, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("tensor: Float64s: %w", ErrInvalid)
	}
	out := make([]float64, t.Len())
	if err := t.dev.Download64(out, t.buf); err != nil {
		return nil, fmt.Errorf("tensor: download %v: %w", t.Shape(), err)
	}
	return out, nil
}

// Item returns the value of a one-element tensor.
func (t *Tensor) Item() (float64, error) {
	if !t.Valid() {
		return 0, fmt.Errorf("tensor: Item: %w", ErrInvalid)
	}
	if t.Len() != 1 {
		return 0, fmt.Errorf("tensor: Item on shape %v (%d elements)", t.Shape(), t.Len())
	}
	var v [1]float64
	if err := t.dev.Download64(v[:], t.buf); err != nil {
		return 0, fmt.Errorf("tensor: Item: %w", err)
	}
	return v[0], nil
}

// CopyFrom copies the data of u (same length and dtype, same device) into t.
func (t *Tensor) CopyFrom(u *Tensor) {
	if t.Len() != u.Len() {
		panic(fmt.Sprintf("tensor: CopyFrom: shapes %v and %v differ in length", t.Shape(), u.Shape()))
	}
	t.dev.Copy2D(t.buf, 0, 0, u.buf, 0, 0, 1, t.Len())
}

// Clone returns a new tensor with a copy of t's data.
func (t *Tensor) Clone() (*Tensor, error) {
	c, err := New(t.dev, t.DType(), t.Shape()...)
	if err != nil {
		return nil, err
	}
	c.CopyFrom(t)
	return c, nil
}

// Release returns the memory to the device; t becomes unusable. Release on a
// view or a released tensor does nothing.
func (t *Tensor) Release() {
	if t == nil || t.buf == nil {
		return
	}
	if !t.view {
		t.dev.Free(t.buf)
	}
	t.buf = nil
}

// String shows the shape, dtype and device, and up to 8 values when the
// download succeeds.
func (t *Tensor) String() string {
	if !t.Valid() {
		return "Tensor(released)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor(%v %v %s", t.Shape(), t.DType(), t.dev.Name())
	if v, err := t.Float64s(); err == nil {
		n := min(len(v), 8)
		fmt.Fprintf(&b, " %v", fmtVals(v[:n]))
		if n < len(v) {
			b.WriteString("…")
		}
	}
	b.WriteString(")")
	return b.String()
}

func fmtVals(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.4g", x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
