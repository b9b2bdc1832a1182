package main

import (
	"errors"

	"github.com/adjoint-go/adjoint/bench"
)

// runBench runs "adjoint bench": the benchmark suite on every device this
// build has, side by side with PyTorch when /usr/bin/python3 has torch, or
// with --from the reports of saved runs (a GPU host's among them) merged
// without running anything.
func runBench(args []string, e env) error {
	err := bench.Main(args, e.stdout, e.stderr)
	if ue := (*bench.UsageError)(nil); errors.As(err, &ue) {
		return usageError{err}
	}
	return err
}
