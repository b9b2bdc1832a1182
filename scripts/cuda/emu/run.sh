#!/usr/bin/env bash
# run.sh [--tsan] [group ...]: compile kernels/*.cu for the CPU with
# cuda_emu.h and check them against the references in emu_test.cpp (all
# groups, or the named ones: elementwise reduce argmax optim softmax loss
# gemm tf32x3). Needs only g++ (C++20); no GPU, no nvcc. A logic check of the
# kernels, not of speed; the real test is device/cuda's suite on a GPU.
#
# The build has UndefinedBehaviorSanitizer: float4 is 16-byte aligned as
# in CUDA, so a vector load from a misaligned address, which faults on a GPU
# and passes on x86, stops the run here (as does any other undefined
# behaviour the sanitizer sees).
#
# --tsan builds with ThreadSanitizer instead. Every CUDA thread of a block is a host
# thread and __syncthreads a std::barrier, so a shared-memory access that
# no __syncthreads (or warp shuffle) orders against another thread's write
# is a data race TSan reports, even when the result happens to be right:
# the missing-barrier bug that a GPU shows only now and then. Slower: about
# 2 minutes without argmax (whose 1024-thread blocks take 4 more).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
flags=(-O2 -g -fsanitize=undefined -fno-sanitize-recover=undefined)
if [ "${1:-}" = --tsan ]; then
	shift
	flags=(-O1 -g -fsanitize=thread)
	export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -std=c++20 "${flags[@]}" -pthread -Wall -Wno-unknown-pragmas -Wno-unused-function -Wno-unused-variable \
	-x c++ "$here/emu_test.cpp" -o "$out/emu_test"
"$out/emu_test" "$@"
