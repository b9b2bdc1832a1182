// Package torchtest finds the PyTorch that adjoint's tests compare against:
// /usr/bin/python3 with torch (Debian's python3-torch, which CI installs),
// and the comparison scripts in scripts/torch.
package torchtest

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Python is the interpreter the comparisons run: the system's, whose torch
// comes from Debian, not whatever python3 comes first on PATH.
const Python = "/usr/bin/python3"

// Script returns the absolute path of scripts/torch/name, or skips t, with
// the reason and the package to install, when Python cannot import torch.
func Script(t testing.TB, name string) string {
	t.Helper()
	if out, err := exec.Command(Python, "-c", "import torch").CombinedOutput(); err != nil {
		t.Skipf("PyTorch not available (%s -c 'import torch': %v %s); install Debian's python3-torch to run this test",
			Python, err, lastLine(string(out)))
	}
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("torchtest: cannot locate its own source file")
	}
	return filepath.Join(filepath.Dir(here), "..", "..", "scripts", "torch", name)
}

// lastLine is the last non-blank line of s (a Python traceback's error).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
