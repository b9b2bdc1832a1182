package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// LoadCSV reads a numeric, comma-separated file; see ReadCSV for the rules.
// Errors name the file.
func LoadCSV(path string, labelCol int, task Task) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ReadCSV(f, path, labelCol, task)
}

// ReadCSV reads a numeric, comma-separated table from r. name is used as
// Dataset.Name and in error messages (typically the file name).
//
// The first row is taken as a header when none of its cells is a number;
// a first row that mixes numbers and non-numbers is an error. Blank lines
// are skipped and spaces around cells are ignored. Every data row must have
// as many cells as the first row, and every cell must be a finite number
// that fits a float32.
//
// labelCol picks the label column: 0 is the first column, negative values
// count from the end (-1 is the last). All other columns, in order, become
// the features. For Classification the labels must be non-negative
// integers, and Classes is set to the largest label + 1. For Regression the
// label column becomes the single target (Targets = 1).
//
// Errors name the file, line and column (1-based) of the offending cell.
func ReadCSV(r io.Reader, name string, labelCol int, task Task) (*Dataset, error) {
	if task != Classification && task != Regression {
		return nil, fmt.Errorf("data: %s: unknown task %v", name, task)
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // ragged rows are reported below, with our wording
	cr.ReuseRecord = true

	d := &Dataset{Name: name, Task: task, Targets: 1}
	var (
		ncols   int      // cells per row, fixed by the first row
		label   int      // label column index in [0, ncols)
		header  []string // column names, when the file has a header
		rows    int
		maxY    float32 = -1
		headerL int     // line of the header row, 0 when there is none
		firstL  int     // line of the first row, which fixed ncols
	)
	colName := func(c int) string {
		if header != nil && strings.TrimSpace(header[c]) != "" {
			return fmt.Sprintf("column %d (%q)", c+1, strings.TrimSpace(header[c]))
		}
		return fmt.Sprintf("column %d", c+1)
	}
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("data: %s: line %d, column %d: %w", name, pe.Line, pe.Column, pe.Err)
			}
			return nil, fmt.Errorf("data: %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if first {
			firstL = line
			ncols = len(rec)
			if ncols < 2 {
				return nil, fmt.Errorf("data: %s: line %d: found %d column, need at least 2 (features and a label)", name, line, ncols)
			}
			label = labelCol
			if label < 0 {
				label += ncols
			}
			if label < 0 || label >= ncols {
				return nil, fmt.Errorf("data: %s: label column %d out of range for %d columns", name, labelCol, ncols)
			}
			d.Features = ncols - 1
			numeric := 0
			for _, cell := range rec {
				if _, err := strconv.ParseFloat(strings.TrimSpace(cell), 64); err == nil {
					numeric++
				}
			}
			if numeric == 0 {
				header = append([]string(nil), rec...)
				headerL = line
				continue
			}
		}
		if len(rec) != ncols {
			return nil, fmt.Errorf("data: %s: line %d: ragged row: %d columns, want %d as in line %d", name, line, len(rec), ncols, firstL)
		}
		for c, cell := range rec {
			v, err := parseCell(cell)
			if err != nil {
				l, _ := cr.FieldPos(c)
				hint := ""
				if first {
					hint = " (a header row must have no numeric cells)"
				}
				return nil, fmt.Errorf("data: %s: line %d, %s: %w%s", name, l, colName(c), err, hint)
			}
			if c == label {
				if task == Classification {
					if v < 0 || v != float32(math.Trunc(float64(v))) || v >= maxClassLabel {
						l, _ := cr.FieldPos(c)
						return nil, fmt.Errorf("data: %s: line %d, %s: class label %q is not a non-negative integer below %d", name, l, colName(c), strings.TrimSpace(cell), maxClassLabel)
					}
					maxY = max(maxY, v)
				}
				d.Y = append(d.Y, v)
				continue
			}
			d.X = append(d.X, v)
		}
		rows++
	}
	if ncols == 0 {
		return nil, fmt.Errorf("data: %s: empty file", name)
	}
	if rows == 0 {
		return nil, fmt.Errorf("data: %s: header on line %d but no data rows", name, headerL)
	}
	if task == Classification {
		d.Classes = int(maxY) + 1
	} else {
		d.Targets = 1
	}
	return d, nil
}

// parseCell parses one numeric CSV cell into a finite float32.
func parseCell(cell string) (float32, error) {
	s := strings.TrimSpace(cell)
	if s == "" {
		return 0, errors.New("empty cell")
	}
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("value %q is out of float32 range", s)
		}
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q is not a finite number", s)
	}
	return float32(v), nil
}
