package kernels

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/adjoint-go/adjoint/device"
)

// These tests need neither a GPU nor nvcc.

func TestEveryModuleHasPTXAndGenerateLine(t *testing.T) {
	gen, err := os.ReadFile("generate.go")
	if err != nil {
		t.Fatal(err)
	}
	srcs, _ := filepath.Glob("*.cu")
	if len(srcs) != len(Modules()) {
		t.Errorf("%d .cu files, %d modules", len(srcs), len(Modules()))
	}
	for _, m := range Modules() {
		if _, err := os.Stat(m + ".cu"); err != nil {
			t.Errorf("module %s: %v", m, err)
		}
		ptx, err := PTX(m)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ptx, ".target sm_80") {
			t.Errorf("module %s: PTX does not target sm_80", m)
		}
		if strings.Contains(ptx, ".loc") || strings.Contains(ptx, ".file") {
			t.Errorf("module %s: PTX carries line information", m)
		}
		line := "//go:generate nvcc -ptx -arch=compute_80 -O3 -std=c++17 -o " + m + ".ptx " + m + ".cu\n"
		if !strings.Contains(string(gen), line) {
			t.Errorf("generate.go lacks %q", line)
		}
		es, err := Entries(m)
		if err != nil || len(es) == 0 {
			t.Errorf("module %s: entries %v, %v", m, es, err)
		}
	}
	if _, err := PTX("nope"); err == nil {
		t.Error("PTX of an unknown module succeeded")
	}
}

// TestOpCodes checks the op codes of common.cuh against package device.
func TestOpCodes(t *testing.T) {
	src, err := os.ReadFile("common.cuh")
	if err != nil {
		t.Fatal(err)
	}
	defs := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^#define ((?:OP|BIN|LOSS)_[A-Z0-9_]+) (\d+)$`).FindAllStringSubmatch(string(src), -1) {
		v, _ := strconv.Atoi(m[2])
		defs[m[1]] = v
	}
	macro := func(prefix, name string) string {
		return prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	}
	n := 0
	for _, op := range device.UnaryOps() {
		n++
		if v, ok := defs[macro("OP_", op.String())]; !ok || v != int(op) {
			t.Errorf("%s: common.cuh has %d (defined %v), device has %d", macro("OP_", op.String()), v, ok, op)
		}
	}
	for _, op := range device.BinaryOps() {
		n++
		if v, ok := defs[macro("BIN_", op.String())]; !ok || v != int(op) {
			t.Errorf("%s: common.cuh has %d (defined %v), device has %d", macro("BIN_", op.String()), v, ok, op)
		}
	}
	for _, k := range device.LossKinds() {
		n++
		if v, ok := defs[macro("LOSS_", k.String())]; !ok || v != int(k) {
			t.Errorf("%s: common.cuh has %d (defined %v), device has %d", macro("LOSS_", k.String()), v, ok, k)
		}
	}
	if n != len(defs) {
		t.Errorf("common.cuh defines %d codes, device has %d", len(defs), n)
	}
}
