//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/adjoint-go/adjoint/device"
)

// Buffer is float32 device memory. A zero-length buffer owns no memory.
type Buffer struct {
	dev  *Device
	ptr  devPtr
	n    int   // elements
	size int64 // bytes actually allocated: the size class
	live bool  // false once freed
}

// Len is the number of elements.
func (b *Buffer) Len() int { return b.n }

// DType is always Float32.
func (b *Buffer) DType() device.DType { return device.Float32 }

// Ptr is the buffer's device address, for code that launches its own
// kernels on this device's thread (none yet).
func (b *Buffer) Ptr() uintptr { return uintptr(b.ptr) }

// view is the part of b from element off on: the same device memory, not
// a new allocation (never Free it).
func (b *Buffer) view(off int) *Buffer {
	return &Buffer{dev: b.dev, ptr: b.ptr + devPtr(4*off), n: b.n - off, live: b.live}
}

// buf resolves a device.Buffer of this device; it panics, naming the
// method, for a buffer of another device, a freed buffer or nil (unless
// nilOK).
func (d *Device) buf(op string, x device.Buffer, nilOK bool) *Buffer {
	if x == nil {
		if nilOK {
			return nil
		}
		panic(fmt.Sprintf("cuda: %s: nil buffer", op))
	}
	b, ok := x.(*Buffer)
	if !ok || b == nil {
		panic(fmt.Sprintf("cuda: %s: buffer %T was not allocated by a cuda device", op, x))
	}
	if b.dev != d {
		panic(fmt.Sprintf("cuda: %s: buffer belongs to %s, not %s", op, b.dev.name, d.name))
	}
	if !b.live {
		panic(fmt.Sprintf("cuda: %s: buffer used after Free", op))
	}
	return b
}

// Alloc returns a float32 buffer of n elements from the cache or from
// cuMemAlloc. Float64 is refused: the CUDA backend is float32-only.
func (d *Device) Alloc(dt device.DType, n int) (device.Buffer, error) {
	if dt != device.Float32 {
		return nil, fmt.Errorf("cuda: Alloc(%v, %d): the CUDA backend is float32-only (float64, for gradient checks, is on the cpu device)", dt, n)
	}
	if n < 0 {
		return nil, fmt.Errorf("cuda: Alloc of %d elements", n)
	}
	if d.closed.Load() {
		return nil, errClosed
	}
	if n == 0 {
		return &Buffer{dev: d, live: true}, nil
	}
	size := bucketBytes(int64(n) * 4)
	d.allocMu.Lock()
	if l := d.free[size]; len(l) > 0 {
		b := l[len(l)-1]
		d.free[size] = l[:len(l)-1]
		b.n, b.live = n, true
		d.allocMu.Unlock()
		return b, nil
	}
	d.allocMu.Unlock()
	r := d.roundTrip(call{op: opAlloc, bytes: size})
	if r.err != nil {
		return nil, fmt.Errorf("cuda: Alloc(%v, %d): %w", dt, n, r.err)
	}
	return &Buffer{dev: d, ptr: r.ptr, n: n, size: size, live: true}, nil
}

// Free returns b to the cache; its memory is reused by a later Alloc of the
// same size class and released by Close.
func (d *Device) Free(x device.Buffer) {
	if x == nil {
		return
	}
	b := d.buf("Free", x, false)
	d.allocMu.Lock()
	b.live = false
	if b.size != 0 {
		d.free[b.size] = append(d.free[b.size], b)
	}
	d.allocMu.Unlock()
}

// Upload32 copies src into dst; it returns when src may be reused.
func (d *Device) Upload32(dst device.Buffer, src []float32) error {
	b := d.buf("Upload32", dst, false)
	if len(src) != b.n {
		return fmt.Errorf("cuda: upload of %d float32 into %d-element buffer", len(src), b.n)
	}
	if b.n == 0 {
		return nil
	}
	r := d.roundTrip(call{op: opUpload, ptr: b.ptr, bytes: int64(b.n) * 4, host: unsafe.Pointer(&src[0])})
	runtime.KeepAlive(src)
	return r.err
}

// Upload64 rounds src to float32 and uploads it.
func (d *Device) Upload64(dst device.Buffer, src []float64) error {
	b := d.buf("Upload64", dst, false)
	if len(src) != b.n {
		return fmt.Errorf("cuda: upload of %d float64 into %d-element buffer", len(src), b.n)
	}
	d.convMu.Lock()
	defer d.convMu.Unlock()
	s := d.conversion(len(src))
	for i, v := range src {
		s[i] = float32(v)
	}
	return d.Upload32(dst, s)
}

// conversion returns the device's float32 staging slice for Upload64 and
// Download64, grown to n: reused, so that reading a loss value allocates
// nothing. The caller holds convMu.
func (d *Device) conversion(n int) []float32 {
	if cap(d.conv) < n {
		d.conv = make([]float32, n)
	}
	return d.conv[:n]
}

// Download32 waits for the queued work and copies src into dst. It returns
// the device's first recorded error, if any.
func (d *Device) Download32(dst []float32, src device.Buffer) error {
	b := d.buf("Download32", src, false)
	if len(dst) != b.n {
		return fmt.Errorf("cuda: download of %d-element buffer into %d float32", b.n, len(dst))
	}
	if b.n == 0 {
		return d.Sync()
	}
	r := d.roundTrip(call{op: opDownload, ptr: b.ptr, bytes: int64(b.n) * 4, host: unsafe.Pointer(&dst[0])})
	runtime.KeepAlive(dst)
	if err := d.Err(); err != nil {
		return err
	}
	return r.err
}

// Download64 downloads src and widens it to float64.
func (d *Device) Download64(dst []float64, src device.Buffer) error {
	b := d.buf("Download64", src, false)
	if len(dst) != b.n {
		return fmt.Errorf("cuda: download of %d-element buffer into %d float64", b.n, len(dst))
	}
	d.convMu.Lock()
	defer d.convMu.Unlock()
	s := d.conversion(len(dst))
	err := d.Download32(s, src)
	for i, v := range s {
		dst[i] = float64(v)
	}
	return err
}

// Sync waits for all queued work and returns the first recorded error.
func (d *Device) Sync() error {
	r := d.roundTrip(call{op: opSync})
	if err := d.Err(); err != nil {
		return err
	}
	return r.err
}
