package nn

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
)

// Module is a layer or a model: a function of a batch x [K × N] recorded on
// a tape, with trainable parameters.
type Module interface {
	// Forward records the module's computation of x on tp and returns the
	// output.
	Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var
	// Params lists the trainable parameters in state_dict order.
	Params() []*autograd.Var
}

// NamedParam is a parameter with its state_dict name.
type NamedParam struct {
	Name string
	Var  *autograd.Var
}

// Named is implemented by modules that name their parameters (every module
// of this package). NamedParams returns the names relative to the module.
type Named interface {
	NamedParams() []NamedParam
}

// NamedParams returns m's parameters with their PyTorch state_dict names.
// A module that does not implement Named has its parameters named by their
// index in Params ("0", "1", …).
func NamedParams(m Module) []NamedParam {
	if n, ok := m.(Named); ok {
		return n.NamedParams()
	}
	ps := m.Params()
	out := make([]NamedParam, len(ps))
	for i, p := range ps {
		out[i] = NamedParam{Name: strconv.Itoa(i), Var: p}
	}
	return out
}

// Release frees the device memory of every parameter of m (values and
// gradients); m is unusable afterwards.
func Release(m Module) {
	for _, p := range m.Params() {
		p.Release()
	}
}

func prefixed(prefix string, ps []NamedParam) []NamedParam {
	for i := range ps {
		ps[i].Name = prefix + "." + ps[i].Name
	}
	return ps
}

// Activation is an elementwise function as a layer, with no parameters.
type Activation struct {
	Fn device.UnaryOp
}

// ReLU returns the layer max(x, 0) (torch.nn.ReLU).
func ReLU() *Activation { return &Activation{Fn: device.ReLU} }

// Tanh returns the layer tanh x (torch.nn.Tanh).
func Tanh() *Activation { return &Activation{Fn: device.Tanh} }

// Sigmoid returns the layer 1/(1+e⁻ˣ) (torch.nn.Sigmoid).
func Sigmoid() *Activation { return &Activation{Fn: device.Sigmoid} }

// ParseActivation returns the activation named relu, tanh, sigmoid or
// identity (case-insensitive).
func ParseActivation(name string) (device.UnaryOp, error) {
	switch strings.ToLower(name) {
	case "relu":
		return device.ReLU, nil
	case "tanh":
		return device.Tanh, nil
	case "sigmoid":
		return device.Sigmoid, nil
	case "identity", "linear", "none":
		return device.Identity, nil
	}
	return 0, fmt.Errorf("nn: unknown activation %q (want relu, tanh, sigmoid or identity)", name)
}

// Forward applies the function.
func (a *Activation) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	if a.Fn == device.Identity {
		return x
	}
	return tp.Apply(a.Fn, x)
}

// Params is empty.
func (a *Activation) Params() []*autograd.Var { return nil }

// NamedParams is empty.
func (a *Activation) NamedParams() []NamedParam { return nil }

func (a *Activation) String() string { return a.Fn.String() }

// fusable reports whether a Linear followed by a can run as one op.
func (a *Activation) fusable() bool {
	switch a.Fn {
	case device.Identity, device.ReLU, device.Sigmoid, device.Tanh:
		return true
	}
	return false
}

// Sequential applies its layers in order (torch.nn.Sequential). Layer i's
// parameters are named "i.<name>".
type Sequential struct {
	Layers []Module
}

// NewSequential returns a Sequential of the given layers.
func NewSequential(layers ...Module) *Sequential {
	return &Sequential{Layers: layers}
}

// Forward runs the layers in order; a Linear directly followed by an
// Activation is one fused op.
func (s *Sequential) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	for i := 0; i < len(s.Layers); i++ {
		if l, ok := s.Layers[i].(*Linear); ok && i+1 < len(s.Layers) {
			if a, ok := s.Layers[i+1].(*Activation); ok && a.fusable() {
				x = l.forward(tp, x, a.Fn)
				i++
				continue
			}
		}
		x = s.Layers[i].Forward(tp, x)
	}
	return x
}

// Params lists the layers' parameters in order.
func (s *Sequential) Params() []*autograd.Var {
	var ps []*autograd.Var
	for _, l := range s.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// NamedParams names layer i's parameters "i.<name>".
func (s *Sequential) NamedParams() []NamedParam {
	var ps []NamedParam
	for i, l := range s.Layers {
		ps = append(ps, prefixed(strconv.Itoa(i), NamedParams(l))...)
	}
	return ps
}

func (s *Sequential) String() string {
	parts := make([]string, len(s.Layers))
	for i, l := range s.Layers {
		parts[i] = fmt.Sprint(l)
	}
	return "Sequential(" + strings.Join(parts, ", ") + ")"
}

// Residual computes x + Body(x): a skip connection, so the tape is a DAG in
// which x fans out and the two gradients add. Body must keep the shape of
// its input. Its parameters are named "body.<name>".
type Residual struct {
	Body Module
}

// Forward returns x + Body(x).
func (r *Residual) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	y := r.Body.Forward(tp, x)
	if !tp.Failed() && !sameShape(x.Shape(), y.Shape()) {
		panic(fmt.Sprintf("nn: Residual: body maps %v to %v; a residual block must keep the shape", x.Shape(), y.Shape()))
	}
	return tp.Add(x, y)
}

// Params lists the body's parameters.
func (r *Residual) Params() []*autograd.Var { return r.Body.Params() }

// NamedParams names the body's parameters "body.<name>".
func (r *Residual) NamedParams() []NamedParam {
	return prefixed("body", NamedParams(r.Body))
}

func (r *Residual) String() string { return fmt.Sprintf("Residual(%v)", r.Body) }

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
