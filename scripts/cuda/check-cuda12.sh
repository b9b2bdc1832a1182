#!/usr/bin/env bash
# check-cuda12.sh: build, vet and compile the tests of the cuda build against
# the cuda.h of CUDA 12 (Debian trixie's nvidia-cuda-dev, 12.4), as a user's
# CUDA 12 host would, and run a few of those tests on the stand-in driver
# when it is built (.fakecuda, make cuda-fake). CI's toolkit is CUDA 11.8;
# gorgonia.org/cu and driver_cu.go compile against whatever cuda.h cgo finds,
# so this is the check that a CUDA 12 host can build the backend.
#
# Only cuda.h is taken from the package, into a temporary folder (nothing
# is installed): CGO_CFLAGS puts it ahead of every package's own include
# paths. The download is about 0.9 GB (some 20 s here), the extraction
# about 25 s. No GPU needed.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/include"
echo "deb http://deb.debian.org/debian trixie main contrib non-free" >"$tmp/sources.list"
apt=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o APT::Sandbox::User=root)
apt-get "${apt[@]}" update -qq
(cd "$tmp" && apt-get "${apt[@]}" download -qq nvidia-cuda-dev) 2>"$tmp/download.log" || {
	cat "$tmp/download.log" >&2
	exit 1
}
deb=$(ls "$tmp"/nvidia-cuda-dev_*.deb)
dpkg-deb --fsys-tarfile "$deb" | tar -x -O ./usr/include/cuda.h >"$tmp/include/cuda.h"
version=$(awk '$1 == "#define" && $2 == "CUDA_VERSION" {print $3}' "$tmp/include/cuda.h")
echo "check-cuda12: cuda.h of $(basename "$deb"): CUDA_VERSION $version"
if [ "${version:0:2}" != 12 ] || [ ${#version} -ne 5 ]; then
	echo "check-cuda12: want a CUDA 12 header (CUDA_VERSION 12xxx), got '$version'" >&2
	exit 1
fi

export CGO_CFLAGS="-I$tmp/include -O2 -g"
# The header must be the one cgo compiles against: a probe header that
# stops the build proves the include path wins over the system's cuda.h.
mkdir -p "$tmp/probe"
echo '#error check-cuda12 probe header' >"$tmp/probe/cuda.h"
if CGO_CFLAGS="-I$tmp/probe" go build -tags cuda -o /dev/null ./device/cuda 2>"$tmp/probe.log"; then
	echo "check-cuda12: CGO_CFLAGS does not reach the cuda.h that cgo compiles against" >&2
	exit 1
fi
grep -q 'check-cuda12 probe header' "$tmp/probe.log" || {
	cat "$tmp/probe.log" >&2
	exit 1
}

go vet -tags cuda ./device/cuda/ ./cmd/adjoint/
go build -tags cuda ./...
go test -tags cuda -c -o "$tmp/cuda.test" ./device/cuda/
if [ -e .fakecuda/libcuda.so.1 ]; then
	(cd device/cuda && FAKECUDA_STRICT=1 LD_LIBRARY_PATH="$PWD/../../.fakecuda" \
		"$tmp/cuda.test" -test.short -test.run 'TestDriverInit|TestConformance/float32/(Special|Gemm)$|TestStepCounts')
else
	echo "check-cuda12: .fakecuda/libcuda.so.1 not built (make cuda-fake): the tests were compiled, not run"
fi
echo "check-cuda12: OK: the cuda build, its vet and its tests against cuda.h with CUDA_VERSION $version"
