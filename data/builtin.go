package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"slices"
	"strings"
)

// The embedded copies; see embedded/ATTRIBUTION.md for sources and licences.
//
//go:embed embedded/digits.csv.gz embedded/diabetes_data_raw.csv.gz embedded/diabetes_target.csv.gz embedded/ATTRIBUTION.md
var embedded embed.FS

// Attribution returns the attribution and licence text of the built-in data
// sets (the contents of embedded/ATTRIBUTION.md).
func Attribution() string {
	b, err := embedded.ReadFile("embedded/ATTRIBUTION.md")
	if err != nil {
		panic("data: embedded ATTRIBUTION.md missing: " + err.Error())
	}
	return string(b)
}

var builtins = map[string]func() (*Dataset, error){
	"diabetes": Diabetes,
	"digits":   Digits,
}

// Names returns the names accepted by Builtin, sorted.
func Names() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Builtin returns the built-in data set with the given name (see Names).
func Builtin(name string) (*Dataset, error) {
	load, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("data: unknown built-in data set %q (valid names: %s)", name, strings.Join(Names(), ", "))
	}
	return load()
}

// Digits returns the UCI optical recognition of handwritten digits data set
// (scikit-learn's copy): 1797 samples of 8×8 = 64 pixel counts in 0..16,
// row by row, and a class label 0..9. Each call returns a fresh copy.
func Digits() (*Dataset, error) {
	r, err := openGzip("embedded/digits.csv.gz")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	d, err := ReadCSV(r, "digits", -1, Classification)
	if err != nil {
		return nil, err
	}
	if d.Len() != 1797 || d.Features != 64 || d.Classes != 10 {
		return nil, fmt.Errorf("data: embedded digits: got %d×%d with %d classes, want 1797×64 with 10", d.Len(), d.Features, d.Classes)
	}
	return d, nil
}

// Diabetes returns the diabetes regression data set of Efron, Hastie,
// Johnstone and Tibshirani (2004), unscaled: 442 samples of 10 features
// (age, sex, bmi, bp, s1..s6) and one target, a measure of disease
// progression one year after baseline. Each call returns a fresh copy.
func Diabetes() (*Dataset, error) {
	x, xcols, err := readSpaceTable("embedded/diabetes_data_raw.csv.gz")
	if err != nil {
		return nil, err
	}
	y, ycols, err := readSpaceTable("embedded/diabetes_target.csv.gz")
	if err != nil {
		return nil, err
	}
	if xcols != 10 || ycols != 1 || len(x)/xcols != 442 || len(y) != 442 {
		return nil, fmt.Errorf("data: embedded diabetes: got %d×%d features and %d×%d targets, want 442×10 and 442×1", len(x)/max(xcols, 1), xcols, len(y)/max(ycols, 1), ycols)
	}
	return &Dataset{
		Name:     "diabetes",
		X:        x,
		Y:        y,
		Features: xcols,
		Targets:  1,
		Task:     Regression,
	}, nil
}

func openGzip(name string) (*gzip.Reader, error) {
	b, err := embedded.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("data: embedded %s: %w", name, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("data: embedded %s: %w", name, err)
	}
	return zr, nil
}

// readSpaceTable reads a gzipped table of whitespace-separated numbers with
// no header, returning the values row-major and the number of columns.
func readSpaceTable(name string) ([]float32, int, error) {
	r, err := openGzip(name)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	var (
		out   []float32
		ncols int
	)
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if ncols == 0 {
			ncols = len(fields)
		} else if len(fields) != ncols {
			return nil, 0, fmt.Errorf("data: embedded %s: line %d: ragged row: %d columns, want %d", name, line, len(fields), ncols)
		}
		for c, f := range fields {
			v, err := parseCell(f)
			if err != nil {
				return nil, 0, fmt.Errorf("data: embedded %s: line %d, column %d: %w", name, line, c+1, err)
			}
			out = append(out, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("data: embedded %s: %w", name, err)
	}
	if ncols == 0 {
		return nil, 0, fmt.Errorf("data: embedded %s: empty", name)
	}
	return out, ncols, nil
}
