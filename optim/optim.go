package optim

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update to every parameter that has a gradient.
	Step() error
	// ZeroGrad forgets every parameter's gradient (set_to_none).
	ZeroGrad()
	// LR is the current learning rate; SetLR changes it (for schedules).
	LR() float64
	SetLR(lr float64)
	// Params are the parameters, in the order State indexes them.
	Params() []*autograd.Var
	// State copies the optimizer's state to the host.
	State() (*State, error)
	// LoadState restores a state taken from an optimizer of the same kind
	// over parameters of the same shapes.
	LoadState(s *State) error
	// Release frees the state's device memory.
	Release()
}

// State is an optimizer's state on the host.
//
// Buffers hold float64 values whatever the parameters' dtype, so that
// State and LoadState lose nothing: a float64 parameter's buffers are
// copied as they are, and a float32 parameter's are widened (exactly:
// every float32 is a float64) and narrowed back by LoadState, which
// uploads each buffer in its parameter's dtype. A float32 buffer built
// elsewhere (such as from a file) is rounded to float32 there.
type State struct {
	// Kind is "sgd", "adam", "adamw" or "rmsprop".
	Kind string
	// Steps[i] is the number of updates applied to parameter i.
	Steps []int
	// Buffers[i] maps PyTorch's state names (momentum_buffer, exp_avg,
	// exp_avg_sq, square_avg, grad_avg) to parameter i's buffers, of its length and in row-major
	// order; empty before its first step.
	Buffers []map[string][]float64
}

// ErrState is wrapped by LoadState's errors.
var ErrState = errors.New("optimizer state does not fit")

// base holds what every optimizer shares: parameters, per-parameter step
// counts and named device buffers.
type base struct {
	kind   string
	params []*autograd.Var
	steps  []int
	names  []string // buffer names, in order
	bufs   [][]tensor.Tensor
	batch  tensorBatch // for multi-tensor steps
}

// newBase checks params: none nil or of another dtype than float32 and
// float64, and no Var listed twice. A parameter listed twice would be
// updated twice per step with two sets of state; PyTorch warns that this
// will become an error, and a model's Params never list a shared
// parameter twice (nn.Module.Params), so it is an error here.
func newBase(kind string, params []*autograd.Var, names ...string) (base, error) {
	seen := make(map[*autograd.Var]int, len(params))
	for i, p := range params {
		if p == nil {
			return base{}, fmt.Errorf("optim: %s: parameter %d is nil", kind, i)
		}
		if j, dup := seen[p]; dup {
			return base{}, fmt.Errorf("optim: %s: parameters %d and %d are the same Var %q; list a shared parameter once", kind, j, i, p.Name())
		}
		seen[p] = i
		if p.Value().DType() != device.Float32 && p.Value().DType() != device.Float64 {
			return base{}, fmt.Errorf("optim: %s: parameter %d has dtype %v", kind, i, p.Value().DType())
		}
	}
	b := base{kind: kind, params: params, steps: make([]int, len(params)), names: names, bufs: make([][]tensor.Tensor, len(params))}
	for i := range b.bufs {
		b.bufs[i] = make([]tensor.Tensor, len(names))
	}
	return b, nil
}

// Params returns the parameters.
func (b *base) Params() []*autograd.Var { return b.params }

// ZeroGrad forgets every gradient.
func (b *base) ZeroGrad() {
	for _, p := range b.params {
		p.ZeroGrad()
	}
}

// buffer returns parameter i's buffer j, allocating it zero-filled.
func (b *base) buffer(i, j int) (device.Buffer, error) {
	t := &b.bufs[i][j]
	if !t.Valid() {
		v := b.params[i].Value()
		if err := t.Init(v.Device(), v.DType(), v.Shape()...); err != nil {
			return nil, fmt.Errorf("optim: %s state of parameter %d: %w", b.kind, i, err)
		}
		v.Device().Fill(t.Buffer(), 0)
	}
	return t.Buffer(), nil
}

// Release frees the buffers.
func (b *base) Release() {
	for i := range b.bufs {
		for j := range b.bufs[i] {
			b.bufs[i][j].Release()
		}
	}
}

// State downloads the buffers, as float64 (see State).
func (b *base) State() (*State, error) {
	s := &State{Kind: b.kind, Steps: append([]int(nil), b.steps...), Buffers: make([]map[string][]float64, len(b.params))}
	for i := range b.params {
		s.Buffers[i] = map[string][]float64{}
		for j, name := range b.names {
			if t := &b.bufs[i][j]; t.Valid() {
				v, err := t.Float64s()
				if err != nil {
					return nil, fmt.Errorf("optim: %s state: %w", b.kind, err)
				}
				s.Buffers[i][name] = v
			}
		}
	}
	return s, nil
}

// LoadState checks s against the parameters, then uploads it, each
// buffer converted to its parameter's dtype.
func (b *base) LoadState(s *State) error {
	if s == nil {
		return fmt.Errorf("optim: %s: %w: nil state", b.kind, ErrState)
	}
	if s.Kind != b.kind {
		return fmt.Errorf("optim: %w: state of %q, optimizer is %q", ErrState, s.Kind, b.kind)
	}
	if len(s.Steps) != len(b.params) || len(s.Buffers) != len(b.params) {
		return fmt.Errorf("optim: %s: %w: state for %d parameters (%d buffers), optimizer has %d", b.kind, ErrState, len(s.Steps), len(s.Buffers), len(b.params))
	}
	for i, p := range b.params {
		if s.Steps[i] < 0 {
			return fmt.Errorf("optim: %s: %w: parameter %d has step %d", b.kind, ErrState, i, s.Steps[i])
		}
		for name, v := range s.Buffers[i] {
			known := false
			for _, n := range b.names {
				known = known || n == name
			}
			if !known {
				return fmt.Errorf("optim: %s: %w: parameter %d: unknown buffer %q", b.kind, ErrState, i, name)
			}
			if len(v) != p.Value().Len() {
				return fmt.Errorf("optim: %s: %w: parameter %d: %s has %d values, parameter %v has %d", b.kind, ErrState, i, name, len(v), p.Shape(), p.Value().Len())
			}
			if j := outOfRange(v, p.Value().DType()); j >= 0 {
				return fmt.Errorf("optim: %s: %w: parameter %d: %s[%d] = %v is not a finite %v", b.kind, ErrState, i, name, j, v[j], p.Value().DType())
			}
			if name == "exp_avg_sq" || name == "square_avg" { // a mean of squares: a negative one makes √v NaN
				for j, x := range v {
					if x < 0 {
						return fmt.Errorf("optim: %s: %w: parameter %d: %s[%d] = %v is negative", b.kind, ErrState, i, name, j, x)
					}
				}
			}
		}
		if s.Steps[i] > 0 && len(s.Buffers[i]) == 0 && len(b.names) > 0 {
			return fmt.Errorf("optim: %s: %w: parameter %d has taken %d steps but has no buffers", b.kind, ErrState, i, s.Steps[i])
		}
		if s.Steps[i] > 0 {
			for _, name := range b.names {
				if _, ok := s.Buffers[i][name]; !ok {
					return fmt.Errorf("optim: %s: %w: parameter %d has taken %d steps but has no %s", b.kind, ErrState, i, s.Steps[i], name)
				}
			}
		}
	}
	b.Release()
	for i := range b.params {
		b.steps[i] = s.Steps[i]
		for j, name := range b.names {
			v, ok := s.Buffers[i][name]
			if !ok {
				continue
			}
			buf, err := b.buffer(i, j)
			if err != nil {
				return err
			}
			if err := b.params[i].Value().Device().Upload64(buf, v); err != nil {
				return fmt.Errorf("optim: %s: restoring parameter %d %s: %w", b.kind, i, name, err)
			}
		}
	}
	return nil
}

// outOfRange returns the index of the first value of v that is not finite
// in dt (NaN, ±Inf, or beyond float32's range for a float32 parameter,
// where it would turn into an infinity), or −1. Such a buffer would make
// the next step's update NaN: it is refused rather than loaded.
func outOfRange(v []float64, dt device.DType) int {
	limit := math.MaxFloat64
	if dt == device.Float32 {
		limit = math.MaxFloat32
	}
	for j, x := range v {
		if !(math.Abs(x) <= limit) {
			return j
		}
	}
	return -1
}

func checkLR(kind string, lr float64) error {
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("optim: %s: invalid learning rate %v", kind, lr)
	}
	return nil
}

// firstIndex tells the first listing of each Var in a parameter list from
// its repeats: by searching the earlier entries in a short list, which
// allocates nothing (ClipGradNorm runs every step), and through a map
// built once in a long one.
type firstIndex struct {
	params []*autograd.Var
	at     map[*autograd.Var]int // index of the first listing; long lists only
}

func newFirstIndex(params []*autograd.Var) firstIndex {
	f := firstIndex{params: params}
	if len(params) > 32 {
		f.at = make(map[*autograd.Var]int, len(params))
		for i := len(params) - 1; i >= 0; i-- {
			f.at[params[i]] = i
		}
	}
	return f
}

// first reports whether params[i] is not listed before i.
func (f firstIndex) first(i int) bool {
	if f.at != nil {
		return f.at[f.params[i]] == i
	}
	return !slices.Contains(f.params[:i], f.params[i])
}

func errDevice(kind string, params []*autograd.Var) error {
	if len(params) == 0 {
		return nil
	}
	if err := params[0].Value().Device().Err(); err != nil {
		return fmt.Errorf("optim: %s step: %w", kind, err)
	}
	return nil
}
