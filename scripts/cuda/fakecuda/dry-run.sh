#!/usr/bin/env bash
# dry-run.sh: the GPU session rehearsed without a GPU. Builds the stand-in
# driver (build.sh) and the real bundle (make gpu-bundle: the -tags cuda
# binaries a GPU host runs), then runs .gpu/gpu-run.sh on the stand-in with
# the run shortened to what emulated kernels can do in about a minute:
#   test   the quick tests of cuda.test (device, errors, allocator, counts)
#   train  one epoch on digits, --device cuda and --device cpu
#   bench  gemm and mlp configurations up to 256 wide, PyTorch peers on
#          (they must step aside cleanly: this torch has no CUDA)
# and checks the summary: every step passed, both trainings printed the
# same accuracy, every bench row has a time and no error. A bundle that
# fails here would fail on the GPU host too, where device minutes are few.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"
logs=${1:-$(mktemp -d)}
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)
fail() {
	echo "dry-run: FAIL: $*" >&2
	exit 1
}

bash "$here/build.sh" "$root/.fakecuda"
make -s gpu-bundle >/dev/null
export LD_LIBRARY_PATH=$root/.fakecuda${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export GPU_RUN_STEPS="test train bench"
export GPU_TEST_RUN='TestRegistered|TestDriverInit|TestIndexLossError|TestAllocOutOfMemory|TestLaunchFailure|TestStepCounts'
export GPU_TRAIN_ARGS="--epochs 1"
export GPU_BENCH_ARGS="--max-size 256"
if [ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ]; then
	export PYTHON=/usr/bin/python3 # Debian's, with python3-torch in CI
fi
rc=0
bash .gpu/gpu-run.sh "$logs" >"$logs/dry-run.txt" 2>&1 || rc=$?
cat "$logs/dry-run.txt"
[ "$rc" -eq 0 ] || fail "gpu-run.sh exited with $rc (logs in $logs)"
grep -q '^RESULT: all steps passed' "$logs/summary.txt" || fail "summary does not say all steps passed"
grep -q 'fakecuda 0 (kernels emulated on the CPU)' "$logs/test-cuda.out" || fail "cuda.test did not run on the stand-in driver"
acc() { tail -n 1 "$logs/train-$1.out" | grep -o '"test_accuracy":[0-9.]*' | cut -d: -f2; }
[ -n "$(acc cuda)" ] && [ "$(acc cuda)" = "$(acc cpu)" ] || fail "test accuracy on cuda ($(acc cuda)) differs from cpu ($(acc cpu))"
rows=$(awk -F, 'NR > 1 && $3 == "cuda"' "$logs/bench.csv" | wc -l)
[ "$rows" -ge 7 ] || fail "bench.csv has $rows cuda rows, want at least 7"
bad=$(awk -F, 'NR > 1 && ($5 == "" || $20 != "")' "$logs/bench.csv")
[ -z "$bad" ] || fail "bench rows without a time or with an error: $bad"
echo "dry-run: OK: the bundle's tests, trainings (accuracy $(acc cuda) on both) and $rows bench rows ran on the stand-in driver"
