#!/usr/bin/env bash
# gpu-bundle.sh [package ...]: build, on this (GPU-less) machine, what the
# GPU host runs. Writes into .gpu/ (git-ignored):
#   cuda.test            the cuda-tagged test binary of ./device/cuda
#   <pkg>.test           one per extra package argument (e.g. ./nn)
#   gpu-run.sh           the runner (conformance tests, benchmarks, table)
#   torch_gemm.py        the PyTorch FP32 reference timing
# Then carry .gpu/ to the GPU host and run: bash .gpu/gpu-run.sh
# The GPU host needs the NVIDIA driver and python3 with torch; no Go.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/.gpu
mkdir -p "$out"
cd "$root"

build() { # build <package> <output name>
	echo "gpu-bundle: go test -tags cuda -c $1 -> .gpu/$2"
	CGO_ENABLED=1 go test -tags cuda -c -o "$out/$2" "$1"
}

build ./device/cuda cuda.test
for pkg in "$@"; do
	name=$(echo "${pkg#./}" | tr '/' '_')
	build "$pkg" "$name.test"
done
cp scripts/cuda/gpu-run.sh scripts/cuda/torch_gemm.py "$out"/
chmod +x "$out"/*.test "$out/gpu-run.sh"
ls -la "$out"
