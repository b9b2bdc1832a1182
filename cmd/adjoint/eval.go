package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/data"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/nn"
)

// evalResult is the --json output of eval.
type evalResult struct {
	Model   string  `json:"model"`
	Data    string  `json:"data"`
	Split   string  `json:"split"`
	Task    string  `json:"task"`
	Device  string  `json:"device"`
	Samples int     `json:"samples"`
	Loss    float64 `json:"loss"`
	// Accuracy for classification, MSE and R² for regression (nil, absent,
	// for the other task).
	Accuracy *float64 `json:"accuracy,omitempty"`
	MSE      *float64 `json:"mse,omitempty"`
	R2       *float64 `json:"r2,omitempty"`
}

// opened is a checkpoint loaded onto a device.
type opened struct {
	ck    *checkpoint
	dev   device.Device
	model *nn.Sequential
	cfg   *config
}

// openModel reads the checkpoint at path and builds its model on the device
// devName, with 3xTF32 products allowed when tf32x3 is set (--tf32x3).
func openModel(path, devName string, tf32x3 bool) (*opened, error) {
	if path == "" {
		return nil, usagef("--model is required (a checkpoint written by adjoint train --save)")
	}
	ck, err := readCheckpoint(path)
	if err != nil {
		return nil, err
	}
	dev, err := openDevice(devName)
	if err != nil {
		return nil, err
	}
	if tf32x3 {
		if err := allowTF32x3(dev); err != nil {
			return nil, err
		}
	}
	m, err := ck.model(dev)
	if err != nil {
		return nil, err
	}
	cfg := &config{Task: ck.task, Loss: ck.loss, Act: ck.act, Norm: ck.norm, Dropout: ck.dropout}
	if ck.cfg != nil {
		c := *ck.cfg
		cfg = &c
	}
	if cfg.Loss == "" {
		cfg.Loss = "ce"
		if cfg.Task == "regression" {
			cfg.Loss = "mse"
		}
	}
	return &opened{ck: ck, dev: dev, model: m, cfg: cfg}, nil
}

func runEval(args []string, e env) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	modelPath := fs.String("model", "", "checkpoint to evaluate (required)")
	dataName := fs.String("data", "", "data set: digits, diabetes or a CSV path (default: the training data)")
	labelCol := fs.Int("label-col", -1, "CSV label column (0 is the first; negative counts from the end)")
	split := fs.String("split", "", "test (the held-out part of the training split) or all (default: test on the training data, all otherwise)")
	devName := fs.String("device", "auto", "device: auto, cpu or cuda[:N]")
	jsonOut := fs.Bool("json", false, "print the metrics as one JSON object")
	tf32x3 := fs.Bool("tf32x3", false, tf32x3Usage)
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	set := setFlags(fs)
	o, err := openModel(*modelPath, *devName, *tf32x3)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer nn.Release(o.model)
	c := o.cfg
	name, col := *dataName, *labelCol
	sameData := false
	if name == "" {
		if c.Data == "" {
			return usagef("eval: checkpoint %s does not name its training data; pass --data", *modelPath)
		}
		name, col, sameData = c.Data, c.LabelCol, true
	} else {
		sameData = name == c.Data && (!set["label-col"] || col == c.LabelCol)
		if sameData {
			col = c.LabelCol
		}
	}
	if set["label-col"] && isBuiltin(name) {
		return usagef("eval: --label-col is for CSV files; the built-in %s set knows its labels", name)
	}
	switch *split {
	case "":
		*split = "all"
		if sameData && c.TestFrac > 0 {
			*split = "test"
		}
	case "all":
	case "test":
		if !sameData || c.TestFrac <= 0 {
			return usagef("eval: --split test needs the checkpoint's own training data (%q)", c.Data)
		}
	default:
		return usagef("eval: --split %q: want test or all", *split)
	}
	ds, err := loadData(name, col, c.Task)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	sizes := o.ck.sizes
	if ds.Features != sizes[0] {
		return fmt.Errorf("eval: data %s has %d features, model %s takes %d", name, ds.Features, *modelPath, sizes[0])
	}
	outW := sizes[len(sizes)-1]
	if c.Task == "classification" {
		if ds.Classes > outW {
			return fmt.Errorf("eval: data %s has labels up to %d, model %s has %d classes", name, ds.Classes-1, *modelPath, outW)
		}
		ds.Classes = outW
	} else if ds.Targets != outW {
		return fmt.Errorf("eval: data %s has %d targets, model %s predicts %d", name, ds.Targets, *modelPath, outW)
	}
	if *split == "test" {
		if _, ds, err = data.Split(ds, c.TestFrac, c.Seed); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
	}
	var yRaw []float32
	if o.ck.xstd != nil {
		o.ck.xstd.Apply(ds.X)
	}
	if c.Task == "regression" {
		yRaw = append([]float32(nil), ds.Y...)
		if o.ck.ystd != nil {
			o.ck.ystd.Apply(ds.Y)
		}
	}
	tp := autograd.NewTape(o.dev, device.Float32)
	defer tp.Release()
	m, err := evaluate(tp, o.model, c, ds, yRaw, o.ck.ystd)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	r := evalResult{Model: *modelPath, Data: name, Split: *split, Task: c.Task, Device: o.dev.Name(), Samples: m.n, Loss: m.loss}
	if c.Task == "classification" {
		r.Accuracy = &m.acc
	} else {
		r.MSE, r.R2 = &m.mse, &m.r2
	}
	if *jsonOut {
		return json.NewEncoder(e.stdout).Encode(r)
	}
	if c.Task == "classification" {
		fmt.Fprintf(e.stdout, "%s on %s (%s, %d samples): accuracy %.2f%% (%d/%d), loss %.4f\n", *modelPath, name, *split, m.n, 100*m.acc, m.correct, m.n, m.loss)
	} else {
		fmt.Fprintf(e.stdout, "%s on %s (%s, %d samples): MSE %.4g, R² %.4f, loss %.4f\n", *modelPath, name, *split, m.n, m.mse, m.r2, m.loss)
	}
	return nil
}

func runPredict(args []string, e env) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	modelPath := fs.String("model", "", "checkpoint (required)")
	input := fs.String("input", "", "CSV file of feature rows (required; - for stdin)")
	labelCol := fs.String("label-col", "", "the input rows also hold a label in column `N` (0 is the first; negative counts from the end), which is skipped")
	devName := fs.String("device", "auto", "device: auto, cpu or cuda[:N]")
	raw := fs.Bool("raw", false, "print the network's raw outputs (logits for classification), comma-separated")
	tf32x3 := fs.Bool("tf32x3", false, tf32x3Usage)
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *input == "" {
		return usagef("predict: --input is required (a CSV file of feature rows)")
	}
	o, err := openModel(*modelPath, *devName, *tf32x3)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	defer nn.Release(o.model)
	skip := noLabel
	if *labelCol != "" {
		if skip, err = strconv.Atoi(*labelCol); err != nil {
			return usagef("predict: --label-col %q: want a column number", *labelCol)
		}
	}
	sizes := o.ck.sizes
	features, outW := sizes[0], sizes[len(sizes)-1]
	x, err := readFeatures(*input, features, skip)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	if o.ck.xstd != nil {
		o.ck.xstd.Apply(x)
	}
	tp := autograd.NewTape(o.dev, device.Float32)
	defer tp.Release()
	out, _, err := forward(tp, o.model, o.cfg, x, nil, features, outW)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	var b strings.Builder
	rows := len(x) / features
	classify := o.cfg.Task == "classification"
	if !classify && o.ck.ystd != nil {
		o.ck.ystd.Inverse(out)
	}
	for r := range rows {
		row := out[r*outW : (r+1)*outW]
		if classify && !*raw {
			fmt.Fprintln(&b, argmax(row))
			continue
		}
		for j, v := range row {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 32))
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(e.stdout, b.String())
	return err
}

// noLabel tells readFeatures that rows hold features only.
const noLabel = math.MinInt

// readFeatures reads a numeric CSV of rows with exactly n feature cells; a
// first row with no number is a header. Unless labelCol is noLabel, each
// row has one more cell, the label in column labelCol (negative: from the
// end), which is dropped.
func readFeatures(path string, n, labelCol int) ([]float32, error) {
	var r io.Reader = os.Stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("--input %s: no such file", path)
			}
			return nil, err
		}
		defer f.Close()
		r, name = f, path
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []float32
	for row := 0; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		vals := make([]float32, len(rec))
		numbers := 0
		var bad error
		label := -1 // the label's column in this row, whose text is not read
		if labelCol != noLabel {
			label = labelCol
			if label < 0 {
				label += len(rec)
			}
		}
		for i, cell := range rec {
			if i == label {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(cell), 32)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				if bad == nil {
					bad = fmt.Errorf("%s: line %d, column %d: %q is not a number", name, line, i+1, cell)
				}
				continue
			}
			numbers++
			if math.IsNaN(v) || math.IsInf(v, 0) {
				// Training refuses such values (data.LoadCSV): a prediction
				// from them would be a class chosen by NaN, not an answer.
				if bad == nil {
					bad = fmt.Errorf("%s: line %d, column %d: %q is not a finite float32", name, line, i+1, cell)
				}
				continue
			}
			vals[i] = float32(v)
		}
		if row == 0 && numbers == 0 {
			continue // header
		}
		if bad != nil {
			return nil, bad
		}
		if labelCol == noLabel {
			if len(rec) != n {
				hint := ""
				if len(rec) == n+1 {
					hint = " (a label column? name it with --label-col)"
				}
				return nil, fmt.Errorf("%s: line %d has %d values, the model takes %d features%s", name, line, len(rec), n, hint)
			}
			out = append(out, vals...)
			continue
		}
		if len(rec) != n+1 {
			return nil, fmt.Errorf("%s: line %d has %d values, want %d features and a label", name, line, len(rec), n)
		}
		if label < 0 || label >= len(rec) {
			return nil, fmt.Errorf("--label-col %d: rows of %s have %d columns", labelCol, name, len(rec))
		}
		out = append(out, vals[:label]...)
		out = append(out, vals[label+1:]...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no rows", name)
	}
	return out, nil
}
