# adjoint: build, test, benchmark. `make help` lists the targets.
GO        ?= go
PKGS      := ./...
# Packages cheap enough to run under the race detector on 2 cores.
RACE_PKGS := ./tensor/ ./autograd/... ./loss/ ./data/ ./safetensors/ ./optim/

.PHONY: help test vet race build train bench bench-quick benchmarks-md kernels check-ptx ptxas-check sass-check cuda-check cuda12-check cuda-emu cuda-fake gpu-dry-run gpu-bundle fuzz clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

test: vet ## vet, then every test (CPU backend), then the race detector on the light packages
	$(GO) test $(PKGS)
	$(GO) test -race $(RACE_PKGS)
	$(GO) test -race -run 'TestConformance/default|TestParallel' ./cpu/
	$(GO) test -race -short ./cpu/gemm/

vet: ## gofmt check and go vet
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.gpu/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

build: ## build the adjoint command into bin/ (CPU only; see cuda-check for GPU builds)
	CGO_ENABLED=0 $(GO) build -o bin/adjoint ./cmd/adjoint

train: ## train the default MLP on the embedded digits set
	$(GO) run ./cmd/adjoint train

bench: ## the full benchmark suite (see BENCHMARKS.md)
	$(GO) run ./cmd/adjoint bench

bench-quick: ## the quick benchmark suite (< 2 minutes)
	$(GO) run ./cmd/adjoint bench --quick

benchmarks-md: ## rewrite BENCHMARKS.md and its charts from the saved reports in bench/reports/
	$(GO) run ./cmd/adjoint bench --from $$(ls bench/reports/*.json | paste -sd, -) --markdown BENCHMARKS.md --plot bench/charts/cpu.png

kernels: ## regenerate kernels/*.ptx from kernels/*.cu (needs nvcc)
	$(GO) generate ./kernels

check-ptx: ## fail if the committed PTX differs from what nvcc generates
	bash scripts/cuda/check-ptx.sh

ptxas-check: ## assemble every committed PTX module for sm_80/86/89/90 as the driver's JIT would, and fail on an error, a spill or a stack frame (needs the CUDA toolkit, not a GPU)
	bash scripts/cuda/ptxas-check.sh

sass-check: ## compile the SGEMM PTX for sm_90 and fail if its fast k-loops lose FFMA share (needs the CUDA toolkit, not a GPU)
	bash scripts/cuda/sass-loops.sh --check

cuda-check: ## vet and build everything with -tags cuda (needs the CUDA toolkit, not a GPU)
	$(GO) vet -tags cuda $(PKGS)
	$(GO) build -tags cuda $(PKGS)
	d=$$(mktemp -d) && $(GO) test -tags cuda -c -o $$d/ $(PKGS) && ls $$d && rm -rf $$d
	@# On a host without a GPU, the cuda build must still start and train on the CPU.
	$(GO) test -count=1 -tags cuda -run 'TestDriverInit|TestCUDABuildWithoutGPU' ./device/cuda/ ./cmd/adjoint/

# device/cuda's emu_bridge.cpp #includes kernels/*.cu from another folder,
# which go's build cache does not see: a kernel edit would leave a cached
# cudaemu build running the old kernel. CGO_CXXFLAGS is part of the cache
# key, so a hash of those sources in it makes such a build compile anew.
EMU := CGO_CXXFLAGS="-O2 -g -DADJOINT_EMU_SOURCES=$$(cat kernels/*.cu kernels/*.cuh scripts/cuda/emu/cuda_emu.h | cksum | cut -d' ' -f1)"

cuda-emu: ## the CUDA backend's own tests with its kernels emulated on the CPU (needs g++; no GPU, no CUDA toolkit)
	$(EMU) $(GO) vet -tags cudaemu ./device/cuda/ ./cmd/adjoint/
	$(EMU) $(GO) test -tags cudaemu -short -timeout 15m ./device/cuda/
	$(EMU) $(GO) test -tags cudaemu -run 'TestTrainCUDAMatchesCPU|TestEvalPredictCUDAMatchesCPU|TestTrainProfile' ./cmd/adjoint/
	$(EMU) $(GO) test -race -tags cudaemu -run 'TestRegistered|TestIndexLossError|TestAllocOutOfMemory|TestLaunchFailure|TestStepCounts|TestConcurrentCallers' ./device/cuda/

# The stand-in driver of scripts/cuda/fakecuda, for cuda-built tests. -count=1:
# go test cannot see that results depend on FAKECUDA_DEVICES.
FAKECUDA := LD_LIBRARY_PATH=$(CURDIR)/.fakecuda$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH}

cuda12-check: ## build, vet and compile the cuda tests against CUDA 12's cuda.h (Debian trixie's, downloaded, not installed); run a few on the stand-in driver when built
	bash scripts/cuda/check-cuda12.sh

cuda-fake: ## the -tags cuda build itself (gorgonia.org/cu, driver_cu.go, the committed PTX) on a stand-in libcuda.so.1 whose kernels run on the CPU, with one device and with none (needs g++ and cuda.h; no GPU)
	bash scripts/cuda/fakecuda/build.sh
	FAKECUDA_STRICT=1 $(FAKECUDA) $(GO) test -count=1 -tags cuda -short -timeout 15m ./device/cuda/
	FAKECUDA_STRICT=1 $(FAKECUDA) $(GO) test -count=1 -tags cuda -run 'TestTrainCUDAMatchesCPU|TestEvalPredictCUDAMatchesCPU|TestCUDABuildWithoutGPU|TestTrainProfile' ./cmd/adjoint/
	$(FAKECUDA) $(GO) test -count=1 -race -tags cuda -run 'TestRegistered|TestIndexLossError|TestAllocOutOfMemory|TestLaunchFailure|TestStepCounts|TestDriverInit|TestConcurrentCallers|TestMultiTensor|TestTensorTableCache' ./device/cuda/
	FAKECUDA_DEVICES=0 $(FAKECUDA) $(GO) test -count=1 -tags cuda -run 'TestDriverInit|TestCUDABuildWithoutGPU' ./device/cuda/ ./cmd/adjoint/

gpu-dry-run: ## build the GPU bundle and run a shortened gpu-run.sh on the stand-in driver (scripts/cuda/fakecuda/dry-run.sh)
	bash scripts/cuda/fakecuda/dry-run.sh

gpu-bundle: ## build cuda-tagged test and bench binaries plus a runner into .gpu/
	bash scripts/cuda/gpu-bundle.sh

fuzz: ## run the checkpoint-reader fuzzer for 60 s
	$(GO) test -run XXX -fuzz FuzzRead -fuzztime 60s ./safetensors/

clean:
	rm -rf bin .gpu .fakecuda
