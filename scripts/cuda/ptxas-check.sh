#!/usr/bin/env bash
# ptxas-check.sh [arch ...]: assemble every committed kernels/*.ptx module
# to machine code, as the driver's JIT does on a card, for each arch
# (default: sm_80 sm_86 sm_89 sm_90, the A100, RTX 30, RTX 40/L4 and H100
# families), and fail on any ptxas error (an instruction the arch lacks,
# static shared memory over 48 KiB, a __launch_bounds__ that cannot be
# met) or on any kernel that spills registers to local memory or keeps a
# stack frame. No GPU needed; ptxas comes with the toolkit.
#
# Why: `nvcc -ptx` (make kernels, check-ptx.sh) stops at PTX and never runs
# ptxas, so without this a module that the driver cannot JIT-compile, or
# that spills, would first show on a GPU. This ptxas is the toolkit's
# (11.8 on CI), not the driver's, so it stands in for it; the committed PTX
# targets compute_80, which every one of these archs accepts.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v ptxas >/dev/null || { echo "ptxas-check: ptxas not found (run scripts/cuda/install-toolkit.sh)" >&2; exit 2; }
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(sm_80 sm_86 sm_89 sm_90)
status=0
for arch in "${archs[@]}"; do
	kernels=0
	for ptx in kernels/*.ptx; do
		if ! out=$(ptxas -arch="$arch" -O3 -v "$ptx" -o /dev/null 2>&1); then
			echo "ptxas-check: $ptx for $arch: ptxas failed:"
			echo "$out" | grep -v '^ptxas info' | sed 's/^/  /'
			status=1
			continue
		fi
		# -v prints, per kernel, "Compiling entry function 'NAME'" and
		# then "N bytes stack frame, S bytes spill stores, L bytes spill loads".
		bad=$(echo "$out" | awk -v ptx="$ptx" -v arch="$arch" '
			/Compiling entry function/ { name = $0; sub(/.*function .?/, "", name); sub(/.? for .*/, "", name); n++ }
			/bytes stack frame/ && !/^ *0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads/ {
				gsub(/^ +/, ""); print ptx " " name " (" arch "): " $0
			}
			END { print "count " n }')
		kernels=$((kernels + $(echo "$bad" | awk '/^count/ { print $2 }')))
		if echo "$bad" | grep -qv '^count'; then
			echo "$bad" | grep -v '^count' | sed 's/^/ptxas-check: spills or stack: /'
			status=1
		fi
	done
	echo "ptxas-check: $arch: $kernels kernels in $(ls kernels/*.ptx | wc -l) modules assembled"
done
[ "$status" -eq 0 ] && echo "ptxas-check: no errors, no spills, no stack frames"
exit "$status"
