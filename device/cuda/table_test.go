package cuda

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/adjoint-go/adjoint/kernels"
)

// These tests are pure Go and run without a GPU (and without the cuda tag).

func TestKernelTableMatchesPTX(t *testing.T) {
	entries := map[string][]string{}
	for _, m := range kernels.Modules() {
		e, err := kernels.Entries(m)
		if err != nil {
			t.Fatal(err)
		}
		entries[m] = e
	}
	used := map[string]bool{}
	for id, ref := range kernelTable {
		if ref.name == "" {
			t.Errorf("kernel %d has no name", id)
			continue
		}
		if !slices.Contains(entries[ref.module], ref.name) {
			t.Errorf("kernel %s is not an entry of module %s (have %v)", ref.name, ref.module, entries[ref.module])
		}
		used[ref.module+"."+ref.name] = true
	}
	for m, es := range entries {
		for _, e := range es {
			if !used[m+"."+e] {
				t.Errorf("PTX entry %s.%s is not in the kernel table", m, e)
			}
		}
	}
}

func TestGemmKernelNames(t *testing.T) {
	if got := kernelTable[gemmKernel(0, false, true)].name; got != "sgemm_nt_128" {
		t.Errorf("gemmKernel(0, false, true) = %s", got)
	}
	if got := kernelTable[gemmKernel(2, true, false)].name; got != "sgemm_tn_32" {
		t.Errorf("gemmKernel(2, true, false) = %s", got)
	}
}

func TestGemmPlan(t *testing.T) {
	const sms = 132 // H100 SXM
	for _, c := range []struct{ m, n, tile int }{
		{4096, 4096, 0}, {2048, 2048, 0}, {1024, 1024, 1}, {256, 256, 2}, {64, 10, 2}, {1, 1, 2},
		{5_000_000, 1, 0}, // tall: 32-row tiles would exceed gridDim.y
	} {
		tile, gx, gy := gemmPlan(c.m, c.n, sms)
		if tile != c.tile {
			t.Errorf("gemmPlan(%d, %d) tile %d, want %d", c.m, c.n, tile, c.tile)
			continue
		}
		g := gemmTiles[tile]
		if gx*g.bn < c.n || gy*g.bm < c.m || gy > maxGridY {
			t.Errorf("gemmPlan(%d, %d) grid %d×%d of %d×%d tiles", c.m, c.n, gx, gy, g.bm, g.bn)
		}
	}
	if tile, _, _ := gemmPlan(128*maxGridY+1, 1, sms); tile != -1 {
		t.Errorf("gemmPlan of a too tall product: tile %d, want -1", tile)
	}
}

func TestBucketBytes(t *testing.T) {
	prev := int64(0)
	for n := int64(1); n < 1<<22; n = n*9/8 + 1 {
		b := bucketBytes(n)
		if b < n || b < prev {
			t.Fatalf("bucketBytes(%d) = %d (previous %d)", n, b, prev)
		}
		if n > minBucket && float64(b) > 1.25*float64(n) {
			t.Fatalf("bucketBytes(%d) = %d wastes more than 25%%", n, b)
		}
		if bucketBytes(b) != b {
			t.Fatalf("bucketBytes(%d) = %d is not a fixed point", b, bucketBytes(b))
		}
		prev = b
	}
	for _, c := range [][2]int64{{1, 512}, {512, 512}, {513, 640}, {1024, 1024}, {1025, 1280}, {4000, 4096}} {
		if got := bucketBytes(c[0]); got != c[1] {
			t.Errorf("bucketBytes(%d) = %d, want %d", c[0], got, c[1])
		}
	}
}

// The kernel calling convention (kernels/common.cuh): the launch
// (driver_cu.go) copies every argument as one 8-byte word, so every kernel
// parameter must be a pointer, a 64-bit integer or a double, and each launch
// site must pass the right kind of word in the right place. The tests below
// check that statically, with neither a GPU nor the cuda build tag:
//
//   - the .cu signatures (extern "C" __global__, also inside macros such as
//     SGEMM) give each kernel's parameter kinds: p (pointer), i (i64 / long
//     long) or d (double); any other type fails;
//   - the PTX .entry parameter lists must agree: same count, every parameter
//     .u64 or .f64 (8 bytes), .f64 exactly where the source has a double;
//   - every launch site in ops.go and cuda.go (calls of launch, launch1 and
//     newCall) passes arguments whose helpers (intArg, boolArg: i; fltArg:
//     d; ptrArg, devArg: p) match the parameter kinds of every kernel the
//     site can launch, and every kernel has a launch site.

// Parameter kinds.
const (
	kindPtr = 'p'
	kindInt = 'i'
	kindDbl = 'd'
)

var (
	blockCommentRE = regexp.MustCompile(`(?s)/\*.*?\*/`)
	lineCommentRE  = regexp.MustCompile(`//[^\n]*`)
	kernelSigRE    = regexp.MustCompile(`extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\s*\((?:[^()]|\([^()]*\))*\)\s*)?([A-Za-z_]\w*)\s*\(([^)]*)\)`)
	defineRE       = regexp.MustCompile(`(?m)^#define\s+([A-Za-z_]\w*)\(([^)]*)\)(.*)$`)
	ptxEntryRE     = regexp.MustCompile(`(?s)\.entry\s+([A-Za-z_]\w*)\s*\((.*?)\)`)
	ptxParamRE     = regexp.MustCompile(`\.param\s+\.(\w+)`)
)

// cuSources returns the kernels' C sources (.cu and .cuh) without comments
// and with line continuations joined, by file name.
func cuSources(t *testing.T) map[string]string {
	t.Helper()
	needSources(t)
	files, err := filepath.Glob("../../kernels/*.cu")
	if err != nil || len(files) == 0 {
		t.Fatalf("no kernels/*.cu found (%v)", err)
	}
	headers, err := filepath.Glob("../../kernels/*.cuh")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, headers...)
	srcs := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := blockCommentRE.ReplaceAllString(string(b), " ")
		s = lineCommentRE.ReplaceAllString(s, "")
		s = strings.ReplaceAll(s, "\\\n", " ")
		srcs[filepath.Base(f)] = s
	}
	return srcs
}

// needSources skips the test where the sources are absent: a test binary
// copied to a GPU host (scripts/cuda/gpu-bundle.sh) runs outside the
// package directory. `go test` always runs in it, so CI never skips.
func needSources(t *testing.T) {
	t.Helper()
	for _, f := range []string{"ops.go", "cuda.go", "table.go", "../../kernels/common.cuh"} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("source %s not found (a test binary run outside its package directory): %v", f, err)
		}
	}
}

// paramKinds classifies a C parameter list.
func paramKinds(list string) (string, error) {
	var kinds []byte
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		// Drop the parameter's name: the last identifier.
		typ := strings.TrimSpace(regexp.MustCompile(`[A-Za-z_]\w*\s*$`).ReplaceAllString(p, ""))
		switch {
		case strings.Contains(typ, "*"):
			kinds = append(kinds, kindPtr)
		case typ == "i64" || typ == "long long" || typ == "const i64" || typ == "int64_t" || typ == "long long int":
			kinds = append(kinds, kindInt)
		case typ == "double" || typ == "const double":
			kinds = append(kinds, kindDbl)
		default:
			return "", fmt.Errorf("parameter %q has type %q: want a pointer, i64 or double (8 bytes)", p, typ)
		}
	}
	return string(kinds), nil
}

// cuSignatures returns each kernel's parameter kinds as its .cu source
// declares them, directly or through a macro whose first parameter is the
// kernel's name (SGEMM, defined in gemm.cuh and used in gemm.cu and
// gemm_wide.cu).
func cuSignatures(t *testing.T) map[string]string {
	t.Helper()
	sigs := map[string]string{}
	add := func(file, name, params string) {
		k, err := paramKinds(params)
		if err != nil {
			t.Errorf("%s: kernel %s: %v", file, name, err)
			return
		}
		if old, ok := sigs[name]; ok && old != k {
			t.Errorf("%s: kernel %s declared twice (%s, %s)", file, name, old, k)
		}
		sigs[name] = k
	}
	srcs := cuSources(t)
	// A kernel macro (SGEMM in gemm.cuh) may be used in another file than
	// the one that defines it: collect the macros of every file first.
	type kernelMacro struct{ name, params string }
	var macros []kernelMacro
	for file, src := range srcs {
		for _, d := range defineRE.FindAllStringSubmatch(src, -1) {
			m := kernelSigRE.FindStringSubmatch(d[3])
			if m == nil {
				continue
			}
			margs := strings.Split(d[2], ",")
			if strings.TrimSpace(margs[0]) != m[1] {
				t.Errorf("%s: macro %s defines kernel %s, whose name is not the macro's first parameter", file, d[1], m[1])
				continue
			}
			macros = append(macros, kernelMacro{d[1], m[2]})
		}
	}
	for file, src := range srcs {
		// Every use of a kernel macro at the start of a line defines a kernel.
		for _, mac := range macros {
			use := regexp.MustCompile(`(?m)^` + mac.name + `\(\s*([A-Za-z_]\w*)`)
			for _, u := range use.FindAllStringSubmatch(src, -1) {
				add(file, u[1], mac.params)
			}
		}
		noDefines := defineRE.ReplaceAllString(src, "")
		for _, m := range kernelSigRE.FindAllStringSubmatch(noDefines, -1) {
			add(file, m[1], m[2])
		}
		if n := strings.Count(noDefines, "__global__"); n != len(kernelSigRE.FindAllString(noDefines, -1)) {
			t.Errorf("%s: %d __global__ functions, %d parsed as extern \"C\" kernels", file, n, len(kernelSigRE.FindAllString(noDefines, -1)))
		}
	}
	return sigs
}

func TestKernelParamsMatchPTX(t *testing.T) {
	sigs := cuSignatures(t)
	seen := map[string]bool{}
	for _, m := range kernels.Modules() {
		src, err := kernels.PTX(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ptxEntryRE.FindAllStringSubmatch(src, -1) {
			name := e[1]
			seen[name] = true
			sig, ok := sigs[name]
			if !ok {
				t.Errorf("PTX entry %s.%s has no extern \"C\" __global__ declaration in kernels/*.cu", m, name)
				continue
			}
			var got []byte
			for _, p := range ptxParamRE.FindAllStringSubmatch(e[2], -1) {
				switch p[1] {
				case "f64":
					got = append(got, kindDbl)
				case "u64", "s64", "b64":
					got = append(got, 'w') // an integer or a pointer
				default:
					t.Errorf("PTX entry %s.%s: parameter of type .%s is not 8 bytes wide (Launch passes 8-byte words)", m, name, p[1])
					got = append(got, '?')
				}
			}
			want := strings.NewReplacer(string(kindPtr), "w", string(kindInt), "w").Replace(sig)
			if string(got) != want {
				t.Errorf("PTX entry %s.%s: parameters %s, the source declares %s (w: 64-bit word, d: double)", m, name, got, want)
			}
			if len(sig) > maxArgs {
				t.Errorf("kernel %s takes %d parameters, more than maxArgs = %d", name, len(sig), maxArgs)
			}
		}
	}
	for name := range sigs {
		if !seen[name] {
			t.Errorf("kernel %s is declared in kernels/*.cu but not in the committed PTX (stale PTX? run go generate ./kernels)", name)
		}
	}
}

// launchSite is one call that builds a kernel launch.
type launchSite struct {
	pos     string
	kernels []string // names of the kernels it may launch
	kinds   string   // the argument kinds it passes
	block   string   // the block's x size as written (launch1: "threads")
}

// launchSites parses ops.go and cuda.go (whatever their build tags) and
// returns every launch site.
func launchSites(t *testing.T) []launchSite {
	t.Helper()
	needSources(t)
	fset := token.NewFileSet()
	// The kernelID constants, by identifier: the iota block of table.go
	// that starts with kFill, up to kGemm.
	ids := map[string]kernelID{}
	tf, err := parser.ParseFile(fset, "table.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, decl := range tf.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST || len(g.Specs) == 0 || g.Specs[0].(*ast.ValueSpec).Names[0].Name != "kFill" {
			continue
		}
		for i, spec := range g.Specs {
			name := spec.(*ast.ValueSpec).Names[0].Name
			if name == "kGemm" {
				break
			}
			ids[name] = kernelID(i)
		}
	}
	if len(ids) != int(kGemm) {
		t.Fatalf("found %d kernelID constants before kGemm in table.go, want %d", len(ids), kGemm)
	}
	// gemms[batched] are the SGEMM kernels that launch (false) or launch3
	// (true, the batched tiles' grid z) starts.
	var gemms [2][]string
	for tile, g := range gemmTiles {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				i := 0
				if g.batched {
					i = 1
				}
				gemms[i] = append(gemms[i], kernelTable[gemmKernel(tile, ta, tb)].name)
			}
		}
	}

	firstArg := map[string]int{"launch": 5, "launch1": 2, "newCall": 5, "launch3": 6}
	var sites []launchSite
	for _, file := range []string{"ops.go", "cuda.go"} {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			// The kernels a variable kernel expression may name: every
			// kernel constant this function mentions (rowKernel's pair),
			// or the SGEMM kernels of the launch's kind where it calls
			// gemmKernel.
			var mentioned []string
			mentionsGemm := false
			defs := map[string]ast.Expr{}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.Ident:
					if id, ok := ids[n.Name]; ok {
						mentioned = append(mentioned, kernelTable[id].name)
					}
					if n.Name == "gemmKernel" {
						mentionsGemm = true
					}
				case *ast.AssignStmt:
					if len(n.Lhs) == len(n.Rhs) {
						for i, l := range n.Lhs {
							if id, ok := l.(*ast.Ident); ok {
								defs[id.Name] = n.Rhs[i]
							}
						}
					}
				case *ast.CompositeLit:
					// A launch built by hand bypasses the checks below.
					if id, ok := n.Type.(*ast.Ident); ok && id.Name == "call" && fn.Name.Name != "newCall" {
						for _, el := range n.Elts {
							if kv, ok := el.(*ast.KeyValueExpr); ok && fmt.Sprint(kv.Key) == "op" && fmt.Sprint(kv.Value) == "opLaunch" {
								t.Errorf("%s: %s builds a launch without newCall", fset.Position(n.Pos()), fn.Name.Name)
							}
						}
					}
				}
				return true
			})
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				c, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				var name string
				switch f := c.Fun.(type) {
				case *ast.Ident:
					name = f.Name
				case *ast.SelectorExpr:
					name = f.Sel.Name
					if x, ok := f.X.(*ast.SelectorExpr); ok && x.Sel.Name == "drv" {
						return true // the driver's launch: its callers are the sites
					}
				}
				first, ok := firstArg[name]
				if !ok || c.Ellipsis.IsValid() { // forwarding args... is not a site
					return true
				}
				pos := fset.Position(c.Pos()).String()
				if len(c.Args) < first {
					t.Errorf("%s: %s with %d arguments", pos, name, len(c.Args))
					return true
				}
				s := launchSite{pos: pos, block: "threads"}
				if name != "launch1" {
					s.block = types.ExprString(c.Args[first-2])
				}
				if id, ok := c.Args[0].(*ast.Ident); ok {
					if k, ok := ids[id.Name]; ok {
						s.kernels = []string{kernelTable[k].name}
					}
				}
				if s.kernels == nil {
					s.kernels = mentioned
					if mentionsGemm && name == "launch3" {
						s.kernels = append(slices.Clone(mentioned), gemms[1]...)
					} else if mentionsGemm {
						s.kernels = append(slices.Clone(mentioned), gemms[0]...)
					}
				}
				if len(s.kernels) == 0 {
					t.Errorf("%s: cannot tell which kernel this launches", pos)
				}
				for _, a := range c.Args[first:] {
					k, err := argKind(a, defs)
					if err != nil {
						t.Errorf("%s: argument %d: %v", pos, len(s.kinds)+1, err)
					}
					s.kinds += string(k)
				}
				sites = append(sites, s)
				return true
			})
		}
	}
	return sites
}

// argKind classifies a launch argument by the helper that makes its word.
func argKind(e ast.Expr, defs map[string]ast.Expr) (byte, error) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return argKind(e.X, defs)
	case *ast.BinaryExpr: // flags: boolArg(a) | boolArg(b)<<1
		kx, err := argKind(e.X, defs)
		if err != nil || e.Op == token.SHL || e.Op == token.SHR {
			return kx, err
		}
		ky, err := argKind(e.Y, defs)
		if err == nil && kx != ky {
			err = fmt.Errorf("operands of %s are of kinds %c and %c", e.Op, kx, ky)
		}
		return kx, err
	case *ast.Ident:
		if d, ok := defs[e.Name]; ok {
			delete(defs, e.Name) // no recursion through self-reference
			defer func() { defs[e.Name] = d }()
			return argKind(d, defs)
		}
	case *ast.CallExpr:
		if f, ok := e.Fun.(*ast.Ident); ok {
			switch f.Name {
			case "intArg", "boolArg":
				return kindInt, nil
			case "fltArg":
				return kindDbl, nil
			case "ptrArg", "devArg":
				return kindPtr, nil
			}
		}
	}
	return '?', fmt.Errorf("%s is not made by intArg, boolArg, fltArg, ptrArg or devArg", types.ExprString(e))
}

func TestLaunchSitesMatchKernels(t *testing.T) {
	sigs := cuSignatures(t)
	sites := launchSites(t)
	if len(sites) < 10 {
		t.Fatalf("found only %d launch sites in ops.go and cuda.go", len(sites))
	}
	launched := map[string]bool{}
	for _, s := range sites {
		for _, k := range s.kernels {
			launched[k] = true
			want, ok := sigs[k]
			if !ok {
				t.Errorf("%s: kernel %s has no declaration in kernels/*.cu", s.pos, k)
				continue
			}
			if s.kinds != want {
				t.Errorf("%s: launches %s with argument kinds %s, the kernel's parameters are %s (p pointer, i i64, d double)",
					s.pos, k, s.kinds, want)
			}
		}
	}
	for _, ref := range kernelTable {
		if !launched[ref.name] {
			t.Errorf("kernel %s has no launch site in ops.go or cuda.go", ref.name)
		}
	}
}

// TestGemmTilesMatchSource checks gemmTiles (block tile, threads per block,
// module, batched) against the SGEMM and SGEMM_BATCHED instantiations of
// gemm.cu and gemm_wide.cu,
// whose __launch_bounds__ is (BM/TM)·(BN/TN): a launch with more threads
// fails; and against the tensor-core kernels of gemm_tc.cu, whose block
// tile is the template's BM by the macro's BN and whose threads are the
// macro's __launch_bounds__.
func TestGemmTilesMatchSource(t *testing.T) {
	srcs := cuSources(t)
	n := 0
	// check finds kernel name in gemmTiles and compares what the source says.
	check := func(file, module, name string, bm, bn, threads int, ta, tb string, batched bool) {
		n++
		found := false
		for tile, g := range gemmTiles {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					if kernelTable[gemmKernel(tile, tA, tB)].name != name {
						continue
					}
					found = true
					if g.bm != bm || g.bn != bn || g.threads != threads {
						t.Errorf("%s: %s has a %d×%d tile with %d threads, gemmTiles[%d] says %d×%d with %d",
							name, file, bm, bn, threads, tile, g.bm, g.bn, g.threads)
					}
					if g.module != module {
						t.Errorf("%s: instantiated in %s, gemmTiles[%d] says module %s", name, file, tile, g.module)
					}
					if g.batched != batched {
						t.Errorf("%s: batched = %v in %s, gemmTiles[%d] says %v", name, batched, file, tile, g.batched)
					}
					if g.tf32x3 != (module == kernels.GemmTC) {
						t.Errorf("%s: in %s, gemmTiles[%d] says tf32x3 = %v", name, file, tile, g.tf32x3)
					}
					if ta != strconv.FormatBool(tA) || tb != strconv.FormatBool(tB) {
						t.Errorf("%s: %s transposes (%s, %s), the name says (%v, %v)", name, file, ta, tb, tA, tB)
					}
				}
			}
		}
		if !found {
			t.Errorf("%s instantiates %s, which gemmTiles does not name", file, name)
		}
	}
	atoi := func(s string) int { x, _ := strconv.Atoi(s); return x }

	use := regexp.MustCompile(`(?m)^SGEMM(_BATCHED)?\(\s*(\w+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\w+)\s*,\s*(\w+)\s*,\s*(\d+)\s*\)`)
	for _, module := range []string{kernels.Gemm, kernels.GemmWide} {
		file := module + ".cu"
		for _, m := range use.FindAllStringSubmatch(srcs[file], -1) {
			bm, bn, tm, tn := atoi(m[3]), atoi(m[4]), atoi(m[6]), atoi(m[7])
			check(file, module, m[2], bm, bn, (bm/tm)*(bn/tn), m[8], m[9], m[1] != "")
		}
	}

	// gemm_tc.cu's macro gives the threads (__launch_bounds__) and BN (the
	// template argument); BM is the template's.
	file := kernels.GemmTC + ".cu"
	src := srcs[file]
	bmM := regexp.MustCompile(`(?s)void sgemmTF32x3\(.*?constexpr int BM = (\d+),`).FindStringSubmatch(src)
	macroM := regexp.MustCompile(`(?s)#define SGEMM_TF32X3\(name, TA, TB\).*?__launch_bounds__\((\d+),.*?sgemmTF32x3<(\d+), TA, TB>`).FindStringSubmatch(src)
	if bmM == nil || macroM == nil {
		t.Fatalf("%s: cannot find the template's BM (%v) or the macro's __launch_bounds__ and BN (%v)", file, bmM, macroM)
	}
	useTC := regexp.MustCompile(`(?m)^SGEMM_TF32X3\(\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*\)`)
	for _, m := range useTC.FindAllStringSubmatch(src, -1) {
		check(file, kernels.GemmTC, m[1], atoi(bmM[1]), atoi(macroM[2]), atoi(macroM[1]), m[2], m[3], false)
	}
	if n != 4*numGemmTiles {
		t.Errorf("gemm.cu, gemm_wide.cu and gemm_tc.cu instantiate %d SGEMM kernels, want %d", n, 4*numGemmTiles)
	}
}

// TestThreadsMatchesSource checks the one-dimensional block size against
// kernels/common.cuh.
func TestThreadsMatchesSource(t *testing.T) {
	needSources(t)
	b, err := os.ReadFile("../../kernels/common.cuh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^#define THREADS (\d+)$`).FindSubmatch(b)
	if m == nil || string(m[1]) != strconv.Itoa(threads) {
		t.Errorf("common.cuh THREADS = %q, Go threads = %d", m, threads)
	}
}

// TestLargeBlocksHaveLaunchBounds checks that every kernel launched with
// blocks of more than 256 threads declares a bound that covers them in its
// PTX (.maxntid, from __launch_bounds__). Up to 256 threads any register
// count fits a multiprocessor (255 registers × 256 threads ≤ 65536); above,
// a kernel compiled without the bound may take more registers than such a
// block can have, and its launch fails on the card only ("too many
// resources requested"): neither the emulator nor the stand-in driver can
// see it, and the driver's JIT, not this repository's nvcc, picks the
// register count. The SGEMM tiles carry their bounds in their macros
// (TestGemmTilesMatchSource).
func TestLargeBlocksHaveLaunchBounds(t *testing.T) {
	if threads > 256 {
		t.Fatalf("threads = %d: blocks above 256 threads need launch bounds in every kernel", threads)
	}
	// The block sizes of the launch sites, by expression; a site with
	// another expression fails the test until it is added here.
	small := map[string]bool{"threads": true, "32": true, "gemmTiles[tile].threads": true}
	large := map[string]int{"argMaxThreads": argMaxThreads}
	bounded := map[string]int{} // kernel name -> largest block it is launched with
	for _, s := range launchSites(t) {
		n, isLarge := large[s.block]
		if !isLarge && !small[s.block] {
			t.Errorf("%s: a block of %s threads: add it to this test as at most 256 or with its size", s.pos, s.block)
			continue
		}
		for _, k := range s.kernels {
			if isLarge {
				bounded[k] = max(bounded[k], n)
			}
		}
	}
	if len(bounded) == 0 {
		t.Fatal("no launch with a large block found (argmax_matches launches 1024 threads)")
	}
	for name, n := range bounded {
		var ref kernelRef
		for _, r := range kernelTable {
			if r.name == name {
				ref = r
			}
		}
		src, err := kernels.PTX(ref.module)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		re := regexp.MustCompile(`\.entry\s+` + name + `\s*\([^)]*\)\s*\.maxntid\s+(\d+),\s*(\d+),\s*(\d+)`)
		m := re.FindStringSubmatch(src)
		if m == nil {
			t.Errorf("%s is launched with %d threads a block, but its PTX has no .maxntid: give it __launch_bounds__(%d)", name, n, n)
			continue
		}
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		z, _ := strconv.Atoi(m[3])
		if x*y*z < n {
			t.Errorf("%s is launched with %d threads a block, its PTX allows %d (.maxntid %s, %s, %s)", name, n, x*y*z, m[1], m[2], m[3])
		}
	}
}

// TestSplitKPlan: the parts cover k with equal chunks (a multiple of 16,
// at least splitKMinChunk) and a shorter last one, and only products with
// fewer blocks of C than SMs are cut.
func TestSplitKPlan(t *testing.T) {
	cases := []struct {
		m, n, k, sms, parts, chunk int
	}{
		{32, 27, 131072, 132, 512, 256},  // CIFAR conv1's g_W at K = 128
		{64, 288, 32768, 132, 32, 1024},  // conv2's: 18 blocks of C
		{10, 4096, 4096, 132, 8, 512},    // a classifier's g_W: 128 blocks
		{4096, 4096, 4096, 132, 1, 4096}, // fills the GPU
		{32, 32, 511, 132, 1, 511},       // k too short
		{20, 9, 1000, 132, 2, 512},       // a last chunk of 488
		{32, 32, 100000, 0, 1, 100000},   // no SM count: never
		{1, 1, 1 << 20, 132, 1024, 1024}, // a dot product
	}
	for _, c := range cases {
		parts, chunk := splitKPlan(c.m, c.n, c.k, c.sms)
		if parts != c.parts || chunk != c.chunk {
			t.Errorf("splitKPlan(%d, %d, %d, %d) = %d, %d; want %d, %d", c.m, c.n, c.k, c.sms, parts, chunk, c.parts, c.chunk)
		}
		if parts > 1 && (chunk%16 != 0 || chunk < splitKMinChunk || (parts-1)*chunk >= c.k || parts*chunk < c.k) {
			t.Errorf("splitKPlan(%d, %d, %d, %d): %d parts of %d do not cover k", c.m, c.n, c.k, c.sms, parts, chunk)
		}
	}
	// The chunks run on the smallest batched tile, the one splitKPlan's
	// blocks are counted in.
	tile := splitKTile()
	if tile < 0 || !gemmTiles[tile].batched || gemmTiles[tile] != gemmTiles[numPlanTiles-1] {
		t.Errorf("splitKTile() = %d, want the smallest batched plan tile %d (%s)", tile, numPlanTiles-1, gemmTiles[numPlanTiles-1].suffix)
	}
}
