package loss

import (
	"fmt"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// Reduction says how the per-sample distortions ρ_k become one loss value.
type Reduction int

const (
	// Mean is PyTorch's default reduction='mean'. For MSE, MAE, Huber and
	// BCEWithLogits it averages over all K·N elements, L = (1/KN) Σ_k ρ_k;
	// for the other cross-entropies it averages over the K samples,
	// L = (1/K) Σ_k ρ_k.
	Mean Reduction = iota
	// SampleMean is the lecture's L = (1/K) Σ_k ρ(x_k, f(y_k)) for every
	// loss, K the number of samples (see the package doc: a vector [K] is
	// K samples for MSE, MAE, Huber and BCEWithLogits). For MSE it is N times
	// PyTorch's mean.
	SampleMean
	// Sum is L = Σ_k ρ_k, PyTorch's reduction='sum'.
	Sum
)

func (r Reduction) String() string {
	switch r {
	case Mean:
		return "mean"
	case SampleMean:
		return "sample-mean"
	case Sum:
		return "sum"
	}
	return fmt.Sprintf("Reduction(%d)", int(r))
}

// samples returns how a loss of the given kind splits a prediction of
// pred's shape into K samples of N values each: a [K × N] matrix (or any
// shape [… × N], K the product of the leading dimensions) has K rows of N.
// A vector [K] is K samples of one value each for the elementwise losses
// (MSE, MAE, Huber, BCEWithLogits: a regression or binary output per
// sample), so that SampleMean divides by K; for the cross-entropies over
// classes (CrossEntropy, SoftmaxCrossEntropy, SoftmaxCrossEntropyIndex),
// whose sample is a distribution, it is one sample of K classes, as
// PyTorch's unbatched input: K samples of one class would make the loss 0.
func samples(kind device.LossKind, pred []int) (k, n int) {
	if len(pred) == 1 && elementwise(kind) {
		return pred[0], 1
	}
	n = 1
	if len(pred) > 0 {
		n = pred[len(pred)-1]
	}
	k = 1
	for _, d := range pred[:max(len(pred)-1, 0)] {
		k *= d
	}
	return k, n
}

// elementwise distortions add one term per element.
func elementwise(kind device.LossKind) bool {
	return symmetric(kind) || kind == device.BinaryCrossEntropyLogits
}

// scale is the factor applied to Σ_k ρ_k.
func (r Reduction) scale(kind device.LossKind, rows, cols int) float64 {
	switch r {
	case Sum:
		return 1
	case SampleMean:
		return 1 / float64(max(rows, 1))
	case Mean:
		switch kind {
		case device.MSE, device.MAE, device.Huber, device.BinaryCrossEntropyLogits:
			return 1 / float64(max(rows*cols, 1))
		}
		return 1 / float64(max(rows, 1))
	}
	panic(fmt.Sprintf("loss: unknown reduction %d", int(r)))
}

// MSE is ρ(a, b) = ‖a − b‖², with error vector ε = −2(a − b).
// With Mean it equals torch.nn.MSELoss().
func MSE(tp *autograd.Tape, pred, target *autograd.Var, r Reduction) *autograd.Var {
	return apply(tp, device.MSE, 0, pred, target, r)
}

// MAE is ρ(a, b) = ‖a − b‖₁, with error vector ε = −sign(a − b).
// With Mean it equals torch.nn.L1Loss().
func MAE(tp *autograd.Tape, pred, target *autograd.Var, r Reduction) *autograd.Var {
	return apply(tp, device.MAE, 0, pred, target, r)
}

// Huber is ρ(a, b) = Σᵢ h_δ(aᵢ − bᵢ) with h_δ(r) = r²/2 for |r| ≤ δ and
// δ(|r| − δ/2) beyond; ε = −clamp(a − b, −δ, δ). With Mean it equals
// torch.nn.HuberLoss(delta=δ).
func Huber(tp *autograd.Tape, pred, target *autograd.Var, delta float64, r Reduction) *autograd.Var {
	if !(delta > 0) {
		panic(fmt.Sprintf("loss: Huber: δ = %v, want > 0", delta))
	}
	return apply(tp, device.Huber, delta, pred, target, r)
}

// CrossEntropy is the lecture's ρ(a, b) = −Σᵢ aᵢ log bᵢ for predictions b on
// the simplex (bᵢ > 0, Σbᵢ = 1, for example a Softmax output) and targets
// a ≥ 0, with ε = −a ⊘ b. With Mean it equals torch.nn.NLLLoss applied to
// log(b) for one-hot a.
func CrossEntropy(tp *autograd.Tape, prob, target *autograd.Var, r Reduction) *autograd.Var {
	return apply(tp, device.CrossEntropy, 0, prob, target, r)
}

// SoftmaxCrossEntropy is cross-entropy with softmax preprocessing of
// logits b and probability targets a: ρ = −Σᵢ aᵢ log softmax(b)ᵢ, with
// ε = softmax(b)Σaᵢ − a, fused and computed stably. With Mean it equals
// torch.nn.CrossEntropyLoss() given class probabilities.
func SoftmaxCrossEntropy(tp *autograd.Tape, logits, target *autograd.Var, r Reduction) *autograd.Var {
	return apply(tp, device.SoftmaxCrossEntropy, 0, logits, target, r)
}

// SoftmaxCrossEntropyIndex is SoftmaxCrossEntropy with one class index per
// sample (a K-long target holding 0 … N−1): ρ = lse(b) − b_c, with
// ε = softmax(b) − e_c. With Mean it equals torch.nn.CrossEntropyLoss()
// given class indices. An index that is not an integer in [0, cols) makes
// that sample's ρ NaN and its ε 0, and the device returns an error naming
// the row and wrapping device.ErrInvalidInput (from Backward on the CPU,
// from the next synchronising call on CUDA) until Tape.Reset. The device
// stays usable.
func SoftmaxCrossEntropyIndex(tp *autograd.Tape, logits, classes *autograd.Var, r Reduction) *autograd.Var {
	return apply(tp, device.SoftmaxCrossEntropyIndex, 0, logits, classes, r)
}

// SoftmaxCrossEntropyIndexSmoothed is SoftmaxCrossEntropyIndex with label
// smoothing s ∈ [0, 1]: the target is 1 − s on the class and s/N spread
// over all N classes, so that
//
//	ρ = (1 − s)(lse(b) − b_c) + (s/N) Σⱼ (lse(b) − b_j)
//
// With Mean it equals torch.nn.CrossEntropyLoss(label_smoothing=s) given
// class indices. It is the hard loss plus the mean negative log-softmax,
// each with its own adjoint; s = 0 is SoftmaxCrossEntropyIndex itself.
// A bad class index behaves as there.
func SoftmaxCrossEntropyIndexSmoothed(tp *autograd.Tape, logits, classes *autograd.Var, s float64, r Reduction) *autograd.Var {
	if !(s >= 0 && s <= 1) {
		panic(fmt.Sprintf("loss: SoftmaxCrossEntropyIndexSmoothed: smoothing %v, want a value in [0, 1]", s))
	}
	hard := SoftmaxCrossEntropyIndex(tp, logits, classes, r)
	if s == 0 || tp.Failed() {
		return hard
	}
	k, n := samples(device.SoftmaxCrossEntropyIndex, logits.Shape())
	uniform := tp.Sum(tp.LogSoftmax(logits)) // Σ_k Σ_j log softmax(b_k)_j
	return tp.Add(tp.Scale(hard, 1-s), tp.Scale(uniform, -s/float64(n)*r.scale(device.SoftmaxCrossEntropyIndex, k, n)))
}

// BCEWithLogits is the binary cross-entropy of sigmoid(b) against targets a
// in [0, 1], element by element (N independent two-class problems per
// sample): ρ = Σᵢ −aᵢ log σ(bᵢ) − (1−aᵢ) log(1−σ(bᵢ)), computed as
// max(b, 0) − ab + log(1 + e^−|b|) so that large logits do not overflow,
// with ε = σ(b) − a. With Mean it equals torch.nn.BCEWithLogitsLoss().
func BCEWithLogits(tp *autograd.Tape, logits, target *autograd.Var, r Reduction) *autograd.Var {
	return apply(tp, device.BinaryCrossEntropyLogits, 0, logits, target, r)
}

func checkShapes(kind device.LossKind, pred, target *tensor.Tensor) {
	ok := pred.Dims() >= 1
	if kind == device.SoftmaxCrossEntropyIndex {
		ok = ok && target.Len() == pred.Rows() && target.Dims() <= 1
	} else {
		ok = ok && target.SameShape(pred)
	}
	if !ok {
		want := "the prediction's shape"
		if kind == device.SoftmaxCrossEntropyIndex {
			want = fmt.Sprintf("[%d] class indices", pred.Rows())
		}
		panic(fmt.Sprintf("loss: %v: prediction %v and target %v: want target of %s", kind, pred.Shape(), target.Shape(), want))
	}
}

// op is the loss node. The forward kernel saves the error vectors already
// scaled by the reduction factor s, sε; the adjoint multiplies them by the
// upstream scalar, δ_b = ε_up·(sε). From Backward's unit seed that is sε
// itself: the prediction adopts the saved tensor as its gradient, with no
// launch at all, and the seed is never read (UnitSeedAware).
var op = autograd.Op{
	Name:          "Loss",
	UnitSeedAware: true,
	Adjoint: func(tp *autograd.Tape, n *autograd.Node, _ *tensor.Tensor) {
		eps := &n.Saved[0]
		pred, target := n.In[0], n.In[1]
		// For the symmetric distortions ∇_a ρ = −∇_b ρ. The target goes
		// first: the prediction may adopt eps, and a later addition into
		// its gradient would change it.
		if dst, beta := tp.GradDest(target); dst != nil {
			tp.ScaleByScalar(-1, eps, n.Out, beta, dst)
		}
		if tp.UnitSeed(n.Out) {
			tp.Accumulate(pred, eps)
		} else if dst, beta := tp.GradDest(pred); dst != nil {
			tp.ScaleByScalar(1, eps, n.Out, beta, dst)
		}
	},
	Tangent: func(tp *autograd.Tape, n *autograd.Node) *tensor.Tensor {
		// L̇ = Σ ⟨sε_k, ḃ_k⟩ − Σ ⟨sε_k, ȧ_k⟩ (eps holds sε).
		t := tp.Temp()
		if !t.Valid() {
			return t
		}
		tp.Device().Fill(t.Buffer(), 0)
		eps := &n.Saved[0]
		for i, sign := range [2]float64{1, -1} {
			in := n.In[i]
			if i == 1 && !symmetric(device.LossKind(n.Int[0])) {
				break // targets of the cross-entropies are constants
			}
			if tangent := in.Tangent(); tangent != nil {
				tp.Device().Gemm(false, false, 1, 1, eps.Len(), sign, eps.Buffer(), eps.Len(), tangent.Buffer(), 1, 1, t.Buffer(), 1)
			}
		}
		return t
	},
}

func apply(tp *autograd.Tape, kind device.LossKind, param float64, pred, target *autograd.Var, r Reduction) *autograd.Var {
	// Record first: it puts a foreign or stale input on the tape as
	// ErrForeignVar, and on a failed tape (whose Vars have no shape to
	// check) it allocates nothing and the loss is an invalid Var.
	node, out := tp.Record(&op, nil, pred, target)
	if tp.Failed() {
		return out
	}
	p, t := pred.Value(), target.Value()
	checkShapes(kind, p, t)
	if target.RequiresGrad() && !symmetric(kind) {
		panic(fmt.Sprintf("loss: %v: the target must not require a gradient", kind))
	}
	rows, cols := samples(kind, p.Shape())
	scale := r.scale(kind, rows, cols)
	node.Int[0] = int(kind)
	losses := tp.Temp(rows)
	var eps *tensor.Tensor
	if out.RequiresGrad() || pred.Tangent() != nil || target.Tangent() != nil {
		eps = tp.Temp(p.Shape()...)
		node.Save(0, eps)
	}
	if tp.Failed() {
		return out
	}
	dev := tp.Device()
	var epsBuf device.Buffer
	if eps != nil {
		epsBuf = eps.Buffer()
	}
	dev.Loss(kind, param, p.Buffer(), t.Buffer(), rows, cols, losses.Buffer(), epsBuf, scale)
	dev.SumCols(losses.Buffer(), 1, rows, scale, 0, out.Value().Buffer())
	return tp.Done(node)
}

// ErrorVectors evaluates a distortion outside any tape: it returns the
// per-sample ρ_k (a [K] tensor, K the number of samples as the package doc counts them) and the
// lecture's error vectors ε_k = ∇_b ρ(a, b) at a = target_k, b = pred_k (a
// tensor shaped like pred). The caller releases both.
func ErrorVectors(kind device.LossKind, param float64, pred, target *tensor.Tensor) (rho, eps *tensor.Tensor, err error) {
	checkShapes(kind, pred, target)
	rows, cols := samples(kind, pred.Shape())
	dev := pred.Device()
	if rho, err = tensor.New(dev, pred.DType(), rows); err != nil {
		return nil, nil, err
	}
	if eps, err = tensor.New(dev, pred.DType(), pred.Shape()...); err != nil {
		rho.Release()
		return nil, nil, err
	}
	dev.Loss(kind, param, pred.Buffer(), target.Buffer(), rows, cols, rho.Buffer(), eps.Buffer(), 1)
	if err := dev.Err(); err != nil {
		rho.Release()
		eps.Release()
		return nil, nil, fmt.Errorf("loss: %v: %w", kind, err)
	}
	return rho, eps, nil
}

// symmetric distortions depend on a − b only, so ∇_a ρ = −∇_b ρ.
func symmetric(kind device.LossKind) bool {
	return kind == device.MSE || kind == device.MAE || kind == device.Huber
}
