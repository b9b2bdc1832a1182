// Package loss implements the lecture's general losses
//
//	L(θ) = (1/K) Σ_k ρ(x_k, f_θ(y_k))
//
// for MSE, MAE, Huber, cross-entropy on probabilities, and cross-entropy
// with softmax preprocessing (PyTorch's CrossEntropyLoss, with class
// indices or probabilities as targets). A loss enters back propagation only
// through its error vectors ε_k = ∇_b ρ(a, b) at a = x_k, b = f_θ(y_k):
//
//	MSE   ρ = ‖a−b‖²               ε = −2(a−b)
//	MAE   ρ = ‖a−b‖₁               ε = −sign(a−b)
//	CE    ρ = −Σ aᵢ log bᵢ          ε = −a ⊘ b
//	softmax CE (logits b)          ε = softmax(b)Σa − a
//
// The device computes ρ_k and ε_k for all K samples in one call, ε already
// multiplied by the reduction factor (1/K for a mean), and sums the ρ_k
// into the loss value in a second; from Backward's unit seed the loss node's
// adjoint then hands the saved ε to the prediction as its gradient as is,
// and the network's nodes carry it right to left. On a GPU the loss costs
// those two launches per step.
//
// Samples. A prediction [K × N] (or [… × N], K the product of the leading
// dimensions) holds K samples of N values. A vector [K] is K samples of one
// value for the elementwise losses, MSE, MAE, Huber and BCEWithLogits (one
// regression output or one binary logit per sample), so that SampleMean
// divides by K; for the cross-entropies over classes it is one sample of K
// classes, PyTorch's unbatched input (K one-class samples would give a loss
// of 0).
//
// Reductions. Mean is PyTorch's default, so that printed numbers match
// torch.nn losses: MSE, MAE and Huber average over all K·N elements, the
// cross-entropies over the K samples. SampleMean is the lecture's 1/K for
// every loss (for MSE it is N × PyTorch's mean). Sum adds the ρ_k.
package loss
