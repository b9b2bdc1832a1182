#!/usr/bin/env python3
"""torch_gemm.py n...: time torch.mm in FP32 (TF32 off) on the GPU.

For each n, C = A @ B for n x n float32 matrices; the median of RUNS timed
repetitions, each CUDA-synchronized, after warm-up. Prints one line per
size, "torch <n> <GFLOP/s> <median ms>", the format gpu-run.sh reads.
"""
import statistics
import sys
import time

import torch

RUNS = 20


def main(sizes):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    print(f"# {torch.cuda.get_device_name(dev)}, torch {torch.__version__}, TF32 off", flush=True)
    for n in sizes:
        g = torch.Generator(device=dev).manual_seed(n)
        a = torch.rand(n, n, device=dev, generator=g) * 2 - 1
        b = torch.rand(n, n, device=dev, generator=g) * 2 - 1
        c = torch.empty(n, n, device=dev)
        reps = max(1, int(2e9 // (2 * n**3)))  # ~2 GFLOP per timed sample
        for _ in range(3):
            torch.mm(a, b, out=c)
        torch.cuda.synchronize()
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b, out=c)
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) / reps)
        t = statistics.median(times)
        print(f"torch {n} {2 * n**3 / t / 1e9:.1f} {t * 1e3:.4f}", flush=True)


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [256, 1024, 2048, 4096])
