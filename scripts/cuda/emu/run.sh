#!/usr/bin/env bash
# run.sh: compile kernels/*.cu for the CPU with cuda_emu.h and check them
# against the references in emu_test.cpp. Needs only g++ (C++20); no GPU,
# no nvcc. A logic check of the kernels, not of speed or of GPU memory
# ordering; the real test is device/cuda's suite on a GPU.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -std=c++20 -O2 -pthread -Wall -Wno-unknown-pragmas -Wno-unused-function -Wno-unused-variable \
	-x c++ "$here/emu_test.cpp" -o "$out/emu_test"
"$out/emu_test"
