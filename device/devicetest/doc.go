// Package devicetest is the conformance suite that every device.Device
// backend runs: it checks each method against an independent float64
// reference written in plain loops in this package (it does not use the cpu
// package, so the CPU backend is checked like any other).
//
// # Using it from a backend
//
// A backend's tests call Run with a fresh device (see cpu/conformance_test.go):
//
//	package cuda_test
//
//	import (
//		"testing"
//
//		"github.com/adjoint-go/adjoint/device"
//		_ "github.com/adjoint-go/adjoint/device/cuda" // registers "cuda"
//		"github.com/adjoint-go/adjoint/device/devicetest"
//	)
//
//	func TestConformance(t *testing.T) {
//		dev, err := device.Open("cuda:0")
//		if err != nil {
//			t.Skipf("no CUDA device: %v", err)
//		}
//		devicetest.Run(t, dev) // or devicetest.RunDType(t, dev, device.Float32)
//	}
//
// Run checks Float32 and, when dev.Alloc(device.Float64, 1) succeeds,
// Float64; RunDType checks one dtype. Each method family is a subtest
// (TestConformance/float32/Gemm, …/Unary/relu, …/Loss/huber-delta=0.5), so
// `go test -run 'Conformance/float32/Gemm'` isolates one. Data comes from a
// math/rand/v2 generator seeded by dtype and subtest name, so every backend
// sees the same inputs, uploaded with Upload32 or Upload64 and read back with
// Download32 or Download64. Every subtest ends by requiring a nil Sync.
//
// # Coverage
//
// Shapes are table-driven over sizes that are not multiples of GPU tiles
// (1, 3, 17, 31, 33, 64, 65, 127, 129, 257 and rectangular mixes). Gemm runs
// all four transpose pairs with leading dimensions both tight and padded,
// several α and β, and β = 0 on a NaN-filled C, which must be overwritten in
// the m×n block while the padding keeps its NaN. Outputs of every method are
// NaN-filled before the call wherever the method is meant to overwrite them
// (Scale, Unary, Binary, SumRows/SumCols with β = 0, the SGD velocity on its
// first step, …), and inputs and out-of-block elements are checked to be
// untouched. In-place forms allowed by the Device documentation are checked
// (Scale y == x, Unary y == x, Binary c == a and c == b, BiasActivation
// y == x). Unary inputs are kept in each function's domain (positive for log
// and sqrt, away from 0 for the rest, where abs and relu have kinks), Div
// denominators away from 0. Softmax, LogSoftmax and the softmax losses include
// rows of ±1000 logits and must stay finite with probabilities summing to 1.
// LayerNorm gets rows around 1000 with a small spread (cancellation in
// x − μ) and constant rows (σ² = 0), with and without γ and β, in place
// and not; its adjoint is checked with every output optional and the
// parameter gradients both written and accumulated. ArgMaxMatches gets
// rows with tied maxima (only the first counts), rows holding NaN (which
// wins, as in torch.argmax) and labels that are no class (−1, cols, 0.5,
// NaN), and is checked exactly for β = 0 on a NaN count, β = 1 and
// β = 0.5. The optimizers run three consecutive steps against the formulas
// of device.SGDConfig, device.AdamConfig and device.RMSpropConfig.
//
// The Special group then visits the points the checks above avoid, where
// libraries part ways, and requires PyTorch's values there (the CPU is
// checked against torch itself at the same points, autograd/torch_test.go):
// ReLU and |x| at 0 (derivative 0), log and √ at 0 (an infinite
// derivative, +Inf or −Inf with the sign of ε), exp of ±800 (+Inf and 0),
// the sigmoid and tanh saturated at ±800 (derivative 0), MAE at zero
// residuals (ε = 0), Huber at |r| = δ, and BCEWithLogits and both softmax
// cross-entropies with logits of ±800 (finite losses, exact ε).
//
// # Tolerance policy
//
// The reference runs in float64 on the inputs already rounded to the dtype
// under test, so it sees exactly the values the device holds. Element i of a
// result passes when
//
//	|got − want| ≤ tol · max(|want|, scaleᵢ)
//
// with tol = Tol32 (1e-4) for Float32 and Tol64 (1e-10) for Float64. scaleᵢ
// is the magnitude that rounding errors are proportional to:
//
//   - elementwise methods (Unary, UnaryAdjoint, Binary, BiasActivation,
//     Scale, optimizer parameters): 1, the order of the inputs, so results
//     are compared relatively above 1 and absolutely below (this admits the
//     fast-math intrinsics of GPUs, whose error is absolute near log's zero);
//   - sums of n terms (Gemm with k, Dot, SumRows, SumCols, the softmax
//     adjoints, per-row losses): Σ|termᵢ|, with tol multiplied by √n;
//   - Axpy: |αx| + |y|, with tol doubled for the two roundings;
//   - softmax-family results of a row whose logits reach |x| > 100: tol is
//     multiplied by |x|max/100, as the rounding of x − logsumexp(x) grows with
//     |x| and exp turns it into a relative error;
//   - optimizer state after step t: tol multiplied by t, with floors of 1e-2
//     for Adam's m and RMSprop's grad_avg, and 1e-5 for Adam's v and
//     RMSprop's square_avg.
//
// Copies (Upload/Download round trips, Copy2D, Fill) and untouched elements
// must match exactly; NaN matches only NaN.
//
// # Error reporting
//
// After all families, Run (and RunDType) calls Loss with
// SoftmaxCrossEntropyIndex and a class index equal to the number of classes.
// Either way the bad row's loss must be NaN and its ε 0 (it adds nothing to
// a gradient) and the other rows right. Two behaviours are accepted: Sync
// returns an error wrapping device.ErrInvalidInput, as Err does, until the
// device is told the batch is done (device.InputErrClearer; the CPU and
// CUDA devices implement it, and the next loss must then be right: a
// failure of the data must not end the device, or one bad request would
// end a server's model), or Sync returns nil. Upload and Download length mismatches must be returned as errors
// without being recorded, so the suite expects a nil Sync after them.
package devicetest
