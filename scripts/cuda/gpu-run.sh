#!/usr/bin/env bash
# gpu-run.sh: run on the GPU host from the folder gpu-bundle.sh filled.
#  1. the conformance and unit tests of every *.test binary here
#  2. BenchmarkGemm (n = 256, 1024, 2048, 4096) of cuda.test
#  3. torch_gemm.py (torch.mm FP32, TF32 off) at the same sizes
#  4. a table: size, ours GFLOP/s, torch GFLOP/s, ratio
# Bounded by timeouts so that the whole run stays within about 5 minutes.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
log=$here/gpu-run.log
: >"$log"
status=0

nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null | tee -a "$log" || true

echo "== tests" | tee -a "$log"
for t in ./*.test; do
	out=$here/$(basename "$t" .test).tests.txt
	echo "-- $t (full output in $(basename "$out"))" | tee -a "$log"
	timeout 150 "$t" -test.v -test.run . -test.timeout 140s >"$out" 2>&1
	rc=$?
	cat "$out" >>"$log"
	grep -E '^\s*--- FAIL|^(FAIL|ok|PASS)$|^panic|cuda: ' "$out" | head -n 60
	echo "   $(grep -c -- '--- PASS' "$out") passed, $(grep -c -- '--- FAIL' "$out") failed, $(grep -c -- '--- SKIP' "$out") skipped; exit $rc" | tee -a "$log"
	[ "$rc" -eq 0 ] || status=1
done

echo "== benchmarks" | tee -a "$log"
bench=$here/bench.txt
timeout 90 ./cuda.test -test.run '^$' -test.bench '^BenchmarkGemm$' -test.benchtime 2s 2>&1 | tee "$bench" | tee -a "$log"

echo "== torch" | tee -a "$log"
torch=$here/torch.txt
timeout 90 python3 torch_gemm.py 256 1024 2048 4096 2>&1 | tee "$torch" | tee -a "$log"

echo "== GEMM FP32, n×n×n (GFLOP/s)" | tee -a "$log"
printf '%6s %12s %12s %8s\n' size ours torch ratio | tee -a "$log"
for n in 256 1024 2048 4096; do
	ours=$(awk -v n="n=$n" '$1 ~ ("BenchmarkGemm/" n "(-[0-9]+)?$") { for (i = 2; i <= NF; i++) if ($(i) == "GFLOP/s") print $(i-1) }' "$bench" | tail -n 1)
	ref=$(awk -v n="$n" '$1 == "torch" && $2 == n { print $3 }' "$torch" | tail -n 1)
	ratio=$(awk -v a="${ours:-0}" -v b="${ref:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }')
	printf '%6s %12s %12s %8s\n' "$n" "${ours:--}" "${ref:--}" "$ratio" | tee -a "$log"
done
exit $status
