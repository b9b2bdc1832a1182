package data

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuiltins(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		features int
		targets  int
		classes  int
		task     Task
	}{
		{"digits", 1797, 64, 1, 10, Classification},
		{"diabetes", 442, 10, 1, 0, Regression},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Builtin(tc.name)
			require.NoError(t, err)
			require.NoError(t, d.Validate())
			assert.Equal(t, tc.name, d.Name)
			assert.Equal(t, tc.n, d.Len())
			assert.Equal(t, tc.features, d.Features)
			assert.Equal(t, tc.targets, d.Targets)
			assert.Equal(t, tc.classes, d.Classes)
			assert.Equal(t, tc.task, d.Task)
			assert.Len(t, d.X, tc.n*tc.features)
			assert.Len(t, d.Y, tc.n*tc.targets)
		})
	}
	t.Run("names", func(t *testing.T) {
		assert.Equal(t, []string{"diabetes", "digits"}, Names())
	})
	t.Run("unknown name lists valid ones", func(t *testing.T) {
		_, err := Builtin("mnist")
		require.Error(t, err)
		assert.Contains(t, err.Error(), `"mnist"`)
		assert.Contains(t, err.Error(), "diabetes, digits")
	})
	t.Run("fresh copy each call", func(t *testing.T) {
		a, err := Digits()
		require.NoError(t, err)
		a.X[0] = 99
		b, err := Digits()
		require.NoError(t, err)
		assert.Equal(t, float32(0), b.X[0])
	})
	t.Run("attribution", func(t *testing.T) {
		a := Attribution()
		for _, s := range []string{"Alpaydin", "Kaynak", "CC BY 4.0", "Efron", "Least Angle Regression", "BSD-3-Clause", "scikit-learn"} {
			assert.Contains(t, a, s)
		}
	})
}

func TestDigitsValues(t *testing.T) {
	d, err := Digits()
	require.NoError(t, err)
	perClass := make([]int, 10)
	for i, y := range d.Y {
		require.Equal(t, float32(math.Trunc(float64(y))), y, "sample %d", i)
		require.True(t, y >= 0 && y <= 9, "sample %d label %v", i, y)
		perClass[int(y)]++
	}
	for c, n := range perClass {
		assert.Greater(t, n, 150, "class %d", c)
	}
	for i, v := range d.X {
		require.True(t, v >= 0 && v <= 16 && v == float32(int(v)), "pixel %d = %v", i, v)
	}
	// First row of the file: 0,0,5,13,9,1,0,0,... label 0.
	assert.Equal(t, []float32{0, 0, 5, 13, 9, 1, 0, 0}, d.X[:8])
	assert.Equal(t, float32(0), d.Y[0])
	assert.Equal(t, float32(1), d.Y[1])
}

func TestDiabetesValues(t *testing.T) {
	d, err := Diabetes()
	require.NoError(t, err)
	// First row: 59 2 32.1 101.0 157 93.2 38.0 4.0 4.8598 87, target 151.
	assert.Equal(t, []float32{59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87}, d.X[:10])
	assert.Equal(t, float32(151), d.Y[0])
	assert.Equal(t, float32(75), d.Y[1])
	for i := range d.Len() {
		sex := d.X[i*10+1]
		require.True(t, sex == 1 || sex == 2, "row %d sex %v", i, sex)
		require.True(t, d.Y[i] >= 25 && d.Y[i] <= 346, "row %d target %v", i, d.Y[i])
	}
}

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		labelCol int
		task     Task
		x, y     []float32
		features int
		classes  int
	}{
		{
			name: "no header, label last", in: "1,2,0\n3,4,2\n", labelCol: -1, task: Classification,
			x: []float32{1, 2, 3, 4}, y: []float32{0, 2}, features: 2, classes: 3,
		},
		{
			name: "header, label first", in: "y,a,b\n1,0.5,-2\n0,1e3,7\n", labelCol: 0, task: Classification,
			x: []float32{0.5, -2, 1e3, 7}, y: []float32{1, 0}, features: 2, classes: 2,
		},
		{
			name: "label in the middle, regression", in: "1,2.5,3\n4,-5.25,6\n", labelCol: 1, task: Regression,
			x: []float32{1, 3, 4, 6}, y: []float32{2.5, -5.25}, features: 2,
		},
		{
			name: "negative label index from end", in: "1,2,3\n4,5,6\n", labelCol: -3, task: Regression,
			x: []float32{2, 3, 5, 6}, y: []float32{1, 4}, features: 2,
		},
		{
			name: "spaces, CRLF, blank lines, quoted cells", in: "a, b ,label\r\n\r\n 1 , 2 ,\"3\"\r\n4,5,6\r\n\n", labelCol: -1, task: Classification,
			x: []float32{1, 2, 4, 5}, y: []float32{3, 6}, features: 2, classes: 7,
		},
		{
			name: "no trailing newline", in: "1,2\n3,4", labelCol: -1, task: Regression,
			x: []float32{1, 3}, y: []float32{2, 4}, features: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ReadCSV(strings.NewReader(tc.in), "in.csv", tc.labelCol, tc.task)
			require.NoError(t, err)
			require.NoError(t, d.Validate())
			assert.Equal(t, "in.csv", d.Name)
			assert.Equal(t, tc.x, d.X)
			assert.Equal(t, tc.y, d.Y)
			assert.Equal(t, tc.features, d.Features)
			assert.Equal(t, 1, d.Targets)
			assert.Equal(t, tc.classes, d.Classes)
			assert.Equal(t, tc.task, d.Task)
			assert.Equal(t, len(tc.y), d.Len())
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		labelCol int
		task     Task
		want     []string // substrings of the error
	}{
		{"empty", "", -1, Regression, []string{"bad.csv", "empty file"}},
		{"only blank lines", "\n\n\n", -1, Regression, []string{"bad.csv", "empty file"}},
		{"header only", "a,b,c\n", -1, Regression, []string{"bad.csv", "header on line 1 but no data rows"}},
		{"single column", "1\n2\n", -1, Regression, []string{"bad.csv", "line 1", "at least 2"}},
		{"ragged short", "1,2,3\n4,5\n", -1, Regression, []string{"bad.csv", "line 2", "ragged", "2 columns, want 3"}},
		{"ragged long after header", "a,b\n1,2\n3,4\n5,6,7\n", -1, Regression, []string{"bad.csv", "line 4", "3 columns, want 2 as in line 1"}},
		{"non-numeric cell", "1,2,3\n4,x5,6\n", -1, Regression, []string{"bad.csv", "line 2, column 2", `"x5" is not a number`}},
		{"non-numeric with header name", "a,b,c\n1,2,3\n4,5,oops\n", 0, Regression, []string{"bad.csv", `line 3, column 3 ("c")`, `"oops"`}},
		{"empty cell", "1,2,3\n4,,6\n", -1, Regression, []string{"bad.csv", "line 2, column 2", "empty cell"}},
		{"mixed first row", "1,abc,3\n4,5,6\n", -1, Regression, []string{"bad.csv", "line 1, column 2", "header row"}},
		{"NaN", "1,2\nNaN,3\n", -1, Regression, []string{"line 2, column 1", "not a finite number"}},
		{"Inf", "1,2\n3,+Inf\n", -1, Regression, []string{"line 2, column 2", "not a finite number"}},
		{"float32 overflow", "1,2\n1e39,3\n", -1, Regression, []string{"line 2, column 1", "out of float32 range"}},
		{"negative class label", "1,0\n2,-1\n", -1, Classification, []string{"bad.csv", "line 2, column 2", `"-1"`, "non-negative integer"}},
		{"fractional class label", "1,0\n2,1.5\n", -1, Classification, []string{"line 2, column 2", `"1.5"`, "non-negative integer"}},
		{"huge class label", "1,0\n2,1e9\n", -1, Classification, []string{"line 2, column 2", "non-negative integer"}},
		{"label column out of range", "1,2\n", 2, Regression, []string{"bad.csv", "label column 2 out of range for 2 columns"}},
		{"negative label column out of range", "1,2\n", -3, Regression, []string{"label column -3 out of range"}},
		{"bad quotes", "1,2\n3,\"4\n", -1, Regression, []string{"bad.csv", "line 2"}},
		{"unknown task", "1,2\n", -1, Task(7), []string{"bad.csv", "unknown task"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ReadCSV(strings.NewReader(tc.in), "bad.csv", tc.labelCol, tc.task)
			require.Error(t, err)
			assert.Nil(t, d)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestLoadCSV(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	require.NoError(t, os.WriteFile(good, []byte("f1,f2,label\n1,2,1\n3,4,0\n"), 0o644))
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("1,2,1\n3,four,0\n"), 0o644))

	t.Run("happy path", func(t *testing.T) {
		d, err := LoadCSV(good, -1, Classification)
		require.NoError(t, err)
		assert.Equal(t, good, d.Name)
		assert.Equal(t, []float32{1, 2, 3, 4}, d.X)
		assert.Equal(t, []float32{1, 0}, d.Y)
		assert.Equal(t, 2, d.Classes)
	})
	t.Run("missing file", func(t *testing.T) {
		missing := filepath.Join(dir, "nope.csv")
		_, err := LoadCSV(missing, -1, Classification)
		require.Error(t, err)
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.Contains(t, err.Error(), missing)
	})
	t.Run("error names file line column", func(t *testing.T) {
		_, err := LoadCSV(bad, -1, Classification)
		require.Error(t, err)
		assert.Contains(t, err.Error(), bad+": line 2, column 2")
	})
}

func TestValidate(t *testing.T) {
	ok := func() *Dataset {
		return &Dataset{Name: "t", X: []float32{1, 2, 3, 4}, Y: []float32{0, 1}, Features: 2, Targets: 1, Classes: 2, Task: Classification}
	}
	require.NoError(t, ok().Validate())
	tests := []struct {
		name   string
		mutate func(d *Dataset)
		want   string
	}{
		{"zero features", func(d *Dataset) { d.Features = 0 }, "Features = 0"},
		{"ragged X", func(d *Dataset) { d.X = d.X[:3] }, "not a multiple"},
		{"Y length", func(d *Dataset) { d.Y = d.Y[:1] }, "len(Y) = 1"},
		{"label out of range", func(d *Dataset) { d.Y[1] = 2 }, "label 2"},
		{"targets", func(d *Dataset) { d.Targets = 2 }, "Targets = 1"},
		{"classes", func(d *Dataset) { d.Classes = 0 }, "Classes > 0"},
		{"regression classes", func(d *Dataset) { d.Task = Regression }, "Classes = 0"},
		{"unknown task", func(d *Dataset) { d.Task = 9 }, "unknown task"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := ok()
			tc.mutate(d)
			err := d.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// indexed returns a dataset whose feature 0 is the row index, so that
// samples can be traced through Split and Batcher.
func indexed(n, features int, task Task, classes int) *Dataset {
	d := &Dataset{Name: "idx", Features: features, Task: task, Targets: 1}
	if task == Classification {
		d.Classes = classes
	} else {
		d.Targets = 2
	}
	for i := range n {
		for f := range features {
			d.X = append(d.X, float32(i*100+f))
		}
		if task == Classification {
			d.Y = append(d.Y, float32(i%classes))
		} else {
			d.Y = append(d.Y, float32(i), float32(-i))
		}
	}
	return d
}

func ids(d *Dataset) []int {
	out := make([]int, d.Len())
	for i := range out {
		out[i] = int(d.X[i*d.Features]) / 100
	}
	return out
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name     string
		d        *Dataset
		frac     float64
		wantTest int
	}{
		{"classification", indexed(100, 3, Classification, 4), 0.2, 20},
		{"regression", indexed(101, 2, Regression, 0), 0.25, 25},
		{"tiny rounds up to one", indexed(3, 1, Regression, 0), 0.01, 1},
		{"tiny keeps one train", indexed(3, 1, Regression, 0), 0.99, 2},
		{"unbalanced classes", indexed(57, 2, Classification, 5), 0.3, 17},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			train, test, err := Split(tc.d, tc.frac, 7)
			require.NoError(t, err)
			require.NoError(t, train.Validate())
			require.NoError(t, test.Validate())
			n := tc.d.Len()
			assert.Equal(t, tc.wantTest, test.Len())
			assert.Equal(t, n-tc.wantTest, train.Len())
			assert.Equal(t, tc.d.Classes, train.Classes)
			assert.Equal(t, tc.d.Classes, test.Classes)
			assert.Equal(t, "idx/train", train.Name)
			assert.Equal(t, "idx/test", test.Name)

			// Disjoint and covering, with rows intact (Y follows X).
			all := append(ids(train), ids(test)...)
			slices.Sort(all)
			want := make([]int, n)
			for i := range want {
				want[i] = i
			}
			assert.Equal(t, want, all)
			for _, part := range []*Dataset{train, test} {
				for i, id := range ids(part) {
					w := part.YWidth()
					assert.Equal(t, tc.d.Y[id*w:(id+1)*w], part.Y[i*w:(i+1)*w])
					assert.Equal(t, tc.d.X[id*part.Features:(id+1)*part.Features], part.X[i*part.Features:(i+1)*part.Features])
				}
			}

			// Deterministic for a seed, different for another.
			train2, test2, err := Split(tc.d, tc.frac, 7)
			require.NoError(t, err)
			assert.Equal(t, train, train2)
			assert.Equal(t, test, test2)
			if n > 10 {
				train3, _, err := Split(tc.d, tc.frac, 8)
				require.NoError(t, err)
				assert.NotEqual(t, ids(train), ids(train3))
			}
		})
	}
	t.Run("stratified", func(t *testing.T) {
		d, err := Digits()
		require.NoError(t, err)
		train, test, err := Split(d, 0.2, 1)
		require.NoError(t, err)
		counts := func(ds *Dataset) []int {
			c := make([]int, 10)
			for _, y := range ds.Y {
				c[int(y)]++
			}
			return c
		}
		all, tr, te := counts(d), counts(train), counts(test)
		for c := range 10 {
			assert.InDelta(t, 0.2*float64(all[c]), float64(te[c]), 1, "class %d", c)
			assert.Equal(t, all[c], tr[c]+te[c])
		}
	})
	t.Run("sparse labels", func(t *testing.T) {
		d := &Dataset{Name: "sparse", Features: 1, Targets: 1, Classes: 1_000_001, Task: Classification}
		for i := range 10 {
			d.X = append(d.X, float32(i*100))
			d.Y = append(d.Y, float32((i%2)*1_000_000))
		}
		train, test, err := Split(d, 0.4, 1)
		require.NoError(t, err)
		assert.Equal(t, 6, train.Len())
		assert.Equal(t, 4, test.Len())
		big := 0
		for _, y := range test.Y {
			if y > 0 {
				big++
			}
		}
		assert.Equal(t, 2, big, "stratified over the classes present")
	})
	t.Run("does not modify input", func(t *testing.T) {
		d := indexed(20, 2, Classification, 2)
		before := *d
		before.X = slices.Clone(d.X)
		before.Y = slices.Clone(d.Y)
		_, _, err := Split(d, 0.5, 3)
		require.NoError(t, err)
		assert.Equal(t, &before, d)
	})
	errs := []struct {
		name string
		d    *Dataset
		frac float64
		want string
	}{
		{"nil", nil, 0.2, "nil dataset"},
		{"zero fraction", indexed(10, 1, Regression, 0), 0, "not in (0, 1)"},
		{"one fraction", indexed(10, 1, Regression, 0), 1, "not in (0, 1)"},
		{"NaN fraction", indexed(10, 1, Regression, 0), math.NaN(), "not in (0, 1)"},
		{"one sample", indexed(1, 1, Regression, 0), 0.5, "at least 2 samples"},
		{"invalid dataset", &Dataset{Name: "bad", X: []float32{1}, Y: []float32{1, 2}, Features: 1, Targets: 1, Task: Regression}, 0.5, "len(Y)"},
	}
	for _, tc := range errs {
		t.Run("error/"+tc.name, func(t *testing.T) {
			_, _, err := Split(tc.d, tc.frac, 1)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestStandardizer(t *testing.T) {
	// Columns: mean 2 std sqrt(2/3); constant 5; mean 0 std 2.
	x := []float32{
		1, 5, -2,
		2, 5, 2,
		3, 5, -2,
		2, 5, 2,
	}
	s := FitStandardizer(x, 3)
	assert.Equal(t, 3, s.Cols())
	assert.InDeltaSlice(t, []float32{2, 5, 0}, s.Mean, 1e-6)
	assert.InDeltaSlice(t, []float32{float32(math.Sqrt(0.5)), 1, 2}, s.Std, 1e-6)

	y := slices.Clone(x)
	s.Apply(y)
	r := float32(1 / math.Sqrt(0.5))
	assert.InDeltaSlice(t, []float32{-r, 0, -1, 0, 0, 1, r, 0, -1, 0, 0, 1}, y, 1e-6)

	// Standardized columns have mean 0 and (non-constant) std 1.
	s2 := FitStandardizer(y, 3)
	assert.InDeltaSlice(t, []float32{0, 0, 0}, s2.Mean, 1e-6)
	assert.InDeltaSlice(t, []float32{1, 1, 1}, s2.Std, 1e-6)

	s.Inverse(y)
	assert.InDeltaSlice(t, x, y, 1e-6)

	t.Run("applies to other data with train statistics", func(t *testing.T) {
		z := []float32{4, 7, 4}
		s.Apply(z)
		assert.InDeltaSlice(t, []float32{2 * r, 2, 2}, z, 1e-5)
	})
	t.Run("stored zero std treated as one", func(t *testing.T) {
		z := []float32{3}
		(&Standardizer{Mean: []float32{1}, Std: []float32{0}}).Apply(z)
		assert.Equal(t, []float32{2}, z)
	})
	t.Run("constant fractional column", func(t *testing.T) {
		c := FitStandardizer([]float32{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, 1)
		assert.Equal(t, float32(1), c.Std[0])
	})
	t.Run("no rows", func(t *testing.T) {
		c := FitStandardizer(nil, 2)
		assert.Equal(t, []float32{0, 0}, c.Mean)
		assert.Equal(t, []float32{1, 1}, c.Std)
	})
	t.Run("regression targets", func(t *testing.T) {
		d, err := Diabetes()
		require.NoError(t, err)
		ys := FitStandardizer(d.Y, d.Targets)
		orig := slices.Clone(d.Y)
		ys.Apply(d.Y)
		ys.Inverse(d.Y)
		assert.InDeltaSlice(t, orig, d.Y, 1e-3)
	})
	t.Run("values near float32's range", func(t *testing.T) {
		// mean = 1.7e38, so x[0] − mean = −5.1e38 overflows float32:
		// Apply must still give −√3 and the others 1/√3.
		x := []float32{-3.4e38, 3.4e38, 3.4e38, 3.4e38}
		orig := slices.Clone(x)
		c := FitStandardizer(x, 1)
		c.Apply(x)
		for i, v := range x {
			want := 1 / math.Sqrt(3)
			if i == 0 {
				want = -math.Sqrt(3)
			}
			assert.InDelta(t, want, float64(v), 1e-6, "x[%d]", i)
		}
		c.Inverse(x)
		assert.InDeltaSlice(t, orig, x, 1e32)
		for _, v := range x {
			assert.False(t, math.IsInf(float64(v), 0))
		}
	})
	t.Run("panics on bad shapes", func(t *testing.T) {
		assert.Panics(t, func() { FitStandardizer([]float32{1, 2, 3}, 2) })
		assert.Panics(t, func() { FitStandardizer([]float32{1, 2}, 0) })
		assert.Panics(t, func() { s.Apply([]float32{1, 2}) })
		assert.Panics(t, func() { s.Inverse([]float32{1, 2}) })
	})
}

func drain(b *Batcher) (batches [][]int, ys [][]float32) {
	for x, y, k, ok := b.Next(); ok; x, y, k, ok = b.Next() {
		row := make([]int, k)
		for i := range k {
			row[i] = int(x[i*b.d.Features]) / 100
		}
		batches = append(batches, row)
		ys = append(ys, slices.Clone(y))
	}
	return batches, ys
}

func TestBatcher(t *testing.T) {
	tests := []struct {
		name      string
		d         *Dataset
		batchSize int
		shuffle   bool
		sizes     []int
	}{
		{"exact multiple", indexed(12, 2, Classification, 3), 4, true, []int{4, 4, 4}},
		{"short last batch", indexed(10, 3, Regression, 0), 4, true, []int{4, 4, 2}},
		{"batch larger than data", indexed(5, 1, Classification, 2), 64, true, []int{5}},
		{"batch of one", indexed(3, 1, Regression, 0), 1, false, []int{1, 1, 1}},
		{"no shuffle", indexed(7, 2, Classification, 2), 3, false, []int{3, 3, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.d.Len()
			b := NewBatcher(tc.d, tc.batchSize, tc.shuffle, 99)
			assert.Equal(t, len(tc.sizes), b.NumBatches())
			assert.Equal(t, tc.batchSize, b.BatchSize())
			var epochs [][]int
			for e := range 3 {
				assert.Equal(t, uint64(e), b.Epoch())
				batches, ys := drain(b)
				var order []int
				for i, bt := range batches {
					assert.Len(t, bt, tc.sizes[i])
					w := tc.d.YWidth()
					for j, id := range bt {
						assert.Equal(t, tc.d.Y[id*w:(id+1)*w], ys[i][j*w:(j+1)*w], "labels follow rows")
					}
					order = append(order, bt...)
				}
				// Every sample exactly once per epoch.
				sorted := slices.Sorted(slices.Values(order))
				for i := range n {
					require.Equal(t, i, sorted[i])
				}
				x, y, k, ok := b.Next()
				assert.False(t, ok)
				assert.Nil(t, x)
				assert.Nil(t, y)
				assert.Zero(t, k)
				epochs = append(epochs, order)
				b.Reset()
			}
			if !tc.shuffle {
				for _, o := range epochs {
					assert.True(t, slices.IsSorted(o), "unshuffled order %v", o)
				}
			} else if n >= 10 {
				assert.NotEqual(t, epochs[0], epochs[1], "epochs reshuffled")
			}

			// Same seed => same sequence of permutations; different seed differs.
			b2 := NewBatcher(tc.d, tc.batchSize, tc.shuffle, 99)
			for e := range 3 {
				bt, _ := drain(b2)
				assert.Equal(t, epochs[e], slices.Concat(bt...))
				b2.Reset()
			}
			if tc.shuffle && n >= 10 {
				b3 := NewBatcher(tc.d, tc.batchSize, tc.shuffle, 100)
				bt, _ := drain(b3)
				assert.NotEqual(t, epochs[0], slices.Concat(bt...))
			}
			// SetEpoch is a pure function of (seed, epoch).
			b2.SetEpoch(1)
			bt, _ := drain(b2)
			assert.Equal(t, epochs[1], slices.Concat(bt...))
		})
	}
}

func TestBatcherResume(t *testing.T) {
	d := indexed(23, 2, Classification, 3)
	a := NewBatcher(d, 5, true, 5)
	a.Reset()
	a.Reset() // epoch 2
	a.Next()
	a.Next()
	st := a.State()
	assert.Equal(t, BatcherState{Seed: 5, Epoch: 2, Pos: 10, Shuffle: true, N: 23}, st)
	wantRest, _ := drain(a)
	a.Reset()
	wantNext, _ := drain(a)

	b := NewBatcher(d, 5, true, 5)
	require.NoError(t, b.Restore(st))
	gotRest, _ := drain(b)
	b.Reset()
	gotNext, _ := drain(b)
	assert.Equal(t, wantRest, gotRest)
	assert.Equal(t, wantNext, gotNext)

	t.Run("errors", func(t *testing.T) {
		assert.ErrorContains(t, b.Restore(BatcherState{Seed: 6, Shuffle: true}), "seed 6")
		assert.ErrorContains(t, b.Restore(BatcherState{Seed: 5, Shuffle: false}), "shuffle false")
		assert.ErrorContains(t, b.Restore(BatcherState{Seed: 5, Shuffle: true, N: 23, Pos: 24}), "position 24 out of range")
		assert.ErrorContains(t, b.Restore(BatcherState{Seed: 5, Shuffle: true, N: 22}), "state is for 22 samples, batcher has 23")
	})
}

func TestBatcherNoAllocs(t *testing.T) {
	d, err := Digits()
	require.NoError(t, err)
	b := NewBatcher(d, 32, true, 1)
	// 40 runs (plus one warm-up) stay within the 57 batches of one epoch.
	allocs := testing.AllocsPerRun(40, func() {
		if _, _, _, ok := b.Next(); !ok {
			panic("epoch exhausted")
		}
	})
	assert.Zero(t, allocs, "Next")
	assert.Zero(t, testing.AllocsPerRun(20, b.Reset), "Reset")
}

func TestBatcherPanics(t *testing.T) {
	assert.Panics(t, func() { NewBatcher(nil, 1, true, 0) })
	assert.Panics(t, func() { NewBatcher(indexed(3, 1, Regression, 0), 0, true, 0) })
}

func TestBatcherEmpty(t *testing.T) {
	b := NewBatcher(&Dataset{Features: 2, Targets: 1, Task: Regression}, 4, true, 0)
	assert.Zero(t, b.NumBatches())
	_, _, _, ok := b.Next()
	assert.False(t, ok)
}

func TestTaskString(t *testing.T) {
	assert.Equal(t, "classification", Classification.String())
	assert.Equal(t, "regression", Regression.String())
	assert.Equal(t, "Task(5)", Task(5).String())
}

// TestBatcherHugeBatch: a batch size near MaxInt is one batch of
// everything, which NumBatches must say without overflowing.
func TestBatcherHugeBatch(t *testing.T) {
	for _, bs := range []int{math.MaxInt, math.MaxInt - 5} {
		b := NewBatcher(indexed(5, 1, Regression, 0), bs, true, 0)
		assert.Equal(t, 1, b.NumBatches(), "batch %d", bs)
		batches, _ := drain(b)
		assert.Len(t, batches, 1)
	}
}
