#!/usr/bin/env bash
# sass-loops.sh [--check] [arch]: compile the committed SGEMM PTX
# (kernels/gemm.ptx, gemm_wide.ptx, gemm_tc.ptx) to machine code (ptxas,
# default sm_90) and print, for each SGEMM kernel, the loops that hold its
# FFMAs (or, for the tensor-core kernels, its HMMAs): instructions per trip,
# FFMAs or HMMAs, shared loads and their share. No GPU needed (ptxas and
# cuobjdump come with the toolkit).
#
# Why: an SGEMM like ours is bound by instruction issue on the GPU (each
# scheduler issues one warp instruction per cycle, and an FFMA is one), so
# the FFMA share of the k-loop bounds the fraction of FP32 peak a kernel
# can reach. The last loop of each kernel is its fast k-loop (gemm.cuh);
# the first, the edge loop that checks every load.
#
# --check fails unless the fast loop of every 128 and 128x256 kernel keeps
# at least the FFMA share it had when this check was written (0.88 and
# 0.91), and that of every tf32x3 kernel its HMMA share (0.25: 96 HMMA in
# about 365 instructions, the rest mostly 144 for splitting the fragments
# in registers, the 64 FP32 adds of each tile's partial sums and 12
# LDS.128; 0.26 when written): a guard against a change that puts index
# arithmetic back into the loop.
set -euo pipefail
cd "$(dirname "$0")/../.."
check=0
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
arch=${1:-sm_90}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in gemm gemm_wide gemm_tc; do
	ptxas -arch="$arch" -O3 "kernels/$m.ptx" -o "$tmp/$m.cubin"
	cuobjdump -sass "$tmp/$m.cubin"
done >"$tmp/gemm.sass"
# A loop is a backward branch: the instructions from its target to it.
awk -v check="$check" '
function hex(s,   i, v) {
	v = 0
	for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v
}
function flush(   i, j, a, t, n, f, l, line, last) {
	if (fn == "") return
	last = ""
	for (i = 1; i <= cnt; i++) {
		if (!match(text[i], /BRA 0x[0-9a-f]+/)) continue
		t = hex(substr(text[i], RSTART + 6, RLENGTH - 6))
		if (t >= addr[i]) continue
		n = f = h = l = 0
		for (j = 1; j <= cnt; j++) if (addr[j] >= t && addr[j] <= addr[i]) {
			n++
			if (text[j] ~ /FFMA/) f++
			if (text[j] ~ /HMMA/) h++
			if (text[j] ~ /LDS/) l++
		}
		if (h >= 48) {
			print sprintf("%-20s loop %6d instructions %5d HMMA %3d LDS  HMMA share %.3f", fn, n, h, l, h / n)
			last = h / n
			continue
		}
		if (f < 64) continue
		line = sprintf("%-20s loop %6d instructions %5d FFMA %3d LDS  FFMA share %.3f", fn, n, f, l, f / n)
		print line
		last = f / n
	}
	if (check && fn ~ /_128$/ && last < 0.88) { printf "FAIL %s: fast loop FFMA share %.3f < 0.88\n", fn, last; bad = 1 }
	if (check && fn ~ /_128x256$/ && last < 0.91) { printf "FAIL %s: fast loop FFMA share %.3f < 0.91\n", fn, last; bad = 1 }
	if (check && fn ~ /_tf32x3$/ && last < 0.25) { printf "FAIL %s: fast loop HMMA share %.3f < 0.25\n", fn, last; bad = 1 }
	if (check && fn ~ /_(128|128x256|tf32x3)$/) seen++
}
/Function : / { flush(); fn = $3; cnt = 0; next }
match($0, /\/\*[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]*\*\/ +[^;]*;/) {
	s = substr($0, RSTART, RLENGTH)
	cnt++
	addr[cnt] = hex(substr(s, 3, index(s, "*/") - 3))
	text[cnt] = s
}
END {
	flush()
	if (check && seen != 12) { printf "FAIL: found %d of the 12 kernels of the 128, 128x256 and tf32x3 tiles\n", seen; bad = 1 }
	exit bad
}' "$tmp/gemm.sass"
