package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/device"
)

// lossShapes are (rows, cols) pairs; a row is one sample.
var lossShapes = [][2]int{
	{1, 1}, {1, 3}, {4, 1}, {3, 17}, {17, 31}, {33, 10}, {64, 65}, {129, 3}, {5, 257}, {31, 129}, {300, 129},
}

// simplex returns a rows×cols matrix of probability rows in which about a
// third of the entries are exactly 0.
func (e *env) simplex(rows, cols int) []float64 {
	a := make([]float64, rows*cols)
	for i := 0; i < rows; i++ {
		row := a[i*cols : (i+1)*cols]
		var s float64
		for j := range row {
			if (i+j)%3 != 0 || cols == 1 {
				row[j] = 0.05 + e.rng.Float64()
				s += row[j]
			}
		}
		for j := range row {
			row[j] /= s
		}
	}
	return e.round(a)
}

// lossData returns targets and predictions for kind, and the largest
// logit magnitude of each row (1 where predictions are not logits).
func (e *env) lossData(kind device.LossKind, delta float64, rows, cols int) (target, pred, maxAbs []float64) {
	maxAbs = filled(rows, 1)
	switch kind {
	case device.MSE:
		return e.uniform(rows*cols, -3, 3), e.uniform(rows*cols, -3, 3), maxAbs
	case device.MAE:
		// |a − b| away from 0, where sign is not differentiable.
		pred = e.uniform(rows*cols, -3, 3)
		target = make([]float64, rows*cols)
		r := e.uniformAway(rows*cols, -3, 3, 1e-2)
		for i := range target {
			target[i] = e.roundv(pred[i] + r[i])
			if math.Abs(target[i]-pred[i]) < 1e-3 {
				target[i] = e.roundv(pred[i] + 0.5)
			}
		}
		return target, pred, maxAbs
	case device.Huber:
		// Residuals alternate between inside and outside [−δ, δ].
		pred = e.uniform(rows*cols, -2, 2)
		target = make([]float64, rows*cols)
		for i := range target {
			r := delta * (0.05 + 0.9*e.rng.Float64())
			if i%2 == 1 {
				r = delta * (1.1 + 2*e.rng.Float64())
			}
			if e.rng.IntN(2) == 0 {
				r = -r
			}
			target[i] = e.roundv(pred[i] + r)
		}
		return target, pred, maxAbs
	case device.CrossEntropy:
		x := e.uniform(rows*cols, -3, 3)
		return e.simplex(rows, cols), e.round(refSoftmax(false, x, rows, cols)), maxAbs
	case device.SoftmaxCrossEntropy:
		pred, maxAbs = e.logits(rows, cols)
		return e.simplex(rows, cols), pred, maxAbs
	case device.BinaryCrossEntropyLogits:
		// Logits within ±8, where the textbook reference is still accurate,
		// and targets that include exact 0 and 1 labels.
		pred = e.uniform(rows*cols, -8, 8)
		target = e.uniform(rows*cols, 0, 1)
		for i := range target {
			switch i % 3 {
			case 0:
				target[i] = 0
			case 1:
				target[i] = 1
			}
		}
		return target, pred, maxAbs
	case device.SoftmaxCrossEntropyIndex:
		pred, maxAbs = e.logits(rows, cols)
		target = make([]float64, rows)
		for i := range target {
			target[i] = float64(e.rng.IntN(cols))
		}
		return target, pred, maxAbs
	}
	panic(fmt.Sprintf("devicetest: no data for loss %v", kind))
}

// testLoss checks the per-row losses ρ and the error vectors ε of kind,
// with eps given (scaled by 1, and by a mean's 1/rows) and with eps nil.
func testLoss(e *env, kind device.LossKind, delta float64) {
	for _, sh := range lossShapes {
		rows, cols := sh[0], sh[1]
		target, pred, maxAbs := e.lossData(kind, delta, rows, cols)
		want, wantScale := make([]float64, rows), make([]float64, rows)
		wantEps, epsMag := make([]float64, rows*cols), make([]float64, rows*cols)
		for k := 0; k < rows; k++ {
			a := target[k : k+1]
			if kind != device.SoftmaxCrossEntropyIndex {
				a = target[k*cols : (k+1)*cols]
			}
			rho, rs, eps, es := refLoss(kind, delta, a, pred[k*cols:(k+1)*cols])
			want[k], wantScale[k] = rho, rs
			copy(wantEps[k*cols:], eps)
			copy(epsMag[k*cols:], es)
		}
		for _, c := range []struct {
			withEps bool
			scale   float64
		}{{true, 1}, {true, 1 / float64(rows)}, {false, 1}} {
			withEps, scale := c.withEps, c.scale
			what := fmt.Sprintf("Loss(%v, param=%g, rows=%d, cols=%d, eps nil=%v, epsScale=%g)", kind, delta, rows, cols, !withEps, scale)
			pb, tb := e.upload(pred), e.upload(target)
			lb := e.upload(filled(rows, math.NaN()))
			var eb device.Buffer
			if withEps {
				eb = e.upload(filled(rows*cols, math.NaN()))
			}
			e.dev.Loss(kind, delta, pb, tb, rows, cols, lb, eb, scale)
			got := e.download(lb)
			e.checkFinite(what+": losses", got)
			for k := 0; k < rows; k++ {
				e.check(fmt.Sprintf("%s: loss of row %d", what, k), got[k:k+1], want[k:k+1],
					e.rowTol(maxAbs[k])*sqrtN(cols), func(int) float64 { return wantScale[k] })
			}
			if withEps {
				gotEps := e.download(eb)
				e.checkFinite(what+": eps", gotEps)
				for k := 0; k < rows; k++ {
					lo, hi := k*cols, (k+1)*cols
					scaled := make([]float64, cols)
					for j := range scaled {
						scaled[j] = scale * wantEps[lo+j]
					}
					e.check(fmt.Sprintf("%s: eps of row %d", what, k), gotEps[lo:hi], scaled,
						e.rowTol(maxAbs[k]), func(j int) float64 { return scale * epsMag[lo+j] })
				}
			}
			e.checkSame(what+": pred must be untouched", e.download(pb), pred)
			e.checkSame(what+": target must be untouched", e.download(tb), target)
		}
	}
}

// testErrorReporting checks how a device reports a bad class index of
// SoftmaxCrossEntropyIndex. Either Sync returns an error wrapping
// device.ErrInvalidInput, as Err does, until the device is told the batch
// is done (device.InputErrClearer, when it implements it; the device then
// computes the next loss right), or Sync returns nil. Either way the bad
// row's loss is NaN and its ε 0, so that it adds nothing to a gradient,
// and the other rows are right.
func testErrorReporting(t *testing.T, dev device.Device, dt device.DType) {
	e := &env{suite: &suite{dev: dev, dt: dt}, t: t}
	defer func() {
		for _, b := range e.bufs {
			dev.Free(b)
		}
	}()
	const rows, cols = 3, 5
	what := fmt.Sprintf("Loss(%v) with class index %d of %d classes in row 1", device.SoftmaxCrossEntropyIndex, cols, cols)
	pred := e.round([]float64{0.5, -1, 2, 0.25, 1, 1, 2, 3, 4, 5, -2, 0, 2, 1, 0.5})
	pb := e.upload(pred)
	tb := e.upload([]float64{2, cols, 0})
	lb := e.upload([]float64{7, 7, 7}) // finite, so a skipped row is not taken for NaN
	eb := e.upload(filled(rows*cols, 7))
	// checkRows checks every row's loss and ε against softmax cross-entropy
	// with the classes in target (−1: a bad row, NaN and 0).
	checkRows := func(when string, target []int) {
		losses, eps := make([]float64, rows), make([]float64, rows*cols)
		require.NoError(t, e.rawDownload(losses, lb), "%s: %s: Download of the losses", what, when)
		require.NoError(t, e.rawDownload(eps, eb), "%s: %s: Download of ε", what, when)
		for k := range rows {
			b, got := pred[k*cols:(k+1)*cols], eps[k*cols:(k+1)*cols]
			if target[k] < 0 {
				assert.Truef(t, math.IsNaN(losses[k]), "%s: %s: loss of the bad row %d = %v, want NaN", what, when, k, losses[k])
				assert.Equal(t, filled(cols, 0), got, "%s: %s: ε of the bad row %d must be 0", what, when, k)
				continue
			}
			lse := 0.0
			for _, v := range b {
				lse += math.Exp(v)
			}
			want := math.Log(lse) - b[target[k]]
			assert.InDelta(t, want, losses[k], 1e-5*max(1, math.Abs(want)), "%s: %s: loss of row %d", what, when, k)
			for j, v := range b {
				g := math.Exp(v) / lse
				if j == target[k] {
					g--
				}
				assert.InDelta(t, g, got[j], 1e-5, "%s: %s: ε of row %d, class %d", what, when, k, j)
			}
		}
	}
	dev.Loss(device.SoftmaxCrossEntropyIndex, 0, pb, tb, rows, cols, lb, eb, 1)
	err := dev.Sync()
	if err == nil {
		checkRows("Sync returned nil", []int{2, -1, 0})
		return
	}
	t.Logf("%s: Sync reports %v", what, err)
	require.ErrorIs(t, err, device.ErrInvalidInput, "%s: a failure of the data, not of the device", what)
	require.ErrorIs(t, dev.Err(), device.ErrInvalidInput, "%s: Err reports what Sync did", what)
	c, ok := dev.(device.InputErrClearer)
	if !ok {
		return // the error stays: the device cannot be told the batch is done
	}
	c.ClearInputErr()
	checkRows("the bad batch", []int{2, -1, 0})
	require.NoError(t, dev.Sync(), "%s: Sync after ClearInputErr", what)
	// The device goes on: the same batch with a valid class.
	require.NoError(t, dev.Upload32(tb, []float32{2, 3, 0}))
	dev.Loss(device.SoftmaxCrossEntropyIndex, 0, pb, tb, rows, cols, lb, eb, 1)
	require.NoError(t, dev.Sync(), "%s: the next batch", what)
	checkRows("the next batch", []int{2, 3, 0})
}
