#!/usr/bin/env bash
# build.sh [dir]: build the stand-in driver (libcuda.cpp with the emulated
# kernels of device/cuda/emu_bridge.cpp) as dir/libcuda.so.1, default
# .fakecuda/. Needs g++ (C++20) and cuda.h (scripts/cuda/install-toolkit.sh).
# Run a `-tags cuda` binary on it with LD_LIBRARY_PATH=dir.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:-$root/.fakecuda}
mkdir -p "$out"
inc=()
for d in /usr/include /usr/local/cuda/include /usr/lib/cuda/include; do
	if [ -f "$d/cuda.h" ]; then
		inc=(-I"$d")
		break
	fi
done
[ ${#inc[@]} -gt 0 ] || {
	echo "fakecuda: no cuda.h (run scripts/cuda/install-toolkit.sh)" >&2
	exit 1
}
# UndefinedBehaviorSanitizer, as in scripts/cuda/emu/run.sh: a kernel's
# misaligned float4 access (a fault on a GPU) stops the program here too,
# now with the buffers, offsets and leading dimensions the Go side passes.
g++ -std=c++20 -O2 -g -fPIC -shared -pthread -Wall -Wno-unknown-pragmas "${inc[@]}" \
	-fsanitize=undefined -fno-sanitize-recover=undefined \
	-Wl,-soname,libcuda.so.1 -o "$out/libcuda.so.1" \
	"$here/libcuda.cpp" "$root/device/cuda/emu_bridge.cpp"
echo "fakecuda: built $out/libcuda.so.1"
