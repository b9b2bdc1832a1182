package data

import (
	"fmt"
	"math"
)

// Task says what a Dataset's Y holds.
type Task int

const (
	// Classification: Y holds one class index per sample, stored as a
	// float32 holding a non-negative integer (0, 1, ..., Classes-1).
	Classification Task = iota
	// Regression: Y holds Targets real values per sample, row-major.
	Regression
)

// String returns "classification" or "regression".
func (t Task) String() string {
	switch t {
	case Classification:
		return "classification"
	case Regression:
		return "regression"
	default:
		return fmt.Sprintf("Task(%d)", int(t))
	}
}

// maxClassLabel bounds class labels: every integer below it is exactly
// representable as a float32, and it keeps Classes (max label + 1) sane.
const maxClassLabel = 1 << 24

// Dataset is an in-memory table of samples. See the package documentation
// for the memory layout of X and Y.
type Dataset struct {
	Name     string
	X        []float32 // row-major, Len()×Features
	Y        []float32 // Classification: class index as float (len Len()); Regression: Len()×Targets
	Features int
	Targets  int // regression: number of target columns; classification: 1
	Classes  int // classification: number of classes (max label+1); regression: 0
	Task     Task
}

// Len returns the number of samples (rows). It is derived from X and
// Features; a Dataset with Features == 0 falls back to Y.
func (d *Dataset) Len() int {
	if d.Features > 0 {
		return len(d.X) / d.Features
	}
	if w := d.YWidth(); w > 0 {
		return len(d.Y) / w
	}
	return 0
}

// YWidth returns the number of float32 values per sample in Y: 1 for
// classification, Targets for regression.
func (d *Dataset) YWidth() int {
	if d.Task == Classification {
		return 1
	}
	return d.Targets
}

// Validate checks that the fields of d are mutually consistent: slice
// lengths match Len(), Features/Targets/Classes fit the Task, and for
// classification every label is an integer in [0, Classes).
func (d *Dataset) Validate() error {
	if d.Features <= 0 {
		return fmt.Errorf("data: dataset %q: Features = %d, want > 0", d.Name, d.Features)
	}
	if len(d.X)%d.Features != 0 {
		return fmt.Errorf("data: dataset %q: len(X) = %d is not a multiple of Features = %d", d.Name, len(d.X), d.Features)
	}
	n := len(d.X) / d.Features
	switch d.Task {
	case Classification:
		if d.Targets != 1 {
			return fmt.Errorf("data: dataset %q: classification wants Targets = 1, have %d", d.Name, d.Targets)
		}
		if d.Classes <= 0 {
			return fmt.Errorf("data: dataset %q: classification wants Classes > 0, have %d", d.Name, d.Classes)
		}
		if len(d.Y) != n {
			return fmt.Errorf("data: dataset %q: len(Y) = %d, want %d (one label per sample)", d.Name, len(d.Y), n)
		}
		for i, y := range d.Y {
			if y < 0 || y != float32(math.Trunc(float64(y))) || int(y) >= d.Classes {
				return fmt.Errorf("data: dataset %q: sample %d: label %v is not an integer in [0, %d)", d.Name, i, y, d.Classes)
			}
		}
	case Regression:
		if d.Targets <= 0 {
			return fmt.Errorf("data: dataset %q: regression wants Targets > 0, have %d", d.Name, d.Targets)
		}
		if d.Classes != 0 {
			return fmt.Errorf("data: dataset %q: regression wants Classes = 0, have %d", d.Name, d.Classes)
		}
		if len(d.Y) != n*d.Targets {
			return fmt.Errorf("data: dataset %q: len(Y) = %d, want %d (%d samples × %d targets)", d.Name, len(d.Y), n*d.Targets, n, d.Targets)
		}
	default:
		return fmt.Errorf("data: dataset %q: unknown task %v", d.Name, d.Task)
	}
	return nil
}

// subset returns a new Dataset holding copies of the given rows of d, in
// the given order.
func (d *Dataset) subset(name string, rows []int) *Dataset {
	f, w := d.Features, d.YWidth()
	out := &Dataset{
		Name:     name,
		X:        make([]float32, len(rows)*f),
		Y:        make([]float32, len(rows)*w),
		Features: d.Features,
		Targets:  d.Targets,
		Classes:  d.Classes,
		Task:     d.Task,
	}
	for i, r := range rows {
		copy(out.X[i*f:(i+1)*f], d.X[r*f:(r+1)*f])
		copy(out.Y[i*w:(i+1)*w], d.Y[r*w:(r+1)*w])
	}
	return out
}
