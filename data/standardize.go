package data

import (
	"fmt"
	"math"
)

// Standardizer rescales each column of a row-major matrix to zero mean and
// unit variance: x' = (x - Mean[c]) / Std[c]. Fit it on the training set
// only and apply it to every set. It works on Dataset.X (cols = Features)
// and, for regression, on Dataset.Y (cols = Targets); Inverse maps
// standardized predictions back to the original units.
//
// Mean and Std are exported so that a checkpoint can store them. Std is the
// population standard deviation (divide by n). A column that is constant on
// the fitting data gets Std = 1, so it is only centred; FitStandardizer
// never stores 0, and Apply and Inverse treat a stored 0 as 1.
type Standardizer struct{ Mean, Std []float32 }

// FitStandardizer computes per-column mean and standard deviation of x,
// which holds len(x)/cols rows of cols values. Sums are taken in float64.
// With no rows, Mean is 0 and Std is 1. It panics if cols <= 0 or len(x) is
// not a multiple of cols.
func FitStandardizer(x []float32, cols int) *Standardizer {
	if cols <= 0 || len(x)%cols != 0 {
		panic(fmt.Sprintf("data: FitStandardizer: len(x) = %d is not a multiple of cols = %d", len(x), cols))
	}
	rows := len(x) / cols
	s := &Standardizer{Mean: make([]float32, cols), Std: make([]float32, cols)}
	for c := range cols {
		if rows == 0 {
			s.Std[c] = 1
			continue
		}
		lo, hi := x[c], x[c]
		sum := 0.0
		for r := range rows {
			v := x[r*cols+c]
			lo, hi = min(lo, v), max(hi, v)
			sum += float64(v)
		}
		mean := sum / float64(rows)
		ss := 0.0
		for r := range rows {
			dv := float64(x[r*cols+c]) - mean
			ss += dv * dv
		}
		std := math.Sqrt(ss / float64(rows))
		if lo == hi || !(std > 0) || float32(std) == 0 {
			std = 1
		}
		s.Mean[c] = float32(mean)
		s.Std[c] = float32(std)
	}
	return s
}

// Cols returns the number of columns the Standardizer was fitted on.
func (s *Standardizer) Cols() int { return len(s.Mean) }

func (s *Standardizer) check(x []float32, what string) {
	if len(s.Mean) == 0 || len(s.Std) != len(s.Mean) {
		panic(fmt.Sprintf("data: Standardizer.%s: invalid standardizer (len(Mean) = %d, len(Std) = %d)", what, len(s.Mean), len(s.Std)))
	}
	if len(x)%len(s.Mean) != 0 {
		panic(fmt.Sprintf("data: Standardizer.%s: len(x) = %d is not a multiple of %d columns", what, len(x), len(s.Mean)))
	}
}

// Apply standardizes x in place. x holds rows of Cols() values. It panics
// if len(x) is not a multiple of Cols(). The arithmetic is float64's, so
// that values near float32's range (x − mean can exceed it) stay finite.
func (s *Standardizer) Apply(x []float32) {
	s.check(x, "Apply")
	cols := len(s.Mean)
	for i := 0; i < len(x); i += cols {
		row := x[i : i+cols]
		for c := range row {
			row[c] = float32((float64(row[c]) - float64(s.Mean[c])) / float64(nonZero(s.Std[c])))
		}
	}
}

// Inverse undoes Apply in place: x = x·Std + Mean. Use it to report
// regression predictions made on standardized targets in original units.
func (s *Standardizer) Inverse(x []float32) {
	s.check(x, "Inverse")
	cols := len(s.Mean)
	for i := 0; i < len(x); i += cols {
		row := x[i : i+cols]
		for c := range row {
			row[c] = float32(float64(row[c])*float64(nonZero(s.Std[c])) + float64(s.Mean[c]))
		}
	}
}

func nonZero(v float32) float32 {
	if v == 0 {
		return 1
	}
	return v
}
