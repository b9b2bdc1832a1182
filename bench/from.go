package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Source is a report read back from a file written by --json, and that
// file: a merged BENCHMARKS.md names where each run's numbers came from.
type Source struct {
	Path   string
	Report *Report
}

// ReadReports reads the reports in one file written by --json: a single
// report (what a run writes), or an array of them (what --from with
// several files writes). Every error names the file.
func ReadReports(path string) ([]*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named once, below
		}
		return nil, fmt.Errorf("bench: report %s: %w", path, err)
	}
	reps, err := decodeReports(b)
	if err != nil {
		return nil, fmt.Errorf("bench: report %s: %w", path, err)
	}
	return reps, nil
}

// decodeReports parses a report or an array of reports and rebuilds what
// JSON does not carry.
func decodeReports(b []byte) ([]*Report, error) {
	var reps []*Report
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &reps); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		if len(reps) == 0 {
			return nil, errors.New("an empty array: no report")
		}
	} else {
		var rep Report
		if err := json.Unmarshal(b, &rep); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		reps = []*Report{&rep}
	}
	for i, rep := range reps {
		if rep == nil || (rep.Meta.Command == "" && len(rep.Rows) == 0) {
			return nil, fmt.Errorf("report %d has neither a command nor rows: not written by adjoint bench --json", i+1)
		}
		// The fitted lines the order chart draws are not in the JSON:
		// summarise the rows again (the same computation the run made).
		rep.Order = orderSummaries(rep.Rows)
	}
	return reps, nil
}

// LoadReports reads every file in paths, in order.
func LoadReports(paths []string) ([]Source, error) {
	var srcs []Source
	for _, p := range paths {
		reps, err := ReadReports(p)
		if err != nil {
			return nil, err
		}
		for _, r := range reps {
			srcs = append(srcs, Source{Path: p, Report: r})
		}
	}
	return srcs, nil
}

// orderSummaries summarises the order-of-computation rows of every device
// that has them, devices in the order their first rows appear.
func orderSummaries(rows []Row) []*OrderSummary {
	var sums []*OrderSummary
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.Device] {
			continue
		}
		seen[r.Device] = true
		if s := orderSummary(rows, r.Device); s != nil {
			sums = append(sums, s)
		}
	}
	return sums
}

// fromFlags are the flags --from accepts: the outputs. Every other flag
// configures a run, and --from runs nothing.
var fromFlags = map[string]bool{"from": true, "csv": true, "json": true, "plot": true, "markdown": true}

// splitFrom splits --from's comma-separated file list.
func splitFrom(list string) ([]string, error) {
	var paths []string
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p == "" {
			return nil, fmt.Errorf("bench: --from %q: an empty file name (want FILE[,FILE...])", list)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// fromReports is Main with --from: it reads the saved reports and writes
// the requested outputs from them, merged, without running anything.
// command is the --from command line, which regenerates the outputs.
func fromReports(list, command string, o outputs, stdout, stderr io.Writer) error {
	paths, err := splitFrom(list)
	if err != nil {
		return err
	}
	srcs, err := LoadReports(paths)
	if err != nil {
		return err
	}
	var rows []Row
	var order []*OrderSummary
	firstFile := map[string]string{} // device → the file of the first run on it
	for _, s := range srcs {
		rows = append(rows, s.Report.Rows...)
		order = append(order, s.Report.Order...)
		for _, d := range s.Report.Meta.Devices {
			if f, ok := firstFile[d]; ok {
				fmt.Fprintf(stderr, "bench: warning: two runs on device %s (from %s and %s); the device column does not tell their rows apart\n", d, f, s.Path)
				continue
			}
			firstFile[d] = s.Path
		}
	}
	txt, err := renderText(rows, order)
	if err != nil {
		return err
	}
	var footer strings.Builder
	for _, s := range srcs {
		fmt.Fprintf(&footer, "\nFrom %s: %s (%s)\n", s.Path, s.Report.Meta.Command, s.Report.Meta.Date)
		writeNotes(&footer, s.Report.Meta)
	}
	if err := txt.print(stdout, footer.String()); err != nil {
		return err
	}
	writeJSON := func(w io.Writer) error {
		if len(srcs) == 1 {
			return WriteJSON(w, srcs[0].Report)
		}
		reps := make([]*Report, len(srcs))
		for i, s := range srcs {
			reps[i] = s.Report
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(reps)
	}
	writeMD := func(w io.Writer, charts []string) error {
		return WriteMergedMarkdown(w, command, srcs, txt.table, txt.order, charts...)
	}
	return o.write(rows, order, writeJSON, writeMD)
}
