package nn

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// Parameterized is anything that holds trainable parameters: every Module,
// and a model whose forward pass does not fit Module's one input (a
// two-tower net with its own Forward(tp, a, b)). The functions that need
// only the parameters (NamedParams, AllNamedParams, StateDict,
// LoadStateDict, Save, SaveWith, Load, Release) take a Parameterized; one
// that also implements Named gets its state_dict names from it.
type Parameterized interface {
	// Params lists the trainable parameters in state_dict order, each
	// once: a parameter reached twice (a layer used twice, tied weights)
	// is listed where it first appears, as torch's parameters() does, so
	// that an optimizer updates it once per step.
	Params() []*autograd.Var
}

// Module is a layer or a model: a function of a batch x [K × N] recorded on
// a tape, with trainable parameters.
type Module interface {
	// Forward records the module's computation of x on tp and returns the
	// output.
	Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var
	Parameterized
}

// NamedParam is a parameter with its state_dict name.
type NamedParam struct {
	Name string
	Var  *autograd.Var
}

// Named is implemented by modules and other Parameterized models that name
// their parameters (every module of this package). NamedParams returns the
// names relative to the module, in state_dict order and every one of them:
// a parameter the module reaches twice is listed under each of its names,
// as torch's named_parameters(remove_duplicate=False), because a
// state_dict holds every name. The package functions NamedParams (each
// parameter once) and AllNamedParams (every name) are the two views to use.
type Named interface {
	NamedParams() []NamedParam
}

// NamedParams returns m's parameters with their PyTorch state_dict names,
// each parameter once under its first name, as torch's named_parameters():
// for the modules of this package NamedParams(m)[i].Var is m.Params()[i],
// so the names also label optimizer state. A model that does not
// implement Named has its parameters named by their index in Params ("0",
// "1", …).
func NamedParams(m Parameterized) []NamedParam {
	return uniqueNamed(AllNamedParams(m))
}

// AllNamedParams returns every state_dict entry of m: a parameter that m
// reaches twice (Sequential(l, act, l), tied weights) appears under each of
// its names, as in torch's state_dict(), which StateDict and LoadStateDict
// follow so that a checkpoint of a tied model loads into torch with
// load_state_dict(strict=True).
func AllNamedParams(m Parameterized) []NamedParam {
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

// unique returns, in a new slice, the entries of list whose Var (v of the
// entry) is not listed before them: torch's parameters() and
// named_parameters() drop repeats the same way. A short list is searched,
// a long one goes through a set.
func unique[T any](list []T, v func(T) *autograd.Var) []T {
	var set map[*autograd.Var]bool
	if len(list) > 32 {
		set = make(map[*autograd.Var]bool, len(list))
	}
	out := make([]T, 0, len(list))
	for i, e := range list {
		p := v(e)
		if set != nil {
			if set[p] {
				continue
			}
			set[p] = true
		} else if slices.ContainsFunc(list[:i], func(f T) bool { return v(f) == p }) {
			continue
		}
		out = append(out, e)
	}
	return out
}

func uniqueParams(ps []*autograd.Var) []*autograd.Var {
	return unique(ps, func(p *autograd.Var) *autograd.Var { return p })
}

func uniqueNamed(ps []NamedParam) []NamedParam {
	return unique(ps, func(p NamedParam) *autograd.Var { return p.Var })
}

// Release frees the device memory of every parameter of m (values and
// gradients) and of its buffers, a shared one once; m is unusable
// afterwards.
func Release(m Parameterized) {
	for _, p := range m.Params() {
		p.Release()
	}
	released := map[*tensor.Tensor]bool{}
	for _, b := range NamedBuffers(m) {
		if b.Value != nil && !released[b.Value] {
			released[b.Value] = true
			b.Value.Release()
		}
	}
}

// prefixed returns ps with each name under prefix, in a new slice (a
// module's NamedParams may return a list it keeps).
func prefixed(prefix string, ps []NamedParam) []NamedParam {
	out := make([]NamedParam, len(ps))
	for i, p := range ps {
		out[i] = NamedParam{Name: prefix + "." + p.Name, Var: p.Var}
	}
	return out
}

// Activation is an elementwise function as a layer, with no trained
// parameters.
type Activation struct {
	Fn device.UnaryOp
	// Param is Fn's parameter where it takes one: LeakyReLU's negative
	// slope, ELU's α (the constructors below set it; a zero Param makes a
	// LeakyReLU a ReLU). The other functions ignore it.
	Param float64
}

// ReLU returns the layer max(x, 0) (torch.nn.ReLU).
func ReLU() *Activation { return &Activation{Fn: device.ReLU} }

// Tanh returns the layer tanh x (torch.nn.Tanh).
func Tanh() *Activation { return &Activation{Fn: device.Tanh} }

// Sigmoid returns the layer 1/(1+e⁻ˣ) (torch.nn.Sigmoid).
func Sigmoid() *Activation { return &Activation{Fn: device.Sigmoid} }

// GELU returns the layer x Φ(x) (torch.nn.GELU, the exact erf form).
func GELU() *Activation { return &Activation{Fn: device.GELU} }

// SiLU returns the layer x σ(x) (torch.nn.SiLU, also called Swish).
func SiLU() *Activation { return &Activation{Fn: device.SiLU} }

// LeakyReLU returns the layer x for x > 0, slope·x elsewhere
// (torch.nn.LeakyReLU(negative_slope); torch's default slope is 0.01).
func LeakyReLU(slope float64) *Activation { return &Activation{Fn: device.LeakyReLU, Param: slope} }

// ELU returns the layer x for x > 0, α(eˣ − 1) elsewhere (torch.nn.ELU(alpha);
// torch's default α is 1).
func ELU(alpha float64) *Activation { return &Activation{Fn: device.ELU, Param: alpha} }

// ReLU6 returns the layer min(max(x, 0), 6) (torch.nn.ReLU6, MobileNetV2's).
func ReLU6() *Activation { return &Activation{Fn: device.ReLU6} }

// Hardsigmoid returns the layer ReLU6(x + 3)/6 (torch.nn.Hardsigmoid).
func Hardsigmoid() *Activation { return &Activation{Fn: device.Hardsigmoid} }

// Hardswish returns the layer x·ReLU6(x + 3)/6 (torch.nn.Hardswish,
// MobileNetV3's).
func Hardswish() *Activation { return &Activation{Fn: device.Hardswish} }

// activationNames lists what ParseActivation accepts, for messages.
const activationNames = "relu, tanh, sigmoid, gelu, silu, leaky_relu, elu, relu6, hardsigmoid, hardswish or identity"

// ParseActivation returns the activation named relu, tanh, sigmoid, gelu,
// silu, leaky_relu, elu, relu6, hardsigmoid, hardswish or identity
// (case-insensitive). A function with a
// parameter takes torch's default (device.UnaryOp.DefaultParam) where a
// model is built from the name alone (MLP).
func ParseActivation(name string) (device.UnaryOp, error) {
	switch strings.ToLower(name) {
	case "relu":
		return device.ReLU, nil
	case "tanh":
		return device.Tanh, nil
	case "sigmoid":
		return device.Sigmoid, nil
	case "gelu":
		return device.GELU, nil
	case "silu":
		return device.SiLU, nil
	case "leaky_relu", "leakyrelu":
		return device.LeakyReLU, nil
	case "elu":
		return device.ELU, nil
	case "relu6":
		return device.ReLU6, nil
	case "hardsigmoid":
		return device.Hardsigmoid, nil
	case "hardswish":
		return device.Hardswish, nil
	case "identity", "linear", "none":
		return device.Identity, nil
	}
	return 0, fmt.Errorf("nn: unknown activation %q (want %s)", name, activationNames)
}

// Forward applies the function.
func (a *Activation) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	if a.Fn == device.Identity {
		return x
	}
	return tp.ApplyParam(a.Fn, a.Param, x)
}

// Params is empty.
func (a *Activation) Params() []*autograd.Var { return nil }

// NamedParams is empty.
func (a *Activation) NamedParams() []NamedParam { return nil }

func (a *Activation) String() string {
	if a.Fn.HasParam() {
		return fmt.Sprintf("%v(%g)", a.Fn, a.Param)
	}
	return a.Fn.String()
}

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

// Params lists the layers' parameters in order, each once: a layer or
// parameter that appears twice is listed where it first appears.
func (s *Sequential) Params() []*autograd.Var {
	var ps []*autograd.Var
	for _, l := range s.Layers {
		ps = append(ps, l.Params()...)
	}
	return uniqueParams(ps)
}

// NamedParams names layer i's parameters "i.<name>", every name (see
// Named): Sequential(l, act, l) lists l's weight as 0.weight and 2.weight.
func (s *Sequential) NamedParams() []NamedParam {
	var ps []NamedParam
	for i, l := range s.Layers {
		ps = append(ps, prefixed(strconv.Itoa(i), AllNamedParams(l))...)
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

// Residual computes Shortcut(x) + Body(x), with the identity as the
// shortcut when Shortcut is nil: a skip connection, so the tape is a DAG
// in which x fans out and the two gradients add. Without a shortcut Body
// must keep the shape of its input; a ResNet block that changes it
// (stride 2, more channels) projects x with a Shortcut of its own, such as
// Sequential(Conv2d(in, out, 1×1, stride 2), BatchNorm2d(out)), torch's
// "downsample". The parameters are named "body.<name>" and
// "shortcut.<name>".
type Residual struct {
	Body     Module
	Shortcut Module // nil: the identity
}

// Forward returns Shortcut(x) + Body(x).
func (r *Residual) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	y := r.Body.Forward(tp, x)
	skip := x
	if r.Shortcut != nil {
		skip = r.Shortcut.Forward(tp, x)
	}
	if !tp.Failed() && !sameShape(skip.Shape(), y.Shape()) {
		if r.Shortcut == nil {
			panic(fmt.Sprintf("nn: Residual: body maps %v to %v; a residual block without a shortcut must keep the shape", x.Shape(), y.Shape()))
		}
		panic(fmt.Sprintf("nn: Residual: body maps %v to %v but the shortcut to %v", x.Shape(), y.Shape(), skip.Shape()))
	}
	return tp.Add(skip, y)
}

// Params lists the body's parameters, then the shortcut's, each once.
func (r *Residual) Params() []*autograd.Var {
	ps := r.Body.Params()
	if r.Shortcut != nil {
		ps = append(slices.Clip(ps), r.Shortcut.Params()...)
	}
	return uniqueParams(ps)
}

// NamedParams names the body's parameters "body.<name>" and the
// shortcut's "shortcut.<name>", every name (see Named).
func (r *Residual) NamedParams() []NamedParam {
	ps := prefixed("body", AllNamedParams(r.Body))
	if r.Shortcut != nil {
		ps = append(ps, prefixed("shortcut", AllNamedParams(r.Shortcut))...)
	}
	return ps
}

func (r *Residual) String() string {
	if r.Shortcut != nil {
		return fmt.Sprintf("Residual(%v, shortcut=%v)", r.Body, r.Shortcut)
	}
	return fmt.Sprintf("Residual(%v)", r.Body)
}

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
