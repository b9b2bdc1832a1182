package main

import (
	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/data"
	"github.com/adjoint-go/adjoint/nn"
)

// evalChunk is the number of rows evaluated per forward pass.
const evalChunk = 512

// metrics of a model on a data set.
type metrics struct {
	loss    float64 // the training loss (regression: on standardised targets)
	acc     float64 // classification
	correct int
	mse, r2 float64 // regression, in the data's units
	n       int
}

// forward runs m on the rows of x (already standardised) without recording
// gradients and returns the outputs; with y (classification indices or
// standardised targets) it also returns the mean loss.
func forward(tp *autograd.Tape, m nn.Module, c *config, x, y []float32, features, outW int) (out []float32, meanLoss float64, err error) {
	rows := len(x) / features
	out = make([]float32, rows*outW)
	lossFn := lossFunc(c.Loss, c.Smooth)
	yw := outW
	if c.Task == "classification" {
		yw = 1
	}
	dev := tp.Device()
	var sum float64
	tp.NoGrad(func() {
		for r := 0; r < rows && err == nil; r += evalChunk {
			k := min(evalChunk, rows-r)
			xt := tp.Temp(k, features)
			if err = tp.Err(); err != nil {
				break
			}
			if err = dev.Upload32(xt.Buffer(), x[r*features:(r+k)*features]); err != nil {
				break
			}
			o := m.Forward(tp, tp.Constant(xt))
			if y != nil {
				yt := tp.Temp(k)
				if yw != 1 || c.Task != "classification" {
					yt = tp.Temp(k, yw)
				}
				if err = tp.Err(); err != nil {
					break
				}
				if err = dev.Upload32(yt.Buffer(), y[r*yw:(r+k)*yw]); err != nil {
					break
				}
				l := lossFn(tp, o, tp.Constant(yt))
				if err = tp.Err(); err != nil { // the tape's error, not the empty value's
					break
				}
				var lv float64
				if lv, err = l.Value().Item(); err != nil {
					break
				}
				sum += lv * float64(k)
			}
			if err = tp.Err(); err != nil {
				break
			}
			err = dev.Download32(out[r*outW:(r+k)*outW], o.Value().Buffer())
			tp.Reset()
		}
	})
	tp.Reset()
	if err != nil {
		return nil, 0, err
	}
	return out, sum / float64(max(rows, 1)), nil
}

// evaluate computes the metrics of m on ds (standardised); for regression
// yRaw holds the targets in data units and ystd maps outputs back.
func evaluate(tp *autograd.Tape, m nn.Module, c *config, ds *data.Dataset, yRaw []float32, ystd *data.Standardizer) (metrics, error) {
	outW := ds.Classes
	if c.Task == "regression" {
		outW = ds.Targets
	}
	out, l, err := forward(tp, m, c, ds.X, ds.Y, ds.Features, outW)
	if err != nil {
		return metrics{}, err
	}
	mt := metrics{loss: l, n: ds.Len()}
	if c.Task == "classification" {
		mt.correct = countCorrect(out, ds.Y, outW)
		mt.acc = float64(mt.correct) / float64(max(mt.n, 1))
		return mt, nil
	}
	if ystd != nil {
		ystd.Inverse(out)
	}
	mt.mse, mt.r2 = regressionMetrics(out, yRaw, outW)
	return mt, nil
}

// regressionMetrics returns the mean squared error over all elements and
// the coefficient of determination R² = 1 − SSE/SST (averaged over target
// columns, as scikit-learn's r2_score).
func regressionMetrics(pred, y []float32, w int) (mse, r2 float64) {
	rows := len(y) / w
	var sse float64
	r2 = 0
	for j := range w {
		var mean float64
		for i := range rows {
			mean += float64(y[i*w+j])
		}
		mean /= float64(rows)
		var ssej, sst float64
		for i := range rows {
			d := float64(y[i*w+j]) - float64(pred[i*w+j])
			ssej += d * d
			t := float64(y[i*w+j]) - mean
			sst += t * t
		}
		sse += ssej
		if sst > 0 {
			r2 += 1 - ssej/sst
		} // a constant target has no R²; count it as 0

	}
	return sse / float64(max(len(y), 1)), r2 / float64(w)
}
