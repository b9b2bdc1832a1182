// Command adjoint trains, evaluates and runs networks with the adjoint
// library.
//
//	adjoint train    [flags]   train an MLP (default: digits, 64-512-10, ReLU, Adam)
//	adjoint eval     --model ckpt.safetensors [--data …]
//	adjoint predict  --model ckpt.safetensors --input rows.csv [--label-col N] [--raw]
//	adjoint bench    [flags]
//
// train loads a built-in data set (digits, diabetes) or a numeric CSV file
// (--data path.csv --label-col N --task classification|regression), holds
// out a seeded test split (--test-frac), standardises the features (and
// regression targets) with statistics of the training part, and trains
// Sequential(Linear, act, …, Linear) with --hidden widths, --act, --norm
// (none; layer: Linear, LayerNorm, act; or batch: Linear, BatchNorm1d,
// act, whose running statistics eval and predict use; it refuses a
// --batch that leaves one sample in an epoch's last batch), --dropout P (0, the default,
// adds no layer; P in (0, 1) puts a torch.nn.Dropout(P) after each hidden
// activation: Linear, [LayerNorm,] act, Dropout, …, Linear; it needs a
// hidden layer), --loss
// (ce, mse, mae, huber), --optim (sgd, adam, adamw, rmsprop), --lr, --momentum,
// --weight-decay, --batch K, --epochs, --schedule (none, step, cosine),
// --clip and --seed on --device (auto, cpu, cuda). It prints one line per
// epoch (train and test loss and accuracy, or test MSE and R²) and a
// summary; on a terminal a progress bar (batches, loss, ETA) runs on
// stderr. --quiet leaves only the summary and the files written. --json
// prints the final metrics as one JSON object on stdout (human-readable
// lines then go to stderr); it holds the metrics of the task, a 0 included,
// and not the other task's. --plot curve.png draws loss and
// accuracy per epoch. On a GPU the kernels are loaded (JIT-compiled by the
// driver) before the clock starts: their time is load_seconds, apart from
// train_seconds. --tf32x3 lets a cuda device run products of at least
// 2³⁰ flops on its tensor cores with 3xTF32 where the card times them
// faster (device/cuda's AllowTF32x3: about FP32's error, other bits); it
// is an error on the CPU. eval and predict take --tf32x3 too. --profile
// (cuda) times every kernel launch, each waited for, so training runs
// slower, and prints after training where the device time went: each
// kernel's launches, total and per-launch time and share, the most first
// (device/cuda's SetProfiling).
//
// Checkpoints (--save) are safetensors files readable by PyTorch tools: the
// parameters under torch.nn.Sequential's state_dict names (0.weight,
// 0.bias, 2.weight, …; with --dropout, whose layers take an index but hold
// no parameters, 0.weight, 0.bias, 3.weight, …) as F32, the feature
// standardisation as data/mean and data/std (data/y_mean, data/y_std for
// regression), the optimizer state
// as optim/<i>/<buffer> (in its parameter's dtype, F32, so that it resumes
// exactly), and the configuration, epoch count and history in the
// metadata (act, norm and, with Dropout layers, dropout as keys of their
// own, so that other tools rebuild the layer list; a checkpoint without
// the dropout key has none). Saving is atomic: a failed save leaves the
// previous file.
// --resume continues a run exactly (same data split, shuffling, Dropout
// masks, optimizer state) and keeps the checkpoint's data, model (--hidden,
// --act, --norm, --dropout), optimizer, batch and seed (SGD's --momentum
// may change, but not between 0 and not 0); --epochs counts the
// total, including the epochs already trained. Every epoch reseeds the
// Dropout masks from (seed, epoch), as it reshuffles the batches. The test
// evaluation after each epoch, eval and predict run the model in
// evaluation mode (Dropout off, as torch's model.eval()), so eval of a
// checkpoint gives the training run's last test metrics.
// --save-every N also checkpoints every N epochs, next to --save with the
// epoch in the name (run.e0010.safetensors); resuming one without --epochs
// finishes the original run, bit for bit. Ctrl-C (or SIGTERM) during
// training finishes the epoch in progress, writes the --save checkpoint,
// says how to resume and exits with status 130; a second Ctrl-C quits at
// once.
// scripts/torch/checkpoint_roundtrip.py loads a checkpoint into PyTorch and
// writes one from PyTorch that adjoint loads.
//
// Errors are printed as one line, "adjoint: …", on stderr; the exit status
// is 2 for a bad command line (bench's included) and 1 for any other
// failure. A model too large for the device's memory is such a failure,
// not a crash: the cpu device refuses a buffer larger than the machine's
// memory, and a checkpoint whose sizes do not fit its weights is refused
// before anything is built. predict refuses NaN and infinite features, as
// train does.
//
// Without the build tag cuda the command holds no CUDA code; build with
// `go build -tags cuda ./cmd/adjoint` on a host with the CUDA toolkit to
// open --device cuda.
package main
