package nn

import (
	"strconv"

	"github.com/adjoint-go/adjoint/tensor"
)

// NamedBuffer is a module's state that training changes but no optimizer
// updates (torch's buffers: BatchNorm's running statistics), with its
// state_dict name. Exactly one of Value and Count is set: Value for a
// float tensor on the device, Count for an integer kept on the host and
// stored as an I64 scalar (num_batches_tracked).
type NamedBuffer struct {
	Name  string
	Value *tensor.Tensor
	Count *int64
}

// Buffered is implemented by modules that hold buffers, and by every
// container of this package (Sequential, Residual), which prefix their
// layers' names as they do for parameters. A model of its own that holds
// a BatchNorm implements it too, or its checkpoints lose the running
// statistics.
type Buffered interface {
	NamedBuffers() []NamedBuffer
}

// NamedBuffers returns m's buffers with their state_dict names, every
// name (a layer reached twice lists its buffers under both), or nil for a
// model without any.
func NamedBuffers(m Parameterized) []NamedBuffer {
	if b, ok := m.(Buffered); ok {
		return b.NamedBuffers()
	}
	return nil
}

// prefixedBuffers returns bs with each name under prefix, in a new slice.
func prefixedBuffers(prefix string, bs []NamedBuffer) []NamedBuffer {
	out := make([]NamedBuffer, len(bs))
	for i, b := range bs {
		b.Name = prefix + "." + b.Name
		out[i] = b
	}
	return out
}

// NamedBuffers names layer i's buffers "i.<name>".
func (s *Sequential) NamedBuffers() []NamedBuffer {
	var bs []NamedBuffer
	for i, l := range s.Layers {
		bs = append(bs, prefixedBuffers(strconv.Itoa(i), NamedBuffers(l))...)
	}
	return bs
}

// NamedBuffers names the body's buffers "body.<name>" and the shortcut's
// "shortcut.<name>".
func (r *Residual) NamedBuffers() []NamedBuffer {
	bs := prefixedBuffers("body", NamedBuffers(r.Body))
	if r.Shortcut != nil {
		bs = append(bs, prefixedBuffers("shortcut", NamedBuffers(r.Shortcut))...)
	}
	return bs
}
