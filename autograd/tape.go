package autograd

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// Var is a value in a computation: a leaf (a parameter, an input, a
// constant) or the output of an op recorded on a Tape. After Backward, Grad
// holds ∂L/∂v for every Var that requires a gradient.
type Var struct {
	value   tensor.Tensor
	grad    tensor.Tensor
	tangent tensor.Tensor
	name    string
	node    *Node // producing node; nil for leaves
	// needsGrad: a gradient must flow to this Var (it is a parameter or
	// depends on one). persistent: the Var outlives tapes (a parameter),
	// so its gradient is kept until ZeroGrad.
	needsGrad  bool
	persistent bool
	hasGrad    bool
	hasTangent bool
	// seedPending: grad is Backward's unit seed, not yet written because
	// the root's op never reads it (Op.UnitSeedAware); Grad writes it.
	seedPending bool
	// gradShared: grad is another Var's gradient, adopted by Accumulate
	// without a copy (an identity-like adjoint passing ε on); it must be
	// copied before anything is added into it, or that Var's Grad would
	// change too (copy on write).
	gradShared bool
}

// NewParam wraps t as a trainable parameter. Parameters live across tapes;
// their gradients accumulate over Backward calls until ZeroGrad, as in
// PyTorch.
func NewParam(name string, t *tensor.Tensor) *Var {
	return &Var{value: *t, name: name, needsGrad: true, persistent: true}
}

// Value is the tensor computed by the forward pass.
func (v *Var) Value() *tensor.Tensor { return &v.value }

// Shape is the value's shape.
func (v *Var) Shape() []int { return v.value.Shape() }

// Name is the parameter name, or the op that produced v.
func (v *Var) Name() string {
	if v.name == "" && v.node != nil {
		return v.node.Op.Name
	}
	return v.name
}

// RequiresGrad reports whether Backward computes a gradient for v.
func (v *Var) RequiresGrad() bool { return v.needsGrad }

// Grad is ∂L/∂v after Backward, or nil if no gradient reached v.
func (v *Var) Grad() *tensor.Tensor {
	if !v.hasGrad {
		return nil
	}
	if v.seedPending {
		v.seedPending = false
		v.grad.Device().Fill(v.grad.Buffer(), 1)
	}
	return &v.grad
}

// ZeroGrad forgets the accumulated gradient of a parameter (PyTorch's
// zero_grad with set_to_none): the next Backward writes instead of adding.
func (v *Var) ZeroGrad() { v.hasGrad = false }

// Tangent is the forward-mode derivative J·ṽ carried by v, or nil.
func (v *Var) Tangent() *tensor.Tensor {
	if !v.hasTangent {
		return nil
	}
	return &v.tangent
}

// SetTangent seeds forward-mode differentiation: every op recorded after
// this on a tape propagates J·t to its output (the lecture's forward
// propagation of the gradient). t must have v's shape; v keeps a reference.
func (v *Var) SetTangent(t *tensor.Tensor) {
	if !v.value.Valid() {
		return // the Var of a failed op (its tape holds the error)
	}
	if !t.SameShape(&v.value) {
		panic(fmt.Sprintf("autograd: SetTangent: tangent shape %v, value shape %v", t.Shape(), v.Shape()))
	}
	v.tangent, v.hasTangent = *t, true
	v.tangent.ReshapeInto(&v.tangent, t.Shape()...) // hold it as a view: the caller owns the memory
}

// Release frees a parameter's value and gradient memory.
func (v *Var) Release() {
	v.value.Release()
	v.grad.Release()
	v.hasGrad = false
}

// Op describes one op family member: its name and its adjoint and tangent
// rules. Forward computation happens in the op's constructor function, which
// records a Node; Adjoint and Tangent run later from the Node.
type Op struct {
	Name string
	// Adjoint receives ε = ∂L/∂out and accumulates δᵢ = Aᵢᵀε into each input
	// that needs a gradient (Tape.Accumulate or Tape.GradDest), and gₘ for
	// parameters likewise. The Jacobians are never formed.
	Adjoint func(tp *Tape, n *Node, eps *tensor.Tensor)
	// Tangent returns J·ṫ, given the inputs' tangents (nil for inputs
	// without one), as a new temporary tensor. It may be nil: the op then
	// gives its output no tangent, and forward-mode checks of it
	// (gradcheck's tangent rule) report that it has none.
	Tangent func(tp *Tape, n *Node) *tensor.Tensor
	// UnitSeedAware says that Adjoint never reads ε when tp.UnitSeed(n.Out)
	// (it treats ε as the number 1), so that Backward from such a node with
	// the default seed need not write the seed on the device: one launch
	// less per step for a loss.
	UnitSeedAware bool
}

// Node is one recorded application of an Op.
type Node struct {
	Op  *Op
	In  []*Var
	Out *Var
	// Saved holds tensors the adjoint needs besides inputs and output (for
	// example a loss's error vectors); they are freed with the tape.
	Saved [2]tensor.Tensor
	// Int and Float hold small op parameters (an axis, a scale).
	Int   [4]int
	Float float64
	in    [3]*Var
	index int
}

// Tape records ops as they run, so that Backward can replay them in
// reverse. A Tape and everything recorded on it belong to one goroutine.
// Reset frees all intermediate memory and makes the tape reusable: a training
// loop that resets one tape per step reaches a steady state in which
// recording allocates nothing.
type Tape struct {
	dev           device.Device
	dtype         device.DType
	nodes         []*Node
	nodeArena     arena[Node]
	varArena      arena[Var]
	temps         []*tensor.Tensor
	tempArena     arena[tensor.Tensor]
	noGrad        int
	backwardDone  bool
	checkNumerics bool
	err           error
	ones          tensor.Tensor
	// resample caches the matrices of the separable resamplings
	// (adaptive.go) across steps: built and uploaded once per size.
	resample map[resampleKey]*tensor.Tensor
	// root is the Var Backward started from; unitSeed says its ε is 1.
	root     *Var
	unitSeed bool
	// cur is the node whose adjoint Backward is running, nil outside.
	cur *Node
}

// NewTape returns an empty tape whose ops run on dev and allocate dt
// tensors (Float32 for training, Float64 for gradient checks).
func NewTape(dev device.Device, dt device.DType) *Tape {
	return &Tape{dev: dev, dtype: dt}
}

// Device is the tape's device.
func (tp *Tape) Device() device.Device { return tp.dev }

// DType is the type of the tensors the tape allocates.
func (tp *Tape) DType() device.DType { return tp.dtype }

// Err returns the first failure of a recorded op (allocation, NaN with
// CheckNumerics); once set, later ops do nothing and Backward returns it.
func (tp *Tape) Err() error { return tp.err }

// SetCheckNumerics makes every op check its output (and every adjoint its
// δ) for NaN and ±Inf and fail with an error naming the op. It downloads
// each result, so it is for debugging.
func (tp *Tape) SetCheckNumerics(on bool) { tp.checkNumerics = on }

// NoGrad runs f with recording off: ops compute values only (inference).
func (tp *Tape) NoGrad(f func()) {
	tp.noGrad++
	defer func() { tp.noGrad-- }()
	f()
}

// Len is the number of recorded nodes.
func (tp *Tape) Len() int { return len(tp.nodes) }

// Reset frees every tensor the tape allocated (values, gradients and
// tangents of non-parameter Vars) and forgets the nodes. Vars produced on the
// tape must not be used afterwards: an op given one records ErrForeignVar,
// as long as the next recording has not handed its slot to a new Var (Vars
// are reused, not allocated, and the two are then the same pointer).
// Parameter gradients are kept.
func (tp *Tape) Reset() {
	for _, t := range tp.temps {
		t.Release()
	}
	clear(tp.temps)
	tp.temps = tp.temps[:0]
	tp.tempArena.reset()
	clear(tp.nodes)
	tp.nodes = tp.nodes[:0]
	tp.nodeArena.reset()
	tp.varArena.reset()
	tp.backwardDone = false
	tp.err = nil
	tp.root, tp.unitSeed = nil, false
	tp.cur = nil
	// The step is over: a bad class index it met is done with too.
	if c, ok := tp.dev.(device.InputErrClearer); ok {
		c.ClearInputErr()
	}
}

// Release frees the tape's memory, including cached constants.
func (tp *Tape) Release() {
	tp.Reset()
	tp.ones.Release()
	for _, t := range tp.resample {
		t.Release()
	}
	clear(tp.resample)
}

// Input wraps a tensor as a leaf of the computation. With requiresGrad,
// Backward computes its gradient (freed by Reset); otherwise it is a
// constant. The tape does not take ownership of t.
func (tp *Tape) Input(t *tensor.Tensor, requiresGrad bool) *Var {
	if !t.Valid() {
		panic("autograd: Input: the tensor is released (or was never allocated)")
	}
	v := tp.varArena.next()
	v.value = *t
	v.value.ReshapeInto(&v.value, t.Shape()...) // a view: the caller owns t
	v.needsGrad = requiresGrad
	return v
}

// Constant is Input(t, false).
func (tp *Tape) Constant(t *tensor.Tensor) *Var { return tp.Input(t, false) }

// ConstantFloat32 uploads data, of the given shape (1-D of len(data) when
// none is given), into a tape temporary of the tape's dtype and returns it
// as a constant: a batch of inputs or targets in one call, freed by Reset
// with the step's other temporaries. It panics when data does not fill
// the shape; an upload failure is recorded on the tape.
func (tp *Tape) ConstantFloat32(data []float32, shape ...int) *Var {
	t := tp.constantTemp("ConstantFloat32", len(data), shape)
	if !t.Valid() {
		return tp.failedVar() // ops on it see the recorded error
	}
	if err := tp.dev.Upload32(t.Buffer(), data); err != nil {
		tp.fail(fmt.Errorf("autograd: ConstantFloat32: %w", err))
	}
	return tp.Input(t, false)
}

// ConstantFloat64 is ConstantFloat32 for float64 data (rounded to float32
// on a float32 tape).
func (tp *Tape) ConstantFloat64(data []float64, shape ...int) *Var {
	t := tp.constantTemp("ConstantFloat64", len(data), shape)
	if !t.Valid() {
		return tp.failedVar()
	}
	if err := tp.dev.Upload64(t.Buffer(), data); err != nil {
		tp.fail(fmt.Errorf("autograd: ConstantFloat64: %w", err))
	}
	return tp.Input(t, false)
}

// constantTemp allocates the temporary of a constant of n values, of the
// given shape or 1-D, and panics naming op when n does not fill the shape.
func (tp *Tape) constantTemp(op string, n int, shape []int) *tensor.Tensor {
	if len(shape) == 0 {
		return tp.Temp(n)
	}
	if product(shape) != n {
		panic(fmt.Sprintf("autograd: %s: %d values do not fill shape %v", op, n, slices.Clone(shape)))
	}
	return tp.Temp(shape...)
}

// Temp allocates a tensor that the tape frees on Reset. On failure it
// records the error and returns an invalid tensor, and so it does on a
// tape that has failed, without trying.
func (tp *Tape) Temp(shape ...int) *tensor.Tensor {
	t := tp.tempArena.next()
	if tp.err != nil {
		return t // a failed tape allocates nothing more
	}
	if err := t.Init(tp.dev, tp.dtype, shape...); err != nil {
		tp.fail(err)
		return t
	}
	tp.temps = append(tp.temps, t)
	return t
}

func (tp *Tape) fail(err error) {
	if tp.err == nil {
		tp.err = err
	}
}

// Failed reports whether an earlier op failed; op constructors then skip
// their compute and return an invalid Var, so that the error surfaces once.
func (tp *Tape) Failed() bool { return tp.err != nil }

// failedVar is what an op returns on a tape that has failed, before any
// shape check: an invalid Var, without a shape (as every Var of a failed
// op), so that the error surfaces once, from Err or Backward, and never as
// a shape panic further on.
func (tp *Tape) failedVar() *Var { return tp.varArena.next() }

// skip reports whether an op on inputs must not run: the tape has failed,
// or an input is foreign or stale (recorded as ErrForeignVar now). Op
// constructors call it before their shape checks, for which such inputs
// have no shape, and then return failedVar.
func (tp *Tape) skip(op *Op, inputs ...*Var) bool {
	return !tp.checkInputs(op, inputs) || tp.Failed()
}

// Record allocates the output of an op applied to inputs and, unless
// gradients are off, records a node for Backward. The output's value is
// uninitialised: the caller computes it next and then calls Done.
func (tp *Tape) Record(op *Op, shape []int, inputs ...*Var) (*Node, *Var) {
	// Inputs first: the output's slot may be that of a Var from before
	// Reset, which must still look stale when it is checked.
	tp.checkInputs(op, inputs)
	n := tp.nodeArena.next()
	n.Op = op
	n.In = append(n.in[:0], inputs...)
	out := tp.varArena.next()
	n.Out = out
	if t := tp.Temp(shape...); t.Valid() { // never on a failed tape
		out.value = *t
		out.value.ReshapeInto(&out.value, shape...) // owned by temps, held as a view
	}
	for _, in := range inputs {
		if in != nil && in.needsGrad {
			out.needsGrad = true
		}
	}
	if tp.noGrad > 0 {
		out.needsGrad = false
	}
	return n, out
}

// checkInputs records ErrForeignVar for an input whose gradient would stop
// at it: the ops that made it are on another tape, which this Backward
// never replays, or Reset has cleared it (its value is gone). It reports
// whether the inputs are fine.
func (tp *Tape) checkInputs(op *Op, inputs []*Var) bool {
	for i, in := range inputs {
		if in != nil && ((in.node != nil && !tp.owns(in.node)) || !in.value.Valid()) {
			tp.fail(fmt.Errorf("autograd: %s: input %d: %w (recorded on another tape, or before Reset)", op.Name, i, ErrForeignVar))
			return false
		}
	}
	return true
}

// owns reports whether n is a node of this tape's current recording.
func (tp *Tape) owns(n *Node) bool {
	return n.index < len(tp.nodes) && tp.nodes[n.index] == n
}

// Done finishes an op constructor: it appends the node to the tape when a
// gradient must flow through it, propagates tangents, and checks numerics.
func (tp *Tape) Done(n *Node) *Var {
	out := n.Out
	if tp.err != nil {
		return out
	}
	if out.needsGrad {
		out.node = n
		n.index = len(tp.nodes)
		tp.nodes = append(tp.nodes, n)
	}
	if n.Op.Tangent != nil && tp.noGrad == 0 {
		for _, in := range n.In {
			if in != nil && in.hasTangent {
				if t := n.Op.Tangent(tp, n); t.Valid() {
					out.tangent, out.hasTangent = *t, true
					out.tangent.ReshapeInto(&out.tangent, out.Shape()...)
				}
				break
			}
		}
	}
	if tp.checkNumerics {
		tp.checkFinite(n.Op.Name, "forward", &out.value)
	}
	return out
}

func (tp *Tape) checkFinite(op, phase string, t *tensor.Tensor) {
	if tp.err != nil || !t.Valid() {
		return
	}
	v, err := t.Float64s()
	if err != nil {
		tp.fail(fmt.Errorf("autograd: %s %s: %w", op, phase, err))
		return
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			tp.fail(fmt.Errorf("autograd: %s %s produced %v at element %d of shape %v: %w", op, phase, x, i, t.Shape(), ErrNonFinite))
			return
		}
	}
}

// Errors returned by Backward.
var (
	ErrNonFinite      = errors.New("non-finite value")
	ErrBackwardTwice  = errors.New("backward called twice on one tape; call Reset and run the forward pass again")
	ErrNoGrad         = errors.New("tensor does not require a gradient (no parameter or requiresGrad input reaches it)")
	ErrNotScalar      = errors.New("backward from a non-scalar needs a seed of its shape (BackwardWith)")
	ErrForeignVar     = errors.New("var was not recorded on this tape")
	ErrBadSeedShape   = errors.New("seed shape differs from the output's")
	ErrNothingToApply = errors.New("nothing recorded")
)

// Backward computes ∂root/∂v for every Var that needs a gradient, where root
// is a scalar (a loss). It seeds ε = 1 and replays the tape in reverse.
func (tp *Tape) Backward(root *Var) error {
	if root.value.Valid() && root.value.Len() != 1 {
		return fmt.Errorf("autograd: Backward from shape %v: %w", root.Shape(), ErrNotScalar)
	}
	return tp.BackwardWith(root, nil)
}

// BackwardWith seeds ε = seed at root (a vector–Jacobian product uᵀJ for
// any output shape) and replays the tape in reverse: each node's adjoint
// turns the ε of its output into δ for its inputs, right to left, and
// gradients add where a value fans out. A nil seed means ones.
func (tp *Tape) BackwardWith(root *Var, seed *tensor.Tensor) error {
	if tp.err != nil {
		return tp.err
	}
	if tp.backwardDone {
		return fmt.Errorf("autograd: %w", ErrBackwardTwice)
	}
	if !root.needsGrad {
		return fmt.Errorf("autograd: Backward from %q: %w", root.Name(), ErrNoGrad)
	}
	if root.node != nil && !tp.owns(root.node) {
		return fmt.Errorf("autograd: Backward: %w", ErrForeignVar)
	}
	tp.backwardDone = true
	tp.root, tp.unitSeed = root, seed == nil
	g := tp.Temp(root.Shape()...)
	if !g.Valid() {
		return tp.err
	}
	// An op that treats a unit seed as the number 1 needs no seed in
	// memory: Var.Grad writes it if someone asks for the root's gradient.
	lazySeed := seed == nil && root.node != nil && root.node.Op.UnitSeedAware
	if seed == nil && !lazySeed {
		tp.dev.Fill(g.Buffer(), 1)
	} else if seed != nil {
		if !seed.SameShape(&root.value) && seed.Len() != root.value.Len() {
			return fmt.Errorf("autograd: BackwardWith: seed %v, output %v: %w", seed.Shape(), root.Shape(), ErrBadSeedShape)
		}
		g.CopyFrom(seed)
	}
	tp.Accumulate(root, g)
	root.seedPending = lazySeed
	if root.node == nil {
		return tp.dev.Err()
	}
	for i := root.node.index; i >= 0 && tp.err == nil; i-- {
		n := tp.nodes[i]
		if !n.Out.hasGrad {
			continue // not on a path to root
		}
		tp.cur = n
		n.Op.Adjoint(tp, n, &n.Out.grad)
		tp.cur = nil
		if tp.checkNumerics {
			for _, in := range n.In {
				if in != nil && in.hasGrad {
					tp.checkFinite(n.Op.Name, "adjoint", &in.grad)
				}
			}
		}
	}
	if tp.err != nil {
		return tp.err
	}
	return tp.dev.Err()
}

// GradDest returns where an adjoint should write v's gradient contribution,
// and β: 0 when it is the first contribution (write), 1 when it must add
// (fan-out). It returns nil when v needs no gradient. Ops whose device
// kernels take β (Gemm, SumRows) accumulate in place this way. A gradient
// that v shares with another Var (see Accumulate) is copied first, so the
// addition changes v's gradient alone.
func (tp *Tape) GradDest(v *Var) (*tensor.Tensor, float64) {
	if v == nil || !v.needsGrad || tp.err != nil {
		return nil, 0
	}
	if v.hasGrad {
		if v.gradShared {
			t := tp.Temp(v.Shape()...)
			if !t.Valid() {
				return nil, 0
			}
			t.CopyFrom(&v.grad)
			tp.ownGrad(v, t)
		}
		return &v.grad, 1
	}
	if !v.grad.Valid() {
		var t *tensor.Tensor
		if v.persistent {
			var err error
			if t, err = tensor.New(tp.dev, v.value.DType(), v.Shape()...); err != nil {
				tp.fail(fmt.Errorf("autograd: gradient of %q: %w", v.Name(), err))
				return nil, 0
			}
		} else if t = tp.Temp(v.Shape()...); !t.Valid() {
			return nil, 0
		}
		v.grad = *t
		if !v.persistent {
			v.grad.ReshapeInto(&v.grad, v.Shape()...) // owned by temps
		}
	}
	v.hasGrad = true
	return &v.grad, 0
}

// ownGrad makes the tape temporary t v's gradient, held as a view.
func (tp *Tape) ownGrad(v *Var, t *tensor.Tensor) {
	t.ReshapeInto(&v.grad, v.Shape()...)
	v.gradShared = false
}

// Accumulate adds a gradient contribution δ (a tape temporary, or any
// tensor of v's length) into v's gradient. The first contribution to a
// non-parameter is adopted without a copy. When δ is the ε of the node
// whose adjoint is running (an identity-like adjoint passing ε on, as Add,
// Scale by 1 and Reshape do), the adopted gradient is shared with that
// node's output, and a later contribution goes into a new tensor (copy on
// write): every Var's Grad stays ∂L/∂v, and a chain without fan-out copies
// nothing.
func (tp *Tape) Accumulate(v *Var, delta *tensor.Tensor) {
	if v == nil || !v.needsGrad || tp.err != nil || !delta.Valid() {
		return
	}
	if !v.hasGrad && !v.persistent {
		v.grad = *delta
		v.grad.ReshapeInto(&v.grad, v.Shape()...)
		v.hasGrad = true
		v.gradShared = tp.cur != nil && tp.cur.Out.hasGrad && delta.Buffer() == tp.cur.Out.grad.Buffer()
		return
	}
	if v.gradShared {
		// grad + δ into a new tensor: one launch, as the in-place Axpy.
		t := tp.Temp(v.Shape()...)
		if t.Valid() {
			tp.dev.Binary(device.Add, v.grad.Buffer(), delta.Buffer(), t.Buffer())
			tp.ownGrad(v, t)
		}
		return
	}
	dst, beta := tp.GradDest(v)
	if dst == nil {
		return
	}
	if beta == 0 {
		dst.CopyFrom(delta)
	} else {
		tp.dev.Axpy(1, delta.Buffer(), dst.Buffer())
	}
}

// Ones returns a cached tensor of at least n ones (its length may be
// larger: take n elements of its buffer, as a rank-one product with
// leading dimension 1 does), for broadcasting on the device. For an
// elementwise op that needs exactly n ones, fill a Temp instead.
func (tp *Tape) Ones(n int) *tensor.Tensor {
	if tp.err != nil && (!tp.ones.Valid() || tp.ones.Len() < n) {
		return tp.tempArena.next() // invalid: a failed tape allocates nothing more
	}
	if !tp.ones.Valid() || tp.ones.Len() < n {
		tp.ones.Release()
		if err := tp.ones.Init(tp.dev, tp.dtype, max(n, 64)); err != nil {
			tp.fail(err)
			return &tp.ones
		}
		tp.dev.Fill(tp.ones.Buffer(), 1)
	}
	return &tp.ones
}

// arena hands out zeroed values from reusable blocks, so that recording a
// step allocates nothing once the tape has seen one step of that size.
type arena[T any] struct {
	blocks [][]T
	used   int
}

const arenaBlock = 64

func (a *arena[T]) next() *T {
	b, i := a.used/arenaBlock, a.used%arenaBlock
	if b == len(a.blocks) {
		a.blocks = append(a.blocks, make([]T, arenaBlock))
	}
	a.used++
	return &a.blocks[b][i]
}

func (a *arena[T]) reset() {
	for b := 0; b*arenaBlock < a.used; b++ {
		clear(a.blocks[b])
	}
	a.used = 0
}

// Save keeps a tape temporary in the node for its adjoint (as a view: the
// tape still owns and frees it).
func (n *Node) Save(i int, t *tensor.Tensor) {
	t.ReshapeInto(&n.Saved[i], t.Shape()...)
}

// UnitSeed reports whether v is the scalar Backward started from with the
// default seed ε = 1, so that its adjoint may treat ε as the number 1.
func (tp *Tape) UnitSeed(v *Var) bool { return tp.unitSeed && v == tp.root }

// ScaleByScalar writes dst = β dst + α s x for the gradient s of a scalar
// output v (its upstream ε), without a trip to the host. When v is the
// Backward root with a unit seed, s = 1 and this is a plain scale or axpy;
// otherwise it is the rank-one product x·s on the device.
func (tp *Tape) ScaleByScalar(alpha float64, x *tensor.Tensor, v *Var, beta float64, dst *tensor.Tensor) {
	switch {
	case tp.UnitSeed(v) && beta == 0:
		tp.dev.Scale(alpha, x.Buffer(), dst.Buffer())
	case tp.UnitSeed(v):
		tp.dev.Axpy(alpha, x.Buffer(), dst.Buffer())
	default:
		n := x.Len()
		tp.dev.Gemm(false, false, n, 1, 1, alpha, x.Buffer(), 1, v.grad.Buffer(), 1, beta, dst.Buffer(), 1)
	}
}
