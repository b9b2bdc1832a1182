package nn

import (
	"fmt"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// BatchNorm is torch.nn.BatchNorm1d (input [N, C] or [N, C, L]) and
// BatchNorm2d (input [N, C, H, W]): each channel is normalised to mean 0
// and variance 1, then scaled by Weight (γ, initialised to 1) and shifted
// by Bias (β, initialised to 0); see Tape.BatchNorm for the formulas.
//
// In training mode (a new layer's, as a new torch module's) the statistics
// are the batch's, and the running statistics, buffers that the optimizer
// never sees, move towards them:
//
//	running = (1 − Momentum) running + Momentum batch
//
// with the variance made unbiased, and NumBatchesTracked counts the
// batches. In evaluation mode (SetTraining(model, false)) the running
// statistics normalise instead, so one sample's output no longer depends
// on the rest of its batch. The updates run on the device: a training step
// still waits for nothing but its loss.
//
// StateDict and Save store the buffers under torch's names
// (running_mean, running_var, num_batches_tracked, an I64 scalar), so a
// checkpoint loads into torch with load_state_dict(strict=True) and back.
type BatchNorm struct {
	NumFeatures int
	// Eps is added to the variance (torch's default 1e-5).
	Eps float64
	// Momentum is the weight of each batch in the running statistics
	// (torch's default 0.1), unless CumulativeAverage is set.
	Momentum float64
	// CumulativeAverage makes the running statistics the plain average
	// of every batch so far (weight 1/NumBatchesTracked): torch's
	// momentum=None.
	CumulativeAverage bool
	// Weight and Bias are γ and β, both nil without the affine map.
	Weight, Bias *autograd.Var
	// RunningMean and RunningVar are the running statistics, both nil
	// with track_running_stats=False: the batch's statistics then
	// normalise in evaluation mode too.
	RunningMean, RunningVar *tensor.Tensor
	// NumBatchesTracked counts the training batches seen (kept on the
	// host).
	NumBatchesTracked int64

	spatial int // 1: BatchNorm1d, 2: BatchNorm2d
	eval    bool
}

// NewBatchNorm1d returns torch.nn.BatchNorm1d(c) on dev: float32, with
// the affine map and running statistics, eps 1e-5 and momentum 0.1.
func NewBatchNorm1d(dev device.Device, c int) (*BatchNorm, error) {
	return NewBatchNormDType(dev, device.Float32, 1, c, true, true)
}

// NewBatchNorm2d returns torch.nn.BatchNorm2d(c) on dev: float32, with
// the affine map and running statistics, eps 1e-5 and momentum 0.1.
func NewBatchNorm2d(dev device.Device, c int) (*BatchNorm, error) {
	return NewBatchNormDType(dev, device.Float32, 2, c, true, true)
}

// NewBatchNormDType returns a BatchNorm of c channels whose tensors have
// dtype dt (device.Float32, or device.Float64 on the cpu device): spatial
// is 1 for BatchNorm1d and 2 for BatchNorm2d, affine and trackRunningStats
// are torch's arguments of those names.
func NewBatchNormDType(dev device.Device, dt device.DType, spatial, c int, affine, trackRunningStats bool) (*BatchNorm, error) {
	if c <= 0 || (spatial != 1 && spatial != 2) {
		return nil, fmt.Errorf("nn: NewBatchNorm(%d channels, %d spatial dimensions): want c > 0 and 1 or 2 dimensions", c, spatial)
	}
	if dt != device.Float32 && dt != device.Float64 {
		return nil, fmt.Errorf("nn: NewBatchNorm(%d): dtype %v is not float32 or float64", c, dt)
	}
	b := &BatchNorm{NumFeatures: c, Eps: 1e-5, Momentum: 0.1, spatial: spatial}
	// γ = 1, β = 0, running mean 0 and variance 1, as torch starts.
	var values []float64
	if affine {
		values = append(values, 1, 0)
	}
	if trackRunningStats {
		values = append(values, 0, 1)
	}
	tensors := make([]*tensor.Tensor, len(values))
	for i, v := range values {
		t, err := filled(dev, dt, c, v)
		if err != nil {
			for _, made := range tensors[:i] {
				made.Release()
			}
			return nil, fmt.Errorf("nn: NewBatchNorm(%d): %w", c, err)
		}
		tensors[i] = t
	}
	if affine {
		b.Weight, b.Bias = autograd.NewParam("weight", tensors[0]), autograd.NewParam("bias", tensors[1])
		tensors = tensors[2:]
	}
	if trackRunningStats {
		b.RunningMean, b.RunningVar = tensors[0], tensors[1]
	}
	return b, nil
}

// Forward normalises x per channel with the batch's statistics (training
// mode, or no running statistics) or the running ones. It panics when x
// does not have the rank of the layer (torch's "expected 4D input") or C
// channels.
func (b *BatchNorm) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	if tp.Failed() {
		return tp.BatchNorm(x, nil, nil, nil, nil, autograd.BatchNormOptions{})
	}
	shape := x.Shape()
	if ok := (b.spatial == 1 && (len(shape) == 2 || len(shape) == 3)) || (b.spatial == 2 && len(shape) == 4); !ok {
		want := "2D or 3D"
		if b.spatial == 2 {
			want = "4D"
		}
		panic(fmt.Sprintf("nn: %s: expected %s input, got shape %v", b.name(), want, shape))
	}
	if shape[1] != b.NumFeatures {
		panic(fmt.Sprintf("nn: %s: input %v has %d channels, want %d", b.name(), shape, shape[1], b.NumFeatures))
	}
	opt := autograd.BatchNormOptions{Training: !b.eval || b.RunningMean == nil, Momentum: b.Momentum, Eps: b.Eps}
	rm, rv := b.RunningMean, b.RunningVar
	if opt.Training && rm != nil {
		b.NumBatchesTracked++
		if b.CumulativeAverage {
			opt.Momentum = 1 / float64(b.NumBatchesTracked)
		}
	}
	return tp.BatchNorm(x, b.Weight, b.Bias, rm, rv, opt)
}

// SetTraining switches between training (on) and evaluation mode.
func (b *BatchNorm) SetTraining(on bool) { b.eval = !on }

// Training reports whether b is in training mode.
func (b *BatchNorm) Training() bool { return !b.eval }

// Params is [Weight, Bias], or nothing without the affine map.
func (b *BatchNorm) Params() []*autograd.Var {
	if b.Weight == nil {
		return nil
	}
	return []*autograd.Var{b.Weight, b.Bias}
}

// NamedParams names them "weight" and "bias", as PyTorch does.
func (b *BatchNorm) NamedParams() []NamedParam {
	if b.Weight == nil {
		return nil
	}
	return namedWeightBias(b.Weight, b.Bias)
}

// NamedBuffers names the running statistics as PyTorch does:
// running_mean, running_var and num_batches_tracked (none without them).
func (b *BatchNorm) NamedBuffers() []NamedBuffer {
	if b.RunningMean == nil {
		return nil
	}
	return []NamedBuffer{{Name: "running_mean", Value: b.RunningMean}, {Name: "running_var", Value: b.RunningVar},
		{Name: "num_batches_tracked", Count: &b.NumBatchesTracked}}
}

func (b *BatchNorm) name() string { return fmt.Sprintf("BatchNorm%dd", b.spatial) }

func (b *BatchNorm) String() string {
	momentum := fmt.Sprintf("%g", b.Momentum)
	if b.CumulativeAverage {
		momentum = "None"
	}
	return fmt.Sprintf("%s(%d, eps=%g, momentum=%s, affine=%s, track_running_stats=%s)",
		b.name(), b.NumFeatures, b.Eps, momentum, pyBool(b.Weight != nil), pyBool(b.RunningMean != nil))
}

func pyBool(v bool) string {
	if v {
		return "True"
	}
	return "False"
}

// GroupNorm is torch.nn.GroupNorm(G, C): each sample's channels, in G
// groups of C/G, are normalised over their group's values (every pixel of
// its channels), then scaled by Weight (γ, initialised to 1) and shifted
// by Bias (β, initialised to 0) per channel; see Tape.GroupNorm. It keeps
// no statistics, so training and evaluation agree and any batch size
// works. GroupNorm(C, C) is torch's InstanceNorm2d with affine=True (and
// without γ and β its default), GroupNorm(1, C) a LayerNorm over (C, H, W)
// with per-channel γ and β.
type GroupNorm struct {
	NumGroups, NumChannels int
	Eps                    float64
	Weight, Bias           *autograd.Var // both nil without the affine map
}

// NewGroupNorm returns torch.nn.GroupNorm(groups, channels) on dev:
// float32, eps 1e-5, with the affine map.
func NewGroupNorm(dev device.Device, groups, channels int) (*GroupNorm, error) {
	return NewGroupNormDType(dev, device.Float32, groups, channels, true)
}

// NewGroupNormDType returns a GroupNorm whose γ and β have dtype dt
// (device.Float32, or device.Float64 on the cpu device); affine is torch's
// argument of that name.
func NewGroupNormDType(dev device.Device, dt device.DType, groups, channels int, affine bool) (*GroupNorm, error) {
	if groups <= 0 || channels <= 0 || channels%groups != 0 {
		return nil, fmt.Errorf("nn: NewGroupNorm(%d, %d): want channels a positive multiple of the groups", groups, channels)
	}
	g := &GroupNorm{NumGroups: groups, NumChannels: channels, Eps: 1e-5}
	if affine {
		ln, err := NewLayerNormDType(dev, dt, channels, 1e-5, true) // γ = 1, β = 0 of the right dtype
		if err != nil {
			return nil, fmt.Errorf("nn: NewGroupNorm(%d, %d): %w", groups, channels, err)
		}
		g.Weight, g.Bias = ln.Weight, ln.Bias
	}
	return g, nil
}

// Forward normalises x [N, C, …].
func (g *GroupNorm) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return tp.GroupNorm(x, g.NumGroups, g.Weight, g.Bias, g.Eps)
}

// Params is [Weight, Bias], or nothing without the affine map.
func (g *GroupNorm) Params() []*autograd.Var {
	if g.Weight == nil {
		return nil
	}
	return []*autograd.Var{g.Weight, g.Bias}
}

// NamedParams names them "weight" and "bias", as PyTorch does.
func (g *GroupNorm) NamedParams() []NamedParam {
	if g.Weight == nil {
		return nil
	}
	return namedWeightBias(g.Weight, g.Bias)
}

func (g *GroupNorm) String() string {
	return fmt.Sprintf("GroupNorm(%d, %d, eps=%g, affine=%s)", g.NumGroups, g.NumChannels, g.Eps, pyBool(g.Weight != nil))
}
