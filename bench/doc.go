// Package bench holds adjoint's benchmarks: one table of configurations
// (Table) that drives both `adjoint bench` (Main) and the `go test -bench`
// functions, the PyTorch/numpy peers that run the same configurations, and
// the reports (text table, CSV, JSON, BENCHMARKS.md, charts).
//
// # What is measured
//
//   - gemm: one C = op(A) op(B) on the device, for NN, NT and TN at square
//     sizes and at the three shapes of a 784 → 512 layer with K = 256 (the
//     forward XWᵀ, the adjoint εW and the parameter gradient εᵀX). Flops
//     2mnk.
//   - mlp: one training step of the small (64-128-10, K = 64), medium
//     (784-512-512-10, K = 256) and wide (2048-2048-2048-10, K = 512;
//     4096-wide with K = 4096 on CUDA only) MLPs: a fresh tape, the forward
//     pass (fused bias + ReLU), softmax cross-entropy with class indices
//     (mean over K), the backward pass, and a plain SGD update of every
//     parameter on the device. The models are built directly on the tape
//     (autograd.Tape.Linear), not through package nn. Flops 6·K·Σ in·out:
//     2 for the forward product and 4 for the two backward products.
//   - ksweep: the medium MLP's step for K = 1 … 1024 samples per launch; the
//     "per sample" column shows what batching buys (the fixed cost of a step
//     is shared by K samples, and larger products run faster).
//   - order: the lecture's "order of computation matters". For a chain of
//     M = 4 dense N × N tanh layers and ρ = ‖t − z_M‖² per sample, the
//     gradient with respect to the chain's input is computed
//     (a) right to left — back propagation on the tape, K samples at once,
//     δ_m = (f′ ⊙ ε) W_m: vector–matrix products, O(N²) per layer and
//     sample — and
//     (b) left to right — forming A_m = diag(f′_m) W_m and the dense
//     product J = A_{M−1}⋯A₁A₀ as the forward pass goes (forward propagation
//     of the gradient), then Jᵀε: matrix–matrix products, O(N³) per layer
//     and sample. (With respect to the first layer's parameters the left
//     factor B₀ would be N × N(N+1), which makes (b) O(N⁴); the input
//     gradient keeps (b) affordable up to N = 2048.) Both report time per
//     sample; (b) runs only as many of the K samples as its cost allows
//     (LTRSamples), each costing the same. The command fits log t = a + s
//     log N by least squares over all N and over the three largest, and
//     prints both slopes: the operation counts predict s = 2 and s = 3.
//     Measured slopes come out lower at small N, where fixed per-op costs
//     dominate and where a larger product runs at a higher GFLOP/s, so the
//     fit over the largest widths is the one to compare with the counts.
//     The two orders agree to rounding (a test checks this in float64).
//   - order/fwd and order/grad: the cheap-gradient principle on the medium
//     MLP — the forward pass alone (no tape) against forward + backward; the
//     command prints their ratio (theory: at most about 3).
//   - residual: one training step of a residual network (784 → 512, three
//     blocks h ← relu(h + W₂ relu(W₁h + b₁) + b₂), → 10, K = 256): a DAG in
//     which gradients meet and add at every fan-out.
//   - conv: one training step of a convolutional network on images
//     [K, C, H, W]: 3×3 convolutions with padding 1 (the first stride 1,
//     the others stride 2), each followed by ReLU, then Flatten and a
//     Linear layer to 10 classes — the digits network of examples/cnn
//     (1×8×8, 32 and 32 channels, K = 64) and CIFAR-sized images (3×32×32,
//     32 and 64 channels, K = 128; on a GPU also 64, 128 and 256, K = 256).
//     The peer is the same torch.nn.Conv2d network. GFLOP/s counts each
//     convolution as a Linear(In·9 → Out) per output pixel.
//
// # How it is timed
//
// Each configuration runs Timing.Warmup times untimed, then repeatedly
// until at least MinReps repetitions and MinTime seconds (at most MaxReps).
// Every repetition ends with a device Sync, so asynchronous devices are
// timed to completion. Reported: the median, the interquartile range as a
// percentage of the median (the "IQR" column; min and max are in CSV/JSON),
// GFLOP/s at the median, and time per sample.
//
// # Peers
//
// peers.py (embedded; run with /usr/bin/python3 by default, --python to
// change) runs the same configurations in PyTorch — torch.mm for GEMM
// (transposes as views), the same layer sizes with PyTorch's default
// initialisation, F.cross_entropy, backward and torch.optim.SGD for
// training steps — and numpy.matmul for GEMM on the CPU. It is started once
// per device and driven over JSON lines, and each configuration runs in Go
// and then immediately in Python with the same Timing, so that a ratio
// compares two measurements taken under the same machine load. On the CPU
// torch.set_num_threads, OMP/OpenBLAS/MKL thread counts equal --threads
// (default GOMAXPROCS, which is also what our GEMM uses). The peers get
// OMP_WAIT_POLICY=PASSIVE by default (--omp-wait-policy): on a shared
// 2-core machine, with OpenMP's default spinning, the median of PyTorch's
// small-MLP step was more than ten times slower whenever other processes
// kept the cores busy, which measures the neighbours rather than PyTorch.
// On CUDA the peers disable TF32 (torch.backends.cuda.matmul.fp32_precision
// = "ieee" from torch 2.9, allow_tf32 = False before; the setting read back
// is recorded) and synchronise after every repetition. When torch cannot be imported the command says so and
// prints our rows alone.
//
// # Devices
//
// The CPU device always runs (this package imports
// github.com/adjoint-go/adjoint/cpu, which registers it; --cpu-kernel and
// --threads configure it). CUDA runs when device.Open("cuda") works, that
// is in a binary built with -tags cuda that imports the CUDA backend, on a
// machine with a GPU; otherwise the report says why there are no GPU rows.
//
// # Saved reports and GPU runs
//
// A GPU run happens on a GPU host that has no Go: it runs a prebuilt
// cuda-tagged binary (scripts/cuda/gpu-run.sh runs
// `adjoint bench --device cuda --only gemm,mlp,conv --quick --json bench.json`,
// then gemm and mlp again with --tf32x3 --no-peers: large products may then run on
// the tensor cores with 3xTF32, device/cuda's AllowTF32x3, which the
// report's device note records; PyTorch keeps TF32 off in every run)
// and only its JSON reports come back. --from FILE[,FILE...] runs nothing:
// it reads reports written by --json and writes the table, --markdown,
// --plot, --csv and --json from them, merged, so that CPU and GPU rows
// measured on different machines end up in one BENCHMARKS.md. Each run keeps
// its own section there (the command that measured it, machine, date, peers,
// and for a GPU the card's name, which the report records from the device
// and from PyTorch); the results table and the chart hold every run's rows,
// in file order, and the device column tells them apart. The markdown's
// "Command" line is the --from command, which regenerates the file. Flags
// that configure a run (--quick, --only, --device, --threads, --no-peers,
// --note, ...) are an error next to --from. With several files, --json
// writes an array of reports, which --from reads back too.
//
// The CPU run behind BENCHMARKS.md is saved as bench/reports/cpu.json
// (made with `adjoint bench --json bench/reports/cpu.json --note ...`; its
// section in BENCHMARKS.md shows the exact command), and BENCHMARKS.md and
// its charts are written from the saved reports with
//
//	go run ./cmd/adjoint bench --from bench/reports/cpu.json --markdown BENCHMARKS.md --plot bench/charts/cpu.png
//
// To add a GPU run, copy the bench.json that gpu-run.sh leaves in its log
// folder to bench/reports/<card>.json (for example h200.json) and add it to
// the list; nothing is rerun on the CPU:
//
//	go run ./cmd/adjoint bench --from bench/reports/cpu.json,bench/reports/h200.json --markdown BENCHMARKS.md --plot bench/charts/cpu.png
//
// The chart then shows the GPU's bars too, in a second colour. To redo the
// CPU run, rerun the command in cpu.json's section and then the command
// above.
//
// # Reading the numbers
//
// The machines these numbers come from are shared and noisy: the report
// records the load average at the start and end of the run, and the IQR
// column shows how much repetitions varied. Compare ratios taken in one run
// (×torch, ×numpy), not absolute times across runs. No test asserts a time.
package bench
