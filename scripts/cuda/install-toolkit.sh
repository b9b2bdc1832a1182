#!/usr/bin/env bash
# install-toolkit.sh: install NVIDIA's CUDA toolkit from Debian bookworm
# (nvcc 11.8, cuda.h, the libcuda.so stub) so that `go build -tags cuda` and
# `go generate ./kernels` work. Idempotent: it does nothing when nvcc and
# cuda.h are already present, and writes the apt source file only once.
#
# Needs root (or sudo). CI calls it before the cuda-tagged build steps.
set -euo pipefail

if command -v nvcc >/dev/null 2>&1 && [ -f /usr/include/cuda.h ]; then
	echo "install-toolkit: $(nvcc --version | tail -n 1) already installed"
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi

# nvidia-cuda-toolkit lives in bookworm's non-free component (its
# dependencies partly in contrib). Add those components for the main archive,
# in the same format as the sources already configured.
if [ -f /etc/apt/sources.list.d/debian.sources ] || ! [ -s /etc/apt/sources.list ]; then
	src=/etc/apt/sources.list.d/debian-contrib-non-free.sources
	if ! [ -f "$src" ]; then
		$SUDO tee "$src" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	fi
else
	src=/etc/apt/sources.list.d/debian-contrib-non-free.list
	if ! [ -f "$src" ]; then
		echo "deb http://deb.debian.org/debian bookworm main contrib non-free" | $SUDO tee "$src" >/dev/null
	fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends nvidia-cuda-toolkit
nvcc --version | tail -n 1
