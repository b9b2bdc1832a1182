#!/usr/bin/env python3
"""BatchNorm from adjoint, run by PyTorch: checkpoint, evaluation, training.

Reads the checkpoint that nn/batchnorm_test.go's TestBatchNormTorch writes
for the network

    Sequential(Conv2d(2, 4, 3, padding=1), BatchNorm2d(4), ReLU(),
               Flatten(), Linear(4*5*5, 8), BatchNorm1d(8, momentum=0.3))

after a few training steps (so the running statistics and γ, β are no
longer their initial values), and checks that

1. torch's load_state_dict(strict=True) takes it: the running_mean,
   running_var and num_batches_tracked (an I64 scalar) buffers under
   torch's names;
2. in evaluation mode torch's outputs on test/x equal adjoint's test/y_eval
   (the running statistics normalise);
3. in training mode torch's outputs on test/x equal test/y_train (the
   batch's statistics normalise), and the buffers that forward pass leaves
   equal adjoint's after/<name>: the momentum update with the unbiased
   variance, and the count.

usage: batchnorm_check.py ADJOINT.safetensors
"""

import sys

import torch

from checkpoint_roundtrip import load_strict, read_safetensors


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tensors, _ = read_safetensors(sys.argv[1])
    model = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(4 * 5 * 5, 8), torch.nn.BatchNorm1d(8, momentum=0.3))
    state = load_strict(model, tensors)
    x = tensors["test/x"]
    worst = {}

    model.eval()
    with torch.no_grad():
        worst["eval output"] = float((model(x) - tensors["test/y_eval"]).abs().max())
    model.train()
    with torch.no_grad():
        worst["train output"] = float((model(x) - tensors["test/y_train"]).abs().max())
    for name, buf in model.named_buffers():
        ours = tensors["after/" + name]
        if buf.dtype == torch.int64:
            if int(buf) != int(ours):
                sys.exit(f"{name}: torch counts {int(buf)}, adjoint {int(ours)}")
            continue
        worst[name] = float((buf - ours).abs().max())
    print(f"adjoint -> torch: strict load of {len(state)} entries; max |torch - adjoint|: "
          + ", ".join(f"{k} {v:.2g}" for k, v in worst.items()))
    bad = {k: v for k, v in worst.items() if v > 1e-5}
    if bad:
        sys.exit(f"torch differs from adjoint: {bad}")


if __name__ == "__main__":
    main()
