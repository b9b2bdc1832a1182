package bench

import (
	"errors"
	"math"
	"slices"
	"time"
)

// Timing says how many times a configuration runs: Warmup untimed runs,
// then timed repetitions until at least MinReps have run and MinTime has
// passed, or MaxReps have run.
type Timing struct {
	Warmup  int     `json:"warmup"`
	MinReps int     `json:"min_reps"`
	MaxReps int     `json:"max_reps"`
	MinTime float64 `json:"min_time"` // seconds
}

// QuickTiming and FullTiming are the command's two settings.
var (
	QuickTiming = Timing{Warmup: 1, MinReps: 7, MaxReps: 100, MinTime: 0.5}
	FullTiming  = Timing{Warmup: 2, MinReps: 10, MaxReps: 500, MinTime: 1.5}
)

// Stats summarises repetition times, in seconds.
type Stats struct {
	Reps   int     `json:"reps"`
	Median float64 `json:"median_s"`
	Q1     float64 `json:"q1_s"`
	Q3     float64 `json:"q3_s"`
	Min    float64 `json:"min_s"`
	Max    float64 `json:"max_s"`
}

// Spread is the interquartile range relative to the median, in percent.
func (s Stats) Spread() float64 {
	if s.Median <= 0 {
		return 0
	}
	return 100 * (s.Q3 - s.Q1) / s.Median
}

// Summarize computes Stats of a sample of times (seconds); quartiles
// interpolate linearly between order statistics (numpy's default).
func Summarize(times []float64) Stats {
	if len(times) == 0 {
		return Stats{}
	}
	t := slices.Clone(times)
	slices.Sort(t)
	return Stats{
		Reps:   len(t),
		Median: quantile(t, 0.5),
		Q1:     quantile(t, 0.25),
		Q3:     quantile(t, 0.75),
		Min:    t[0],
		Max:    t[len(t)-1],
	}
}

func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	f := pos - float64(lo)
	return sorted[lo]*(1-f) + sorted[hi]*f
}

// Measure runs f as Timing says and returns the repetition times. f must
// include whatever synchronisation makes its work complete (a device Sync).
func Measure(tm Timing, f func() error) ([]float64, error) {
	for range tm.Warmup {
		if err := f(); err != nil {
			return nil, err
		}
	}
	if tm.MinReps < 1 {
		return nil, errors.New("bench: Timing.MinReps must be at least 1")
	}
	var times []float64
	start := time.Now()
	for len(times) < tm.MinReps || (len(times) < tm.MaxReps && time.Since(start).Seconds() < tm.MinTime) {
		t0 := time.Now()
		if err := f(); err != nil {
			return times, err
		}
		times = append(times, time.Since(t0).Seconds())
	}
	return times, nil
}

// FitLogLog fits log y = a + s·log x by least squares and returns the slope
// s and intercept a (natural logarithms): y ≈ eᵃ xˢ. It needs two distinct
// positive x values and positive y values.
func FitLogLog(xs, ys []float64) (slope, intercept float64, err error) {
	if len(xs) != len(ys) {
		return 0, 0, errors.New("bench: FitLogLog: x and y lengths differ")
	}
	var n, sx, sy float64
	for i := range xs {
		if !(xs[i] > 0) || !(ys[i] > 0) {
			return 0, 0, errors.New("bench: FitLogLog: values must be positive")
		}
		n++
		sx += math.Log(xs[i])
		sy += math.Log(ys[i])
	}
	if n < 2 {
		return 0, 0, errors.New("bench: FitLogLog: need at least two points")
	}
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for i := range xs {
		dx := math.Log(xs[i]) - mx
		sxx += dx * dx
		sxy += dx * (math.Log(ys[i]) - my)
	}
	if sxx == 0 {
		return 0, 0, errors.New("bench: FitLogLog: x values are all equal")
	}
	slope = sxy / sxx
	return slope, my - slope*mx, nil
}
