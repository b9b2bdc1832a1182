#!/usr/bin/env bash
# check-ptx.sh: regenerate the PTX of kernels/*.cu into a temporary
# directory, with exactly the nvcc lines of kernels/generate.go, and fail
# when it differs from the committed kernels/*.ptx (or when a .cu has no
# .ptx, or a .ptx no .cu). Needs nvcc (scripts/cuda/install-toolkit.sh).
#
# The committed PTX comes from Debian bookworm's nvcc 11.8; another nvcc
# version writes a different header and code, so run this where CI runs.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
src=$root/kernels
command -v nvcc >/dev/null || { echo "check-ptx: nvcc not found (run scripts/cuda/install-toolkit.sh)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src"/*.cu "$src"/*.cuh "$tmp"/

lines=$(grep '^//go:generate nvcc ' "$src/generate.go" | sed 's|^//go:generate ||')
[ -n "$lines" ] || { echo "check-ptx: no nvcc lines in kernels/generate.go" >&2; exit 2; }
(cd "$tmp" && while IFS= read -r cmd; do
	# Each line is "nvcc <fixed flags> -o X.ptx X.cu": no shell syntax.
	read -r -a argv <<<"$cmd"
	"${argv[@]}"
done <<<"$lines")

status=0
for f in "$src"/*.ptx "$tmp"/*.ptx; do
	name=$(basename "$f")
	if ! [ -f "$src/$name" ]; then
		echo "check-ptx: kernels/$name is generated but not committed"
		status=1
	elif ! [ -f "$tmp/$name" ]; then
		echo "check-ptx: kernels/$name is committed but no generate line produces it"
		status=1
	fi
done
for f in "$tmp"/*.ptx; do
	name=$(basename "$f")
	[ -f "$src/$name" ] || continue
	if ! cmp -s "$f" "$src/$name"; then
		echo "check-ptx: kernels/$name differs from a fresh build ($(diff "$src/$name" "$f" | grep -c '^[<>]') lines); first differences:"
		diff -u "$src/$name" "$f" | head -n 30 || true
		status=1
	fi
done
if [ "$status" -ne 0 ]; then
	echo "check-ptx: FAIL: regenerate with 'go generate ./kernels' and commit the .ptx files" >&2
	exit 1
fi
echo "check-ptx: OK ($(ls "$src"/*.ptx | wc -l) modules, $(nvcc --version | tail -n 1))"
