package optim

import "github.com/adjoint-go/adjoint/device"

// multiTensorSGD and multiTensorAdam are optional device methods that
// update many parameter tensors in one call, all with the same
// configuration. They are not part of device.Device, which stays narrow:
// a backend implements them where one call is much cheaper than one per
// tensor (device/cuda: one kernel launch for the whole step instead of one
// per tensor, and a small training step on a GPU costs its launches). The
// result must equal, bit for bit, the per-tensor method on each tensor in
// turn, so an optimizer may take either path.
type multiTensorSGD interface {
	SGDTensors(ps, gs, vs []device.Buffer, cfg device.SGDConfig)
}

type multiTensorAdam interface {
	AdamTensors(ps, gs, ms, vs []device.Buffer, cfg device.AdamConfig)
}

// tensorBatch holds the lists of one multi-tensor call; they are kept from
// step to step so that a step allocates nothing.
type tensorBatch struct {
	idx            []int // the parameters that have a gradient
	ps, gs, ms, vs []device.Buffer
}

// batchDevice collects the parameters that have a gradient into b.batch.idx
// and returns the device they all live on, or nil when fewer than two have
// a gradient (one per-tensor call is already one call) or they live on
// different devices.
func (b *base) batchDevice() device.Device {
	idx := b.batch.idx[:0]
	var dev device.Device
	for i, p := range b.params {
		if p.Grad() == nil {
			continue
		}
		d := p.Value().Device()
		if dev == nil {
			dev = d
		} else if d != dev {
			b.batch.idx = idx[:0]
			return nil
		}
		idx = append(idx, i)
	}
	b.batch.idx = idx
	if len(idx) < 2 {
		return nil
	}
	return dev
}

// reset empties the lists, dropping their references to the buffers.
func (t *tensorBatch) reset() {
	clear(t.ps)
	clear(t.gs)
	clear(t.ms)
	clear(t.vs)
	t.ps, t.gs, t.ms, t.vs = t.ps[:0], t.gs[:0], t.ms[:0], t.vs[:0]
}
