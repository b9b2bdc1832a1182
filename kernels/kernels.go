package kernels

import (
	"embed"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ptxFiles holds the generated PTX, one file per CUDA source.
//
//go:embed *.ptx
var ptxFiles embed.FS

// Module names, one per kernels/<name>.cu source and <name>.ptx file.
const (
	Elementwise = "elementwise"
	Gemm        = "gemm"
	GemmWide    = "gemm_wide"
	GemmTC      = "gemm_tc"
	Loss        = "loss"
	Optim       = "optim"
	Reduce      = "reduce"
	Softmax     = "softmax"
)

// Modules lists the module names, sorted.
func Modules() []string {
	return []string{Elementwise, Gemm, GemmTC, GemmWide, Loss, Optim, Reduce, Softmax}
}

// PTX returns the PTX text of module name, ready for cuModuleLoadData.
func PTX(name string) (string, error) {
	b, err := ptxFiles.ReadFile(name + ".ptx")
	if err != nil {
		return "", fmt.Errorf("kernels: no PTX module %q (have %s)", name, strings.Join(Modules(), ", "))
	}
	return string(b), nil
}

var entryRE = regexp.MustCompile(`(?m)^\.visible \.entry ([A-Za-z_][A-Za-z0-9_]*)\(`)

// Entries lists the kernel (entry point) names that module name defines,
// sorted, as found in its PTX.
func Entries(name string) ([]string, error) {
	src, err := PTX(name)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range entryRE.FindAllStringSubmatch(src, -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return names, nil
}
