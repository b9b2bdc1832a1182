#!/usr/bin/env bash
# test-gpu-run.sh: check gpu-run.sh's logic without a GPU, with fake
# binaries standing in for cuda.test and adjoint:
#   1. everything passes: exit 0, the table has both accuracies and the
#      bench rows (the 3xTF32 ones against the FP32 run's PyTorch times),
#      the bench got --python, logs land in $1 / $OUT;
#   2. a test binary fails and one hangs: non-zero exit, the hang is killed
#      at the overall budget, later steps are skipped, and nothing is left
#      running.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
[ -z "${KEEP:-}" ] || echo "test-gpu-run: keeping $tmp"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() {
	echo "test-gpu-run: FAIL: $*" >&2
	exit 1
}

mkbundle() { # mkbundle DIR
	mkdir -p "$1"
	cp "$here/gpu-run.sh" "$1/"
	cat >"$1/cuda.test" <<'EOF'
#!/usr/bin/env bash
if [[ " $* " == *" -test.run ^TestPreload\$ "* ]]; then
	echo "=== RUN   TestPreload"
	echo "    cuda_test.go:486: kernels loaded in 3.2s (7 modules: the driver's JIT, or its cache)"
	echo "--- PASS: TestPreload (3.30s)"
	echo "PASS"
	exit 0
fi
if [[ " $* " == *" -test.bench GemmTiles|TrainingStep|GemmStrided|SplitK "* ]]; then
	echo "BenchmarkGemmTiles/NT/4096/auto"
	echo "BenchmarkGemmTiles/NT/4096/auto-16        	      40	   3100000 ns/op	     44334 GFLOP/s"
	echo "--- BENCH: BenchmarkGemmTiles/NT/4096/auto-16"
	echo "    cuda_test.go:380: NT/4096: autotuned to tile 128x256"
	echo "    cuda_test.go:380: NT/4096: autotuned to tile 128x256"
	echo "BenchmarkGemmTiles/NT/4096/128-16         	      40	   3400000 ns/op	     40423 GFLOP/s"
	echo "BenchmarkGemmTiles/NT/256/auto-16         	    9000	     61234 ns/op	       548 GFLOP/s"
	echo "--- BENCH: BenchmarkGemmTiles/NT/256/auto-16"
	echo "    cuda_test.go:383: NT/256: gemmPlan's tile 32"
	echo "BenchmarkTrainingStep"
	echo "BenchmarkTrainingStep-16         	    9000	     61234 ns/op	        17.00 launches/op	         3.000 roundtrips/op"
	echo "BenchmarkGemmStrided/QKt/batched"
	echo "BenchmarkGemmStrided/QKt/batched-16         	   20000	     12000 ns/op	      5592 GFLOP/s	         1.000 launches/op"
	echo "BenchmarkGemmStrided/QKt/per-product-16     	    2000	    150000 ns/op	       447.4 GFLOP/s	        64.00 launches/op"
	echo "BenchmarkSplitK/conv1-gW/32x27x131072/auto"
	echo "BenchmarkSplitK/conv1-gW/32x27x131072/auto-16     	    5000	     40000 ns/op	      5662 GFLOP/s	         2.000 launches/op"
	echo "BenchmarkSplitKSteps/conv-cifar/split"
	echo "BenchmarkSplitKSteps/conv-cifar/split-16         	     200	   1234567 ns/op	        31.00 launches/op"
	echo "BenchmarkSplitKSteps/conv-cifar/whole-16         	      30	   7654321 ns/op	        29.00 launches/op"
	echo "--- BENCH: BenchmarkSplitKSteps"
	echo "    step_bench_test.go:120: conv/cifar/3x32x32-32-64/K128, one profiled step (split):"
	echo "        kernel                        launches        total   per launch  share"
	echo "        sgemm_tn_32                          2      0.900         450.0  60.0%"
	echo "    step_bench_test.go:120: conv/cifar/3x32x32-32-64/K128, one profiled step (whole):"
	echo "        kernel                        launches        total   per launch  share"
	echo "        sgemm_tn_32                          2      6.000        3000.0  90.0%"
	echo "        all                                         6.667"
	echo "PASS"
	exit 0
fi
echo "=== RUN   TestConformance"
echo "--- PASS: TestConformance (1.00s)"
echo "=== RUN   TestGemmTF32x3/long_positive_sums"
echo "    tune_test.go:267: 3xTF32 long sums (positive operands, 128×128×4096): largest error 1.24e-06 of Σ|ab| on tile tf32x3, 3.51e-06 on FP32 tile 128"
echo "--- SKIP: TestKernelParamsMatchPTX (0.00s)"
echo "PASS"
EOF
	cat >"$1/adjoint" <<'EOF'
#!/usr/bin/env bash
echo "adjoint $*" >>"$(dirname "$0")/calls.txt"
case $1 in
train)
	dev=$3
	echo "epoch 30/30 ..." >&2
	load=
	[ "$dev" = cuda ] && load=',"load_seconds":2.5'
	echo "{\"data\":\"digits\",\"device\":\"$dev\",\"model\":\"Sequential(Linear(64, 512), relu, Linear(512, 10))\",\"train_seconds\":0.5$load,\"test_loss\":0.07,\"test_accuracy\":0.98}"
	;;
bench)
	csv= tf32x3=
	while [ $# -gt 0 ]; do
		[ "$1" = --csv ] && csv=$2
		[ "$1" = --tf32x3 ] && tf32x3=1
		shift
	done
	echo "a table" 
	if [ -n "$tf32x3" ]; then # no peers: no torch columns
		{
			echo "config,kind,device,reps,median_s,q1_s,q3_s,min_s,max_s,iqr_pct,flops,gflops,samples,per_sample_s,torch_median_s,torch_iqr_pct,torch_ratio,numpy_median_s,numpy_ratio,error"
			echo "gemm/nn/1024,gemm,cuda,7,0.0001,,,,,,2.1e9,21000,0,,,,,,,"
			echo "gemm/NT/4096,gemm,cuda,7,0.002,,,,,,1.4e11,68000,0,,,,,,,"
			echo "mlp/wide/4096-4096-4096-10/K4096,mlp,cuda,7,0.015,,,,,,,,4096,,,,,,,"
		} >"$csv"
		exit 0
	fi
	{
		echo "config,kind,device,reps,median_s,q1_s,q3_s,min_s,max_s,iqr_pct,flops,gflops,samples,per_sample_s,torch_median_s,torch_iqr_pct,torch_ratio,numpy_median_s,numpy_ratio,error"
		echo "gemm/nn/1024,gemm,cuda,7,0.0001,,,,,,2.1e9,21000,0,,0.00008,,1.25,,,"
		echo "mlp/small/64-128-10/K64,mlp,cuda,7,0.0002,,,,,,,,64,,,,,,,\"boom, with a comma\""
		echo "gemm/NT/4096,gemm,cuda,7,0.003,,,,,,1.4e11,45000,0,,0.0025,,1.2,,,"
		echo "mlp/wide/4096-4096-4096-10/K4096,mlp,cuda,7,0.02,,,,,,,,4096,,0.018,,1.111,,,"
		echo "mlp/medium/784-512-512-10/K256,mlp,cuda,7,0.0001,,,,,,,,256,,0.0003,,0.333,,,"
	} >"$csv"
	;;
esac
EOF
	chmod +x "$1"/*
}

# 1. All pass; logs into $OUT.
mkbundle "$tmp/ok"
OUT=$tmp/ok-logs bash "$tmp/ok/gpu-run.sh" >"$tmp/ok.txt" 2>&1 || {
	cat "$tmp/ok.txt"
	fail "all-pass run exited non-zero"
}
s=$tmp/ok-logs/summary.txt
[ -f "$s" ] || fail "no summary.txt in \$OUT"
grep -q 'RESULT: all steps passed' "$s" || fail "no success line"
grep -q '^== jit (limit [0-9]*s): ./cuda.test .*-test.run ^TestPreload\$' "$s" || fail "no jit step before the tests"
grep -q 'kernels loaded in 3.2s' "$s" || fail "the jit step's load time is not in the summary"
grep -q '3xTF32 long sums (positive operands, 128×128×4096): largest error 1.24e-06' "$s" || fail "the 3xTF32 long-sum line is not in the summary"
grep -Eq '^cuda +0.98 +0.07 +0.5 +2.5 Sequential' "$s" || fail "train row of cuda (with load_s) missing"
grep -Eq '^cpu +0.98 +0.07 +0.5 +Sequential' "$s" || fail "train row of cpu missing"
grep -Eq '^cuda +0\.98 ' "$s" || fail "cuda accuracy missing"
grep -Eq '^cpu +0\.98 ' "$s" || fail "cpu accuracy missing"
grep -Eq '^gemm/nn/1024 +0\.1000 +0\.0800 +1\.25 +21000' "$s" || fail "bench gemm row missing"
grep -q 'boom, with a comma' "$s" || fail "bench error column lost"
grep -Eq '^target gemm/NT/4096 +ours/pt +1\.200, want <= 1\.25 MET$' "$s" || fail "SGEMM target line missing"
grep -Eq '^target mlp/wide/4096-4096-4096-10/K4096 +ours/pt +1\.111, want <= 1 +MISSED$' "$s" || fail "wide MLP target line missing"
grep -Eq '^target mlp/small/64-128-10/K64 +no PyTorch time' "$s" || fail "small MLP target line missing"
! grep -q '^target gemm/nn/1024\|^target mlp/medium' "$s" || fail "a configuration without a target got a target line"
grep -Eq '^gemm/NT/4096 +2\.0000 +3\.0000 +2\.5000 +0\.800 +68000$' "$s" || fail "3xTF32 bench row missing"
grep -Eq '^target \(3xTF32\) gemm/NT/4096 +ours/pt +0\.800, want <= 1\.25 MET$' "$s" || fail "3xTF32 SGEMM target line missing"
grep -Eq '^target \(3xTF32\) mlp/wide/4096-4096-4096-10/K4096 +ours/pt +0\.833, want <= 1 +MET$' "$s" || fail "3xTF32 wide MLP target line missing"
grep -q "bench --device cuda --only gemm,mlp --quick --no-peers --tf32x3" "$tmp/ok/calls.txt" || fail "no 3xTF32 bench: $(cat "$tmp/ok/calls.txt")"
grep -q "bench --device cuda --only gemm,mlp,conv --quick --python $(command -v python3)" "$tmp/ok/calls.txt" ||
	fail "bench not called with --python: $(cat "$tmp/ok/calls.txt")"
grep -q '1 passed, 0 failed, 1 skipped' "$s" || fail "test counts missing"
grep -Eq '^NT/4096/128 +40423$' "$s" || fail "tile row missing"
grep -Eq '^NT/4096/auto +44334  \(autotuned: 128x256\)$' "$s" || fail "autotuned tile row missing"
grep -Eq '^NT/256/auto +548  \(gemmPlan: 32\)$' "$s" || fail "gemmPlan tile row missing"
[ "$(grep -c '^NT/4096/auto' "$s")" -eq 1 ] || fail "auto row repeated"
[ "$(grep -c '^training step (64-128-10' "$s")" -eq 1 ] || fail "training step line repeated (a -test.v name line read as a result)"
[ "$(grep -c '^QKt/batched ' "$s")" -eq 1 ] || fail "GemmStrided row repeated"
[ "$(grep -c '^conv1-gW/32x27x131072/auto ' "$s")" -eq 1 ] || fail "split-k row repeated"
[ "$(grep -c '^conv-cifar/split ' "$s")" -eq 1 ] || fail "split-k step row repeated"
grep -q '^training step (64-128-10, Adam, K = 64, BenchmarkTrainingStep): 61.2 us, 17.00 launches$' "$s" || fail "training step line missing"
grep -Eq '^QKt/batched +5592 +1\.000$' "$s" || fail "batched GemmStrided row missing"
grep -Eq '^QKt/per-product +447\.4 +64\.00$' "$s" || fail "per-product GemmStrided row missing"
grep -Eq '^conv1-gW/32x27x131072/auto +5662 +2\.000$' "$s" || fail "split-k product row missing"
grep -Eq '^conv-cifar/split +1\.235 +31\.00$' "$s" || fail "conv step row missing"
grep -Eq '^conv-cifar/whole +7\.654 +29\.00$' "$s" || fail "conv step row (no split-k) missing"
grep -q '^conv/cifar/3x32x32-32-64/K128, one profiled step (whole):$' "$s" || fail "conv step profile header missing"
grep -Eq '^  sgemm_tn_32 +2 +6\.000 +3000\.0 +90\.0%$' "$s" || fail "conv step profile row missing"
grep -Eq '^  all +6\.667$' "$s" || fail "conv step profile total missing"
! grep -q '^PASS' "$s" || fail "the test binary's PASS line leaked into the profile"
[ -f "$tmp/ok-logs/logs.tgz" ] && ! ls "$tmp/ok-logs"/*.out >/dev/null 2>&1 || fail "step logs in \$OUT not packed into logs.tgz"
tar -tzf "$tmp/ok-logs/logs.tgz" | grep -q '^tiles.out$' || fail "logs.tgz lacks tiles.out"

# 1b. Logs into $1 (wins over $OUT).
OUT=$tmp/ignored bash "$tmp/ok/gpu-run.sh" "$tmp/arg-logs" >/dev/null 2>&1 || fail "run with a log dir argument failed"
[ -f "$tmp/arg-logs/summary.txt" ] && ! [ -e "$tmp/ignored" ] || fail "\$1 did not take precedence over \$OUT"

# 1c. A rerun of the tests alone, with a -test.run filter.
rm -f "$tmp/ok/calls.txt"
GPU_RUN_STEPS=test GPU_TEST_RUN='^TestGemm' bash "$tmp/ok/gpu-run.sh" "$tmp/sub-logs" >/dev/null 2>&1 || fail "test-only run failed"
grep -q -- "-test.run ^TestGemm " "$tmp/sub-logs/summary.txt" || fail "GPU_TEST_RUN not passed to the test binary"
! [ -e "$tmp/ok/calls.txt" ] || fail "GPU_RUN_STEPS=test still ran adjoint: $(cat "$tmp/ok/calls.txt")"

# 1d. The extra arguments of a shortened run reach every command.
rm -f "$tmp/ok/calls.txt"
GPU_RUN_STEPS="test train bench" GPU_TEST_ARGS="-test.short" GPU_TRAIN_ARGS="--epochs 1" GPU_BENCH_ARGS="--max-size 256" \
	bash "$tmp/ok/gpu-run.sh" "$tmp/args-logs" >/dev/null 2>&1 || fail "run with extra arguments failed"
grep -q -- "-test.short" "$tmp/args-logs/summary.txt" || fail "GPU_TEST_ARGS not passed to the test binary"
[ "$(grep -cE -- "^adjoint train --device (cuda|cpu) --json --epochs 1$" "$tmp/ok/calls.txt")" -eq 2 ] ||
	fail "GPU_TRAIN_ARGS not passed to both trainings: $(cat "$tmp/ok/calls.txt")"
grep -q -- "^adjoint bench .* --max-size 256$" "$tmp/ok/calls.txt" || fail "GPU_BENCH_ARGS not passed to the bench"

# 2. A failing and a hanging test binary, a 12 s budget.
mkbundle "$tmp/bad"
printf '#!/usr/bin/env bash\necho "--- FAIL: TestX (0.00s)"\necho FAIL\nexit 1\n' >"$tmp/bad/a_fail.test"
printf '#!/usr/bin/env bash\nsleep 300 &\nwait\n' >"$tmp/bad/b_hang.test"
chmod +x "$tmp/bad"/*.test
t0=$SECONDS
if GPU_RUN_BUDGET=12 bash "$tmp/bad/gpu-run.sh" "$tmp/bad-logs" >"$tmp/bad.txt" 2>&1; then
	cat "$tmp/bad.txt"
	fail "failing run exited 0"
fi
dt=$((SECONDS - t0))
[ "$dt" -lt 30 ] || fail "hanging step not bounded (${dt}s)"
s=$tmp/bad-logs/summary.txt
grep -Eq '^test-a_fail +FAIL rc=1' "$s" || fail "failing test not reported"
grep -Eq '^test-b_hang +TIMEOUT' "$s" || fail "hang not reported as TIMEOUT"
grep -Eq '^bench +skipped' "$s" || fail "bench not skipped after the budget ran out"
grep -q 'RESULT: some steps FAILED' "$s" || fail "no failure line"
sleep 1
if pgrep -f "$tmp/bad/b_hang.test" >/dev/null; then fail "the hanging test survived"; fi
echo "test-gpu-run: OK (all-pass, \$1/\$OUT logs, step subset, extra arguments, failure, hang and budget cases)"
