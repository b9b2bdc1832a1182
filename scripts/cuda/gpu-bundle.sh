#!/usr/bin/env bash
# gpu-bundle.sh [package ...]: build, on this (GPU-less) machine, what the
# GPU host runs. Recreates .gpu/ (git-ignored) with:
#   cuda.test     the cuda-tagged test binary of ./device/cuda
#   <pkg>.test    one per extra package argument (e.g. ./nn), also cuda-tagged
#   adjoint       the command, built with -tags cuda (train, bench)
#   gpu-run.sh    the runner: tests, train cuda/cpu, bench vs PyTorch, table
#   BUNDLE.txt    commit, Go version, build date, glibc need, checksums
# Then carry .gpu/ to the GPU host and run: bash .gpu/gpu-run.sh [logdir]
# The GPU host needs the NVIDIA driver (libcuda.so.1), glibc >= 2.34, and
# python3 with torch for the PyTorch columns; no Go.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/.gpu
cd "$root"
rm -rf "$out"
mkdir -p "$out"

export CGO_ENABLED=1
testbin() { # testbin <package> <output name>
	echo "gpu-bundle: go test -tags cuda -c $1 -> .gpu/$2"
	go test -tags cuda -c -o "$out/$2" "$1"
}

testbin ./device/cuda cuda.test
for pkg in "$@"; do
	name=$(echo "${pkg#./}" | tr '/' '_')
	testbin "$pkg" "$name.test"
done
echo "gpu-bundle: go build -tags cuda ./cmd/adjoint -> .gpu/adjoint"
go build -tags cuda -o "$out/adjoint" ./cmd/adjoint
cp scripts/cuda/gpu-run.sh "$out/"
chmod +x "$out"/*.test "$out/adjoint" "$out/gpu-run.sh"

# The binaries link libcuda.so.1 and libc dynamically (libcuda cannot be
# linked statically); the newest glibc symbol version they need decides
# which hosts can run them (Ubuntu 22.04 has 2.35, Debian 12 2.36).
glibc=$(for f in "$out"/*.test "$out/adjoint"; do objdump -T "$f" 2>/dev/null; done |
	grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1 || true)
{
	echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
	echo "built $(date -u '+%Y-%m-%d %H:%M UTC') with $(go version | cut -d' ' -f3-)"
	echo "needs ${glibc:-an unknown glibc}, libcuda.so.1"
	(cd "$out" && sha256sum -- *.test adjoint gpu-run.sh)
} >"$out/BUNDLE.txt"
cat "$out/BUNDLE.txt"
case $glibc in
GLIBC_2.3[6-9]* | GLIBC_2.[4-9]*)
	echo "gpu-bundle: WARNING: $glibc is newer than Ubuntu 22.04's 2.35: the binaries may not start on the GPU host" >&2
	;;
esac
size=$(du -sm "$out" | cut -f1)
ls -la "$out"
echo "gpu-bundle: .gpu/ is ${size} MiB"
if [ "$size" -gt 60 ]; then
	echo "gpu-bundle: .gpu/ exceeds 60 MiB (the device tool carries at most 64 MiB)" >&2
	exit 1
fi
